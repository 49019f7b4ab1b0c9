// Package fsys is the only place where the bus touches the operating
// system: FIFOs opened through the runtime poller, staging files that are
// never visible half written, flock and pid liveness, directory helpers
// that do not follow symbolic links out of the home, and, for the
// command's --exec, process groups that die with their parent.
//
// It has one backend per OS family, chosen by build constraints:
//
//   - fsys_linux.go: Linux. Staging files have no name (O_TMPFILE) until
//     linked, a tmpfs directory's size counts its entries, PIPE_BUF is
//     4096 bytes.
//   - fsys_portable.go: macOS and the BSDs. Staging files are named and
//     linked, FIFOs are made by path, PIPE_BUF is 512 bytes. On Linux the
//     build tag pubsub_portable selects it, so that its tests run there.
//   - fsys_other.go: systems without FIFOs (Windows, Plan 9, wasm): the
//     package compiles, [Supported] is false and every call fails with
//     [ErrUnsupported].
//
// What every Unix shares is in the *_unix.go files. Errors keep their errno
// for errors.Is against the Err* values declared here: most come wrapped
// in *fs.PathError or *os.LinkError naming the file, those on a
// descriptor in *os.SyscallError, and Read, Pread and WriteRecord return
// the bare errno, for the hot path.
package fsys

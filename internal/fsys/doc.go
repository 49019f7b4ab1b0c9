// Package fsys holds the Linux system calls under the bus: FIFOs opened
// through the runtime poller, staging files that are never visible half
// written, liveness tests for channel owners, and directory helpers that do
// not follow symbolic links out of the home.
//
// Every function returns errors wrapped in *fs.PathError or *os.LinkError,
// so callers can test the errno with errors.Is.
package fsys

package bridge

import "path/filepath"

// The names the bridge uses on disk, all here. Its files live in the
// home's tmp directory, which the root package makes; its Cleanup must
// leave them alone.
const (
	// bootIDPath is where Linux gives the machine's boot id, which
	// [Origin] hashes. Elsewhere the host name stands in for it.
	bootIDPath = "/proc/sys/kernel/random/boot_id"

	// homeTmpDir is the home's directory of private files.
	homeTmpDir = "tmp"

	// fileNamePrefix starts the name of every bridge file in homeTmpDir.
	fileNamePrefix = "bridge-"
	// lockFileSuffix ends the name of the lock file of a home and a
	// prefix, bridge-PREFIX.lock: see lockFile.
	lockFileSuffix = ".lock"
	// seqFileSuffix ends the name of the sequence file of a JetStream
	// importer, bridge-PREFIX-DURABLE.seq: see seqFile.
	seqFileSuffix = ".seq"
)

// lockFilePath is the path of the lock file of the bridges of prefix on
// the home in homeDir.
func lockFilePath(homeDir, prefix string) string {
	return filepath.Join(homeDir, homeTmpDir, fileNamePrefix+prefix+lockFileSuffix)
}

// seqFilePath is the path of the sequence file of the JetStream importer
// of prefix with consumer durable on the home in homeDir.
func seqFilePath(homeDir, prefix, durable string) string {
	return filepath.Join(homeDir, homeTmpDir, fileNamePrefix+prefix+"-"+durable+seqFileSuffix)
}

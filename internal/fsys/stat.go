package fsys

import "time"

// File type and mode bits of Stat.Mode: the traditional values, the same on
// every Unix.
const (
	ModeType    = 0o170000
	ModeDir     = 0o040000
	ModeRegular = 0o100000
	ModeSymlink = 0o120000
	ModeFIFO    = 0o010000
	ModeSetgid  = 0o2000
	ModeSticky  = 0o1000
)

// Stat is what the bus needs of a stat(2), alike on every Unix.
type Stat struct {
	Mode         uint32 // type and permission bits (Mode* above)
	Uid, Gid     uint32
	Nlink        uint64
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the Unix epoch
}

func (s *Stat) IsDir() bool     { return s.Mode&ModeType == ModeDir }
func (s *Stat) IsRegular() bool { return s.Mode&ModeType == ModeRegular }
func (s *Stat) IsSymlink() bool { return s.Mode&ModeType == ModeSymlink }
func (s *Stat) IsFIFO() bool    { return s.Mode&ModeType == ModeFIFO }

// Perm returns the permission bits with setuid, setgid and sticky.
func (s *Stat) Perm() uint32 { return s.Mode & 0o7777 }

// ModTime returns Mtime as a time.Time.
func (s *Stat) ModTime() time.Time { return time.Unix(0, s.Mtime) }

//go:build !unix

package main

import "context"

// isTerminalFD reports false: outside Unix, where the bus does not run,
// the hints and progress lines meant for a terminal are left out.
func isTerminalFD(uintptr) bool { return false }

// readerGone reports false at once: outside Unix a subscriber whose
// reader went away finds out at its next write.
func readerGone(context.Context, int) bool { return false }

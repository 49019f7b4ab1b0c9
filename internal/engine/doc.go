// Package engine owns the on-disk protocol of a home: the layout of its
// directories and files (layout.go, the one place every name is defined),
// who may use it (access.go), the publisher's routing table and FIFO
// writes (router.go), staging and delivering a message (stage.go,
// deliver.go, batch.go), a channel and its reader (channel.go, reader.go),
// who is alive (liveness.go), the one way a channel is removed
// (remove.go), and listing and cleaning a home (info.go, cleanup.go).
//
// It speaks in wire.Message and its own types; the root package, which
// users read, wraps them. Only internal/fsys touches the operating system.
package engine

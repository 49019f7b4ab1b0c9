package engine

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// Ids are drawn per process, not per Home, so that two homes on one
// directory in one process never repeat one.
var (
	lastID atomic.Uint64
	idSalt = func() uint64 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return binary.LittleEndian.Uint64(b[:])
	}()
)

// newID returns a message id in formix-pubsub's layout: the clock in
// microseconds with its low 16 bits replaced. Python fills those bits at
// random, so two publishers collide once in 65,536 messages within the
// same 65 ms; here they start at a random point and count up, so one
// process never repeats an id and its ids sort in publishing order.
// Collisions with other processes are caught when linking (ErrExist).
func newID() uint64 { return newIDAt(time.Now().UnixMicro()) }

// newIDAt is newID with the clock read by the caller, who stamps the
// message with the same reading: one clock read a message.
func newIDAt(micros int64) uint64 {
	now := uint64(micros)
	floor := now>>16<<16 | idSalt&0xffff
	for {
		last := lastID.Load()
		id := max(last+1, floor)
		if lastID.CompareAndSwap(last, id) {
			return id
		}
	}
}

// jumpID draws an id after a collision. The other publisher is counting
// up through the same ids, so the next one is likely taken too: step past
// it by a random stride instead. Ids stay increasing in this process.
func jumpID() uint64 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return lastID.Add(1024 + uint64(binary.LittleEndian.Uint16(b[:]))%7168)
}

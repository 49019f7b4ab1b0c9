package bench

import (
	"encoding/binary"
	"path/filepath"
	"slices"
	"testing"
)

func benchMessage(size int, pub uint32, seq uint64) []byte {
	w := &Worker{Size: size, Index: int(pub)}
	c := w.content()
	binary.LittleEndian.PutUint64(c[offSendAt:], 100)
	binary.LittleEndian.PutUint64(c[offSeq:], seq)
	return c
}

func TestReceiver(t *testing.T) {
	r := newReceiver(&Worker{Size: 64, Count: 3, Pubs: 2})
	r.add(benchMessage(64, 0, 0), 150)
	r.add(benchMessage(64, 1, 2), 130)
	r.add(benchMessage(64, 0, 0), 160) // again
	r.add(benchMessage(63, 0, 1), 160) // wrong size
	r.add(benchMessage(64, 2, 1), 160) // no such publisher
	r.add(benchMessage(64, 0, 3), 160) // past the count
	bad := benchMessage(64, 0, 1)
	bad[63]++
	r.add(bad, 160) // padding damaged
	if r.done() {
		t.Error("done after 2 of 6 messages")
	}
	res := r.finish()
	if res.Received != 2 || res.Duplicates != 1 || res.Malformed != 4 || res.Expected != 6 {
		t.Errorf("result = %+v", res)
	}
	if res.FirstSendNs != 100 || res.LastRecvNs != 130+20 {
		t.Errorf("first send %d, last receipt %d", res.FirstSendNs, res.LastRecvNs)
	}
	if !slices.Equal(r.samples, []int64{50, 30}) {
		t.Errorf("samples = %v", r.samples)
	}
	for _, m := range [][]byte{benchMessage(64, 0, 1), benchMessage(64, 0, 2), benchMessage(64, 1, 0), benchMessage(64, 1, 1)} {
		r.add(m, 200)
	}
	if !r.done() {
		t.Error("not done after every message")
	}
}

func TestSamplesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	w := &Worker{Samples: path}
	want := []int64{1, -2, 1 << 40}
	if err := w.writeSamples(want); err != nil {
		t.Fatal(err)
	}
	got, err := readSamples(path)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("readSamples = %v, %v; want %v", got, err, want)
	}
}

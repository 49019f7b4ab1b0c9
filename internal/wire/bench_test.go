package wire

import "testing"

func benchMessage() *Message {
	content := make([]byte, 256)
	for i := range content {
		content[i] = byte(i)
	}
	return &Message{
		ID: 1700000000098031, Timestamp: 1700000000065536, Topic: "rpc.requests",
		Headers: map[string]any{"response-topic": "rpc.responses.client1", "correlation-id": 12345},
		Content: content,
	}
}

func BenchmarkEncode(b *testing.B) {
	m := benchMessage()
	enc, err := Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	enc, err := Encode(benchMessage())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// Package wire reads and writes PMSG v1, the message file format of the
// Python package formix-pubsub, as pure functions on byte slices.
//
// A message file is, with every integer big-endian:
//
//	magic   u32 0x504D5347 ("PMSG")
//	version u8  1
//	id      u64
//	time    u64 microseconds since the Unix epoch
//	topic   u32 length, then UTF-8 text
//	headers u32 length, then a UTF-8 JSON object (an empty text means {})
//	content u32 length, then raw bytes
//
// Python writes the headers with json.dumps(h, ensure_ascii=False).
// [EncodeHeaders] reproduces that text byte for byte (with keys sorted, as
// Go maps have no order), and [DecodeHeaders] reads everything Python's
// json.loads reads, NaN and Infinity included.
//
// Bytes after the content are ignored, as formix-pubsub ignores them.
package wire

package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var seedFlag = flag.Uint64("wire.seed", 0, "seed for the randomised Python cross-check (0: from the clock)")

// crossCheckScript reads the headers Go wrote, one per line, and writes
// each back as json.dumps(json.loads(line), ensure_ascii=False,
// sort_keys=True). Then it makes random dicts of its own and writes each
// as json.dumps(d, ensure_ascii=False), followed by a line describing
// every value exactly (ASCII JSON: floats as float.hex, integers as
// decimal text, nested values as their own dumps).
const crossCheckScript = `
import json, random, struct, sys

lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
seed, count = int(lines[0].split()[0]), int(lines[0].split()[1])
out = [json.dumps(json.loads(l), ensure_ascii=False, sort_keys=True) for l in lines[1:]]

r = random.Random(seed)
SPECIAL = [0x7f, 0x85, 0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff, 0x10ffff, 0x22, 0x5c, 0x2f, 0x3c, 0x26]

def rstr():
    cs = []
    for _ in range(r.randint(0, 8)):
        k = r.random()
        if k < 0.35: c = r.randint(0, 0x7f)
        elif k < 0.5: c = r.choice(SPECIAL)
        elif k < 0.8: c = r.randint(0x80, 0xffff)
        else: c = r.randint(0x10000, 0x10ffff)
        if 0xd800 <= c <= 0xdfff: c = 0xfffd
        cs.append(chr(c))
    return "".join(cs)

def rval(depth):
    k = r.randrange(11)
    if k == 0: return rstr()
    if k == 1: return r.choice([True, False, None])
    if k == 2: return r.randint(-2**63, 2**63 - 1)
    if k == 3: return r.randint(-10**r.randint(1, 80), 10**r.randint(1, 80))
    if k == 4: return struct.unpack("<d", r.randbytes(8))[0]
    if k == 5: return r.choice([0.0, -0.0, 1.0, 0.1, 1e16, 1e-5, 1e-4, 5e-324, float("nan"), float("inf"), float("-inf")])
    if k == 6: return r.uniform(-1e6, 1e6)
    if k == 7: return float(r.randint(-2**60, 2**60))
    if k == 8 and depth < 3: return [rval(depth + 1) for _ in range(r.randint(0, 3))]
    if k == 9 and depth < 3: return {rstr(): rval(depth + 1) for _ in range(r.randint(0, 3))}
    return rstr()

def describe(v):
    if isinstance(v, bool): return ["bool", v]
    if v is None: return ["null", None]
    if isinstance(v, str): return ["str", v]
    if isinstance(v, int): return ["int", str(v)]
    if isinstance(v, float): return ["float", v.hex()]
    return ["raw", json.dumps(v, ensure_ascii=False)]

for _ in range(count):
    d = {rstr(): rval(0) for _ in range(r.randint(0, 6))}
    out.append(json.dumps(d, ensure_ascii=False))
    out.append(json.dumps([[k] + describe(v) for k, v in d.items()]))

sys.stdout.buffer.write("\n".join(out).encode("utf-8"))
`

// TestPythonCrossCheck runs python3 once: Python must read what Go writes
// and write it back byte for byte, and Go must read what Python writes as
// the same values.
func TestPythonCrossCheck(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 not found; CI requires the cross-check")
		}
		t.Skip("python3 not found on PATH")
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -wire.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	const goCount, pyCount = 400, 400
	var in bytes.Buffer
	fmt.Fprintf(&in, "%d %d", seed%(1<<62), pyCount)
	var sent []map[string]any
	var texts [][]byte
	for range goCount {
		h := randomHeaders(rng)
		text, err := EncodeHeaders(h)
		if err != nil {
			t.Fatalf("EncodeHeaders(%#v): %v", h, err)
		}
		sent = append(sent, h)
		texts = append(texts, text)
		in.WriteByte('\n')
		in.Write(text)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", crossCheckScript)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.Bytes())
	}
	lines := bytes.Split(out, []byte("\n"))
	if len(lines) != goCount+2*pyCount {
		t.Fatalf("python3 wrote %d lines, want %d", len(lines), goCount+2*pyCount)
	}

	// Go writes, Python reads and writes again with sorted keys.
	for i, text := range texts {
		if !bytes.Equal(lines[i], text) {
			t.Errorf("Go wrote    %s\nPython gave %s\nfrom %#v", text, lines[i], sent[i])
		}
	}

	// Python writes, Go reads.
	for i := goCount; i < len(lines); i += 2 {
		got, keys, err := decodeHeaders(lines[i], true)
		if err != nil {
			t.Errorf("DecodeHeaders(%s): %v", lines[i], err)
			continue
		}
		want, wantKeys := describedHeaders(t, lines[i+1])
		if d := headersDiff(got, want); d != "" {
			t.Errorf("DecodeHeaders(%s): %s", lines[i], d)
		}
		if strings.Join(keys, "\x00") != strings.Join(wantKeys, "\x00") {
			t.Errorf("keys %q, want %q", keys, wantKeys)
		}
		// What Go can write again, it writes as Python did.
		if reencodable(got) {
			if again, err := encodeHeadersOrdered(keys, got); err != nil || !bytes.Equal(again, lines[i]) {
				t.Errorf("re-encoded %s, %v\nPython wrote %s", again, err, lines[i])
			}
		}
	}
}

// describedHeaders reads the script's description line.
func describedHeaders(t *testing.T, line []byte) (map[string]any, []string) {
	t.Helper()
	var items [][3]any
	if err := json.Unmarshal(line, &items); err != nil {
		t.Fatalf("description %s: %v", line, err)
	}
	h := map[string]any{}
	var keys []string
	for _, it := range items {
		k := it[0].(string)
		keys = append(keys, k)
		switch it[1] {
		case "bool", "null", "str":
			h[k] = it[2]
		case "int":
			s := it[2].(string)
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				h[k] = i
			} else {
				b, _ := new(big.Int).SetString(s, 10)
				h[k] = b
			}
		case "float":
			f, err := strconv.ParseFloat(it[2].(string), 64)
			if err != nil {
				t.Fatalf("float.hex %q: %v", it[2], err)
			}
			h[k] = f
		case "raw":
			h[k] = json.RawMessage(it[2].(string))
		}
	}
	return h, keys
}

// randomHeaders makes headers of every type EncodeHeaders accepts.
func randomHeaders(rng *rand.Rand) map[string]any {
	h := map[string]any{}
	for range rng.IntN(7) {
		h[randomString(rng)] = randomValue(rng)
	}
	return h
}

func randomValue(rng *rand.Rand) any {
	switch rng.IntN(16) {
	case 0:
		return randomString(rng)
	case 1:
		return []any{true, false, nil}[rng.IntN(3)]
	case 2:
		return int64(rng.Uint64())
	case 3:
		return rng.Uint64()
	case 4:
		return []any{int8(rng.Uint32()), int16(rng.Uint32()), int32(rng.Uint32()), int(rng.Uint64()), uint(rng.Uint64()), uint8(rng.Uint32()), uint16(rng.Uint32()), uint32(rng.Uint32())}[rng.IntN(8)]
	case 5:
		raw := make([]byte, 1+rng.IntN(40))
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		b := new(big.Int).SetBytes(raw)
		if rng.IntN(2) == 0 {
			b.Neg(b)
		}
		return b
	case 6, 7:
		for {
			f := math.Float64frombits(rng.Uint64())
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				return f
			}
		}
	case 8:
		return []float64{0, math.Copysign(0, -1), 1, 0.1, 1e16, 1e-5, 1e-4, 5e-324, math.MaxFloat64, 1e15 + 0.5, 123456789012345678}[rng.IntN(11)]
	case 9:
		return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
	case 10:
		return float64(int64(rng.Uint64()) >> rng.IntN(64))
	case 11:
		for {
			f := math.Float32frombits(rng.Uint32())
			if !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
				return f
			}
		}
	case 12:
		return json.Number([]string{"0", "-0", "12", "1E2", "1.50", "-0.0", "123456789012345678901234567890", "1e-7", "2.5e+16"}[rng.IntN(9)])
	default:
		return randomString(rng)
	}
}

func randomString(rng *rand.Rand) string {
	special := []rune{0x7f, 0x85, 0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff, 0x10ffff, '"', '\\', '/', '<', '&'}
	var b []byte
	for range rng.IntN(9) {
		var r rune
		switch k := rng.Float64(); {
		case k < 0.35:
			r = rune(rng.IntN(0x80))
		case k < 0.5:
			r = special[rng.IntN(len(special))]
		case k < 0.8:
			r = rune(0x80 + rng.IntN(0xffff-0x80))
		default:
			r = rune(0x10000 + rng.IntN(0x10ffff-0x10000))
		}
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

package wire

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxIntDigits is the longest integer Python 3.11+ converts from or to
// text by default (sys.int_info.default_max_str_digits): json.loads and
// json.dumps both fail beyond it, so we neither read nor write longer ones.
const maxIntDigits = 4300

const allowedTypes = "string, integer, float, bool or nil"

// EncodeHeaders returns the text Python's json.dumps(h, ensure_ascii=False)
// gives for a dict holding h with its keys in sorted order: separators
// ", " and ": ", only '"', '\\' and control characters escaped, floats as
// Python's repr. A nil or empty map gives "{}".
//
// Keys must be valid UTF-8. Values may be:
//
//   - string (valid UTF-8)
//   - bool, nil
//   - int, int8 ... int64, uint, uint8 ... uint64, *big.Int
//   - float32 (written as the float64 it converts to), float64; not NaN or ±Inf
//   - json.Number holding a valid JSON number, written as Python would
//     write the int or float it reads from it
//
// Anything else gives a *HeaderError naming the key.
func EncodeHeaders(h map[string]any) ([]byte, error) {
	return encodeHeadersOrdered(sortedKeys(h), h)
}

// encodeHeadersOrdered encodes h with its keys in the order of keys, which
// must be exactly the keys of h. Tests use it to reproduce Python's
// insertion order.
func encodeHeadersOrdered(keys []string, h map[string]any) ([]byte, error) {
	n, err := headersLen(keys, h, false)
	if err != nil {
		return nil, err
	}
	return appendHeaders(make([]byte, 0, n), keys, h, false), nil
}

func sortedKeys(h map[string]any) []string {
	return appendSortedKeys(make([]string, 0, len(h)), h)
}

// appendSortedKeys is sortedKeys into dst, which a caller with a few
// headers can keep on its stack.
func appendSortedKeys(keys []string, h map[string]any) []string {
	if len(h) == 0 {
		return keys
	}
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// headersLen checks every key and value and returns the length of the
// text appendHeaders will write, so that Encode allocates once.
func headersLen(keys []string, h map[string]any, carried bool) (int, error) {
	n := 2 // {}
	for i, k := range keys {
		if !utf8.ValidString(k) {
			return 0, &HeaderError{Key: k, Reason: "key is not valid UTF-8"}
		}
		if i > 0 {
			n += 2 // ", "
		}
		n += quotedLen(k) + 2 // ": "
		switch v := h[k].(type) {
		case string:
			if !utf8.ValidString(v) {
				return 0, &HeaderError{Key: k, Reason: "string value is not valid UTF-8"}
			}
			n += quotedLen(v)
		default:
			var scratch [64]byte
			text, reason := appendValue(scratch[:0], v, carried)
			if reason != "" {
				return 0, &HeaderError{Key: k, Reason: reason}
			}
			n += len(text)
		}
	}
	return n, nil
}

// appendHeaders writes the JSON object; headersLen has checked it.
func appendHeaders(dst []byte, keys []string, h map[string]any, carried bool) []byte {
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendQuoted(dst, k)
		dst = append(dst, ": "...)
		if s, ok := h[k].(string); ok {
			dst = appendQuoted(dst, s)
		} else {
			dst, _ = appendValue(dst, h[k], carried)
		}
	}
	return append(dst, '}')
}

// appendValue is appendScalar, and for carried headers (Message.Carried)
// also what DecodeHeaders returns and Python writes: NaN, Infinity and
// -Infinity, and json.RawMessage, checked to be what Python reads.
func appendValue(dst []byte, v any, carried bool) ([]byte, string) {
	if !carried {
		return appendScalar(dst, v)
	}
	switch v := v.(type) {
	case float64:
		switch {
		case math.IsNaN(v):
			return append(dst, "NaN"...), ""
		case math.IsInf(v, 1):
			return append(dst, "Infinity"...), ""
		case math.IsInf(v, -1):
			return append(dst, "-Infinity"...), ""
		}
	case json.RawMessage:
		// Python reads it back as it reads a whole header text.
		probe := append(append([]byte(`{"k": `), v...), '}')
		h, err := DecodeHeaders(probe)
		if err != nil || len(h) != 1 {
			return dst, fmt.Sprintf("json.RawMessage %.40q is not one JSON value", string(v))
		}
		return append(dst, v...), ""
	}
	return appendScalar(dst, v)
}

// appendScalar appends the JSON text of a value that is not a string. If
// the value cannot be written it returns a non-empty reason.
func appendScalar(dst []byte, v any) ([]byte, string) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), ""
	case bool:
		return strconv.AppendBool(dst, v), ""
	case int:
		return strconv.AppendInt(dst, int64(v), 10), ""
	case int8:
		return strconv.AppendInt(dst, int64(v), 10), ""
	case int16:
		return strconv.AppendInt(dst, int64(v), 10), ""
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), ""
	case int64:
		return strconv.AppendInt(dst, v, 10), ""
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), ""
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10), ""
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10), ""
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), ""
	case uint64:
		return strconv.AppendUint(dst, v, 10), ""
	case float32:
		return appendFloat(dst, float64(v))
	case float64:
		return appendFloat(dst, v)
	case *big.Int:
		if v == nil {
			return dst, "nil *big.Int (use nil for null)"
		}
		return appendBigInt(dst, v)
	case json.Number:
		return appendNumber(dst, v)
	default:
		return dst, fmt.Sprintf("value of Go type %T is not allowed (allowed: %s)", v, allowedTypes)
	}
}

func appendBigInt(dst []byte, v *big.Int) ([]byte, string) {
	start := len(dst)
	dst = v.Append(dst, 10)
	digits := len(dst) - start
	if v.Sign() < 0 {
		digits--
	}
	if digits > maxIntDigits {
		return dst[:start], fmt.Sprintf("integer of %d digits is longer than Python reads (%d)", digits, maxIntDigits)
	}
	return dst, ""
}

// appendNumber writes a json.Number as Python would write the value
// json.loads reads from it, so "1E2" becomes "100.0" and "-0" becomes "0".
func appendNumber(dst []byte, n json.Number) ([]byte, string) {
	s := string(n)
	isInt, ok := isJSONNumber(s)
	if !ok {
		return dst, fmt.Sprintf("json.Number %q is not a JSON number", s)
	}
	if !isInt {
		f, _ := strconv.ParseFloat(s, 64) // overflow gives ±Inf, refused below
		return appendFloat(dst, f)
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.AppendInt(dst, i, 10), ""
	}
	var b big.Int
	if digits := len(s) - boolInt(s[0] == '-'); digits > maxIntDigits {
		return dst, fmt.Sprintf("integer of %d digits is longer than Python reads (%d)", digits, maxIntDigits)
	}
	b.SetString(s, 10)
	return appendBigInt(dst, &b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// appendFloat writes f as Python's repr does: the shortest digits that
// read back as f, in fixed notation with at least one decimal when the
// decimal exponent is in [-4, 16), in scientific notation otherwise.
func appendFloat(dst []byte, f float64) ([]byte, string) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Sprintf("float %v has no JSON representation (allowed: finite float)", f)
	}
	// Go's shortest 'e' form, "-d.ddde±XX", is already Python's scientific
	// form: same digits, exponent sign always, at least two exponent digits.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mark := 0
	for e[mark] != 'e' {
		mark++
	}
	exp, _ := strconv.Atoi(string(e[mark+1:]))
	if exp < -4 || exp >= 16 {
		if neg {
			dst = append(dst, '-')
		}
		return append(dst, e...), ""
	}
	// Digits without the point.
	var dbuf [24]byte
	digits := append(dbuf[:0], e[0])
	if mark > 1 {
		digits = append(digits, e[2:mark]...)
	}
	if neg {
		dst = append(dst, '-')
	}
	if exp < 0 {
		dst = append(dst, "0."...)
		for range -exp - 1 {
			dst = append(dst, '0')
		}
		return append(dst, digits...), ""
	}
	intLen := exp + 1
	if len(digits) <= intLen {
		dst = append(dst, digits...)
		for range intLen - len(digits) {
			dst = append(dst, '0')
		}
		return append(dst, ".0"...), ""
	}
	dst = append(dst, digits[:intLen]...)
	dst = append(dst, '.')
	return append(dst, digits[intLen:]...), ""
}

// quotedLen returns the length of appendQuoted's output for s.
func quotedLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

// appendQuoted quotes s as Python's json.dumps with ensure_ascii=False
// does: it escapes '"', '\\' and the control characters below 0x20, and
// writes everything else (DEL, '<', '>', '&', U+2028 ...) as is.
func appendQuoted(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

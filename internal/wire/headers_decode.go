package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects in a headers text;
// Python's own decoder gives up near its recursion limit of 1000.
const maxDepth = 1000

// DecodeHeaders reads a headers text as Python's json.loads does, except
// that the top level must be an object. An empty text is an empty map.
// Values come back as:
//
//   - string for a JSON string (an escaped lone surrogate becomes U+FFFD)
//   - bool, and nil for null
//   - int64 for an integer (no '.', 'e' or 'E'), *big.Int when it does not
//     fit; at most 4300 digits, as in Python
//   - float64 for any other number, and for NaN, Infinity and -Infinity,
//     which Python writes
//   - json.RawMessage holding the exact text of a nested array or object;
//     it may contain NaN or Infinity, which encoding/json refuses
//
// A repeated key keeps its last value. Errors wrap ErrBadHeaders and say
// what is wrong and at which byte offset.
func DecodeHeaders(b []byte) (map[string]any, error) {
	h, _, err := decodeHeaders(b, false)
	return h, err
}

// decodeHeaders also returns the keys in the order they first appear (as
// a Python dict keeps them) when withKeys is set.
func decodeHeaders(b []byte, withKeys bool) (map[string]any, []string, error) {
	if len(b) == 0 {
		return map[string]any{}, nil, nil
	}
	// Python decodes the whole text as UTF-8 before parsing it.
	if !utf8.Valid(b) {
		return nil, nil, badHeaders(invalidUTF8At(b), "invalid UTF-8")
	}
	d := decoder{s: b}
	d.skipSpace()
	if d.i >= len(d.s) {
		return nil, nil, d.errorf("expected an object, found end of text")
	}
	if d.s[d.i] != '{' {
		return nil, nil, d.unexpected("an object")
	}
	h, keys, err := d.object(withKeys)
	if err != nil {
		return nil, nil, err
	}
	d.skipSpace()
	if d.i < len(d.s) {
		return nil, nil, d.errorf("extra data after the object")
	}
	return h, keys, nil
}

func badHeaders(off int, what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrBadHeaders, what, off)
}

// decoder scans JSON text known to be valid UTF-8.
type decoder struct {
	s []byte
	i int
}

func (d *decoder) errorf(format string, args ...any) error {
	return badHeaders(d.i, fmt.Sprintf(format, args...))
}

// unexpected describes the byte at d.i for an error.
func (d *decoder) unexpected(want string) error {
	if d.i >= len(d.s) {
		return d.errorf("expected %s, found end of text", want)
	}
	r, _ := utf8.DecodeRune(d.s[d.i:])
	return d.errorf("expected %s, found %q", want, r)
}

func (d *decoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// consume skips the literal lit if the text continues with it.
func (d *decoder) consume(lit string) bool {
	if len(d.s)-d.i >= len(lit) && string(d.s[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// object reads the top-level object, d.i at its '{'.
func (d *decoder) object(withKeys bool) (map[string]any, []string, error) {
	d.i++
	h := map[string]any{}
	var keys []string
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return h, keys, nil
	}
	for {
		d.skipSpace()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, nil, d.unexpected("a string key")
		}
		k, err := d.str()
		if err != nil {
			return nil, nil, err
		}
		d.skipSpace()
		if !d.consume(":") {
			return nil, nil, d.unexpected("':' after a key")
		}
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return nil, nil, err
		}
		if _, dup := h[k]; withKeys && !dup {
			keys = append(keys, k)
		}
		h[k] = v
		d.skipSpace()
		if d.consume("}") {
			return h, keys, nil
		}
		if !d.consume(",") {
			return nil, nil, d.unexpected("',' or '}'")
		}
	}
}

// value reads a value of the top-level object, d.i at its first byte.
func (d *decoder) value() (any, error) {
	if d.i >= len(d.s) {
		return nil, d.unexpected("a value")
	}
	switch c := d.s[d.i]; {
	case c == '"':
		return d.str()
	case c == '[' || c == '{':
		start := d.i
		if err := d.skipValue(1); err != nil {
			return nil, err
		}
		return json.RawMessage(append([]byte(nil), d.s[start:d.i]...)), nil
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case d.consume("true"):
		return true, nil
	case d.consume("false"):
		return false, nil
	case d.consume("null"):
		return nil, nil
	case d.consume("NaN"):
		return math.NaN(), nil
	case d.consume("Infinity"):
		return math.Inf(1), nil
	}
	return nil, d.unexpected("a value")
}

// number reads a number, d.i at its first byte ('-' or a digit).
func (d *decoder) number() (any, error) {
	if d.consume("-Infinity") {
		return math.Inf(-1), nil
	}
	b, isInt, err := d.scanNumber()
	if err != nil {
		return nil, err
	}
	if isInt && len(b) <= 18 { // fits in int64 whatever the digits
		var i int64
		for _, c := range b[boolInt(b[0] == '-'):] {
			i = i*10 + int64(c-'0')
		}
		if b[0] == '-' {
			i = -i
		}
		return i, nil
	}
	text := string(b)
	if !isInt {
		// A range error still gives Python's value: ±Inf, or 0 on underflow.
		f, _ := strconv.ParseFloat(text, 64)
		return f, nil
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return i, nil
	}
	n, _ := new(big.Int).SetString(text, 10)
	return n, nil
}

// scanNumber skips a number (not -Infinity), d.i at its first byte. It
// refuses integers longer than Python converts.
func (d *decoder) scanNumber() (text []byte, isInt bool, err error) {
	start := d.i
	end, isInt, ok := numberEnd(d.s, d.i)
	d.i = end
	if !ok {
		return nil, false, d.unexpected("a digit")
	}
	if digits := end - start - boolInt(d.s[start] == '-'); isInt && digits > maxIntDigits {
		return nil, false, badHeaders(start, fmt.Sprintf("integer of %d digits is longer than Python reads (%d)", digits, maxIntDigits))
	}
	return d.s[start:end], isInt, nil
}

// numberEnd scans a JSON number starting at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
// It returns the offset after it, whether it is an integer, and false
// (with the offset of the offending byte) when it is malformed. Python
// also stops after a leading 0 or a bare integer part and then fails on
// the next byte, so "01" and "1." are errors in both.
func numberEnd(s []byte, i int) (end int, isInt, ok bool) {
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return i, false, false
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return i, false, false
		}
		isInt = false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false, false
		}
		isInt = false
	}
	return i, isInt, true
}

// isJSONNumber reports whether all of s is a JSON number, and an integer.
func isJSONNumber(s string) (isInt, ok bool) {
	end, isInt, ok := numberEnd([]byte(s), 0)
	return isInt, ok && end == len(s)
}

// str reads a string, d.i at its opening quote.
func (d *decoder) str() (string, error) {
	d.i++
	start := d.i
	// Fast path: no escapes.
	for d.i < len(d.s) {
		c := d.s[d.i]
		if c == '"' {
			s := string(d.s[start:d.i])
			d.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		d.i++
	}
	buf := append([]byte(nil), d.s[start:d.i]...)
	for {
		if d.i >= len(d.s) {
			return "", badHeaders(start-1, "unterminated string")
		}
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c < 0x20:
			return "", d.errorf("control character %#02x in string", c)
		case c != '\\':
			buf = append(buf, c)
			d.i++
			continue
		}
		d.i++ // the backslash
		if d.i >= len(d.s) {
			return "", badHeaders(start-1, "unterminated string")
		}
		switch e := d.s[d.i]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d.s, d.i+1)
			if !ok {
				return "", badHeaders(d.i-1, "invalid \\uXXXX escape")
			}
			d.i += 4
			// A high surrogate joins a following low one, as in Python;
			// a lone one cannot be written as UTF-8 and becomes U+FFFD.
			if utf16.IsSurrogate(r) {
				if r < 0xDC00 && d.i+2 < len(d.s) && d.s[d.i+1] == '\\' && d.s[d.i+2] == 'u' {
					if r2, ok := hex4(d.s, d.i+3); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
						r = utf16.DecodeRune(r, r2)
						d.i += 6
					}
				}
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", badHeaders(d.i-1, "invalid escape")
		}
		d.i++
	}
}

// hex4 reads the 4 hex digits at s[i:].
func hex4(s []byte, i int) (rune, bool) {
	if len(s)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skipValue checks and skips any value, d.i at its first byte; depth is
// the nesting of the arrays and objects around it.
func (d *decoder) skipValue(depth int) error {
	if d.i >= len(d.s) {
		return d.unexpected("a value")
	}
	switch c := d.s[d.i]; c {
	case '"':
		_, err := d.str()
		return err
	case '[', '{':
		if depth+1 > maxDepth {
			return d.errorf("nested deeper than %d", maxDepth)
		}
		return d.skipContainer(c, depth+1)
	case '-':
		if d.consume("-Infinity") {
			return nil
		}
		_, _, err := d.scanNumber()
		return err
	default:
		if c >= '0' && c <= '9' {
			_, _, err := d.scanNumber()
			return err
		}
		for _, lit := range [...]string{"true", "false", "null", "NaN", "Infinity"} {
			if d.consume(lit) {
				return nil
			}
		}
		return d.unexpected("a value")
	}
}

func (d *decoder) skipContainer(open byte, depth int) error {
	end := byte(']')
	if open == '{' {
		end = '}'
	}
	d.i++
	d.skipSpace()
	if d.consume(string(end)) {
		return nil
	}
	for {
		d.skipSpace()
		if open == '{' {
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				return d.unexpected("a string key")
			}
			if _, err := d.str(); err != nil {
				return err
			}
			d.skipSpace()
			if !d.consume(":") {
				return d.unexpected("':' after a key")
			}
			d.skipSpace()
		}
		if err := d.skipValue(depth); err != nil {
			return err
		}
		d.skipSpace()
		if d.consume(string(end)) {
			return nil
		}
		if !d.consume(",") {
			return d.unexpected(fmt.Sprintf("',' or '%c'", end))
		}
	}
}

// maxMemoText bounds the headers text a headerMemo keeps.
const maxMemoText = 1024

// headerMemo keeps the last headers text a stream decoded, and once a
// message repeats it, a private copy of the map it gives.
type headerMemo struct {
	text []byte
	h    map[string]any // decoded from text; nil until text came twice
	deep bool           // h holds values that a copy must copy too
}

// decode is DecodeHeaders, copying the map kept when b repeats the text
// before it. A nil memo decodes.
func (memo *headerMemo) decode(b []byte) (map[string]any, error) {
	if memo == nil || len(b) <= len("{}") || len(b) > maxMemoText {
		return DecodeHeaders(b) // an empty map costs less than a compare
	}
	if !bytes.Equal(b, memo.text) {
		h, err := DecodeHeaders(b)
		if err == nil {
			memo.text, memo.h = append(memo.text[:0], b...), nil
		}
		return h, err
	}
	if memo.h == nil {
		h, err := DecodeHeaders(b) // text that decoded once decodes again
		if err != nil {
			return nil, err
		}
		memo.deep = false
		for _, v := range h {
			memo.deep = memo.deep || mutable(v)
		}
		memo.h = memo.clone(h)
		return h, nil
	}
	return memo.clone(memo.h), nil
}

// mutable reports a decoded value that two maps must not share: nested
// JSON text and big integers can be changed in place.
func mutable(v any) bool {
	switch v.(type) {
	case json.RawMessage, *big.Int:
		return true
	}
	return false
}

// clone copies h, deeply when the memo's map holds mutable values.
func (memo *headerMemo) clone(h map[string]any) map[string]any {
	c := maps.Clone(h)
	if !memo.deep {
		return c
	}
	for k, v := range c {
		switch v := v.(type) {
		case json.RawMessage:
			c[k] = json.RawMessage(bytes.Clone(v))
		case *big.Int:
			c[k] = new(big.Int).Set(v)
		}
	}
	return c
}

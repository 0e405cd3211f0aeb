package collect

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small JSON scanner written for the collection hot path.
// encoding/json validates a body, then decodes it in a second pass, and keeps
// json.RawMessage bytes as sent (lone surrogate escapes and invalid UTF-8
// included). The scanner below validates exactly the RFC 8259 grammar that
// json.Valid accepts, in one pass, and notes on the way whether a value holds
// insignificant whitespace or broken text, so that the common clean value is
// kept as a sub-slice of the body and only a suspicious one is rewritten.

// maxDepth bounds nesting so that a hostile body cannot exhaust the stack.
const maxDepth = 1000

// Flags collected while scanning a value.
const (
	flagSpace  uint8 = 1 << iota // whitespace between tokens: the value is not compact
	flagRepair                   // invalid UTF-8 or a lone surrogate escape in a string
)

// String kinds returned by scanString.
const (
	strEscaped uint8 = 1 << iota // holds a backslash escape
	strBroken                    // holds invalid UTF-8 or a lone surrogate escape
)

// syntaxError is a JSON grammar violation at a byte offset of the scanned buffer.
type syntaxError struct {
	Offset int
	Msg    string
}

func (e *syntaxError) Error() string { return e.Msg }

// strSafe marks the bytes a string may hold without a closer look.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

type scanner struct {
	buf   []byte
	pos   int
	depth int
	flags uint8
}

func (s *scanner) fail(msg string) error { return &syntaxError{Offset: s.pos, Msg: msg} }

func (s *scanner) eof() error {
	s.pos = len(s.buf)
	return s.fail("unexpected end of JSON input")
}

func (s *scanner) skipSpace() {
	if s.pos < len(s.buf) && s.buf[s.pos] > ' ' {
		return // compact JSON: the common case
	}
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
			s.flags |= flagSpace
		default:
			return
		}
	}
}

// scanString consumes the string at s.pos and returns what lies between its quotes.
func (s *scanner) scanString() (content []byte, kind uint8, err error) {
	buf := s.buf
	start := s.pos + 1
	i := start
	for {
		// Eight bytes at a time, jumping to the first that needs a closer
		// look: this loop is where most of a body's bytes go by.
		for i+8 <= len(buf) {
			if m := special8(binary.LittleEndian.Uint64(buf[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(buf) && strSafe[buf[i]] {
			i++
		}
		if i >= len(buf) {
			return nil, 0, s.eof()
		}
		switch c := buf[i]; {
		case c == '"':
			s.pos = i + 1
			if kind&strBroken != 0 {
				s.flags |= flagRepair
			}
			return buf[start:i], kind, nil
		case c == '\\':
			kind |= strEscaped
			if i+1 >= len(buf) {
				return nil, 0, s.eof()
			}
			switch buf[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := hex4(buf, i+2)
				if !ok {
					s.pos = i
					return nil, 0, s.fail("invalid \\u escape in string")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r < 0xdc00 && i+1 < len(buf) && buf[i] == '\\' && buf[i+1] == 'u' {
						if r2, ok := hex4(buf, i+2); ok && r2 >= 0xdc00 && r2 < 0xe000 {
							i += 6
							continue
						}
					}
					kind |= strBroken
				}
			default:
				s.pos = i
				return nil, 0, s.fail("invalid escape in string")
			}
		case c < 0x20:
			s.pos = i
			return nil, 0, s.fail("control character in string")
		default:
			r, size := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && size == 1 {
				kind |= strBroken
			}
			i += size
		}
	}
}

// special8 returns a mask with the high bit set in the first byte of w (in
// memory order) that is '"', '\\', a control character or non-ASCII, and
// zero if there is none. Bytes after the first may be flagged wrongly (by
// borrows), so only the lowest flag is meaningful.
func special8(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := w ^ (ones * '"')
	bslash := w ^ (ones * '\\')
	x := (quote - ones) & ^quote   // a zero byte: '"'
	x |= (bslash - ones) & ^bslash // a zero byte: '\\'
	x |= w - ones*0x20             // below 0x20
	x |= w                         // non-ASCII
	return x & highs
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (s *scanner) scanNumber() error {
	buf := s.buf
	i := s.pos
	if buf[i] == '-' {
		i++
	}
	switch {
	case i >= len(buf):
		return s.eof()
	case buf[i] == '0':
		i++
	case '1' <= buf[i] && buf[i] <= '9':
		for i++; i < len(buf) && isDigit(buf[i]); i++ {
		}
	default:
		s.pos = i
		return s.fail("invalid number")
	}
	if i < len(buf) && buf[i] == '.' {
		i++
		if i >= len(buf) || !isDigit(buf[i]) {
			s.pos = i
			return s.fail("invalid number")
		}
		for i++; i < len(buf) && isDigit(buf[i]); i++ {
		}
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		i++
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		if i >= len(buf) || !isDigit(buf[i]) {
			s.pos = i
			return s.fail("invalid number")
		}
		for i++; i < len(buf) && isDigit(buf[i]); i++ {
		}
	}
	s.pos = i
	return nil
}

func (s *scanner) literal(word string) error {
	end := s.pos + len(word)
	if end <= len(s.buf) && string(s.buf[s.pos:end]) == word {
		s.pos = end
		return nil
	}
	return s.fail("invalid literal")
}

// openObject consumes '{' at s.pos.
func (s *scanner) open() error {
	s.depth++
	if s.depth > maxDepth {
		return s.fail("nesting too deep")
	}
	s.pos++
	return nil
}

// member moves to the i-th member of the object being read (i counts from 0)
// and returns its raw key, or ok=false after consuming the closing brace. On
// return with ok, s.pos is at the first byte of the member's value.
func (s *scanner) member(i int) (key []byte, kind uint8, ok bool, err error) {
	s.skipSpace()
	if s.pos >= len(s.buf) {
		return nil, 0, false, s.eof()
	}
	c := s.buf[s.pos]
	if c == '}' {
		s.pos++
		s.depth--
		return nil, 0, false, nil
	}
	if i > 0 {
		if c != ',' {
			return nil, 0, false, s.fail("expected ',' or '}' after object member")
		}
		s.pos++
		s.skipSpace()
		if s.pos >= len(s.buf) {
			return nil, 0, false, s.eof()
		}
	}
	if s.buf[s.pos] != '"' {
		return nil, 0, false, s.fail("expected string for object key")
	}
	key, kind, err = s.scanString()
	if err != nil {
		return nil, 0, false, err
	}
	s.skipSpace()
	if s.pos >= len(s.buf) {
		return nil, 0, false, s.eof()
	}
	if s.buf[s.pos] != ':' {
		return nil, 0, false, s.fail("expected ':' after object key")
	}
	s.pos++
	s.skipSpace()
	if s.pos >= len(s.buf) {
		return nil, 0, false, s.eof()
	}
	return key, kind, true, nil
}

// nextKey is member with the key decoded when it holds escapes or broken text,
// so callers can compare it with plain names.
func (s *scanner) nextKey(i int) (key []byte, ok bool, err error) {
	key, kind, ok, err := s.member(i)
	if kind != 0 {
		key = []byte(unquote(key, kind))
	}
	return key, ok, err
}

// element moves to the i-th element of the array being read, or returns false
// after consuming the closing bracket. On return with true, s.pos is at the
// first byte of the element.
func (s *scanner) element(i int) (bool, error) {
	s.skipSpace()
	if s.pos >= len(s.buf) {
		return false, s.eof()
	}
	c := s.buf[s.pos]
	if c == ']' {
		s.pos++
		s.depth--
		return false, nil
	}
	if i > 0 {
		if c != ',' {
			return false, s.fail("expected ',' or ']' after array element")
		}
		s.pos++
		s.skipSpace()
		if s.pos >= len(s.buf) {
			return false, s.eof()
		}
	}
	return true, nil
}

// skip consumes one value at s.pos (whitespace before it already skipped).
func (s *scanner) skip() error {
	if s.pos >= len(s.buf) {
		return s.eof()
	}
	switch c := s.buf[s.pos]; c {
	case '{':
		if err := s.open(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			_, _, ok, err := s.member(i)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	case '[':
		if err := s.open(); err != nil {
			return err
		}
		for i := 0; ; i++ {
			ok, err := s.element(i)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	case '"':
		_, _, err := s.scanString()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || isDigit(c) {
			return s.scanNumber()
		}
		return s.fail("invalid character looking for beginning of value")
	}
}

// span consumes one value and returns its bytes with the flags found inside it.
func (s *scanner) span() ([]byte, uint8, error) {
	saved := s.flags
	s.flags = 0
	start := s.pos
	err := s.skip()
	f := s.flags
	s.flags = saved | f
	return s.buf[start:s.pos], f, err
}

// validJSON reports whether b is exactly one JSON value, optionally surrounded
// by whitespace.
func validJSON(b []byte) error {
	s := scanner{buf: b}
	s.skipSpace()
	if err := s.skip(); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos != len(b) {
		return s.fail("invalid character after top-level value")
	}
	return nil
}

// unquote decodes string contents as returned by scanString. Invalid UTF-8
// bytes and lone surrogate escapes become U+FFFD, as encoding/json does.
func unquote(b []byte, kind uint8) string {
	if kind == 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c == '\\' {
			switch b[i+1] {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, _ := hex4(b, i+2)
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if r < 0xdc00 && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						r2, _ = hex4(b, i+2)
					}
					if r2 >= 0xdc00 && r2 < 0xe000 {
						r = utf16.DecodeRune(r, r2)
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
				continue
			default: // '"', '\\', '/'
				out = append(out, b[i+1])
			}
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

// clean returns a valid JSON value v as compact JSON in which every string is
// valid UTF-8 and holds no lone surrogate escape. flags are those span found in
// v: a value with none is returned as is, without copying.
func clean(v []byte, flags uint8) []byte {
	if flags == 0 {
		return v
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); {
		switch c := v[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			j := i + 1
			for v[j] != '"' {
				if v[j] == '\\' {
					j++
				}
				j++
			}
			out = appendCleanString(out, v[i:j+1])
			i = j + 1
		default:
			out = append(out, c)
			i++
		}
	}
	return out
}

// appendCleanString appends the quoted string q, replacing invalid UTF-8 and
// lone surrogate escapes with U+FFFD and keeping every other byte as sent.
func appendCleanString(out, q []byte) []byte {
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\\' && q[i+1] == 'u':
			r, _ := hex4(q, i+2)
			if !utf16.IsSurrogate(r) {
				out = append(out, q[i:i+6]...)
				i += 6
				continue
			}
			if r < 0xdc00 && i+7 < len(q) && q[i+6] == '\\' && q[i+7] == 'u' {
				if r2, _ := hex4(q, i+8); r2 >= 0xdc00 && r2 < 0xe000 {
					out = append(out, q[i:i+12]...)
					i += 12
					continue
				}
			}
			out = append(out, "\uFFFD"...)
			i += 6
		case c == '\\':
			out = append(out, q[i:i+2]...)
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(q[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, q[i:i+size]...)
			}
			i += size
		}
	}
	return out
}

// decodeAny decodes the value at s.pos into map[string]any, []any, string,
// json.Number, bool or nil. Numbers stay json.Number so that large integers
// (customer numbers, phone numbers sent as numbers) keep every digit.
func (s *scanner) decodeAny() (any, error) {
	if s.pos >= len(s.buf) {
		return nil, s.eof()
	}
	switch c := s.buf[s.pos]; c {
	case '{':
		return s.decodeObject()
	case '[':
		if err := s.open(); err != nil {
			return nil, err
		}
		a := []any{}
		for i := 0; ; i++ {
			ok, err := s.element(i)
			if err != nil {
				return nil, err
			}
			if !ok {
				return a, nil
			}
			v, err := s.decodeAny()
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case '"':
		b, kind, err := s.scanString()
		if err != nil {
			return nil, err
		}
		return unquote(b, kind), nil
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return nil, s.literal("null")
	default:
		start := s.pos
		if c != '-' && !isDigit(c) {
			return nil, s.fail("invalid character looking for beginning of value")
		}
		if err := s.scanNumber(); err != nil {
			return nil, err
		}
		return json.Number(s.buf[start:s.pos]), nil
	}
}

// decodeObject decodes the object at s.pos; for a duplicated key the last wins.
func (s *scanner) decodeObject() (map[string]any, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	m := make(map[string]any)
	for i := 0; ; i++ {
		key, kind, ok, err := s.member(i)
		if err != nil {
			return nil, err
		}
		if !ok {
			return m, nil
		}
		v, err := s.decodeAny()
		if err != nil {
			return nil, err
		}
		m[unquote(key, kind)] = v
	}
}

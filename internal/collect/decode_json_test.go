package collect

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonCases are bodies on which the scanner must agree with json.Valid.
var jsonCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-12.25E-3`, `true`, `false`, `null`,
	` {"a" : [1, 2, {"b": null}] } `, `{"a":"\u00e9\n\"\\\/\b\f\r\t"}`, `"\ud83d\ude00"`,
	`"\ud83d"`, `"\udc00"`, "\"caf\xe9\"", "\"\xed\xa0\x80\"", `{"a":1,"a":2}`,
	// invalid
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`,
	`tru`, `nul`, `"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\tb\"", `[1 2]`, `{"a":1}}`, `{"a":1} x`,
	`[` + strings.Repeat(`"x",`, 3) + `]`, `NaN`, `Infinity`, "\"\x00\"", `{"a":[}`,
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range jsonCases {
		got := validJSON([]byte(c)) == nil
		if want := json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid = %v", c, got, want)
		}
	}
}

func TestScannerDepthLimit(t *testing.T) {
	t.Parallel()
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if err := validJSON([]byte(ok)); err != nil {
		t.Errorf("depth %d: %v", maxDepth, err)
	}
	deep := "[" + ok + "]"
	err := validJSON([]byte(deep))
	se, isSyntax := err.(*syntaxError)
	if !isSyntax || se.Offset != maxDepth || se.Msg != "nesting too deep" {
		t.Errorf("depth %d: got %v, want nesting too deep at byte %d", maxDepth+1, err, maxDepth)
	}
}

func TestSyntaxErrorOffsets(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in  string
		off int
	}{
		{`{"type":"track",}`, 16},  // '}' where a key must start
		{`{"type":"track"`, 15},    // end of input
		{`{"a":"b\qc"}`, 7},        // the backslash of the bad escape
		{"{\"a\":\"b\x01\"}", 7},   // the control character
		{`[1,2 3]`, 5},             // '3' where ',' or ']' must be
		{`{"a":01}`, 6},            // '1' after a leading zero
		{`{"a":tru}`, 5},           // the literal's start
		{`{"a":1} {}`, 8},          // data after the value
		{`{"a":"\ud83d\u12"}`, 12}, // second escape truncated
	} {
		err := validJSON([]byte(c.in))
		se, ok := err.(*syntaxError)
		if !ok || se.Offset != c.off {
			t.Errorf("validJSON(%q) = %v, want a syntax error at byte %d", c.in, err, c.off)
		}
	}
}

func TestUnquote(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\"b\\c\/d\b\f\n\r\t`, "a\"b\\c/d\b\f\n\r\t"},
		{`\u00e9t\u00E9`, "été"},
		{`\ud83d\ude00`, "😀"},
		{`\ud83d`, "\uFFFD"},                   // lone high surrogate
		{`\ude00x`, "\uFFFDx"},                 // lone low surrogate
		{`\ud83d\u0041`, "\uFFFDA"},            // high surrogate then a letter
		{`\ud83d\ud83d\ude00`, "\uFFFD😀"},      // lone high, then a pair
		{"caf\xe9", "caf\uFFFD"},               // Latin-1 byte
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate encoded in UTF-8: one U+FFFD per byte
		{`\u0000`, "\x00"},
	} {
		s := scanner{buf: []byte(`"` + c.in + `"`)}
		b, kind, err := s.scanString()
		if err != nil {
			t.Fatalf("scanString(%q): %v", c.in, err)
		}
		if got := unquote(b, kind); got != c.want {
			t.Errorf("unquote(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := stringValue([]byte(`"` + c.in + `"`)); got != c.want {
			t.Errorf("stringValue(%q) = %q, want %q", c.in, got, c.want)
		}
		// encoding/json decodes the same way.
		var std string
		if err := json.Unmarshal([]byte(`"`+c.in+`"`), &std); err != nil || std != c.want {
			t.Errorf("encoding/json disagrees on %q: %q, %v", c.in, std, err)
		}
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{"{ \"a b\" : [ 1 , \" c \" ] ,\n\t\"d\" : {} }", `{"a b":[1," c "],"d":{}}`},
		{`{"k":"\ud83d"}`, "{\"k\":\"\uFFFD\"}"},
		{`{"\udc00":"\ud83d\ude00"}`, "{\"\uFFFD\":\"\\ud83d\\ude00\"}"},
		{"{\"k\xe9y\":\"v\xff\"}", "{\"k\uFFFDy\":\"v\uFFFD\"}"},
		{`{"e":"\"\\\ud83d\\"}`, "{\"e\":\"\\\"\\\\\uFFFD\\\\\"}"},
		{`{"e":"\u00e9\n"}`, `{"e":"\u00e9\n"}`}, // valid escapes stay as sent
	} {
		s := scanner{buf: []byte(c.in)}
		v, flags, err := s.span()
		if err != nil {
			t.Fatalf("span(%q): %v", c.in, err)
		}
		got := clean(v, flags)
		if string(got) != c.want {
			t.Errorf("clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDecodeAnyKeepsNumbersAndRepairs(t *testing.T) {
	t.Parallel()
	in := "{\"id\":12345678901234567890,\"f\":1.50,\"k\xe9\":\"\\ud800\",\"a\":[true,null,{\"b\":\"c\"}],\"a\":[]}"
	got := decodeMap([]byte(in))
	want := map[string]any{
		"id":      json.Number("12345678901234567890"),
		"f":       json.Number("1.50"),
		"k\uFFFD": "\uFFFD",
		"a":       []any{}, // the last duplicate wins
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodeMap = %#v, want %#v", got, want)
	}
}

func TestSpecial8(t *testing.T) {
	t.Parallel()
	// Every byte value at every position, after safe bytes, with anything
	// after it: the first special byte must be the one found.
	for c := range 256 {
		for pos := range 8 {
			for _, after := range []byte{'a', '"', 0x00, 0xff, '\\'} {
				w := make([]byte, 8)
				for i := range w {
					w[i] = 'a'
					if i > pos {
						w[i] = after
					}
				}
				w[pos] = byte(c)
				first := 8
				for i, b := range w {
					if !strSafe[b] {
						first = i
						break
					}
				}
				m := special8(leUint64(w))
				got := 8
				if m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != first {
					t.Fatalf("special8(%q) finds byte %d, want %d", w, got, first)
				}
			}
		}
	}
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// FuzzScanner checks the scanner against encoding/json, and clean against
// the invariants Message's raw fields promise.
func FuzzScanner(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := validJSON(b)
		if se, ok := err.(*syntaxError); ok && se.Msg == "nesting too deep" {
			return
		}
		if got, want := err == nil, json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", b, err, want)
		}
		if err != nil {
			return
		}
		s := scanner{buf: b}
		s.skipSpace()
		v, flags, _ := s.span()
		c := clean(v, flags)
		checkRawJSON(t, "clean", c)
		var before, after any
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		_ = dec.Decode(&before)
		dec = json.NewDecoder(bytes.NewReader(c))
		dec.UseNumber()
		_ = dec.Decode(&after)
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("clean changed the value of %q: %q", v, c)
		}
	})
}

// checkRawJSON asserts what Message promises of its raw JSON: valid, compact,
// valid UTF-8, no lone surrogate escape. It uses encoding/json and its own
// walk, not the code under test.
func checkRawJSON(t *testing.T, what string, b []byte) {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("%s: invalid JSON %q", what, b)
	}
	if !utf8.Valid(b) {
		t.Fatalf("%s: invalid UTF-8 %q", what, b)
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, b)
	if !bytes.Equal(compact.Bytes(), b) {
		t.Fatalf("%s: not compact %q", what, b)
	}
	if i := loneSurrogateEscape(b); i >= 0 {
		t.Fatalf("%s: lone surrogate escape at byte %d of %q", what, i, b)
	}
}

// loneSurrogateEscape returns the offset of the first \uD800-\uDFFF escape
// that is not part of a high-low pair, or -1.
func loneSurrogateEscape(b []byte) int {
	isHex := func(c byte) bool {
		return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
	}
	surrogate := func(i int) (lo, hi bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
			return false, false
		}
		if c := b[i+2]; c == 'd' || c == 'D' {
			switch b[i+3] {
			case '8', '9', 'a', 'b', 'A', 'B':
				return false, true
			case 'c', 'd', 'e', 'f', 'C', 'D', 'E', 'F':
				return true, false
			}
		}
		return false, false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		lo, hi := surrogate(i)
		switch {
		case hi:
			if next, _ := surrogate(i + 6); !next {
				return i
			}
			i += 11
		case lo:
			return i
		default:
			i++ // skip the escaped character, which may be a backslash
		}
	}
	return -1
}

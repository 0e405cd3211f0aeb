package rule

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SyntaxError is a rule text error at a byte offset Pos (0-based), Line and
// Col (1-based, Col in characters): what was expected there and what was
// found instead.
type SyntaxError struct {
	Pos, Line, Col  int
	Expected, Found string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, col %d: expected %s, found %s", e.Line, e.Col, e.Expected, e.Found)
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDate
	tOp // = != < <= > >=
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tDot
)

type token struct {
	kind tokKind
	pos  int
	text string // source text; for strings the unescaped value
	num  float64
}

// describe says what a token is, for "found ..." in errors.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tIdent:
		return "word " + quoteFound(t.text)
	case tString:
		return "string " + quoteFound(t.text)
	case tNumber:
		return "number " + t.text
	case tDate:
		return "date " + t.text
	}
	return quote(t.text)
}

// lex splits src into tokens. It refuses invalid UTF-8 and unknown
// characters at their position.
func lex(src string) ([]token, *SyntaxError) {
	var out []token
	errAt := func(pos int, expected, found string) ([]token, *SyntaxError) {
		return nil, syntaxErr(src, pos, expected, found)
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				return errAt(i, "valid UTF-8", fmt.Sprintf("byte 0x%02x", c))
			}
			return errAt(i, "a word, string, number or operator", quote(string(r)))
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(src) && (src[j] == '_' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			out = append(out, token{kind: tIdent, pos: i, text: src[i:j]})
			i = j
		case c == '"':
			s, j, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			out = append(out, token{kind: tString, pos: i, text: s})
			i = j
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			if d, ok := lexDate(src, i); ok {
				out = append(out, token{kind: tDate, pos: i, text: d})
				i += len(d)
				continue
			}
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' ||
				(src[j] == 'e' || src[j] == 'E') ||
				(src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E')) {
				j++
			}
			f, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil || strings.ContainsAny(src[i:j], "_xXpP") {
				return errAt(i, "a number", quoteFound(src[i:j]))
			}
			out = append(out, token{kind: tNumber, pos: i, text: src[i:j], num: f})
			i = j
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(src) && src[j] == '=' && c != '=' {
				j++
			}
			if src[i:j] == "!" {
				return errAt(i, `"!="`, `"!"`)
			}
			out = append(out, token{kind: tOp, pos: i, text: src[i:j]})
			i = j
		default:
			k, ok := map[byte]tokKind{'(': tLParen, ')': tRParen, '[': tLBrack, ']': tRBrack, ',': tComma, '.': tDot}[c]
			if !ok {
				return errAt(i, "a word, string, number or operator", quote(string(rune(c))))
			}
			out = append(out, token{kind: k, pos: i, text: string(c)})
			i++
		}
	}
	return append(out, token{kind: tEOF, pos: len(src)}), nil
}

// lexDate recognises YYYY-MM-DD not followed by a word character.
func lexDate(src string, i int) (string, bool) {
	if len(src)-i < 10 {
		return "", false
	}
	s := src[i : i+10]
	for k := 0; k < 10; k++ {
		digit := s[k] >= '0' && s[k] <= '9'
		if (k == 4 || k == 7) != !digit || (k == 4 || k == 7) && s[k] != '-' {
			return "", false
		}
	}
	if i+10 < len(src) {
		c := src[i+10]
		if c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return "", false
		}
	}
	return s, true
}

// lexString reads a double-quoted string starting at src[i]. Escapes: \" \\
// \n \r \t and \uXXXX (not a surrogate). Raw control characters other than
// tab are refused, so a rule's text stays printable.
func lexString(src string, i int) (string, int, *SyntaxError) {
	var b strings.Builder
	j := i + 1
	for {
		if j >= len(src) {
			return "", 0, syntaxErr(src, j, `a closing " for the string opened at col `+strconv.Itoa(colOf(src, i)), "end of input")
		}
		c := src[j]
		switch {
		case c == '"':
			return b.String(), j + 1, nil
		case c == '\\':
			if j+1 >= len(src) {
				return "", 0, syntaxErr(src, j+1, "an escape (\\\" \\\\ \\n \\r \\t \\uXXXX)", "end of input")
			}
			switch src[j+1] {
			case '"', '\\':
				b.WriteByte(src[j+1])
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if j+6 > len(src) {
					return "", 0, syntaxErr(src, j, "\\u and 4 hex digits", quoteFound(src[j:]))
				}
				n, err := strconv.ParseUint(src[j+2:j+6], 16, 32)
				if err != nil || n >= 0xD800 && n <= 0xDFFF {
					return "", 0, syntaxErr(src, j, "\\u and 4 hex digits of a non-surrogate", quoteFound(src[j:j+6]))
				}
				b.WriteRune(rune(n))
				j += 6
				continue
			default:
				r, _ := utf8.DecodeRuneInString(src[j+1:])
				return "", 0, syntaxErr(src, j, "an escape (\\\" \\\\ \\n \\r \\t \\uXXXX)", quote(`\`+string(r)))
			}
			j += 2
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", 0, syntaxErr(src, j, "a printable character or an escape in a string", fmt.Sprintf("control character 0x%02x", c))
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(src[j:])
			if r == utf8.RuneError && size == 1 {
				return "", 0, syntaxErr(src, j, "valid UTF-8", fmt.Sprintf("byte 0x%02x", c))
			}
			b.WriteString(src[j : j+size])
			j += size
		default:
			b.WriteByte(c)
			j++
		}
	}
}

// quote prints s as a rule string literal that lexString reads back as s.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func colOf(src string, pos int) int {
	line := strings.LastIndexByte(src[:pos], '\n')
	return utf8.RuneCountInString(src[line+1:pos]) + 1
}

func syntaxErr(src string, pos int, expected, found string) *SyntaxError {
	if pos > len(src) {
		pos = len(src)
	}
	return &SyntaxError{Pos: pos, Line: strings.Count(src[:pos], "\n") + 1, Col: colOf(src, pos),
		Expected: expected, Found: found}
}

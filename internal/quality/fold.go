package quality

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// latinFold maps U+00C0..U+017F to their upper-case ASCII spelling. A table
// beats NFD decomposition by an order of magnitude on the hot path, and it
// also covers the letters NFD leaves alone (Ø, Ł, Đ, ß, the ligatures).
var latinFold = [...]string{
	// U+00C0
	"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
	"D", "N", "O", "O", "O", "O", "O", "", "O", "U", "U", "U", "U", "Y", "TH", "SS",
	// U+00E0
	"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
	"D", "N", "O", "O", "O", "O", "O", "", "O", "U", "U", "U", "U", "Y", "TH", "Y",
	// U+0100
	"A", "A", "A", "A", "A", "A", "C", "C", "C", "C", "C", "C", "C", "C", "D", "D",
	"D", "D", "E", "E", "E", "E", "E", "E", "E", "E", "E", "E", "G", "G", "G", "G",
	"G", "G", "G", "G", "H", "H", "H", "H", "I", "I", "I", "I", "I", "I", "I", "I",
	"I", "I", "IJ", "IJ", "J", "J", "K", "K", "K", "L", "L", "L", "L", "L", "L", "L",
	"L", "L", "L", "N", "N", "N", "N", "N", "N", "N", "N", "N", "O", "O", "O", "O",
	"O", "O", "OE", "OE", "R", "R", "R", "R", "R", "R", "S", "S", "S", "S", "S", "S",
	"S", "S", "T", "T", "T", "T", "T", "T", "U", "U", "U", "U", "U", "U", "U", "U",
	"U", "U", "U", "U", "W", "W", "Y", "Y", "Y", "Z", "Z", "Z", "Z", "Z", "Z", "S",
}

// FoldRune returns the upper-case ASCII spelling of r: letters lose their
// accents, ligatures are expanded (Œ → OE, Æ → AE, ß → SS), ASCII is
// upper-cased. It returns "" for characters with no Latin spelling (other
// scripts, symbols, emojis); callers decide whether that is worth a reason.
func FoldRune(r rune) string {
	switch {
	case r < utf8.RuneSelf:
		if 'a' <= r && r <= 'z' {
			return asciiUpper[r-'a']
		}
		return string(rune(r))
	case r >= 0xC0 && r <= 0x17F:
		return latinFold[r-0xC0]
	}
	switch r {
	case 0x1E9E: // ẞ
		return "SS"
	case 0x2019, 0x2018, 0x02BC, 0x00B4, 0x0060: // typographic apostrophes
		return "'"
	case 0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2212: // dashes
		return "-"
	case 0x00A0, 0x202F, 0x2007, 0x2009: // non-breaking and thin spaces
		return " "
	case 0x00BA, 0x00B0: // º and ° in "Nº", "N°"
		return "°"
	}
	if unicode.IsSpace(r) {
		return " "
	}
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		return ""
	}
	// Latin letters outside the table (Ṡ, ǅ, ...): decompose and keep the
	// ASCII base letter when there is one.
	d := norm.NFD.String(string(r))
	var b strings.Builder
	for _, c := range d {
		if c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			b.WriteRune(unicode.ToUpper(c))
		}
	}
	return b.String()
}

var asciiUpper = func() (t [26]string) {
	for i := range t {
		t[i] = string(rune('A' + i))
	}
	return t
}()

// Fold returns s in upper-case ASCII (see FoldRune), keeping punctuation
// that has an ASCII form. Characters with no Latin spelling are dropped;
// dropped reports whether any letter or digit was lost that way.
func Fold(s string) (folded string, dropped bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('a' <= c && c <= 'z') {
			ascii = false
			break
		}
	}
	if ascii {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		f := FoldRune(r)
		if f == "" && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			dropped = true
		}
		b.WriteString(f)
	}
	return b.String(), dropped
}

// PostalText renders s in the strict postal charset of NF Z10-011 lines 4
// to 6 (applied to all lines by Atrium): A–Z, 0–9 and single spaces, no
// accents or punctuation. Apostrophes and hyphens become spaces
// ("L'Haÿ-les-Roses" → "L HAY LES ROSES").
func PostalText(s string) string {
	f, _ := Fold(s)
	var b strings.Builder
	b.Grow(len(f))
	space := false
	for i := 0; i < len(f); i++ {
		c := f[i]
		if ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteByte(c)
			continue
		}
		space = true
	}
	return b.String()
}

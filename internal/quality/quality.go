// Package quality normalises and validates contact data: e-mail addresses,
// phone numbers, person names and civilities, countries, birth dates and
// international postal codes. French postal addresses (RNVP) live in the
// subpackage rnvp.
//
// Every normaliser follows the same contract, so that ingestion can store
// its output beside the raw value and identity resolution can match on it:
//
//   - The raw input is never modified; it is returned in Result.Raw
//     (trimmed of nothing, but capped at MaxInput bytes).
//   - Value is the normalised value, or "" when the status is invalid.
//   - Key is a matching key, set only where it differs from Value (for
//     phones it is always the E.164 form).
//   - Status is one of valid, corrected, suspect, invalid; Reasons are
//     machine-readable codes (documented in docs/quality.md) explaining
//     every change and every doubt. Nothing is changed silently: a
//     correction always carries a reason, a doubtful fix is a Suggestion.
//
// All functions are pure, safe for concurrent use and allocation-light:
// they run on the ingest hot path. Reference tables are embedded in the
// binary and decoded lazily, once, on first use.
package quality

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Status grades a normalised value.
type Status string

// The four statuses, from best to worst.
const (
	// StatusValid: the value conforms (only formatting was applied).
	StatusValid Status = "valid"
	// StatusCorrected: content was fixed with certainty; Reasons say how.
	StatusCorrected Status = "corrected"
	// StatusSuspect: usable but doubtful; Reasons say why, Suggestion may
	// propose a fix that a person should confirm.
	StatusSuspect Status = "suspect"
	// StatusInvalid: unusable; Value is empty.
	StatusInvalid Status = "invalid"
)

// Rank orders statuses from best (0) to worst (3) so that callers can keep
// the worst of several.
func (s Status) Rank() int {
	switch s {
	case StatusValid:
		return 0
	case StatusCorrected:
		return 1
	case StatusSuspect:
		return 2
	default:
		return 3
	}
}

// Worse returns the worse of two statuses.
func Worse(a, b Status) Status {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// Result is the common output of the normalisers.
type Result struct {
	Raw        string   `json:"raw"`
	Value      string   `json:"value"`
	Key        string   `json:"key,omitempty"`
	Status     Status   `json:"status"`
	Reasons    []string `json:"reasons,omitempty"`
	Suggestion string   `json:"suggestion,omitempty"`
}

// MaxInput caps the bytes any normaliser looks at. Longer input is cut (at
// a rune boundary) and flagged with ReasonTooLong: no contact field is that
// long, and the cap bounds the work done on hostile input.
const MaxInput = 1024

// Reason codes shared by several normalisers.
const (
	ReasonEmpty        = "empty"
	ReasonTooLong      = "too_long"
	ReasonInvalidUTF8  = "invalid_utf8"
	ReasonControlChars = "control_chars"
)

// addReason appends a reason once.
func (r *Result) addReason(code string) {
	for _, c := range r.Reasons {
		if c == code {
			return
		}
	}
	r.Reasons = append(r.Reasons, code)
}

// raise moves the status to s when s is worse.
func (r *Result) raise(s Status) { r.Status = Worse(r.Status, s) }

// Sanitize prepares untrusted text: it caps the length at max bytes, replaces
// invalid UTF-8 and control characters (including the Unicode format
// characters often pasted from spreadsheets, such as zero-width spaces) by
// spaces, and trims. The returned reasons say what was done. When the input
// is already clean it is returned without allocating.
func Sanitize(s string, max int) (string, []string) {
	var reasons []string
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
		reasons = append(reasons, ReasonTooLong)
	}
	clean := true
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' || c == 0x7f {
				clean = false
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || isInvisible(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return strings.TrimSpace(s), reasons
	}
	var b strings.Builder
	b.Grow(len(s))
	badUTF8, ctrl := false, false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			badUTF8 = true
			b.WriteByte(' ')
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			ctrl = true
			b.WriteByte(' ')
		case isInvisible(r):
			ctrl = true
			// Zero-width characters join words; drop them rather than
			// splitting a word in two.
			if r != 0x200b && r != 0xfeff && r != 0x200c && r != 0x200d && r != 0x2060 {
				b.WriteByte(' ')
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	if badUTF8 {
		reasons = append(reasons, ReasonInvalidUTF8)
	}
	if ctrl {
		reasons = append(reasons, ReasonControlChars)
	}
	return strings.TrimSpace(b.String()), reasons
}

// isInvisible reports format and separator characters that render as
// nothing or as a line break.
func isInvisible(r rune) bool {
	if r < 0x80 {
		return false
	}
	if r >= 0x80 && r < 0xa0 {
		return true
	}
	switch r {
	case 0x2028, 0x2029:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// collapseSpaces turns every run of Unicode white space into one ASCII
// space and trims the ends. It returns s unchanged when nothing needs doing.
func collapseSpaces(s string) string {
	need := false
	prevSpace := true
	for _, r := range s {
		sp := unicode.IsSpace(r)
		if sp && (prevSpace || r != ' ') {
			need = true
			break
		}
		prevSpace = sp
	}
	if !need && !prevSpace {
		return s
	}
	if !need {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

package quality

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Name reason codes.
const (
	ReasonNameRecased    = "recased"           // all-caps or all-lower input recased
	ReasonNameCharacters = "unexpected_chars"  // digits, symbols, emojis in a name
	ReasonNameEmail      = "looks_like_email"  // an e-mail typed in a name field
	ReasonNameOrder      = "order_uncertain"   // FullName could not tell first from last
	ReasonNameSwapped    = "last_name_first"   // FullName read "DUPONT Jean" / "Nom Prénom"
	ReasonNameSingle     = "single_word"       // FullName got one word: taken as the last name
	ReasonNameCivility   = "civility_found"    // FullName took a civility off the front
	ReasonNameLong       = "too_long_for_name" // over 80 characters
)

// NameResult is the output of Name and FullName. Value is the display
// name ("Jean-Pierre de La Fontaine"); Key is the matching key: upper case,
// no accents, hyphens and apostrophes as spaces, tokens sorted, so that
// "Jean Pierre FONTAINE (DE LA)" and "de La Fontaine, Jean-Pierre" meet.
// LooseKey also drops the particles (DE D DU DES LE LA LES) for a secondary
// comparison.
type NameResult struct {
	Result
	First    string `json:"first,omitempty"`
	Last     string `json:"last,omitempty"`
	Civility string `json:"civility,omitempty"` // code, when FullName found one
	LooseKey string `json:"loose_key,omitempty"`
}

const maxName = 256

// Name normalises a first name and a last name typed in separate fields.
// A field is recased only when it is all capitals or all lower case: mixed
// case is taken as intended (McDonald, DiCaprio, van Gogh).
func Name(first, last string) NameResult {
	res := NameResult{Result: Result{Raw: joinNonEmpty(first, last, " | "), Status: StatusValid}}
	f, r1 := Sanitize(first, maxName)
	l, r2 := Sanitize(last, maxName)
	for _, r := range append(r1, r2...) {
		res.addReason(r)
	}
	f, l = collapseSpaces(f), collapseSpaces(l)
	if !hasLetter(f) && !hasLetter(l) {
		res.Result = invalid(res.Result, ReasonEmpty)
		return res
	}
	res.First = recaseField(&res, f, false)
	res.Last = recaseField(&res, l, true)
	res.finish()
	return res
}

// FullName splits and normalises a single full-name field: "M. Jean
// DUPONT", "DUPONT Jean", "dupont jean-pierre", "Jean de La Fontaine",
// "DUPONT, Jean". A leading civility is taken off into Civility. The last
// name is told from the first by, in order: a comma, capitals (French
// correspondence writes the surname in capitals), particles, and a list of
// common French first names; when none decides, the first word is taken as
// the first name and the status is suspect (order_uncertain).
func FullName(s string) NameResult {
	res := NameResult{Result: Result{Raw: s, Status: StatusValid}}
	clean, reasons := Sanitize(s, maxName)
	for _, r := range reasons {
		res.addReason(r)
	}
	clean = collapseSpaces(clean)
	if !hasLetter(clean) {
		res.Result = invalid(res.Result, ReasonEmpty)
		return res
	}
	// Civility first: its dots and ampersands are not part of the name.
	words := strings.Fields(clean)
	folded := make([]string, len(words))
	for i, w := range words {
		f, _ := Fold(strings.TrimRight(w, ".,"))
		folded[i] = f
	}
	if code, used := leadingCivility(expandAmp(folded)); code != "" {
		// expandAmp never changes the count before the civility ends
		// unless "&" was glued; recount on the original words.
		n := civilityWordCount(words, used)
		res.Civility = code
		res.addReason(ReasonNameCivility)
		if n >= len(words) {
			// A civility and no name.
			res.Result = invalid(res.Result, ReasonEmpty)
			return res
		}
		words = words[n:]
	}
	first, last, how := splitFullName(words)
	switch how {
	case splitSwapped:
		res.addReason(ReasonNameSwapped)
	case splitUncertain:
		res.addReason(ReasonNameOrder)
		res.raise(StatusSuspect)
	case splitSingle:
		res.addReason(ReasonNameSingle)
	}
	res.First = recaseField(&res, first, false)
	res.Last = recaseField(&res, last, true)
	res.finish()
	return res
}

func expandAmp(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		out = append(out, civilityTokens(w)...)
	}
	return out
}

// civilityWordCount maps a count of civility tokens back to a count of
// original words ("M.&Mme" is one word but three tokens).
func civilityWordCount(words []string, tokens int) int {
	seen := 0
	for i, w := range words {
		seen += len(civilityTokens(w))
		if seen >= tokens {
			return i + 1
		}
	}
	return len(words)
}

type splitKind int

const (
	splitNormal splitKind = iota
	splitSwapped
	splitUncertain
	splitSingle
)

// splitFullName decides which words are the first name(s) and which the
// last name.
func splitFullName(words []string) (first, last string, how splitKind) {
	// "DUPONT, Jean"
	joined := strings.Join(words, " ")
	if i := strings.IndexByte(joined, ','); i > 0 {
		l, f := strings.TrimSpace(joined[:i]), strings.TrimSpace(strings.ReplaceAll(joined[i+1:], ",", " "))
		if f != "" {
			return f, l, splitSwapped
		}
		words = strings.Fields(l)
	}
	if len(words) == 1 {
		return "", words[0], splitSingle
	}
	// Capitals mark the surname when the other words are not capitals.
	caps := make([]bool, len(words))
	nCaps := 0
	for i, w := range words {
		caps[i] = isAllCaps(w) && letterCount(w) >= 2
		if caps[i] {
			nCaps++
		}
	}
	if nCaps > 0 && nCaps < len(words) {
		// Particles right before the capitals belong to the surname.
		start, end := -1, -1
		for i := range words {
			if caps[i] {
				if start < 0 {
					start = i
				}
				end = i
			}
		}
		for start > 0 && isParticle(words[start-1]) {
			start--
		}
		contiguous := true
		for i := start; i <= end; i++ {
			if !caps[i] && !isParticle(words[i]) {
				contiguous = false
			}
		}
		if contiguous {
			l := strings.Join(words[start:end+1], " ")
			f := strings.Join(append(append([]string{}, words[:start]...), words[end+1:]...), " ")
			if start == 0 {
				return f, l, splitSwapped
			}
			return f, l, splitNormal
		}
	}
	// A particle after the first word starts the surname: "Jean de la Fontaine".
	for i := 1; i < len(words)-1; i++ {
		if isParticle(words[i]) {
			return strings.Join(words[:i], " "), strings.Join(words[i:], " "), splitNormal
		}
	}
	// A surname with its particle first: "de la Fontaine Jean".
	if isParticle(words[0]) && isFirstName(words[len(words)-1]) {
		return words[len(words)-1], strings.Join(words[:len(words)-1], " "), splitSwapped
	}
	firstKnown := isFirstName(words[0])
	lastKnown := isFirstName(words[len(words)-1])
	switch {
	case firstKnown && !lastKnown:
		n := 1
		for n < len(words)-1 && isFirstName(words[n]) {
			n++
		}
		return strings.Join(words[:n], " "), strings.Join(words[n:], " "), splitNormal
	case lastKnown && !firstKnown:
		n := len(words) - 1
		for n > 1 && isFirstName(words[n-1]) {
			n--
		}
		return strings.Join(words[n:], " "), strings.Join(words[:n], " "), splitSwapped
	}
	return words[0], strings.Join(words[1:], " "), splitUncertain
}

// finish builds Value, the keys and the status.
func (res *NameResult) finish() {
	res.Value = joinNonEmpty(res.First, res.Last, " ")
	if res.Value == "" {
		res.Result = invalid(res.Result, ReasonEmpty)
		return
	}
	if len(res.Value) > 80 {
		res.addReason(ReasonNameLong)
		res.raise(StatusSuspect)
	}
	if strings.IndexByte(res.Value, '@') >= 0 {
		res.addReason(ReasonNameEmail)
		res.raise(StatusSuspect)
	}
	key, loose := NameKeys(res.Value)
	if key != res.Value {
		res.Key = key
	}
	if loose != key {
		res.LooseKey = loose
	}
}

// NameKeys returns the matching key and the particle-free loose key of a
// name (see NameResult).
func NameKeys(name string) (key, loose string) {
	tokens := strings.Fields(PostalText(name))
	sort.Strings(tokens)
	key = strings.Join(tokens, " ")
	kept := tokens[:0:0]
	for _, t := range tokens {
		switch t {
		case "DE", "D", "DU", "DES", "LE", "LA", "LES":
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) == 0 {
		return key, key
	}
	return key, strings.Join(kept, " ")
}

// recaseField recases one name field when it is all capitals or all lower
// case, and flags characters no name has.
func recaseField(res *NameResult, s string, surname bool) string {
	if s == "" {
		return ""
	}
	for _, r := range s {
		if unicode.IsDigit(r) || (!unicode.IsLetter(r) && !unicode.IsMark(r) && !strings.ContainsRune(" -'’.,()", r)) {
			res.addReason(ReasonNameCharacters)
			res.raise(StatusSuspect)
			break
		}
	}
	s = strings.ReplaceAll(s, "’", "'")
	if !isAllCaps(s) && !isAllLower(s) {
		return s
	}
	out := recase(s, surname)
	if out != s {
		res.addReason(ReasonNameRecased)
		res.raise(StatusCorrected)
	}
	return out
}

// recase applies French name casing to an all-caps or all-lower string.
func recase(s string, surname bool) string {
	words := strings.Fields(s)
	for i, w := range words {
		lw := strings.ToLower(w)
		next := i < len(words)-1
		switch {
		case surname && next && (lw == "de" || lw == "d'" || lw == "von" || lw == "van" ||
			lw == "der" || lw == "den" || lw == "da" || lw == "dos" || lw == "das" || lw == "y" || lw == "zu"):
			words[i] = lw
		case surname && strings.HasPrefix(lw, "d'") && len(lw) > 2:
			words[i] = "d'" + capitalizeParts(lw[2:])
		default:
			words[i] = capitalizeParts(lw)
		}
	}
	return strings.Join(words, " ")
}

// capitalizeParts capitalises each hyphen- and apostrophe-separated part:
// "jean-pierre" → "Jean-Pierre", "o'neill" → "O'Neill", "mcdonald" →
// "McDonald".
func capitalizeParts(w string) string {
	var b strings.Builder
	b.Grow(len(w))
	start := true
	for i, r := range w {
		if start {
			b.WriteRune(unicode.ToUpper(r))
			start = false
			if (r == 'm') && strings.HasPrefix(w[i:], "mc") && utf8.RuneCountInString(w[i:]) > 3 {
				// "Mc" + capital: handled by marking the next-but-one rune.
				b.WriteByte('c')
				rest := w[i+2:]
				return b.String() + capitalizeParts(rest)
			}
			continue
		}
		b.WriteRune(r)
		if r == '-' || r == '\'' || r == ' ' {
			start = true
		}
	}
	return b.String()
}

func isAllCaps(s string) bool {
	letters := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters = true
			if unicode.IsLower(r) {
				return false
			}
		}
	}
	return letters
}

func isAllLower(s string) bool {
	letters := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters = true
			if unicode.IsUpper(r) {
				return false
			}
		}
	}
	return letters
}

func letterCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

func isParticle(w string) bool {
	switch strings.ToLower(w) {
	case "de", "d'", "du", "des", "le", "la", "les", "von", "van", "der", "den", "da", "dos", "das", "di", "del", "della":
		return true
	}
	return false
}

func joinNonEmpty(a, b, sep string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + sep + b
}

// isFirstName reports whether w (or every part of a hyphenated w) is a
// common French first name.
func isFirstName(w string) bool {
	f := PostalText(w)
	if f == "" {
		return false
	}
	for _, part := range strings.Fields(f) {
		if !firstNames[part] {
			return false
		}
	}
	return true
}

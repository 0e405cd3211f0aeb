package rnvp

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
)

// Abbreviation (rnvp.md §1.7). A street label longer than its budget is
// shortened pass by pass in the order of NF Z10-011 as implemented by the
// BAN's normadresse: street type at the start, titles, general words,
// secondary street types, first names to initials, SAINT → ST, a secondary
// type at the start, then articles removed and, as a last resort, words
// reduced to initials. Within a pass, abbreviations are taken left to right
// and the process stops as soon as the label fits: a label that fits is
// never touched, and the last word is never abbreviated before the last
// resort.
//
// The passes are regular-expression rules (abbrev_rules.go). They only run
// for labels over the budget, a few percent of real addresses, so their cost
// stays off the common path.

type subst struct {
	re   *regexp.Regexp
	repl string
	// need is a literal every match contains: when it is absent the
	// regular expression is not run (most rules never apply to a label).
	need string
	// literal is set when the whole pattern is a literal: strings.Index
	// replaces the regular expression.
	literal bool
	// bigrams are the upper-case letter pairs of need: a rule is skipped
	// without scanning the text when the text lacks one of them. Labels
	// are short and the rules many, so this check decides most rules.
	bigrams bigramSet
}

// bigramSet is a bitmap of the 26×26 upper-case letter pairs of a text.
type bigramSet [11]uint64

func bigramsOf(s string) (m bigramSet) {
	for i := 0; i+1 < len(s); i++ {
		a, b := s[i], s[i+1]
		if a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z' {
			idx := int(a-'A')*26 + int(b-'A')
			m[idx>>6] |= 1 << (idx & 63)
		}
	}
	return m
}

// covers reports whether m holds every pair of need.
func (m *bigramSet) covers(need *bigramSet) bool {
	for i := range need {
		if need[i]&^m[i] != 0 {
			return false
		}
	}
	return true
}

func newSubst(pattern, repl string) subst {
	s := subst{re: regexp.MustCompile(pattern), repl: repl}
	if lit, complete := s.re.LiteralPrefix(); complete && !strings.Contains(repl, "$") {
		s.need, s.literal = lit, true
	} else {
		s.need = requiredLiteral(pattern)
	}
	s.bigrams = bigramsOf(s.need)
	return s
}

// requiredLiteral returns the longest literal that is a direct part of the
// pattern's top-level concatenation, hence present in every match.
func requiredLiteral(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	best := ""
	consider := func(n *syntax.Regexp) {
		if n.Op == syntax.OpLiteral && n.Flags&syntax.FoldCase == 0 && len(string(n.Rune)) > len(best) {
			best = string(n.Rune)
		}
	}
	if re.Op == syntax.OpConcat {
		for _, sub := range re.Sub {
			consider(sub)
		}
	} else {
		consider(re)
	}
	return best
}

// replaceFirst replaces the leftmost match only (the source's count=1).
func (s subst) replaceFirst(text string) string {
	if s.need != "" && !strings.Contains(text, s.need) {
		return text
	}
	if s.literal {
		i := strings.Index(text, s.need)
		return text[:i] + s.repl + text[i+len(s.need):]
	}
	loc := s.re.FindStringSubmatchIndex(text)
	if loc == nil {
		return text
	}
	dst := s.re.ExpandString(nil, s.repl, text, loc)
	return text[:loc[0]] + string(dst) + text[loc[1]:]
}

type compiledAbbrev struct {
	typeAtStart   []subst // pass 1
	titles        []subst // pass 2
	general       []subst // pass 4 ("general words")
	secondary     []subst // pass 5: secondary types anywhere, then the pass-1 list anywhere
	saint         []subst // pass 6
	secondaryHead []subst // pass 5 again, at the start only
	particles     []subst // protected family-name particles
	firstNames    map[string]string
	articles      subst
	lowerArticles subst
}

var (
	abbrevOnce sync.Once
	abbrevC    *compiledAbbrev
)

func compiledRules() *compiledAbbrev {
	abbrevOnce.Do(func() {
		c := &compiledAbbrev{firstNames: map[string]string{}}
		mk := newSubst
		var secondaryOfType []subst
		for _, r := range abbrevRules {
			long, short := r.long, r.short
			ls, ss := strings.TrimSpace(long), strings.ToLower(strings.TrimSpace(short))
			switch r.step {
			case 1:
				c.typeAtStart = append(c.typeAtStart, mk("^"+long, short))
				secondaryOfType = append(secondaryOfType, mk(" "+ls+" ", " "+ss+" "))
			case 2:
				c.titles = append(c.titles, mk(" "+long+" ", " "+short+" "))
			case 4:
				c.general = append(c.general, mk("(^| )"+long+" ", " "+strings.ToLower(short)+" "))
			case 5:
				c.secondary = append(c.secondary, mk(" "+ls+" ", " "+ss+" "))
				c.secondaryHead = append(c.secondaryHead, mk("^"+ls+" ", ss+" "))
			case 6:
				c.saint = append(c.saint, mk(long, strings.ToLower(short)))
			}
		}
		// Pass 5 runs the secondary list, then the priority list, anywhere.
		c.secondary = append(c.secondary, secondaryOfType...)
		for _, r := range protectedParticles {
			c.particles = append(c.particles, mk(r.long, r.short))
		}
		for _, f := range firstNameInitials {
			for _, n := range f.names {
				c.firstNames[n] = f.initial
			}
		}
		c.articles = newSubst(` (LE|LA|LES|AU|AUX|DE|DU|DES|D|ET|A|L|SUR|EN) `, " ")
		c.lowerArticles = newSubst(` (le|la|les|au|aux|de|du|des|d|et|a|l|sur) `, " ")
		abbrevC = c
	})
	return abbrevC
}

// Abbreviate shortens an upper-case, unaccented, single-spaced street label
// to at most max characters when it is longer (see the comment above). The
// result is upper case; it may still exceed max when even the last resort
// cannot make it fit.
func Abbreviate(label string, max int) string {
	if len(label) <= max {
		return label
	}
	return strings.ToUpper(abbreviate(label, max))
}

// pickLeft returns the shortest mix of the abbreviated label short and
// the previous stage long, taking abbreviations from the left, that fits
// max, or the mix with every abbreviation but the last word's; ok says
// whether it fits. next is short without its "@" placeholders: the input of
// the next pass.
func pickLeft(long, short string, max int) (out string, ok bool, next string) {
	s := strings.Fields(short)
	l := strings.Fields(long)
	// A multi-word abbreviation leaves "@" for each absorbed word: fold the
	// words of the long form the same way so both sides stay aligned.
	for m := len(s) - 1; m > 0; m-- {
		if s[m] == "@" && m < len(l) {
			l[m-1] = s[m-1]
			l = append(l[:m], l[m+1:]...)
			s = append(s[:m], s[m+1:]...)
		}
	}
	next = strings.ReplaceAll(short, " @", "")
	out = strings.Join(s, " ")
	for m := 1; m < len(s); m++ {
		tail := ""
		if m < len(l) {
			tail = strings.Join(l[m:], " ")
		}
		out = strings.TrimSpace(strings.Join(s[:m], " ") + " " + tail)
		if len(out) <= max {
			return out, true, next
		}
	}
	return out, len(out) <= max, next
}

// applyAll applies each rule once, in order; trim trims the text after
// every rule (the general-words pass).
func applyAll(text string, rules []subst) string { return applyRules(text, rules, false) }

func applyRules(text string, rules []subst, trim bool) string {
	mask := bigramsOf(text)
	for i := range rules {
		r := &rules[i]
		if !mask.covers(&r.bigrams) {
			continue
		}
		next := r.replaceFirst(text)
		if trim {
			next = strings.TrimSpace(next)
		}
		if next != text {
			text = next
			mask = bigramsOf(text)
		}
	}
	return text
}

func abbreviate(label string, max int) string {
	c := compiledRules()
	orig := label
	lib := applyAll(label, c.typeAtStart)
	out, ok, prev := pickLeft(orig, lib, max)
	if ok {
		return out
	}
	lib = prev

	for pass := 0; pass < 2; pass++ {
		lib = applyAll(lib, c.titles)
	}
	if out, ok, prev = pickLeft(prev, lib, max); ok {
		return out
	}
	lib = prev

	for pass := 0; pass < 3; pass++ {
		lib = applyRules(lib, c.general, true)
	}
	if out, ok, prev = pickLeft(prev, lib, max); ok {
		return out
	}
	lib = prev

	for pass := 0; pass < 2; pass++ {
		lib = applyAll(lib, c.secondary)
	}
	if out, ok, prev = pickLeft(prev, lib, max); ok {
		return out
	}
	lib = prev

	// First names to initials, except the last word and a name right after
	// SAINT (ST JEAN keeps JEAN).
	words := strings.Fields(lib)
	for n := 1; n < len(words)-1; n++ {
		w := words[n]
		if strings.HasPrefix(words[n-1], "SAINT") {
			continue
		}
		if initial, found := c.firstNames[w]; found {
			lib = replaceWordFirst(lib, w, initial)
		}
	}
	if out, ok, prev = pickLeft(prev, lib, max); ok {
		return out
	}
	lib = prev

	for pass := 0; pass < 2; pass++ {
		lib = applyAll(lib, c.saint)
	}
	if out, ok, prev = pickLeft(prev, lib, max); ok {
		return out
	}
	lib = prev

	lib = applyAll(lib, c.secondaryHead)
	if out, ok, prev = pickLeft(prev, lib, max); ok {
		return out
	}
	lib = prev
	lib = strings.ReplaceAll(lib, " @", "")

	// Protect the particles of known family names, then drop articles.
	lib = applyAll(lib, c.particles)
	for i := 0; i < 6; i++ {
		lib = c.articles.replaceFirst(lib)
		if len(lib) <= max {
			return lib
		}
	}
	// Last resort: remaining upper-case words to their initial.
	for _, w := range strings.Fields(lib) {
		if len(w) > 1 && w == strings.ToUpper(w) && w[0] >= 'A' {
			lib = replaceWordFirst(lib, w, w[:1])
			if len(lib) <= max {
				return lib
			}
		}
	}
	for i := 0; i < 4; i++ {
		lib = c.lowerArticles.replaceFirst(lib)
		if len(lib) <= max {
			return lib
		}
	}
	return lib
}

// replaceWordFirst replaces the first " w " (a whole inner word) by " r ".
func replaceWordFirst(lib, w, r string) string {
	i := strings.Index(lib, " "+w+" ")
	if i < 0 {
		return lib
	}
	return lib[:i+1] + r + lib[i+1+len(w):]
}

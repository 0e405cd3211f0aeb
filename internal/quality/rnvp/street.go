package rnvp

import (
	"strconv"
	"strings"
)

// street is a parsed line 4: house number, repetition index, street type
// and name (rnvp.md §1.3).
type street struct {
	number  int    // 1..9999, 0 when none
	index   string // BIS, TER, QUATER, QUINQUIES or a letter
	typ     string // full street type ("AVENUE"), "" when the label has none
	label   string // type and name, abbreviations expanded
	typed   string // the label as typed (folded)
	reasons []string
	fixed   bool // content changed (range cut, number dropped)
	doubt   bool // something could not be read with confidence
}

// parseStreet reads the words of a street piece. Only the leading digits
// (or those right before the street type) are the house number: numbers
// inside the name belong to it (RUE DU 8 MAI 1945).
func parseStreet(w []string) street {
	var s street
	i := 0
	if len(w) > 1 && (w[0] == "N" || w[0] == "NO" || w[0] == "NUM" || w[0] == "NUMERO") && isDigits(w[1]) {
		i = 1
	}
	if i < len(w) {
		t := w[i]
		num, glued := "", ""
		if isDigits(t) && len(t) <= 6 {
			num = t
		} else if n, ok := splitGlued(t); ok {
			num, glued = n, t[len(n):]
		}
		if num != "" && i+1 < len(w) {
			n, _ := strconv.Atoi(num)
			i++
			// Ranges keep the first number: 12/14, 12-14, 4 à 8, 12 et 14.
			if glued == "" && i+1 < len(w) && isDigits(w[i+1]) {
				switch w[i] {
				case "/", "-", "A", "AU", "ET":
					i += 2
					s.reasons = append(s.reasons, ReasonNumberRange)
					s.fixed = true
				}
			}
			switch {
			case glued != "":
				s.index = glued
				s.reasons = append(s.reasons, ReasonIndexSeparated)
			case i < len(w) && indexWords[w[i]] != "":
				s.index = w[i]
				i++
			case i+1 < len(w) && len(w[i]) == 1 && w[i][0] >= 'A' && w[i][0] <= 'Z' && typeWordAt(w, i+1):
				s.index = w[i]
				i++
			}
			switch {
			case n == 0:
				s.reasons = append(s.reasons, ReasonNumberInvalid)
				s.doubt = true
				s.index = ""
			case n > 9999:
				s.reasons = append(s.reasons, ReasonNumberInvalid)
				s.doubt = true
				s.index = ""
			default:
				s.number = n
			}
		}
	}
	rest := w[i:]
	s.typed = strings.Join(rest, " ")
	s.typ, s.label = expandLabel(rest)
	return s
}

// expandLabel expands the informal abbreviations of a street label: the
// street type at its start, titles after an article or a title, and the
// unambiguous SAINT/NOTRE DAME/GRAND forms anywhere. Ambiguous codes are
// left as typed (rnvp.md §2.5).
func expandLabel(w []string) (typ, label string) {
	if len(w) == 0 {
		return "", ""
	}
	out := make([]string, 0, len(w)+2)
	i := 0
	switch {
	case len(w) > 1 && streetTypes[w[0]+" "+w[1]]:
		typ = w[0] + " " + w[1]
		i = 2
	case len(w) > 1 && (w[0] == "RD" || w[0] == "ROND") && (w[1] == "PT" || w[1] == "POINT"):
		typ, i = "ROND POINT", 2
	case len(w) > 1 && (w[0] == "GDE" || w[0] == "GRDE" || w[0] == "GD" || w[0] == "GRD" || w[0] == "GRANDE" || w[0] == "GRAND") && (w[1] == "RUE" || w[1] == "R"):
		typ, i = "GRANDE RUE", 2
	case len(w) > 1 && w[0] == "PTE":
		if w[1] == "RUE" || w[1] == "ROUTE" || w[1] == "ALLEE" || w[1] == "AVENUE" || w[1] == "IMPASSE" {
			typ, i = "PETITE "+w[1], 2
		} else {
			typ, i = "PORTE", 1
		}
	case streetTypes[w[0]]:
		typ, i = w[0], 1
	case len(w) > 1 && typeVariants[w[0]] != "":
		typ, i = typeVariants[w[0]], 1
	}
	if typ != "" {
		out = append(out, typ)
	}
	typeLen := i
	for ; i < len(w); i++ {
		t := w[i]
		if full, ok := anywhereVariants[t]; ok && i < len(w)-1 {
			out = append(out, full)
			continue
		}
		if full, ok := titleVariants[t]; ok && i < len(w)-1 && i > 0 {
			prev := w[i-1]
			if articles[prev] || i == typeLen && typ != "" || titleVariants[prev] != "" || prev == "ET" {
				out = append(out, full)
				continue
			}
		}
		out = append(out, t)
	}
	return typ, strings.Join(out, " ")
}

// indexCode renders a repetition index for line 4 (BIS → B, per La Poste).
func indexCode(idx string) string {
	if c := indexWords[idx]; c != "" {
		return c
	}
	return idx
}

// render builds line 4: the label in full when it fits its budget, else
// abbreviated by the NF Z10-011 passes (rnvp.md §1.7).
func (s *street) render() string {
	prefix := ""
	if s.number > 0 {
		prefix = strconv.Itoa(s.number)
		if s.index != "" {
			prefix += " " + indexCode(s.index)
		}
	}
	budget := 32
	if prefix != "" && 38-len(prefix)-1 < budget {
		budget = 38 - len(prefix) - 1
	}
	label := s.label
	if len(label) > budget {
		label = Abbreviate(label, budget)
		s.reasons = append(s.reasons, ReasonLabelAbbreviated)
	} else if label != s.typed {
		s.reasons = append(s.reasons, ReasonExpanded)
	}
	return joinWords(prefix, label)
}

func joinWords(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

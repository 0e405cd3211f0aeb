package rule

import (
	"math"
	"strconv"
	"strings"
)

// Format prints e in the text syntax; Parse(Format(e)) returns e for every
// e that Parse or ParseJSON returned. Keywords are lower case, one space
// between tokens; nested and / or get parentheses.
func Format(e Expr) string {
	var b strings.Builder
	format(&b, e)
	return b.String()
}

func format(b *strings.Builder, e Expr) {
	switch x := e.(type) {
	case *And:
		for i, a := range x.Args {
			if i > 0 {
				b.WriteString(" and ")
			}
			formatChild(b, a, true)
		}
	case *Or:
		for i, a := range x.Args {
			if i > 0 {
				b.WriteString(" or ")
			}
			_, nested := a.(*Or)
			if nested {
				b.WriteByte('(')
				format(b, a)
				b.WriteByte(')')
			} else {
				format(b, a)
			}
		}
	case *Not:
		if ev, ok := x.Arg.(*Event); ok {
			b.WriteString("did not ")
			formatEvent(b, ev)
			return
		}
		b.WriteString("not ")
		formatChild(b, x.Arg, true)
	case *Trait:
		b.WriteString("trait." + formatPath(x.Path))
		formatTest(b, x.Test)
	case *Normalized:
		b.WriteString("normalized." + formatPath(x.Path))
		formatTest(b, x.Test)
	case *Score:
		b.WriteString("score." + x.Name)
		formatTest(b, x.Test)
	case *RFM:
		b.WriteString("rfm")
		formatTest(b, x.Test)
	case *Identity:
		if x.Type == "email" || x.Type == "phone" {
			b.WriteString("has " + x.Type)
		} else {
			b.WriteString("has identity " + quote(x.Type))
		}
	case *Consent:
		b.WriteString("consent " + formatName(x.Purpose))
	case *Event:
		b.WriteString("did ")
		formatEvent(b, x)
	case *Orders:
		b.WriteString("order " + x.Measure + " " + string(x.Cmp) + " " + formatNum(x.Value))
		formatWindow(b, x.Window)
	case *Bought:
		if x.Product != "" {
			b.WriteString("bought product " + quote(x.Product))
		} else {
			b.WriteString("bought category " + quote(x.Category))
		}
		formatWindow(b, x.Window)
	case *InSegment:
		b.WriteString("in segment " + quote(x.Name))
	}
}

// formatChild parenthesises and / or operands of and and not (a nested and
// keeps its grouping so the AST round-trips).
func formatChild(b *strings.Builder, e Expr, paren bool) {
	switch e.(type) {
	case *And, *Or:
		if paren {
			b.WriteByte('(')
			format(b, e)
			b.WriteByte(')')
			return
		}
	}
	format(b, e)
}

var countPhrase = map[Cmp]string{Ge: "at least", Le: "at most", Eq: "exactly", Gt: "more than", Lt: "fewer than"}

func formatEvent(b *strings.Builder, x *Event) {
	b.WriteString("event " + quote(x.Name))
	for i, f := range x.Where {
		if i == 0 {
			b.WriteString(" where ")
		} else {
			b.WriteString(" and ")
		}
		b.WriteString("properties." + formatPath(f.Path))
		formatTest(b, f.Test)
	}
	m := x.Measure
	switch {
	case m.Agg == "count" && m.Cmp == Ge && m.Value == 1:
	case m.Agg == "count":
		b.WriteString(" " + countPhrase[m.Cmp] + " " + formatNum(m.Value) + " times")
	default:
		b.WriteString(" with " + m.Agg + " properties." + formatPath(m.Property) + " " + string(m.Cmp) + " " + formatNum(m.Value))
	}
	formatWindow(b, x.Window)
}

func formatWindow(b *strings.Builder, w Window) {
	switch {
	case w.Last != 0:
		b.WriteString(" in last " + strconv.Itoa(w.Last) + " " + w.Unit)
	case w.Until != "":
		b.WriteString(" between " + w.Since + " and " + w.Until)
	case w.Since != "":
		b.WriteString(" since " + w.Since)
	case w.Before != "":
		b.WriteString(" before " + w.Before)
	}
}

func formatTest(b *strings.Builder, t Test) {
	switch t.Cmp {
	case Exists, NotExists:
		b.WriteString(" " + string(t.Cmp))
		return
	}
	b.WriteString(" " + string(t.Cmp) + " ")
	formatValue(b, t.Value)
}

func formatValue(b *strings.Builder, v Value) {
	switch v.Type {
	case String:
		b.WriteString(quote(v.Str))
	case Number:
		b.WriteString(formatNum(v.Num))
	case Bool:
		b.WriteString(strconv.FormatBool(v.Bool))
	case Date:
		b.WriteString(v.Str)
	case List:
		b.WriteByte('[')
		for i, x := range v.List {
			if i > 0 {
				b.WriteString(", ")
			}
			formatValue(b, x)
		}
		b.WriteByte(']')
	}
}

// formatNum prints whole numbers without exponent and others in the
// shortest form that parses back to the same float64.
func formatNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// formatName prints a name as a word when it lexes as one and is not a
// keyword that would change the parse, else as a string.
func formatName(s string) string {
	if isIdent(s) {
		return s
	}
	return quote(s)
}

func formatPath(p []string) string {
	parts := make([]string, len(p))
	for i, s := range p {
		parts[i] = formatName(s)
	}
	return strings.Join(parts, ".")
}

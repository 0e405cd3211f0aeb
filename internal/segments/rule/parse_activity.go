package rule

import (
	"strconv"
	"strings"
)

// event parses, after "did [not]":
//
//	event STRING [where properties.PATH test {and properties.PATH test}] [measure] [window]
func (p *parser) event() (Expr, *SyntaxError) {
	if err := p.expectKw("event", " after did"); err != nil {
		return nil, err
	}
	t := p.next()
	if t.kind != tString {
		return nil, p.errAt(t, "an event name (a string) after did event", t.describe())
	}
	e := &Event{Name: t.text}
	if p.acceptKw("where") {
		for {
			f, err := p.propFilter()
			if err != nil {
				return nil, err
			}
			e.Where = append(e.Where, f)
			// "and properties." continues the filter; any other "and" is the
			// rule's own.
			if !(isKw(p.peek(), "and") && isKw(p.peekAt(1), "properties")) {
				break
			}
			p.i++
		}
	}
	m, ok, err := p.measure()
	if err != nil {
		return nil, err
	}
	if ok {
		e.Measure = m
	} else {
		e.Measure = Measure{Agg: "count", Cmp: Ge, Value: 1}
	}
	if e.Window, err = p.window(); err != nil {
		return nil, err
	}
	return e, nil
}

func (p *parser) propFilter() (PropFilter, *SyntaxError) {
	if err := p.expectKw("properties", " in the event filter"); err != nil {
		return PropFilter{}, err
	}
	path, err := p.path("properties")
	if err != nil {
		return PropFilter{}, err
	}
	test, err := p.test("properties." + formatPath(path))
	if err != nil {
		return PropFilter{}, err
	}
	return PropFilter{Path: path, Test: test}, nil
}

var countWords = map[string]Cmp{"least": Ge, "most": Le, "exactly": Eq, "more": Gt, "fewer": Lt, "less": Lt}

// measure parses an optional
//
//	at least|at most|exactly|more than|fewer than|less than N time[s]
//	with sum|avg|min|max properties.PATH cmp NUMBER
func (p *parser) measure() (Measure, bool, *SyntaxError) {
	t := p.peek()
	switch {
	case isKw(t, "at"), isKw(t, "exactly"), isKw(t, "more"), isKw(t, "fewer"), isKw(t, "less"):
		p.i++
		word := t
		if isKw(t, "at") {
			word = p.next()
			if !isKw(word, "least") && !isKw(word, "most") {
				return Measure{}, false, p.errAt(word, "least or most after at", word.describe())
			}
		} else if !isKw(t, "exactly") {
			if err := p.expectKw("than", " after "+strings.ToLower(t.text)); err != nil {
				return Measure{}, false, err
			}
		}
		n, err := p.integer("a whole number of times")
		if err != nil {
			return Measure{}, false, err
		}
		if u := p.next(); !isKw(u, "times") && !isKw(u, "time") {
			return Measure{}, false, p.errAt(u, "times after the number", u.describe())
		}
		return Measure{Agg: "count", Cmp: countWords[strings.ToLower(word.text)], Value: float64(n)}, true, nil
	case isKw(t, "with"):
		p.i++
		agg := p.next()
		a := strings.ToLower(agg.text)
		if agg.kind != tIdent || a != "sum" && a != "avg" && a != "min" && a != "max" {
			return Measure{}, false, p.errAt(agg, "sum, avg, min or max after with", agg.describe())
		}
		if err := p.expectKw("properties", " after "+a); err != nil {
			return Measure{}, false, err
		}
		path, err := p.path("properties")
		if err != nil {
			return Measure{}, false, err
		}
		label := a + " properties." + formatPath(path)
		c, err := p.comparison(label)
		if err != nil {
			return Measure{}, false, err
		}
		v, err := p.number("a number after " + label + " " + string(c))
		if err != nil {
			return Measure{}, false, err
		}
		return Measure{Agg: a, Property: path, Cmp: c, Value: v}, true, nil
	}
	return Measure{}, false, nil
}

// window parses an optional
//
//	in last N day[s]|hour[s] | between DATE and DATE | since DATE | before DATE
func (p *parser) window() (Window, *SyntaxError) {
	t := p.peek()
	switch {
	case isKw(t, "in") && isKw(p.peekAt(1), "last"):
		p.i += 2
		numTok := p.peek()
		n, err := p.integer("a whole number after in last (1 to " + strconv.Itoa(maxLastDays) + " days, or 1 to " +
			strconv.Itoa(maxLastHours) + " hours)")
		if err != nil {
			return Window{}, err
		}
		u := p.next()
		unit := strings.ToLower(u.text)
		switch {
		case isKw(u, "day"), isKw(u, "days"):
			unit = "days"
		case isKw(u, "hour"), isKw(u, "hours"):
			unit = "hours"
		default:
			return Window{}, p.errAt(u, "days or hours after in last "+strconv.Itoa(n), u.describe())
		}
		// The range is checked here too (checkWindow), to point at the number.
		w := Window{Last: n, Unit: unit}
		if pr := checkWindow(&w); pr != nil {
			return Window{}, p.errAt(numTok, pr.expected, pr.found)
		}
		return w, nil
	case isKw(t, "between"):
		p.i++
		from, err := p.date("a date YYYY-MM-DD after between")
		if err != nil {
			return Window{}, err
		}
		if err := p.expectKw("and", " between the dates"); err != nil {
			return Window{}, err
		}
		to, err := p.date("a date YYYY-MM-DD after between " + from + " and")
		if err != nil {
			return Window{}, err
		}
		return Window{Since: from, Until: to}, nil
	case isKw(t, "since"):
		p.i++
		d, err := p.date("a date YYYY-MM-DD after since")
		return Window{Since: d}, err
	case isKw(t, "before"):
		p.i++
		d, err := p.date("a date YYYY-MM-DD after before")
		return Window{Before: d}, err
	}
	return Window{}, nil
}

func (p *parser) date(what string) (string, *SyntaxError) {
	t := p.next()
	if t.kind != tDate {
		return "", p.errAt(t, what, t.describe())
	}
	return t.text, nil
}

// orders parses, after "order": count|revenue cmp NUMBER [window].
func (p *parser) orders() (Expr, *SyntaxError) {
	t := p.next()
	if !isKw(t, "count") && !isKw(t, "revenue") {
		return nil, p.errAt(t, "count or revenue after order", t.describe())
	}
	m := strings.ToLower(t.text)
	c, err := p.comparison("order " + m)
	if err != nil {
		return nil, err
	}
	v, err := p.number("a number after order " + m + " " + string(c))
	if err != nil {
		return nil, err
	}
	w, err := p.window()
	if err != nil {
		return nil, err
	}
	return &Orders{Measure: m, Cmp: c, Value: v, Window: w}, nil
}

// bought parses, after "bought": product|category STRING [window].
func (p *parser) bought() (Expr, *SyntaxError) {
	t := p.next()
	if !isKw(t, "product") && !isKw(t, "category") {
		return nil, p.errAt(t, "product or category after bought", t.describe())
	}
	v := p.next()
	if v.kind != tString {
		return nil, p.errAt(v, "a "+strings.ToLower(t.text)+" (a string) after bought "+strings.ToLower(t.text), v.describe())
	}
	b := &Bought{}
	if isKw(t, "product") {
		b.Product = v.text
	} else {
		b.Category = v.text
	}
	w, err := p.window()
	if err != nil {
		return nil, err
	}
	b.Window = w
	return b, nil
}

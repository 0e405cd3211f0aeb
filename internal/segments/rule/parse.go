package rule

import (
	"strconv"
	"strings"
)

// Parse reads a rule in the text syntax (docs/segments-language.md).
// Errors are *SyntaxError.
func Parse(src string) (Expr, error) {
	if len(src) > MaxSource {
		return nil, syntaxErr(src, MaxSource, "a rule of at most "+strconv.Itoa(MaxSource)+" bytes", strconv.Itoa(len(src))+" bytes")
	}
	toks, serr := lex(src)
	if serr != nil {
		return nil, serr
	}
	p := &parser{src: src, toks: toks}
	e, serr := p.or(0)
	if serr != nil {
		return nil, serr
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "and, or or the end of the rule", t.describe())
	}
	return e, nil
}

type parser struct {
	src        string
	toks       []token
	i          int
	conditions int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, expected, found string) *SyntaxError {
	return syntaxErr(p.src, t.pos, expected, found)
}

// isKw reports whether t is the keyword kw (keywords are case-insensitive).
func isKw(t token, kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

func (p *parser) acceptKw(kw string) bool {
	if isKw(p.peek(), kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectKw(kw, context string) *SyntaxError {
	if t := p.peek(); !isKw(t, kw) {
		return p.errAt(t, kw+context, t.describe())
	}
	p.i++
	return nil
}

func (p *parser) or(depth int) (Expr, *SyntaxError) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	args := []Expr{first}
	for p.acceptKw("or") {
		e, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &Or{Args: args}, nil
}

func (p *parser) and(depth int) (Expr, *SyntaxError) {
	first, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	args := []Expr{first}
	for p.acceptKw("and") {
		e, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &And{Args: args}, nil
}

func (p *parser) not(depth int) (Expr, *SyntaxError) {
	t := p.peek()
	if isKw(t, "not") {
		if depth >= MaxDepth {
			return nil, p.errAt(t, "at most "+strconv.Itoa(MaxDepth)+" levels of nesting", "deeper nesting")
		}
		p.i++
		e, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{Arg: e}, nil
	}
	if t.kind == tLParen {
		if depth >= MaxDepth {
			return nil, p.errAt(t, "at most "+strconv.Itoa(MaxDepth)+" levels of nesting", "deeper nesting")
		}
		p.i++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			return nil, p.errAt(c, "and, or or ) closing the ( at col "+strconv.Itoa(colOf(p.src, t.pos)), c.describe())
		}
		p.i++
		return e, nil
	}
	return p.condition()
}

const conditionStarts = "a condition (trait., normalized., score., rfm, has, consent, did, order, bought, in segment), not or ("

func (p *parser) condition() (Expr, *SyntaxError) {
	start := p.peek()
	if start.kind != tIdent {
		return nil, p.errAt(start, conditionStarts, start.describe())
	}
	p.conditions++
	if p.conditions > MaxConditions {
		return nil, p.errAt(start, "at most "+strconv.Itoa(MaxConditions)+" conditions", "more")
	}
	p.i++
	var e Expr
	var err *SyntaxError
	negated := false
	switch strings.ToLower(start.text) {
	case "trait", "traits":
		e, err = p.field(&Trait{}, "trait")
	case "normalized", "normalised":
		e, err = p.field(&Normalized{}, "normalized")
	case "score", "scores":
		e, err = p.score()
	case "rfm":
		x := &RFM{}
		x.Test, err = p.test("rfm")
		e = x
	case "has":
		e, err = p.has()
	case "consent":
		t := p.next()
		if t.kind != tIdent && t.kind != tString {
			return nil, p.errAt(t, "a consent purpose (a word or a string) after consent", t.describe())
		}
		e = &Consent{Purpose: t.text}
	case "did":
		negated = p.acceptKw("not")
		e, err = p.event()
	case "order", "orders":
		e, err = p.orders()
	case "bought":
		e, err = p.bought()
	case "in":
		if err = p.expectKw("segment", " after in"); err != nil {
			return nil, err
		}
		t := p.next()
		if t.kind != tString {
			return nil, p.errAt(t, "a segment name (a string) after in segment", t.describe())
		}
		e = &InSegment{Name: t.text}
	default:
		return nil, p.errAt(start, conditionStarts, start.describe())
	}
	if err != nil {
		return nil, err
	}
	if pr := checkNode(e); pr != nil {
		return nil, p.errAt(start, pr.expected, pr.found)
	}
	// "did not event" is parsed as not(did event).
	if negated {
		return &Not{Arg: e}, nil
	}
	return e, nil
}

// field parses ".path test" after trait or normalized.
func (p *parser) field(e Expr, kw string) (Expr, *SyntaxError) {
	path, err := p.path(kw)
	if err != nil {
		return nil, err
	}
	label := kw + "." + formatPath(path)
	test, err := p.test(label)
	if err != nil {
		return nil, err
	}
	switch x := e.(type) {
	case *Trait:
		x.Path, x.Test = path, test
	case *Normalized:
		x.Path, x.Test = path, test
	}
	return e, nil
}

// path parses "." element { "." element } where an element is a word or a
// string.
func (p *parser) path(after string) ([]string, *SyntaxError) {
	var path []string
	for {
		if t := p.peek(); t.kind != tDot {
			return nil, p.errAt(t, `"." and a name after `+after, t.describe())
		}
		p.i++
		t := p.next()
		if t.kind != tIdent && t.kind != tString {
			return nil, p.errAt(t, "a name (a word or a string) after "+after+".", t.describe())
		}
		if len(path) == MaxPath {
			return nil, p.errAt(t, "a path of at most "+strconv.Itoa(MaxPath)+" elements", "more")
		}
		if pr := checkText("path element", t.text, MaxName); pr != nil {
			return nil, p.errAt(t, pr.expected, pr.found)
		}
		path = append(path, t.text)
		after += "." + formatName(t.text)
		if p.peek().kind != tDot {
			return path, nil
		}
	}
}

func (p *parser) score() (Expr, *SyntaxError) {
	if t := p.peek(); t.kind != tDot {
		return nil, p.errAt(t, `"." and a score name after score`, t.describe())
	}
	p.i++
	t := p.next()
	if t.kind != tIdent {
		return nil, p.errAt(t, "a score name after score.", t.describe())
	}
	test, err := p.test("score." + t.text)
	if err != nil {
		return nil, err
	}
	return &Score{Name: t.text, Test: test}, nil
}

func (p *parser) has() (Expr, *SyntaxError) {
	t := p.next()
	switch {
	case isKw(t, "email"), isKw(t, "phone"):
		return &Identity{Type: strings.ToLower(t.text)}, nil
	case isKw(t, "identity"):
		v := p.next()
		if v.kind != tString && v.kind != tIdent {
			return nil, p.errAt(v, "an identifier type (e.g. \"crm_id\") after has identity", v.describe())
		}
		return &Identity{Type: v.text}, nil
	}
	return nil, p.errAt(t, "email, phone or identity after has", t.describe())
}

// test parses a comparison and its value after the field labelled label.
func (p *parser) test(label string) (Test, *SyntaxError) {
	t := p.next()
	var c Cmp
	switch {
	case t.kind == tOp:
		c = Cmp(t.text)
	case isKw(t, "contains"):
		c = Contains
	case isKw(t, "starts"):
		if err := p.expectKw("with", " after starts"); err != nil {
			return Test{}, err
		}
		c = StartsWith
	case isKw(t, "in"):
		c = In
	case isKw(t, "exists"):
		return Test{Cmp: Exists}, nil
	case isKw(t, "not"):
		n := p.next()
		switch {
		case isKw(n, "in"):
			c = NotIn
		case isKw(n, "exists"):
			return Test{Cmp: NotExists}, nil
		default:
			return Test{}, p.errAt(n, "in or exists after "+label+" not", n.describe())
		}
	default:
		return Test{}, p.errAt(t, "a comparison ("+testCmps+") after "+label, t.describe())
	}
	vt := p.peek()
	v, err := p.value(label + " " + string(c))
	if err != nil {
		return Test{}, err
	}
	test := Test{Cmp: c, Value: v}
	if pr := checkTest(&test); pr != nil {
		return Test{}, p.errAt(vt, pr.expected, pr.found)
	}
	return test, nil
}

// value parses a literal: a string, number, date, true, false or a list.
func (p *parser) value(after string) (Value, *SyntaxError) {
	t := p.next()
	switch {
	case t.kind == tString:
		return Value{Type: String, Str: t.text}, nil
	case t.kind == tNumber:
		return Value{Type: Number, Num: t.num}, nil
	case t.kind == tDate:
		return Value{Type: Date, Str: t.text}, nil
	case isKw(t, "true"), isKw(t, "false"):
		return Value{Type: Bool, Bool: isKw(t, "true")}, nil
	case t.kind == tLBrack:
		var list []Value
		for {
			v := p.next()
			var x Value
			switch v.kind {
			case tString:
				x = Value{Type: String, Str: v.text}
			case tNumber:
				x = Value{Type: Number, Num: v.num}
			default:
				return Value{}, p.errAt(v, "a string or a number in the list", v.describe())
			}
			if len(list) == MaxList {
				return Value{}, p.errAt(v, "a list of at most "+strconv.Itoa(MaxList)+" values", "more")
			}
			list = append(list, x)
			sep := p.next()
			if sep.kind == tRBrack {
				return Value{Type: List, List: list}, nil
			}
			if sep.kind != tComma {
				return Value{}, p.errAt(sep, `"," or "]" in the list`, sep.describe())
			}
		}
	}
	return Value{}, p.errAt(t, "a value (string, number, date YYYY-MM-DD, true, false or [list]) after "+after, t.describe())
}

// integer parses a whole number token.
func (p *parser) integer(what string) (int, *SyntaxError) {
	t := p.next()
	if t.kind != tNumber || t.num != float64(int(t.num)) || t.num < 0 || t.num > maxCount {
		return 0, p.errAt(t, what, t.describe())
	}
	return int(t.num), nil
}

func (p *parser) number(what string) (float64, *SyntaxError) {
	t := p.next()
	if t.kind != tNumber {
		return 0, p.errAt(t, what, t.describe())
	}
	return t.num, nil
}

func (p *parser) comparison(after string) (Cmp, *SyntaxError) {
	t := p.next()
	if t.kind != tOp {
		return "", p.errAt(t, "=, !=, <, <=, > or >= after "+after, t.describe())
	}
	return Cmp(t.text), nil
}

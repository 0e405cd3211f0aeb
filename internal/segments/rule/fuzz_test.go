package rule

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParse: Parse never panics; what it accepts prints back to the same
// tree, survives the JSON form, and compiles to SQL whose text does not
// depend on any string in the rule (so no user text can reach it).
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 60s ./internal/segments/rule/
func FuzzParse(f *testing.F) {
	for _, c := range semanticCases {
		f.Add(c.rule)
	}
	for _, r := range roundTripRules {
		f.Add(r)
	}
	for _, c := range goldenCases {
		f.Add(c.rule)
	}
	env := Env{Now: time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC),
		SegmentID: func(string) (string, error) { return "seg", nil }}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			se, ok := err.(*SyntaxError)
			if !ok {
				t.Fatalf("error %T, want *SyntaxError", err)
			}
			if se.Pos < 0 || se.Pos > len(src) && len(src) <= MaxSource {
				t.Fatalf("error position %d outside the input (%d bytes)", se.Pos, len(src))
			}
			return
		}
		text := Format(e)
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Format gave %q, which does not parse: %v", text, err)
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("Format gave %q, which parses to another tree", text)
		}
		j, err := MarshalJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		fromJSON, err := ParseJSON(j)
		if err != nil {
			t.Fatalf("JSON %s does not parse: %v", j, err)
		}
		if !reflect.DeepEqual(e, fromJSON) {
			t.Fatalf("JSON %s parses to another tree", j)
		}
		q, err := Compile(e, env)
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		blank, err := Compile(blanked(e), env)
		if err != nil {
			t.Fatalf("compile blanked: %v", err)
		}
		if q.SQL != blank.SQL {
			t.Fatalf("SQL text depends on the rule's strings:\n%s\n---\n%s", q.SQL, blank.SQL)
		}
	})
}

// blanked returns a copy of e with every user string replaced by a neutral
// valid one (names stay names, normalised fields and RFM cells stay in
// their lists).
func blanked(e Expr) Expr {
	n := 0
	s := func() string { n++; return "b" + strconv.Itoa(n) }
	path := func(p []string) []string {
		out := make([]string, len(p))
		for i := range p {
			out[i] = s()
		}
		return out
	}
	test := func(t Test) Test {
		switch t.Value.Type {
		case String:
			t.Value.Str = s()
		case List:
			l := make([]Value, len(t.Value.List))
			for i, v := range t.Value.List {
				if v.Type == String {
					v.Str = s()
				}
				l[i] = v
			}
			t.Value.List = l
		}
		return t
	}
	switch x := e.(type) {
	case *And:
		a := make([]Expr, len(x.Args))
		for i := range x.Args {
			a[i] = blanked(x.Args[i])
		}
		return &And{Args: a}
	case *Or:
		a := make([]Expr, len(x.Args))
		for i := range x.Args {
			a[i] = blanked(x.Args[i])
		}
		return &Or{Args: a}
	case *Not:
		return &Not{Arg: blanked(x.Arg)}
	case *Trait:
		return &Trait{Path: path(x.Path), Test: test(x.Test)}
	case *Normalized:
		p := path(x.Path)
		p[0] = x.Path[0]
		return &Normalized{Path: p, Test: test(x.Test)}
	case *Score:
		return &Score{Name: s(), Test: test(x.Test)}
	case *RFM:
		return x
	case *Identity:
		return &Identity{Type: s()}
	case *Consent:
		return &Consent{Purpose: s()}
	case *Event:
		y := &Event{Name: s(), Measure: x.Measure, Window: x.Window}
		if len(x.Measure.Property) > 0 {
			y.Measure.Property = path(x.Measure.Property)
		}
		for _, f := range x.Where {
			y.Where = append(y.Where, PropFilter{Path: path(f.Path), Test: test(f.Test)})
		}
		return y
	case *Orders:
		return x
	case *Bought:
		y := *x
		if y.Product != "" {
			y.Product = s()
		} else {
			y.Category = s()
		}
		return &y
	case *InSegment:
		return &InSegment{Name: s()}
	}
	return e
}

// Strings shaped like SQL injection are plain parameters: never in the SQL
// text, and harmless when run.
func TestInjectionStrings(t *testing.T) {
	db := openSemantics(t)
	hostile := []string{
		`'; DROP TABLE profiles; --`,
		`") OR 1=1 --`,
		`?$999`,
		`' UNION SELECT id FROM profiles --`,
		"\x00nul",
	}
	for _, h := range hostile {
		q := quote(h)
		rules := []string{
			`trait.` + q + ` = ` + q,
			`normalized.email.` + q + ` exists`,
			`did event ` + q + ` where properties.` + q + ` contains ` + q,
			`did event "Plan Changed" with sum properties.` + q + ` < 1`,
			`has identity ` + q + ` or consent ` + q,
			`bought product ` + q + ` or bought category ` + q,
			`trait.city in [` + q + `, "Lyon"]`,
			`in segment ` + q,
		}
		for _, r := range rules {
			e, err := Parse(r)
			if err != nil {
				if strings.Contains(h, "\x00") {
					continue // a NUL is refused in names, which is fine
				}
				t.Fatalf("%s: %v", r, err)
			}
			env := Env{Now: semNow, SegmentID: func(name string) (string, error) { return name, nil }}
			cq, err := Compile(e, env)
			if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			if strings.Contains(cq.SQL, h) {
				t.Errorf("%s: the SQL text contains %q", r, h)
			}
			runQuery(t, db, cq)
		}
	}
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM profiles`).Scan(&n); err != nil || n != 7 {
		t.Errorf("profiles after the hostile rules: %d, %v", n, err)
	}
}

// FuzzParseJSON: ParseJSON never panics, and what it accepts prints to text
// that parses to the same tree.
func FuzzParseJSON(f *testing.F) {
	for _, c := range semanticCases {
		if e, err := Parse(c.rule); err == nil {
			j, _ := MarshalJSON(e)
			f.Add(j)
		}
	}
	f.Add([]byte(`{"op":"not","arg":{"kind":"event","name":"X","window":{"between":["2026-01-01","2026-01-31"]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseJSON(b)
		if err != nil {
			if _, ok := err.(*JSONError); !ok {
				t.Fatalf("error %T, want *JSONError", err)
			}
			return
		}
		text := Format(e)
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Format gave %q, which does not parse: %v", text, err)
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("Format gave %q, which parses to another tree", text)
		}
	})
}

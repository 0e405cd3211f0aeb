package rule

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t testing.TB, src string) Expr {
	t.Helper()
	e, err := Parse(src)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return e
}

var str = func(s string) Value { return Value{Type: String, Str: s} }

func TestParseTree(t *testing.T) {
	city := func(s string) Expr { return &Trait{Path: []string{"city"}, Test: Test{Cmp: Eq, Value: str(s)}} }
	email := &Identity{Type: "email"}
	cases := []struct {
		src  string
		want Expr
	}{
		{`trait.city = "a" or trait.city = "b" and has email`, &Or{Args: []Expr{city("a"), &And{Args: []Expr{city("b"), email}}}}},
		{`not trait.city = "a" and has email`, &And{Args: []Expr{&Not{Arg: city("a")}, email}}},
		{`not (trait.city = "a" and has email)`, &Not{Arg: &And{Args: []Expr{city("a"), email}}}},
		{`(trait.city = "a" and has email) and trait.city = "b"`, &And{Args: []Expr{&And{Args: []Expr{city("a"), email}}, city("b")}}},
		{`TRAIT.city = "a" AND Has EMAIL`, &And{Args: []Expr{city("a"), email}}},
		{`((trait.city = "a"))`, city("a")},
		{`trait."first name".x = "é\"\\\n\u00e9"`, &Trait{Path: []string{"first name", "x"}, Test: Test{Cmp: Eq, Value: str("é\"\\\né")}}},
		{`did not event "X" in last 3 hours`, &Not{Arg: &Event{Name: "X", Measure: Measure{Agg: "count", Cmp: Ge, Value: 1}, Window: Window{Last: 3, Unit: "hours"}}}},
		{`did event "X" where properties.plan = "pro" and properties.n >= 2 and has email`, &And{Args: []Expr{
			&Event{Name: "X", Where: []PropFilter{
				{Path: []string{"plan"}, Test: Test{Cmp: Eq, Value: str("pro")}},
				{Path: []string{"n"}, Test: Test{Cmp: Ge, Value: Value{Type: Number, Num: 2}}}},
				Measure: Measure{Agg: "count", Cmp: Ge, Value: 1}},
			email}}},
		{`did event "X" between 2026-01-01 and 2026-01-31 and has email`, &And{Args: []Expr{
			&Event{Name: "X", Measure: Measure{Agg: "count", Cmp: Ge, Value: 1}, Window: Window{Since: "2026-01-01", Until: "2026-01-31"}}, email}}},
		{`consent "Email_Marketing "`, &Consent{Purpose: "email_marketing"}},
		{`rfm = "at RISK"`, &RFM{Test: Test{Cmp: Eq, Value: str("At risk")}}},
		{`has identity "CRM_ID"`, &Identity{Type: "crm_id"}},
		{`score.revenue >= -1.5e3`, &Score{Name: "revenue", Test: Test{Cmp: Ge, Value: Value{Type: Number, Num: -1500}}}},
		{`bought category "Garden" since 2025-12-01`, &Bought{Category: "Garden", Window: Window{Since: "2025-12-01"}}},
		{`order revenue > 500 before 2026-01-01`, &Orders{Measure: "revenue", Cmp: Gt, Value: 500, Window: Window{Before: "2026-01-01"}}},
	}
	for _, c := range cases {
		got, err := Parse(c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			gj, _ := MarshalJSON(got)
			wj, _ := MarshalJSON(c.want)
			t.Errorf("%s:\n got %s\nwant %s", c.src, gj, wj)
		}
	}
}

// roundTripRules adds, to the semantics rules, forms only the syntax tests
// need.
var roundTripRules = []string{
	`trait.a.b.c exists or trait."x.y"."~/" not exists`,
	`not not not has email`,
	`(has email or has phone) and (consent sms or consent "e mail") and not (in segment "S" and rfm != "Lost")`,
	`did event "A" with min properties.x.y < 0.5 in last 1 day`,
	`did event "A" where properties.tags contains "x" and properties.p starts with "y" exactly 0 times`,
	`trait.n = 1e21 or trait.n = 0.1 or trait.n = -0 or trait.n = 123456789012345678`,
	`trait.d != 2024-02-29 and trait.b = false and trait.l not in [1, 2.5, -3]`,
	`normalized.address.status in ["suspect", "invalid"]`,
	`bought product "P" between 2026-01-01 and 2026-12-31`,
	`trait.s = "\u0001\t tab"`,
}

func TestRoundTrip(t *testing.T) {
	var rules []string
	for _, c := range semanticCases {
		rules = append(rules, c.rule)
	}
	for _, src := range append(rules, roundTripRules...) {
		e := mustParse(t, src)
		text := Format(e)
		again, err := Parse(text)
		if err != nil {
			t.Errorf("%s\nformatted %s\ndoes not parse: %v", src, text, err)
			continue
		}
		if !reflect.DeepEqual(e, again) {
			t.Errorf("%s\nformatted %s\nparses to another tree", src, text)
		}
		j, err := MarshalJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		fromJSON, err := ParseJSON(j)
		if err != nil {
			t.Errorf("%s\njson %s\ndoes not parse: %v", src, j, err)
			continue
		}
		if !reflect.DeepEqual(e, fromJSON) {
			t.Errorf("%s\njson %s\nparses to another tree", src, j)
		}
		if Format(fromJSON) != text {
			t.Errorf("%s: text and JSON print differently", src)
		}
	}
}

func TestRefs(t *testing.T) {
	e := mustParse(t, `in segment "A" or not (in segment "B" and in segment "A") or has email`)
	if got := Refs(e); !reflect.DeepEqual(got, []string{"A", "B"}) {
		t.Errorf("Refs = %v", got)
	}
	if got := Refs(mustParse(t, `has email`)); got != nil {
		t.Errorf("Refs = %v, want none", got)
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		src       string
		line, col int
		msg       string
	}{
		{`trait.city`, 1, 11, `line 1, col 11: expected a comparison (=, !=, <, <=, >, >=, contains, starts with, in, not in, exists, not exists) after trait.city, found end of input`},
		{`trait.city = "Lyon" and did event "Order Completed" at leest 2 times`, 1, 56, `expected least or most after at, found word "leest"`},
		{"has email and\n  trait.x ~ 3", 2, 11, `expected a word, string, number or operator, found "~"`},
		{`trait.city = `, 1, 14, `expected a value (string, number, date YYYY-MM-DD, true, false or [list]) after trait.city =, found end of input`},
		{`trait.city = "Lyon`, 1, 19, `expected a closing " for the string opened at col 14, found end of input`},
		{`(has email`, 1, 11, `expected and, or or ) closing the ( at col 1, found end of input`},
		{`has email has phone`, 1, 11, `expected and, or or the end of the rule, found word "has"`},
		{`favourite.color = "red"`, 1, 1, `expected a condition (trait., normalized., score., rfm, has, consent, did, order, bought, in segment), not or (, found word "favourite"`},
		{`normalized.mood = "ok"`, 1, 1, `expected a normalised field (address, birthday, civility, country, email, name, phone), found "mood"`},
		{`rfm = "Winners"`, 1, 1, `expected an RFM cell name`},
		{`rfm > "Lost"`, 1, 1, `expected =, !=, in or not in after rfm`},
		{`trait.x contains 3`, 1, 18, `expected a string after contains, found a number`},
		{`trait.x in []`, 1, 13, `expected a string or a number in the list, found "]"`},
		{`trait.x in ["a", 1]`, 1, 12, `expected list values of one type (string), found a number`},
		{`trait.x > true`, 1, 11, `expected a string, number or date after >, found a bool`},
		{`trait.d = 2026-02-30`, 1, 11, `expected a date YYYY-MM-DD between 1900 and 2999, found "2026-02-30"`},
		{`did event "X" at least 2.5 times`, 1, 24, `expected a whole number of times, found number 2.5`},
		{`did event "X" in last 0 days`, 1, 23, `expected a number of days from 1 to 36600, found 0`},
		{`did event "X" in last 900000 hours`, 1, 23, `expected a number of hours from 1 to 878400, found 900000`},
		{`did event "X" in last 3 weeks`, 1, 25, `expected days or hours after in last 3, found word "weeks"`},
		{`did event "X" between 2026-02-01 and 2026-01-01`, 1, 1, `expected an end date on or after 2026-02-01, found 2026-01-01`},
		{`did event "X" with median properties.x > 1`, 1, 20, `expected sum, avg, min or max after with, found word "median"`},
		{`order count >= -1`, 1, 1, `expected a whole number of times from 0 to 1000000000, found -1`},
		{`score.1x > 2`, 1, 7, `expected a score name after score., found number 1`},
		{`trait.x = 1e999`, 1, 11, `expected a number, found "1e999"`},
		{`trait.x ! 1`, 1, 9, `expected "!=", found "!"`},
		{`trait.x = "\q"`, 1, 12, `expected an escape`},
		{`trait.x = "\ud800"`, 1, 12, `non-surrogate`},
		{"trait.x = \"a\x01\"", 1, 13, `expected a printable character or an escape in a string, found control character 0x01`},
		{"trait.x = \"caf\xe9\"", 1, 15, `expected valid UTF-8, found byte 0xe9`},
		{"has email and \xff", 1, 15, `expected valid UTF-8, found byte 0xff`},
		{`consent ""`, 1, 1, `expected a non-empty consent purpose, found an empty string`},
		{``, 1, 1, `found end of input`},
		{`in segment ""`, 1, 1, `expected a non-empty segment name`},
		{`bought product ""`, 1, 1, `expected one of product and category`},
	}
	for _, c := range cases {
		_, err := Parse(c.src)
		se, ok := err.(*SyntaxError)
		if !ok {
			t.Errorf("%q: error %v (%T), want a *SyntaxError", c.src, err, err)
			continue
		}
		if se.Line != c.line || se.Col != c.col || !strings.Contains(se.Error(), c.msg) {
			t.Errorf("%q:\n got %v (line %d col %d)\nwant line %d col %d containing %s", c.src, se, se.Line, se.Col, c.line, c.col, c.msg)
		}
		if se.Pos < 0 || se.Pos > len(c.src) {
			t.Errorf("%q: position %d outside the input", c.src, se.Pos)
		}
	}
}

func TestLimits(t *testing.T) {
	long := `trait.x = "` + strings.Repeat("a", MaxSource) + `"`
	if _, err := Parse(long); err == nil || !strings.Contains(err.Error(), "at most 65536 bytes") {
		t.Errorf("oversized rule: %v", err)
	}
	deep := strings.Repeat("(", MaxDepth+1) + "has email" + strings.Repeat(")", MaxDepth+1)
	if _, err := Parse(deep); err == nil || !strings.Contains(err.Error(), "levels of nesting") {
		t.Errorf("deep rule: %v", err)
	}
	ok := strings.Repeat("(", MaxDepth) + "has email" + strings.Repeat(")", MaxDepth)
	if _, err := Parse(ok); err != nil {
		t.Errorf("nesting at the limit: %v", err)
	}
	nots := strings.Repeat("not ", 10000) + "has email"
	if _, err := Parse(nots); err == nil || !strings.Contains(err.Error(), "levels of nesting") {
		t.Errorf("10000 nots: %v", err)
	}
	list := "trait.x in [" + strings.Repeat(`"a", `, MaxList) + `"b"]`
	if _, err := Parse(list); err == nil || !strings.Contains(err.Error(), "at most 1000 values") {
		t.Errorf("long list: %v", err)
	}
	many := strings.Repeat("has email or ", MaxConditions) + "has phone"
	if _, err := Parse(many); err == nil || !strings.Contains(err.Error(), "at most 256 conditions") {
		t.Errorf("many conditions: %v", err)
	}
	path := "trait" + strings.Repeat(".a", MaxPath+1) + " exists"
	if _, err := Parse(path); err == nil || !strings.Contains(err.Error(), "at most 8 elements") {
		t.Errorf("long path: %v", err)
	}
	// Event names take what the collection API stores: up to 1,024 bytes of
	// any character, a control character written as an escape.
	name := strings.Repeat("é", MaxEventName/2)
	if e, err := Parse(`did event "` + name + `"`); err != nil || e.(*Event).Name != name {
		t.Errorf("a 1,024-byte event name: %v", err)
	}
	if _, err := Parse(`did event "` + name + `x"`); err == nil || !strings.Contains(err.Error(), "at most 1024 bytes") {
		t.Errorf("a 1,025-byte event name: %v", err)
	}
	e0, err := Parse(`did event "Tab\there"`)
	if err != nil || e0.(*Event).Name != "Tab\there" {
		t.Fatalf("an event name with a tab: %v", err)
	}
	if back, err := Parse(Format(e0)); err != nil || back.(*Event).Name != "Tab\there" {
		t.Errorf("the name with a tab does not round-trip: %q, %v", Format(e0), err)
	}
	if _, err := Parse(`trait.x = 1 and did event "ok" and has email and consent "a\tb"`); err == nil || !strings.Contains(err.Error(), "without control characters") {
		t.Errorf("a purpose with a control character: %v", err)
	}
	// A hand-built AST beyond the limits is refused by Compile too.
	var e Expr = &Identity{Type: "email"}
	for i := 0; i < MaxDepth+2; i++ {
		e = &Not{Arg: e}
	}
	if _, err := Compile(e, Env{Now: time.Now()}); err == nil {
		t.Error("Compile accepted a tree deeper than MaxDepth")
	}
	if _, err := Compile(&Trait{Path: []string{"x"}, Test: Test{Cmp: "~", Value: str("a")}}, Env{Now: time.Now()}); err == nil {
		t.Error("Compile accepted an unknown comparison")
	}
}

func TestDependsOnNowAndTables(t *testing.T) {
	cases := []struct {
		src    string
		now    bool
		tables []string
	}{
		{`trait.d < 2026-01-01 and did event "X" since 2026-01-01`, false, []string{"events"}},
		{`not did event "X" in last 3 hours`, true, []string{"events"}},
		{`order revenue > 1 in last 3 days or bought product "P"`, true, []string{"order_items", "orders"}},
		{`rfm = "Lost" or has email or consent sms or in segment "S"`, false, []string{"consents", "identities", "profile_scores", "segment_memberships"}},
		{`trait.x exists`, false, []string{}},
	}
	for _, c := range cases {
		e := mustParse(t, c.src)
		if got := DependsOnNow(e); got != c.now {
			t.Errorf("%s: DependsOnNow = %v", c.src, got)
		}
		if got := Tables(e); !reflect.DeepEqual(got, c.tables) {
			t.Errorf("%s: Tables = %v, want %v", c.src, got, c.tables)
		}
	}
}

package rule

import (
	"reflect"
	"strings"
	"testing"
)

func TestJSONForm(t *testing.T) {
	e := mustParse(t, `trait.city = "Lyon" and did event "Order Completed" where properties.plan = "pro" at least 2 times in last 90 days
		and not consent email_marketing and trait.d < 2026-01-01 and trait.l in [1, 2]`)
	got, err := MarshalJSON(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"op":"and","args":[` +
		`{"kind":"trait","path":["city"],"cmp":"=","value":"Lyon"},` +
		`{"kind":"event","name":"Order Completed","where":[{"path":["plan"],"cmp":"=","value":"pro"}],"agg":"count","cmp":">=","value":2,"window":{"last":90,"unit":"days"}},` +
		`{"op":"not","arg":{"kind":"consent","purpose":"email_marketing"}},` +
		`{"kind":"trait","path":["d"],"cmp":"<","value":{"date":"2026-01-01"}},` +
		`{"kind":"trait","path":["l"],"cmp":"in","value":[1,2]}]}`
	if string(got) != want {
		t.Errorf("JSON form\n got %s\nwant %s", got, want)
	}
	// The minimal event form: count >= 1 is the default measure.
	e2, err := ParseJSON([]byte(`{"kind":"event","name":"X","window":{"between":["2026-01-01","2026-01-31"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := mustParse(t, `did event "X" between 2026-01-01 and 2026-01-31`); !reflect.DeepEqual(e2, want) {
		t.Errorf("minimal event = %s", Format(e2))
	}
}

func TestJSONErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{`[]`, `$: expected a JSON object, found an array`},
		{`{"op":"and","args":[{"kind":"identity","type":"email"}]}`, `$.args: expected at least 2 arguments to and, found 1`},
		{`{"op":"xor","args":[]}`, `$.op: expected and, or or not, found "xor"`},
		{`{"op":"not","arg":{"kind":"identity","type":"email"},"args":[]}`, `$.args: expected only op, arg in a not object, found unknown member "args"`},
		{`{"kind":"trait","path":["city"],"cmp":"=","value":"x","colour":1}`, `$.colour: expected only kind, path, cmp, value in a trait object, found unknown member "colour"`},
		{`{"kind":"trait","path":"city","cmp":"=","value":"x"}`, `$.path: expected an array of strings, found string "city"`},
		{`{"kind":"trait","path":["city"],"cmp":"=="}`, `$: expected member "value", found none`},
		{`{"kind":"trait","path":["city"],"cmp":"==","value":1}`, `$: expected a comparison`},
		{`{"kind":"trait","path":["city"],"cmp":"exists","value":1}`, `$.value: expected no value after exists, found number 1`},
		{`{"kind":"trait","path":["age"],"cmp":">","value":true}`, `$: expected a string, number or date after >, found a bool`},
		{`{"kind":"trait","path":["age"],"cmp":"=","value":null}`, `$.value: expected a string, number, boolean, date or list, found null`},
		{`{"kind":"trait","path":["age"],"cmp":"=","value":1e999}`, `$.value: expected a number within float64 range`},
		{`{"kind":"trait","path":["d"],"cmp":"=","value":{"date":"2026-13-01"}}`, `$: expected a date YYYY-MM-DD between 1900 and 2999, found "2026-13-01"`},
		{`{"kind":"trait","path":[],"cmp":"exists"}`, `$: expected a trait path, found an empty path`},
		{`{"kind":"score","name":"a b","cmp":"exists"}`, `$: expected a score name`},
		{`{"kind":"weather","cmp":"exists"}`, `$.kind: expected a condition kind`},
		{`{"kind":"or","args":[]}`, `$.kind: expected a condition kind`},
		{`{"op":"and","kind":"trait"}`, `$: expected exactly one of "op" and "kind", found both`},
		{`{"kind":"event","name":"X","agg":"count","cmp":"!=","value":2}`, `$: expected =, <, <=, > or >= for an event count, found !=`},
		{`{"kind":"event","name":"X","window":{"last":3}}`, `$.window: expected member "unit", found none`},
		{`{"kind":"event","name":"X","window":{"last":3,"unit":"weeks"}}`, `$.window: expected days or hours, found "weeks"`},
		{`{"kind":"event","name":"X","window":{"between":["2026-01-01"]}}`, `$.window.between: expected two dates [from, to], found 1 values`},
		{`{"kind":"event","name":"X","window":{"since":"2026-01-01","before":"2026-02-01"}}`, `$.window: expected one kind of window`},
		{`{"kind":"event","name":"X","window":{}}`, `$.window: expected last, between, since or before, found an empty object`},
		{`{"kind":"event","name":"X","where":[{"path":["a"],"cmp":"=","value":1,"x":2}]}`, `$.where[0].x: expected only path, cmp, value`},
		{`{"kind":"bought","product":"A","category":"B"}`, `$: expected one of product and category, found both or neither`},
		{`{"kind":"orders","measure":"margin","cmp":">","value":1}`, `$: expected count or revenue, found "margin"`},
		{`{"kind":"rfm","cmp":"=","value":"Winners"}`, `$: expected an RFM cell name`},
		{`{"kind":"trait","path":["x"],"cmp":"in","value":[[1]]}`, `$.value[0]: expected a string, number, boolean, date or list, found an array`},
		{"{\"kind\":\"trait\",\"path\":[\"x\"],\"cmp\":\"=\",\"value\":\"caf\xe9\"}", `$: expected valid UTF-8, found byte 0xe9 at offset 51`},
		{`{"kind":"trait",`, `$: expected valid JSON`},
		{`{"kind":"consent","purpose":"` + strings.Repeat("p", 129) + `"}`, `$: expected consent purpose of at most 128 bytes, found 129 bytes`},
	}
	for _, c := range cases {
		_, err := ParseJSON([]byte(c.in))
		je, ok := err.(*JSONError)
		if !ok {
			t.Errorf("%s: error %v (%T), want a *JSONError", c.in, err, err)
			continue
		}
		if !strings.Contains(je.Error(), c.msg) {
			t.Errorf("%s:\n got %v\nwant %s", c.in, je, c.msg)
		}
	}
}

func TestJSONLimits(t *testing.T) {
	big := `{"kind":"trait","path":["x"],"cmp":"=","value":"` + strings.Repeat("a", MaxSource) + `"}`
	if _, err := ParseJSON([]byte(big)); err == nil || !strings.Contains(err.Error(), "at most 65536 bytes") {
		t.Errorf("oversized: %v", err)
	}
	deep := `{"kind":"identity","type":"email"}`
	for i := 0; i <= MaxDepth; i++ {
		deep = `{"op":"not","arg":` + deep + `}`
	}
	if _, err := ParseJSON([]byte(deep)); err == nil || !strings.Contains(err.Error(), "levels of nesting") {
		t.Errorf("deep: %v", err)
	}
	var list []string
	for i := 0; i <= MaxList; i++ {
		list = append(list, `"a"`)
	}
	long := `{"kind":"trait","path":["x"],"cmp":"in","value":[` + strings.Join(list, ",") + `]}`
	if _, err := ParseJSON([]byte(long)); err == nil || !strings.Contains(err.Error(), "at most 1000 values") {
		t.Errorf("long list: %v", err)
	}
	var args []string
	for i := 0; i <= MaxConditions; i++ {
		args = append(args, `{"kind":"identity","type":"email"}`)
	}
	many := `{"op":"or","args":[` + strings.Join(args, ",") + `]}`
	if _, err := ParseJSON([]byte(many)); err == nil || !strings.Contains(err.Error(), "at most 256 conditions") {
		t.Errorf("many conditions: %v", err)
	}
}

package computed_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/traits/computed"
)

func TestParseYAMLRefusesBadFiles(t *testing.T) {
	valid := "computed_traits:\n  - name: n\n    aggregate: count\n    over: orders\n"
	huge := valid + "# " + strings.Repeat("x", computed.MaxFileBytes) + "\n"
	many := "computed_traits:\n"
	for i := 0; i <= computed.MaxDefinitions; i++ {
		many += fmt.Sprintf("  - {name: t%d, aggregate: count, over: orders}\n", i)
	}
	cases := []struct {
		name, file string
		want       []string // fragments of the error
	}{
		{"malformed", "computed_traits:\n  - name: [unclosed\n", []string{"definitions file"}},
		{"unknown top-level key", valid + "extra: 1\n", []string{"extra"}},
		{"unknown trait key", "computed_traits:\n  - name: n\n    aggregate: count\n    over: orders\n    windw: {last_days: 3}\n", []string{"windw"}},
		{"unknown window key", "computed_traits:\n  - name: n\n    aggregate: count\n    over: orders\n    window: {days: 3}\n", []string{"days"}},
		{"wrong type", "computed_traits:\n  - name: n\n    aggregate: list\n    over: orders\n    value: order_id\n    limit: ten\n", []string{"limit", `computed trait "n"`}},
		{"wrong type list", "computed_traits:\n  - name: n\n    aggregate: [count]\n    over: orders\n", []string{"aggregate"}},
		{"fractional days", "computed_traits:\n  - name: views\n    aggregate: count\n    over: events\n    window: {last_days: 1.5}\n", []string{`"views"`, "window.last_days", "whole number", "1.5"}},
		{"half a day", "computed_traits:\n  - name: views\n    aggregate: count\n    over: events\n    window: {last_days: 0.5}\n", []string{"window.last_days", "whole number"}},
		{"days as text", "computed_traits:\n  - name: views\n    aggregate: count\n    over: events\n    window: {last_days: \"30\"}\n", []string{"window.last_days", `the text "30"`}},
		{"fractional limit", "computed_traits:\n  - name: skus\n    aggregate: list\n    over: lines\n    value: product_id\n    limit: 2.9\n", []string{`"skus"`, "limit", "2.9"}},
		{"number as name", "computed_traits:\n  - name: 12\n    aggregate: count\n    over: orders\n", []string{"#1", "name", "text value"}},
		{"filter op as list", "computed_traits:\n  - name: v\n    aggregate: count\n    over: events\n    where: [{field: properties.x, op: [eq]}]\n", []string{"where[1].op"}},
		{"entry not a mapping", "computed_traits:\n  - just text\n", []string{"entry 1", "not a mapping"}},
		{"oversized", huge, []string{"bytes", "at most"}},
		{"invalid UTF-8", "computed_traits:\n  - name: n\xff\n    aggregate: count\n    over: orders\n", []string{"UTF-8", "offset 28"}},
		{"empty", "  \n", []string{"empty"}},
		{"no list", "computed_traits: []\n", []string{"missing or empty"}},
		{"too many", many, []string{"at most 200"}},
		{"duplicate name", valid + "  - name: n\n    aggregate: count\n    over: events\n", []string{"n", "defined twice"}},
		{"duplicate key", "computed_traits:\n  - name: n\n    name: m\n    aggregate: count\n    over: orders\n", []string{"name"}},
		{"alias", "base: &b {aggregate: count, over: orders}\ncomputed_traits:\n  - *b\n", []string{"aliases"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := computed.ParseYAML([]byte(c.file))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValidateNamesFieldAndReason(t *testing.T) {
	base := func(mod func(d *computed.Definition)) computed.Definition {
		d := computed.Definition{Name: "t", Aggregate: "count", Over: "events"}
		mod(&d)
		return d
	}
	cases := []struct {
		name  string
		def   computed.Definition
		field string
	}{
		{"hostile name", base(func(d *computed.Definition) { d.Name = "x'; DROP TABLE profiles; --" }), "name"},
		{"upper case", base(func(d *computed.Definition) { d.Name = "Views" }), "name"},
		{"built-in indicator", base(func(d *computed.Definition) { d.Name = "revenue" }), "name"},
		{"reserved prefix", base(func(d *computed.Definition) { d.Name = "rfm_mine" }), "name"},
		{"empty name", base(func(d *computed.Definition) { d.Name = "" }), "name"},
		{"aggregate", base(func(d *computed.Definition) { d.Aggregate = "median" }), "aggregate"},
		{"over", base(func(d *computed.Definition) { d.Over = "pageviews" }), "over"},
		{"status on events", base(func(d *computed.Definition) { d.Status = []string{"completed"} }), "status"},
		{"event on orders", base(func(d *computed.Definition) { d.Over, d.Event = "orders", "x" }), "event"},
		{"where on orders", base(func(d *computed.Definition) {
			d.Over, d.Where = "orders", []computed.Filter{{Field: "properties.a", Op: "exists"}}
		}), "where"},
		{"category on orders", base(func(d *computed.Definition) { d.Over, d.Category = "orders", []string{"Books"} }), "category"},
		{"empty product", base(func(d *computed.Definition) { d.Over, d.Product = "lines", []string{""} }), "product"},
		{"sum of text", base(func(d *computed.Definition) { d.Over, d.Aggregate, d.Value = "lines", "sum", "category" }), "value"},
		{"min of text", base(func(d *computed.Definition) { d.Over, d.Aggregate, d.Value = "orders", "min", "currency" }), "value"},
		{"first without value", base(func(d *computed.Definition) { d.Aggregate = "first" }), "value"},
		{"unknown order value", base(func(d *computed.Definition) { d.Over, d.Aggregate, d.Value = "orders", "sum", "quantity" }), "value"},
		{"hostile value", base(func(d *computed.Definition) { d.Aggregate, d.Value = "sum", "properties.a'); DROP TABLE x; --" }), "value"},
		{"value without prefix", base(func(d *computed.Definition) { d.Aggregate, d.Value = "sum", "price" }), "value"},
		{"too deep", base(func(d *computed.Definition) { d.Aggregate, d.Value = "sum", "properties.a.b.c.d.e.f" }), "value"},
		{"list too long", base(func(d *computed.Definition) { d.Aggregate, d.Value, d.Limit = "list", "properties.p", 101 }), "limit"},
		{"limit on count", base(func(d *computed.Definition) { d.Limit = 3 }), "limit"},
		{"window both", base(func(d *computed.Definition) {
			d.Window = &computed.Window{LastDays: 3, From: "2024-01-01", To: "2024-02-01"}
		}), "window"},
		{"window negative", base(func(d *computed.Definition) { d.Window = &computed.Window{LastDays: -1} }), "window.last_days"},
		{"window huge", base(func(d *computed.Definition) { d.Window = &computed.Window{LastDays: 1 << 30} }), "window.last_days"},
		{"window empty", base(func(d *computed.Definition) { d.Window = &computed.Window{} }), "window"},
		{"window bad from", base(func(d *computed.Definition) { d.Window = &computed.Window{From: "2024-13-01", To: "2024-12-01"} }), "window.from"},
		{"window bad to", base(func(d *computed.Definition) { d.Window = &computed.Window{From: "2024-01-01"} }), "window.to"},
		{"window reversed", base(func(d *computed.Definition) { d.Window = &computed.Window{From: "2024-02-01", To: "2024-01-01"} }), "window"},
		{"filter op", base(func(d *computed.Definition) {
			d.Where = []computed.Filter{{Field: "properties.a", Op: "like", Value: "x"}}
		}), "where[1].op"},
		{"filter field", base(func(d *computed.Definition) { d.Where = []computed.Filter{{Field: "event", Op: "=", Value: "x"}} }), "where[1].field"},
		{"filter hostile field", base(func(d *computed.Definition) { d.Where = []computed.Filter{{Field: `properties.a"b`, Op: "exists"}} }), "where[1].field"},
		{"filter > text", base(func(d *computed.Definition) {
			d.Where = []computed.Filter{{Field: "properties.a", Op: ">", Value: "x"}}
		}), "where[1].value"},
		{"filter = missing", base(func(d *computed.Definition) { d.Where = []computed.Filter{{Field: "properties.a", Op: "="}} }), "where[1].value"},
		{"filter in mixed", base(func(d *computed.Definition) {
			d.Where = []computed.Filter{{Field: "properties.a", Op: "in", Value: []any{"x", 1}}}
		}), "where[1].value"},
		{"filter in empty", base(func(d *computed.Definition) {
			d.Where = []computed.Filter{{Field: "properties.a", Op: "in", Value: []any{}}}
		}), "where[1].value"},
		{"filter exists value", base(func(d *computed.Definition) {
			d.Where = []computed.Filter{{Field: "properties.a", Op: "exists", Value: true}}
		}), "where[1].value"},
		{"filter object", base(func(d *computed.Definition) {
			d.Where = []computed.Filter{{Field: "properties.a", Op: "=", Value: map[string]any{"x": 1}}}
		}), "where[1].value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.def.Validate(1)
			var fe *computed.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a FieldError on %s", err, c.field)
			}
			if fe.Field != c.field || fe.Reason == "" {
				t.Errorf("error on %q (%s), want on %q", fe.Field, fe.Reason, c.field)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	for _, body := range []string{
		`{"name":"n","aggregate":"count","over":"orders","extra":1}`,
		`{"name":"n","aggregate":"count","over":"orders"} {}`,
		`{"name":"n","aggregate":"count","over":"orders","limit":"3"}`,
		"{\"name\":\"n\xff\",\"aggregate\":\"count\",\"over\":\"orders\"}",
		`{"name":"n","aggregate":"count","over":"orders","description":"` + strings.Repeat("x", computed.MaxBodyBytes) + `"}`,
		`[]`,
	} {
		if _, err := computed.ParseJSON([]byte(body)); err == nil {
			t.Errorf("accepted %.80q", body)
		}
	}
	d, err := computed.ParseJSON([]byte(`{"name":"n","aggregate":"count","over":"events",
		"where":[{"field":"properties.price","op":"in","value":[1,2.5]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if v := d.Where[0].Value.([]any); v[0] != 1.0 || v[1] != 2.5 {
		t.Errorf("in values %v, want numbers 1 and 2.5", v)
	}
}

// TestHostileValuesStayParameters: user text reaches the statement only as
// bound arguments, and the statement runs on a real store without harm.
func TestHostileValuesStayParameters(t *testing.T) {
	evil := `x'); DROP TABLE events; --`
	d := computed.Definition{Name: "evil", Aggregate: "list", Over: "events", Event: evil, Value: "properties.p",
		Where: []computed.Filter{{Field: "properties.p", Op: "=", Value: evil}, {Field: "properties.q", Op: "in", Value: []any{evil}}}}
	lines := computed.Definition{Name: "evil_lines", Aggregate: "count", Over: "lines", Status: []string{evil}, Category: []string{evil}, Product: []string{evil}}
	for _, def := range []computed.Definition{d, lines} {
		if err := def.Validate(1); err != nil {
			t.Fatal(err)
		}
		for _, scoped := range []bool{false, true} {
			q, err := computed.Compile(def, scoped)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(q.SQL, "DROP") || strings.Contains(q.SQL, evil) {
				t.Errorf("user text in the SQL:\n%s", q.SQL)
			}
		}
	}
	ws := newWorkspace(t)
	loadD(t, ws)
	ws.track(t, event{"u2", evil, ago(day), `{"p":"x'); DROP TABLE events; --","q":"x'); DROP TABLE events; --"}`, false})
	if _, err := ws.svc.Save(context.Background(), []computed.Definition{d, lines}); err != nil {
		t.Fatal(err)
	}
	got := ws.values(t)
	if got["u2"]["evil"] != `["x'); DROP TABLE events; --"]` || got["u1"]["evil_lines"] != "0" {
		t.Errorf("evil = %s, evil_lines = %s", got["u2"]["evil"], got["u1"]["evil_lines"])
	}
	var n int
	if err := ws.db.SQL().QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != len(eventsD)+1 {
		t.Errorf("events: %d rows (%v)", n, err)
	}
}

func FuzzParseYAML(f *testing.F) {
	f.Add([]byte(definitionsYAML))
	f.Add([]byte("computed_traits:\n  - {name: a, aggregate: list, over: events, value: properties.x, limit: 3}\n"))
	f.Add([]byte("computed_traits:\n  - {name: a, aggregate: count, over: events, where: [{field: properties.a, op: in, value: [1, 2]}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := computed.ParseYAML(data)
		if err != nil {
			return
		}
		for _, d := range defs {
			if _, err := computed.Compile(d, false); err != nil {
				t.Fatalf("accepted definition %s does not compile: %v", d.Name, err)
			}
		}
	})
}

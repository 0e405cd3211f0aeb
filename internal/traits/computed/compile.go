package computed

import (
	"fmt"
	"strings"
	"time"
)

// Query is a compiled definition: one DuckDB statement selecting
// (profile_id, value) for every live profile in scope, value being JSON text.
// Placeholders take Bind's arguments.
type Query struct {
	Name string
	SQL  string
	args []any
}

// Placeholder values Bind replaces.
type (
	asOfArg  struct{}
	scopeArg struct{}
)

// Bind returns the statement's arguments for an as-of instant and a scope:
// the live profile ids to compute (nil: every live profile).
func (q Query) Bind(asOf time.Time, scope []string) []any {
	out := make([]any, len(q.args))
	for i, a := range q.args {
		switch a.(type) {
		case asOfArg:
			out[i] = asOf.UTC()
		case scopeArg:
			if scope == nil {
				scope = []string{}
			}
			out[i] = scope
		default:
			out[i] = a
		}
	}
	return out
}

// Scoped reports whether the statement was compiled for a list of profiles.
func (q Query) Scoped() bool {
	for _, a := range q.args {
		if _, ok := a.(scopeArg); ok {
			return true
		}
	}
	return false
}

const (
	// revenueStatuses mirrors the indicators' rule (docs/scores.md): these
	// statuses are not revenue. Constant SQL text, not user input.
	nonRevenueSQL = "('cancelled', 'refunded', 'returned')"
	isoFormat     = "'%Y-%m-%dT%H:%M:%SZ'"
)

// builder writes SQL and collects arguments in placeholder order.
type builder struct {
	b    strings.Builder
	args []any
}

func (b *builder) sql(s ...string) {
	for _, x := range s {
		b.b.WriteString(x)
	}
}

// arg writes a placeholder (with a cast) and records its value.
func (b *builder) arg(cast string, v any) {
	b.b.WriteString("CAST(? AS " + cast + ")")
	b.args = append(b.args, v)
}

// Compile turns a validated definition into its statement. scoped compiles
// it for a list of profiles (incremental refresh) rather than all of them.
//
// The statement's shape:
//
//	chain  every profile with the live root of its merge chain (seeded with
//	       the scope's roots when scoped)
//	rows   (profile_id = root, ts, k1, k2, v): the matching events, orders or
//	       lines before as-of and inside the window; k1, k2 break time ties
//	agg    one value per profile, as JSON text
//
// count and distinct_count answer 0 for profiles in scope without data;
// other aggregates leave such profiles without a value.
func Compile(d Definition, scoped bool) (Query, error) {
	k, err := d.valueKind()
	if err != nil {
		return Query{}, err
	}
	var b builder
	b.sql("WITH RECURSIVE\nchain(id, root) AS (\n\tSELECT id, id FROM profiles WHERE merged_into IS NULL")
	if scoped {
		b.sql(" AND id IN (SELECT unnest(")
		b.arg("VARCHAR[]", scopeArg{})
		b.sql("))")
	}
	b.sql("\n\tUNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id),\nparams AS (SELECT ")
	b.arg("TIMESTAMP", asOfArg{})
	b.sql(" AS as_of),\nrows AS (\n\t")
	if err := rowsSQL(&b, &d, k); err != nil {
		return Query{}, err
	}
	b.sql("),\n")
	aggSQL(&b, &d, k)
	return Query{Name: d.Name, SQL: b.b.String(), args: b.args}, nil
}

// rowsSQL selects the matching rows with the value to aggregate as v.
func rowsSQL(b *builder, d *Definition, k kind) error {
	var ts, val string
	switch d.Over {
	case "events":
		ts = "e.timestamp"
		b.sql("SELECT c.root AS profile_id, e.timestamp AS ts, '' AS k1, e.seq AS k2, ")
		switch {
		case k == moment:
			val = "strftime(e.timestamp, " + isoFormat + ")"
			b.sql(val)
		case k == property && numericAggregate(d.Aggregate):
			// Numbers, or strings holding one; anything else is skipped.
			path, _ := propertyPath(d.Value)
			b.sql("TRY_CAST(json_extract_string(e.properties, ")
			b.arg("VARCHAR", path)
			b.sql(") AS DOUBLE)")
		case k == property:
			// The JSON value itself (JSON null counts as missing).
			path, _ := propertyPath(d.Value)
			b.sql("nullif(CAST(json_extract(e.properties, ")
			b.arg("VARCHAR", path)
			b.sql(") AS VARCHAR), 'null')")
		default:
			b.sql("NULL")
		}
		b.sql(" AS v\n\tFROM events e JOIN chain c ON c.id = e.profile_id CROSS JOIN params\n\tWHERE e.type = 'track' AND NOT e.is_bot")
		if d.Event != "" {
			b.sql(" AND e.event = ")
			b.arg("VARCHAR", d.Event)
		}
		for _, f := range d.Where {
			b.sql("\n\t  AND ")
			filterSQL(b, f)
		}
	case "orders":
		ts = "o.ordered_at"
		b.sql("SELECT c.root AS profile_id, o.ordered_at AS ts, o.source_id || chr(31) || o.order_id AS k1, 0 AS k2, ")
		b.sql(columnSQL("o", d.Value, k))
		b.sql(" AS v\n\tFROM orders o JOIN chain c ON c.id = o.profile_id CROSS JOIN params\n\tWHERE ")
		statusSQL(b, "o.status", d.Status)
	default:
		ts = "o.ordered_at"
		b.sql("SELECT c.root AS profile_id, o.ordered_at AS ts, o.source_id || chr(31) || o.order_id AS k1, i.line_no AS k2, ")
		if d.Value == "timestamp" {
			b.sql(columnSQL("o", d.Value, k))
		} else {
			b.sql(columnSQL("i", d.Value, k))
		}
		b.sql(" AS v\n\tFROM order_items i JOIN orders o ON o.source_id = i.source_id AND o.order_id = i.order_id\n\t")
		b.sql("JOIN chain c ON c.id = o.profile_id CROSS JOIN params\n\tWHERE ")
		if len(d.Status) == 0 {
			// Like the indicators: a revenue line of a revenue order.
			b.sql("o.status NOT IN " + nonRevenueSQL + " AND ")
		}
		statusSQL(b, "i.status", d.Status)
		inList(b, "i.category", d.Category)
		inList(b, "coalesce(nullif(i.product_id, ''), i.name)", d.Product)
	}
	b.sql("\n\t  AND " + ts + " < params.as_of")
	if w := d.Window; w != nil {
		if w.LastDays > 0 {
			b.sql(" AND " + ts + " >= params.as_of - to_days(")
			b.arg("INTEGER", w.LastDays)
			b.sql(")")
		} else {
			from, _ := time.Parse(time.DateOnly, w.From)
			to, _ := time.Parse(time.DateOnly, w.To)
			b.sql(" AND " + ts + " >= ")
			b.arg("TIMESTAMP", from)
			b.sql(" AND " + ts + " < ")
			b.arg("TIMESTAMP", to.AddDate(0, 0, 1))
		}
	}
	return nil
}

// columnSQL reads an allow-listed column (the name comes from orderValues or
// lineValues, never from the definition's text).
func columnSQL(alias, value string, k kind) string {
	switch {
	case value == "":
		return "NULL"
	case value == "timestamp":
		return "strftime(" + alias + ".ordered_at, " + isoFormat + ")"
	case k == text:
		return "nullif(" + alias + "." + value + ", '')"
	}
	return alias + "." + value
}

func statusSQL(b *builder, col string, statuses []string) {
	if len(statuses) == 0 {
		b.sql(col + " NOT IN " + nonRevenueSQL)
		return
	}
	b.sql(col + " IN (SELECT unnest(")
	b.arg("VARCHAR[]", statuses)
	b.sql("))")
}

func inList(b *builder, col string, list []string) {
	if len(list) == 0 {
		return
	}
	b.sql(" AND " + col + " IN (SELECT unnest(")
	b.arg("VARCHAR[]", list)
	b.sql("))")
}

// filterSQL writes one property condition. A missing property never
// matches, whatever the operator (!= included): SQL's NULL semantics.
func filterSQL(b *builder, f Filter) {
	path, _ := propertyPath(f.Field)
	str := func() {
		b.sql("json_extract_string(e.properties, ")
		b.arg("VARCHAR", path)
		b.sql(")")
	}
	num := func() {
		b.sql("TRY_CAST(json_extract_string(e.properties, ")
		b.arg("VARCHAR", path)
		b.sql(") AS DOUBLE)")
	}
	switch f.Op {
	case "exists":
		b.sql("nullif(CAST(json_extract(e.properties, ")
		b.arg("VARCHAR", path)
		b.sql(") AS VARCHAR), 'null') IS NOT NULL")
	case "in":
		list := f.Value.([]any)
		if _, isNum := list[0].(float64); isNum {
			vals := make([]float64, len(list))
			for i, v := range list {
				vals[i] = v.(float64)
			}
			num()
			b.sql(" IN (SELECT unnest(")
			b.arg("DOUBLE[]", vals)
		} else {
			vals := make([]string, len(list))
			for i, v := range list {
				vals[i] = scalarText(v)
			}
			str()
			b.sql(" IN (SELECT unnest(")
			b.arg("VARCHAR[]", vals)
		}
		b.sql("))")
	default:
		op := f.Op // allow-listed by validate
		if v, isNum := f.Value.(float64); isNum {
			num()
			b.sql(" " + op + " ")
			b.arg("DOUBLE", v)
		} else {
			str()
			b.sql(" " + op + " ")
			b.arg("VARCHAR", scalarText(f.Value))
		}
	}
}

// scalarText is how json_extract_string shows a string or boolean.
func scalarText(v any) string {
	if t, ok := v.(bool); ok {
		return fmt.Sprint(t)
	}
	return v.(string)
}

func numericAggregate(a string) bool {
	return a == "sum" || a == "avg" || a == "min" || a == "max"
}

// aggSQL writes the aggregate and the final SELECT of (profile_id, value).
func aggSQL(b *builder, d *Definition, k kind) {
	// JSON text of an aggregated value: event property values already are.
	js := func(x string) string {
		if k == property && !numericAggregate(d.Aggregate) {
			return x
		}
		return "CAST(to_json(" + x + ") AS VARCHAR)"
	}
	nn := " FILTER (WHERE v IS NOT NULL)"
	switch d.Aggregate {
	case "count", "distinct_count":
		expr := "count(*)"
		switch {
		case d.Aggregate == "distinct_count":
			expr = "count(DISTINCT v)"
		case d.Value != "":
			expr = "count(v)"
		}
		b.sql("agg AS (SELECT profile_id, " + expr + " AS n FROM rows GROUP BY profile_id)\n")
		b.sql("SELECT c.id AS profile_id, CAST(to_json(coalesce(a.n, 0)) AS VARCHAR) AS value\n")
		b.sql("FROM chain c LEFT JOIN agg a ON a.profile_id = c.id WHERE c.id = c.root")
		return
	case "sum", "avg":
		// Rounded to 6 decimals: money keeps its cents, and the order in
		// which a batch or an incremental pass adds doubles cannot show.
		b.sql("agg AS (SELECT profile_id, " + js("round("+d.Aggregate+"(v), 6)") + " AS value FROM rows WHERE v IS NOT NULL GROUP BY profile_id)\n")
	case "min", "max":
		b.sql("agg AS (SELECT profile_id, " + js(d.Aggregate+"(v)") + " AS value FROM rows WHERE v IS NOT NULL GROUP BY profile_id)\n")
	case "first":
		b.sql("agg AS (SELECT profile_id, " + js("first(v ORDER BY ts, k1, k2)"+nn) + " AS value FROM rows WHERE v IS NOT NULL GROUP BY profile_id)\n")
	case "last":
		b.sql("agg AS (SELECT profile_id, " + js("first(v ORDER BY ts DESC, k1 DESC, k2 DESC)"+nn) + " AS value FROM rows WHERE v IS NOT NULL GROUP BY profile_id)\n")
	case "most_frequent":
		// Ties go to the smallest value, so a refresh is reproducible.
		b.sql("freq AS (SELECT profile_id, v, count(*) AS n FROM rows WHERE v IS NOT NULL GROUP BY profile_id, v\n")
		b.sql("\tQUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY n DESC, v) = 1),\n")
		b.sql("agg AS (SELECT profile_id, " + js("v") + " AS value FROM freq)\n")
	case "list":
		// Distinct values, most recently seen first, at most limit of them.
		b.sql("seen AS (SELECT profile_id, v, max(ts) AS t FROM rows WHERE v IS NOT NULL GROUP BY profile_id, v\n")
		b.sql("\tQUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY t DESC, v) <= ")
		b.arg("INTEGER", d.Limit)
		b.sql("),\n")
		if k == property {
			b.sql("agg AS (SELECT profile_id, '[' || string_agg(v, ',' ORDER BY t DESC, v) || ']' AS value FROM seen GROUP BY profile_id)\n")
		} else {
			b.sql("agg AS (SELECT profile_id, CAST(to_json(list(v ORDER BY t DESC, v)) AS VARCHAR) AS value FROM seen GROUP BY profile_id)\n")
		}
	}
	b.sql("SELECT profile_id, value FROM agg WHERE value IS NOT NULL")
}

package rule

import (
	"fmt"
	"strings"
	"time"
)

// mergedCTE maps every merged-away profile id to the live profile at the
// end of its merged_into chain. It reads only the merged rows (few), and
// UNION (not UNION ALL) makes a corrupt cycle terminate instead of looping.
// merged_any lists every id a merge touches (merged-away or survivor): the
// data of any other profile is its own, so its per-profile aggregate is
// already final.
const mergedCTE = `merged_edge AS MATERIALIZED (
	SELECT id, merged_into AS root FROM profiles WHERE merged_into IS NOT NULL),
merged_chain(id, root) AS (
	SELECT id, root FROM merged_edge
	UNION SELECT c.id, e.root FROM merged_chain c JOIN merged_edge e ON e.id = c.root),
merged AS MATERIALIZED (
	SELECT id, root FROM merged_chain WHERE root NOT IN (SELECT id FROM merged_edge)),
merged_any AS MATERIALIZED (
	SELECT id FROM merged UNION SELECT root FROM merged),
`

// candidatesCTE (Env.Only): the candidate live ids. candIDsCTE: every id
// whose data counts for one of them (themselves and the profiles merged into
// them).
const (
	candidatesCTE = `cand AS (
	SELECT DISTINCT unnest(CAST($CANDIDATES AS VARCHAR[])) AS id),
`
	candIDsCTE = `cand_ids AS (
	SELECT id FROM cand UNION ALL SELECT id FROM merged WHERE root IN (SELECT id FROM cand)),
`
)

const (
	liveCTE = `live AS (
	SELECT id AS profile_id FROM profiles WHERE merged_into IS NULL)`
	liveOnlyCTE = `live AS (
	SELECT id AS profile_id FROM profiles WHERE merged_into IS NULL AND id IN (SELECT id FROM cand))`

	// revenueStatus is the orders / lines that count (as in internal/traits).
	revenueStatus = "status NOT IN ('cancelled', 'refunded', 'returned')"

	// offsetRE recognises a timestamp text that carries its own offset;
	// others are read as UTC.
	offsetRE = `'\d\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)$'`
)

// mapped wraps a query of raw profile ids (column profile_id, one row per
// raw id) so ids of merged-away profiles become their live root.
func (c *compiler) mapped(raw string) string {
	c.merged = true
	return "SELECT DISTINCT coalesce(m.root, x.profile_id) AS profile_id FROM (\n\t" +
		strings.ReplaceAll(raw, "\n", "\n\t") + ") x\nLEFT JOIN merged m ON m.id = x.profile_id"
}

// candMergedCTE (Env.Only with bound candidates): the ids merged into a
// candidate, the candidates themselves excluded, so that a table read as
// "rows of the candidates UNION ALL rows of cand_merged" holds each row once
// (the empty id pads a one-candidate list, see compiler.from).
// Unnesting a list makes DuckDB expect one row (a set from merged, it
// expects a large one), so joins hash this side, and skip reading the table
// when it is empty.
const candMergedCTE = `cand_merged AS (
	SELECT unnest((SELECT coalesce(list(id), []) FROM merged
		WHERE root IN (SELECT id FROM cand) AND id NOT IN (SELECT id FROM cand) AND id <> '')) AS id),
`

// from names a raw table in a FROM clause, as alias. With bound candidates
// (Env.Candidates) it is the table's rows of the candidates, read with a
// constant IN list that DuckDB applies in the scan after the cheaper
// filters, plus the rows of the profiles merged into them (a semi-join
// that reads nothing when no merge touches the candidates). A semi-join
// against a CTE of candidates instead makes DuckDB read the id column of
// every row, or hash the table's side of the join: most of the cost of a
// real-time evaluation (docs/segments-language.md, "How it runs").
func (c *compiler) from(table, alias, col string) string {
	if c.inline == "" {
		if alias == "" {
			return table
		}
		return table + " " + alias
	}
	if alias == "" {
		alias = table
	}
	list := c.inline
	if !strings.Contains(list, ",") {
		// One candidate: DuckDB turns IN (x) into col = x, which it checks
		// on every row before the other filters (80 ms instead of 29 ms on
		// 4,000,000 events); a list of two keeps the cheap order. Rows of a
		// profile with the empty id (none is ever created) would count only
		// where they count anyway: results are always intersected with the
		// exact candidates (live, or the profile conditions), and
		// cand_merged leaves that id out.
		list += ", ''"
	}
	return "(SELECT * FROM " + table + " WHERE " + col + " IN (" + list + ")\n\tUNION ALL SELECT * FROM " + table +
		" WHERE " + col + " IN (SELECT id FROM cand_merged)) " + alias
}

// candFilter restricts a raw table to the candidates (Env.Only, unless
// from already did) and to the enclosing and's scopes: the ids whose data
// can count for them.
func (c *compiler) candFilter(col string) string {
	var b strings.Builder
	if c.env.Only && c.inline == "" {
		b.WriteString("\n\tAND " + col + " IN (SELECT id FROM cand_ids)")
	}
	for _, s := range c.scopes {
		b.WriteString("\n\tAND " + col + " IN (SELECT id FROM " + s.raw + ")")
	}
	return b.String()
}

func (c *compiler) condition(e Expr) (string, bool, error) {
	switch x := e.(type) {
	case *Trait:
		return c.profileSet(c.test("traits", c.arg(pointer(x.Path)), x.Test)), true, nil
	case *Normalized:
		return c.profileSet(c.test("normalized", c.arg(pointer(x.Path)), x.Test)), true, nil
	case *Score:
		return c.scoreSet(x.Name, x.Test), false, nil
	case *RFM:
		return c.scoreSet("rfm_segment", x.Test), false, nil
	case *Identity:
		return c.add(c.mapped("SELECT DISTINCT profile_id FROM " + c.from("identities", "", "profile_id") + "\nWHERE type = " + c.arg(x.Type) +
			c.candFilter("profile_id"))), false, nil
	case *Consent:
		c.merged = true
		return c.add(`SELECT profile_id FROM (
	SELECT coalesce(m.root, k.profile_id) AS profile_id, k.status
	FROM ` + c.from("consents", "k", "profile_id") + ` LEFT JOIN merged m ON m.id = k.profile_id
	WHERE k.purpose = ` + c.arg(x.Purpose) + c.candFilter("k.profile_id") + `
	QUALIFY row_number() OVER (PARTITION BY coalesce(m.root, k.profile_id)
		ORDER BY k.occurred_at DESC, k.recorded_at DESC, k.status = 'granted') = 1)
WHERE status = 'granted'`), false, nil
	case *Event:
		return c.event(x)
	case *Orders:
		return c.orders(x)
	case *Bought:
		var match string
		if x.Product != "" {
			p := c.arg(x.Product)
			match = "(i.product_id = " + p + " OR i.name = " + p + ")"
		} else {
			match = "i.category = " + c.arg(x.Category)
		}
		return c.add(c.mapped(`SELECT DISTINCT o.profile_id FROM order_items i
JOIN ` + c.from("orders", "o", "profile_id") + ` ON o.source_id = i.source_id AND o.order_id = i.order_id
WHERE ` + match + ` AND i.` + revenueStatus + ` AND o.` + revenueStatus +
			c.window("o.ordered_at", x.Window) + c.candFilter("o.profile_id"))), false, nil
	case *InSegment:
		if c.env.SegmentID == nil {
			return "", false, fmt.Errorf("compile rule: segment %q: no segment lookup", x.Name)
		}
		id, err := c.env.SegmentID(x.Name)
		if err != nil {
			return "", false, fmt.Errorf("compile rule: segment %q: %w", x.Name, err)
		}
		return c.add(c.mapped("SELECT DISTINCT profile_id FROM " + c.from("segment_memberships", "", "profile_id") + "\nWHERE segment_id = " + c.arg(id) +
			" AND exited_at IS NULL" + c.candFilter("profile_id"))), false, nil
	}
	return "", false, fmt.Errorf("compile rule: %w: unknown node %T", ErrInvalid, e)
}

func (c *compiler) profileSet(pred string) string {
	q := "SELECT id AS profile_id FROM profiles\nWHERE merged_into IS NULL AND " + pred
	switch {
	case c.inline != "":
		q += "\n\tAND id IN (" + c.inline + ")"
	case c.env.Only:
		q += "\n\tAND id IN (SELECT id FROM cand)"
	}
	for _, s := range c.scopes {
		q += "\n\tAND id IN (SELECT profile_id FROM " + s.live + ")"
	}
	return c.add(q)
}

func (c *compiler) scoreSet(name string, t Test) string {
	return c.add(c.mapped("SELECT DISTINCT profile_id FROM " + c.from("profile_scores", "", "profile_id") + "\nWHERE name = " + c.arg(name) +
		" AND " + c.test("value", "'$'", t) + c.candFilter("profile_id")))
}

// event: the events named x.Name that pass the filters and the window,
// aggregated per raw profile, then per live profile.
func (c *compiler) event(x *Event) (string, bool, error) {
	where := "event = " + c.arg(x.Name) + c.window("timestamp", x.Window)
	for _, f := range x.Where {
		where += "\n\tAND " + c.test("properties", c.arg(pointer(f.Path)), f.Test)
	}
	where += c.candFilter("profile_id")
	m := x.Measure
	if m.Agg == "count" && m.Cmp == Ge && m.Value == 1 {
		return c.add(c.mapped("SELECT DISTINCT profile_id FROM " + c.from("events", "", "profile_id") + "\nWHERE " + where)), false, nil
	}
	// cols are the partial aggregates per raw profile, value the same
	// measure computed from them (for the prefilter), outer the measure
	// over the partials of one live profile.
	var cols, value, outer string
	switch m.Agg {
	case "count":
		cols, value, outer = "count(*) AS a", "count(*)", "sum(x.a)"
	case "sum":
		v := c.num("properties", c.arg(pointer(m.Property)))
		cols, value, outer = "coalesce(sum("+v+"), 0) AS a", "coalesce(sum("+v+"), 0)", "sum(x.a)"
	case "avg":
		v := c.num("properties", c.arg(pointer(m.Property)))
		cols, value, outer = "sum("+v+") AS a, count("+v+") AS b", "avg("+v+")", "sum(x.a) / nullif(sum(x.b), 0)"
	default: // min, max
		v := c.num("properties", c.arg(pointer(m.Property)))
		cols, value, outer = m.Agg+"("+v+") AS a", m.Agg+"("+v+")", m.Agg+"(x.a)"
	}
	raw := "SELECT profile_id, " + cols + " FROM " + c.from("events", "", "profile_id") + "\nWHERE " + where + "\nGROUP BY profile_id"
	zero := (m.Agg == "count" || m.Agg == "sum") && holdsAtZero(m.Cmp, m.Value)
	return c.aggregate(raw, value, outer, m.Cmp, m.Value, zero), zero, nil
}

// orders: revenue orders in the window, counted or summed per profile.
func (c *compiler) orders(x *Orders) (string, bool, error) {
	value := "count(*)"
	if x.Measure == "revenue" {
		value = "coalesce(sum(total), 0)"
	}
	raw := "SELECT profile_id, " + value + " AS a FROM " + c.from("orders", "", "profile_id") + "\nWHERE profile_id IS NOT NULL AND " + revenueStatus +
		c.window("ordered_at", x.Window) + c.candFilter("profile_id") + "\nGROUP BY profile_id"
	zero := holdsAtZero(x.Cmp, x.Value)
	return c.aggregate(raw, value, "sum(x.a)", x.Cmp, x.Value, zero), zero, nil
}

// aggregate maps per-raw-profile partial aggregates to live profiles and
// compares the combined value. When the comparison holds for a profile with
// no rows at all (count < 3, revenue = 0), the set is the live profiles
// minus those whose aggregate fails it, so profiles without rows match.
//
// The per-raw-profile query keeps only rows that already pass (their
// aggregate is final unless a merge touches the profile) and rows of
// profiles a merge touches, so the merge mapping handles a few rows, not
// every profile with an event.
func (c *compiler) aggregate(raw, inner, outer string, cmp Cmp, v float64, zero bool) string {
	c.merged = true
	p := c.arg(v)
	innerPred, pred := inner+" "+sqlOp(cmp)+" "+p, outer+" "+sqlOp(cmp)+" "+p
	if zero {
		innerPred, pred = "NOT ("+innerPred+")", "NOT ("+pred+")"
	}
	raw += "\nHAVING " + innerPred + " OR profile_id IN (SELECT id FROM merged_any)"
	q := "SELECT coalesce(m.root, x.profile_id) AS profile_id FROM (\n\t" + strings.ReplaceAll(raw, "\n", "\n\t") +
		") x\nLEFT JOIN merged m ON m.id = x.profile_id\nGROUP BY 1 HAVING " + pred
	if zero {
		return c.add("SELECT profile_id FROM live\nEXCEPT " + q)
	}
	return c.add(q)
}

func holdsAtZero(c Cmp, v float64) bool {
	switch c {
	case Eq:
		return v == 0
	case Ne:
		return v != 0
	case Lt:
		return 0 < v
	case Le:
		return 0 <= v
	case Gt:
		return 0 > v
	case Ge:
		return 0 >= v
	}
	return false
}

func sqlOp(c Cmp) string {
	if c == Ne {
		return "<>"
	}
	return string(c)
}

// window bounds a TIMESTAMP column (UTC) by w, resolved against Env.
func (c *compiler) window(col string, w Window) string {
	switch {
	case w.Last != 0:
		return " AND " + col + " > " + c.ts(c.env.Now.Add(-w.length()))
	case w.Until != "":
		return " AND " + col + " >= " + c.ts(c.dayStart(w.Since, 0)) + " AND " + col + " < " + c.ts(c.dayStart(w.Until, 1))
	case w.Since != "":
		return " AND " + col + " >= " + c.ts(c.dayStart(w.Since, 0))
	case w.Before != "":
		return " AND " + col + " < " + c.ts(c.dayStart(w.Before, 0))
	}
	return ""
}

func (c *compiler) ts(t time.Time) string { return "CAST(" + c.arg(t.UTC()) + " AS TIMESTAMP)" }

// dayStart is 00:00 in the workspace zone of day s (YYYY-MM-DD, checked)
// plus days.
func (c *compiler) dayStart(s string, days int) time.Time {
	d, _ := time.Parse("2006-01-02", s)
	return time.Date(d.Year(), d.Month(), d.Day()+days, 0, 0, 0, 0, c.env.Location)
}

// pointer makes a JSON pointer (RFC 6901) of a path: it takes any key
// text, so user keys never need quoting rules of their own.
func pointer(path []string) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
	}
	return b.String()
}

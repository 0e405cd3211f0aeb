// Package rule is the segment language: a text syntax marketers read and
// write, a typed AST with a JSON form (for the API and the console), and a
// compiler to parameterised DuckDB SQL. docs/segments-language.md is the
// user-facing reference.
//
// Invariants:
//   - Parse, ParseJSON and Compile never panic, whatever the input; inputs
//     beyond the limits (MaxSource, MaxDepth, MaxList, MaxConditions) are
//     refused with an error, never truncated.
//   - Parse and ParseJSON accept exactly the same set of ASTs: both run the
//     same checks (check.go), so a rule saved through the API can always be
//     printed and re-parsed, and Parse(Format(e)) equals e.
//   - No text supplied by a user reaches SQL text. Field names come from
//     fixed tables in this package; trait paths, names and values are bound
//     parameters. The SQL text depends only on the shape of the rule.
//   - Compiled queries return live profiles only (merged_into IS NULL), each
//     once; data recorded on merged-away profiles counts for the live
//     profile at the end of their merged_into chain.
package rule

import "sort"

// Expr is a node of the typed AST: *And, *Or, *Not or one of the
// conditions (*Trait, *Normalized, *Score, *RFM, *Identity, *Consent,
// *Event, *Orders, *Bought, *InSegment).
type Expr interface{ node() }

// And matches profiles every argument matches (at least two arguments).
type And struct{ Args []Expr }

// Or matches profiles any argument matches (at least two arguments).
type Or struct{ Args []Expr }

// Not matches the live profiles its argument does not match.
type Not struct{ Arg Expr }

// Cmp is a comparison of a field with a value.
type Cmp string

// Comparisons. Which value types each accepts is in check.go (checkTest).
const (
	Eq         Cmp = "="
	Ne         Cmp = "!="
	Lt         Cmp = "<"
	Le         Cmp = "<="
	Gt         Cmp = ">"
	Ge         Cmp = ">="
	Contains   Cmp = "contains"
	StartsWith Cmp = "starts with"
	In         Cmp = "in"
	NotIn      Cmp = "not in"
	Exists     Cmp = "exists"
	NotExists  Cmp = "not exists"
)

// ValueType is the type of a literal.
type ValueType string

// Literal types. A date is a calendar day (YYYY-MM-DD) in the workspace
// time zone.
const (
	String ValueType = "string"
	Number ValueType = "number"
	Bool   ValueType = "bool"
	Date   ValueType = "date"
	List   ValueType = "list"
)

// Value is a literal. Only the field of its Type is meaningful; a list holds
// strings or numbers, all of one type.
type Value struct {
	Type ValueType
	Str  string  // String, and Date as YYYY-MM-DD
	Num  float64 // Number (finite)
	Bool bool
	List []Value
}

// Test is a comparison and its value (no value for exists / not exists).
type Test struct {
	Cmp   Cmp
	Value Value
}

// Trait compares a trait (profiles.traits) at a JSON path.
type Trait struct {
	Path []string
	Test
}

// Normalized compares a normalised contact field (profiles.normalized),
// e.g. ["email", "status"]. The first path element must be a normalised
// field (NormalizedFields).
type Normalized struct {
	Path []string
	Test
}

// Score compares a computed trait or score (profile_scores) by name.
type Score struct {
	Name string
	Test
}

// RFM compares the RFM cell (the rfm_segment score) with cell names.
type RFM struct{ Test }

// Identity matches profiles with at least one identifier of a type.
type Identity struct{ Type string }

// Consent matches profiles whose latest consent ledger row for the purpose
// says granted.
type Consent struct{ Purpose string }

// Window bounds a time column. The zero Window is "ever".
type Window struct {
	Last  int    // with Unit: (now − Last×unit, now]
	Unit  string // "days" or "hours"
	Since string // YYYY-MM-DD: [start of that day, now]
	Until string // YYYY-MM-DD, inclusive day: [Since, start of the next day); with Since = between
	// Before is YYYY-MM-DD: everything before the start of that day.
	Before string
}

// Measure is the aggregate an event condition compares. Agg is "count" (no
// Property) or "sum", "avg", "min", "max" of a numeric property.
type Measure struct {
	Agg      string
	Property []string
	Cmp      Cmp
	Value    float64
}

// PropFilter restricts the events an Event condition looks at.
type PropFilter struct {
	Path []string // under events.properties
	Test
}

// Event matches profiles whose track events named Name, restricted by Where
// and Window, satisfy Measure (count >= 1 when not said).
type Event struct {
	Name    string
	Where   []PropFilter
	Measure Measure
	Window  Window
}

// Orders compares the count or the revenue of a profile's revenue orders
// (not cancelled, refunded or returned) in a window.
type Orders struct {
	Measure string // "count" or "revenue"
	Cmp     Cmp
	Value   float64
	Window  Window
}

// Bought matches profiles with a revenue order line of a product (id or
// name) or of a category, in a window.
type Bought struct {
	Product  string
	Category string // exactly one of Product and Category is set
	Window   Window
}

// InSegment matches the current members of another segment, by name.
type InSegment struct{ Name string }

func (*And) node()        {}
func (*Or) node()         {}
func (*Not) node()        {}
func (*Trait) node()      {}
func (*Normalized) node() {}
func (*Score) node()      {}
func (*RFM) node()        {}
func (*Identity) node()   {}
func (*Consent) node()    {}
func (*Event) node()      {}
func (*Orders) node()     {}
func (*Bought) node()     {}
func (*InSegment) node()  {}

// Refs lists the segment names e refers to, each once, in order of first
// appearance.
func Refs(e Expr) []string {
	var out []string
	seen := map[string]bool{}
	walk(e, func(x Expr) {
		if s, ok := x.(*InSegment); ok && !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	})
	return out
}

// walk calls f on every node of e, parents first.
func walk(e Expr, f func(Expr)) {
	f(e)
	switch x := e.(type) {
	case *And:
		for _, a := range x.Args {
			walk(a, f)
		}
	case *Or:
		for _, a := range x.Args {
			walk(a, f)
		}
	case *Not:
		walk(x.Arg, f)
	}
}

// DependsOnNow reports whether e's result can change with the clock alone,
// with no new data: it has an "in last N days|hours" window. (Dated windows
// and date comparisons are fixed instants; windows have no upper bound, so
// "since D" does not move either.)
func DependsOnNow(e Expr) bool {
	found := false
	walk(e, func(x Expr) {
		switch c := x.(type) {
		case *Event:
			found = found || c.Window.Last > 0
		case *Orders:
			found = found || c.Window.Last > 0
		case *Bought:
			found = found || c.Window.Last > 0
		}
	})
	return found
}

// Tables lists the tables e's query reads besides profiles (which every
// query reads), sorted, so a caller can tell which writes may change its
// result.
func Tables(e Expr) []string {
	set := map[string]bool{}
	walk(e, func(x Expr) {
		switch x.(type) {
		case *Score, *RFM:
			set["profile_scores"] = true
		case *Identity:
			set["identities"] = true
		case *Consent:
			set["consents"] = true
		case *Event:
			set["events"] = true
		case *Orders:
			set["orders"] = true
		case *Bought:
			set["orders"], set["order_items"] = true, true
		case *InSegment:
			set["segment_memberships"] = true
		}
	})
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

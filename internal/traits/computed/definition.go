// Package computed is the computed traits engine: declarative per-profile
// aggregates (count, sum, most frequent value, ...) over events, orders or
// order lines within a time window, defined in YAML or through the API and
// stored in profile_scores beside the built-in indicators.
//
// Invariants:
//   - A definition reaches SQL only through Compile: names, fields and
//     operators are checked against allow-lists and every user value (event
//     name, property path, filter value, status, date) is a bound parameter,
//     never SQL text.
//   - A batch refresh computes every live profile in one SQL statement per
//     definition and replaces that trait's rows in one transaction; an
//     incremental refresh runs the same statement restricted to the merge
//     clusters of the touched profiles, so both give the same values for the
//     same data and the same as-of instant (computed_test proves it).
//   - Values belong to live profiles: data of merged-away profiles counts for
//     the survivor at the end of the merge chain, as for the indicators.
package computed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/atrium-cdp/atrium/internal/traits"
)

// Limits on what a definition file or body may hold.
const (
	MaxFileBytes   = 256 << 10 // a YAML file
	MaxBodyBytes   = 64 << 10  // one definition through the API
	MaxDefinitions = 200       // per file
	MaxFilters     = 20        // per definition
	MaxInValues    = 100       // per "in" filter, status, category or product list
	MaxListLimit   = 100       // longest "list" value
	DefaultLimit   = 10        // "list" length when none is given
	MaxLastDays    = 36600     // a hundred years
	maxTextLen     = 200       // an event name, a status, a filter value
)

// Aggregates, sources and filter operators a definition may name.
var (
	Aggregates = []string{"count", "sum", "avg", "min", "max", "first", "last", "most_frequent", "distinct_count", "list"}
	Sources    = []string{"events", "orders", "lines"}
	Operators  = []string{"=", "!=", "<", "<=", ">", ">=", "in", "exists"}
)

// Definition is one computed trait, as written in YAML or JSON.
type Definition struct {
	// Name is the trait's key in the profile's scores.
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Aggregate is one of Aggregates.
	Aggregate string `json:"aggregate" yaml:"aggregate"`
	// Over is the data aggregated: events, orders or lines (order lines).
	Over string `json:"over" yaml:"over"`
	// Event restricts events to track calls of this name (empty: all).
	Event string `json:"event,omitempty" yaml:"event,omitempty"`
	// Where filters events on their properties (all must hold).
	Where []Filter `json:"where,omitempty" yaml:"where,omitempty"`
	// Status, Category and Product restrict orders and lines. Without
	// Status, only revenue orders (and lines) count.
	Status   []string `json:"status,omitempty" yaml:"status,omitempty"`
	Category []string `json:"category,omitempty" yaml:"category,omitempty"`
	Product  []string `json:"product,omitempty" yaml:"product,omitempty"`
	// Value is what is aggregated: properties.x for events, a column for
	// orders and lines, or timestamp. count needs none.
	Value  string  `json:"value,omitempty" yaml:"value,omitempty"`
	Window *Window `json:"window,omitempty" yaml:"window,omitempty"`
	// Limit bounds a list (default DefaultLimit, at most MaxListLimit).
	Limit int `json:"limit,omitempty" yaml:"limit,omitempty"`
}

// Filter is one condition on an event property.
type Filter struct {
	Field string `json:"field" yaml:"field"` // properties.x (nested: properties.x.y)
	Op    string `json:"op" yaml:"op"`
	Value any    `json:"value,omitempty" yaml:"value,omitempty"`
}

// Window bounds the data by time. Empty: all time (up to the as-of instant).
type Window struct {
	// LastDays keeps data from as-of − LastDays×24h (included) to as-of.
	LastDays int `json:"last_days,omitempty" yaml:"last_days,omitempty"`
	// From and To (YYYY-MM-DD, UTC) keep data from the start of From to
	// the end of To, both days included.
	From string `json:"from,omitempty" yaml:"from,omitempty"`
	To   string `json:"to,omitempty" yaml:"to,omitempty"`
}

// File is the YAML document "atrium scores traits apply" reads.
type File struct {
	ComputedTraits []Definition `json:"computed_traits" yaml:"computed_traits"`
}

// FieldError says which field of which trait is wrong, and why.
type FieldError struct {
	Trait  string // the trait's name, or "#N" (1-based) when it has none
	Field  string // e.g. "window.last_days", "where[1].op"
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("computed trait %s: %s: %s", e.Trait, e.Field, e.Reason)
}

var (
	nameRe    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	segmentRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)
	// reservedPrefixes belong to built-in scores (RFM, CLV, churn,
	// propensity, recommendations, geography) whose refresh replaces every
	// row of its names.
	reservedPrefixes = []string{"rfm_", "clv_", "churn_", "propensity_", "reco_", "geo_"}
)

// orderValues and lineValues are the columns a value may name, with the
// kind that decides which aggregates apply.
var (
	orderValues = map[string]kind{"total": numeric, "subtotal": numeric, "tax": numeric, "shipping": numeric, "discount": numeric,
		"currency": text, "status": text, "order_id": text, "timestamp": moment}
	lineValues = map[string]kind{"quantity": numeric, "amount": numeric, "unit_price": numeric, "product_id": text,
		"category": text, "name": text, "status": text, "order_id": text, "timestamp": moment}
)

// ParseYAML reads a definitions file: size, encoding, syntax and unknown keys
// are refused with the line, then every definition is validated.
func ParseYAML(data []byte) ([]Definition, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("definitions file is %d bytes: at most %d are accepted", len(data), MaxFileBytes)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("definitions file is not valid UTF-8 (first bad byte at offset %d)", badUTF8(data))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("definitions file is empty: want a computed_traits list")
	}
	if err := refuseAliases(data); err != nil {
		return nil, err
	}
	if err := checkYAMLTypes(data); err != nil {
		return nil, err
	}
	var f File
	if err := decodeYAML(data, &f); err != nil {
		return nil, err
	}
	if len(f.ComputedTraits) == 0 {
		return nil, errors.New("definitions file: computed_traits is missing or empty")
	}
	if len(f.ComputedTraits) > MaxDefinitions {
		return nil, fmt.Errorf("definitions file: %d computed traits, at most %d per file", len(f.ComputedTraits), MaxDefinitions)
	}
	seen := map[string]int{}
	for i := range f.ComputedTraits {
		d := &f.ComputedTraits[i]
		if err := d.Validate(i + 1); err != nil {
			return nil, err
		}
		if j, dup := seen[d.Name]; dup {
			return nil, &FieldError{Trait: d.Name, Field: "name", Reason: fmt.Sprintf("defined twice (entries %d and %d)", j, i+1)}
		}
		seen[d.Name] = i + 1
	}
	return f.ComputedTraits, nil
}

// ParseJSON reads one definition from an API body, refusing unknown keys.
func ParseJSON(data []byte) (Definition, error) {
	var d Definition
	if len(data) > MaxBodyBytes {
		return d, fmt.Errorf("body is %d bytes: at most %d are accepted", len(data), MaxBodyBytes)
	}
	if !utf8.Valid(data) {
		return d, fmt.Errorf("body is not valid UTF-8 (first bad byte at offset %d)", badUTF8(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("body: %w", err)
	}
	if dec.More() {
		return d, errors.New("body: more than one JSON value")
	}
	return d, d.Validate(1)
}

// decodeYAML decodes strictly (unknown keys refused). The decoder panics on
// some malformed documents (found by FuzzParseYAML): a panic is a refusal.
func decodeYAML(data []byte, f *File) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("definitions file: malformed YAML (the structure does not match computed_traits: a list of mappings)")
		}
	}()
	if err := yaml.UnmarshalWithOptions(data, f, yaml.Strict()); err != nil {
		return fmt.Errorf("definitions file: %s", yaml.FormatError(err, false, true))
	}
	return nil
}

// yamlKinds is the type each scalar or list key of a definition must have in
// YAML. The typed decoder alone would turn 1.5 into 1 or "30" into 30;
// checking the document's own types first refuses them instead, naming the
// trait and the field.
var yamlKinds = map[string]string{
	"name": "string", "description": "string", "aggregate": "string", "over": "string", "event": "string",
	"value": "string", "limit": "integer", "status": "strings", "category": "strings", "product": "strings",
	"window.last_days": "integer", "window.from": "string", "window.to": "string",
	"where.field": "string", "where.op": "string",
}

// checkYAMLTypes decodes the file untyped and checks every known key of
// every definition against yamlKinds. Unknown keys and structure are left to
// the strict typed decoding that follows.
func checkYAMLTypes(data []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("definitions file: malformed YAML (the structure does not match computed_traits: a list of mappings)")
		}
	}()
	var doc map[string]any
	if yaml.Unmarshal(data, &doc) != nil {
		return nil // the typed decoding reports the syntax error with its line
	}
	list, _ := doc["computed_traits"].([]any)
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("definitions file: computed_traits entry %d is not a mapping (name: ..., aggregate: ..., over: ...)", i+1)
		}
		trait := fmt.Sprintf("#%d", i+1)
		if n, ok := m["name"].(string); ok && n != "" {
			trait = fmt.Sprintf("%q", n)
		}
		check := func(field string, v any) error {
			want, known := yamlKinds[field]
			if !known || v == nil {
				return nil
			}
			if reason := yamlTypeProblem(want, v); reason != "" {
				return &FieldError{Trait: trait, Field: field, Reason: reason}
			}
			return nil
		}
		for k, v := range m {
			if err := check(k, v); err != nil {
				return err
			}
		}
		if w, ok := m["window"].(map[string]any); ok {
			for k, v := range w {
				if err := check("window."+k, v); err != nil {
					return err
				}
			}
		}
		if where, ok := m["where"].([]any); ok {
			for j, f := range where {
				fm, ok := f.(map[string]any)
				if !ok {
					continue
				}
				for k, v := range fm {
					if err := check("where."+k, v); err != nil {
						err.(*FieldError).Field = fmt.Sprintf("where[%d].%s", j+1, k)
						return err
					}
				}
			}
		}
	}
	return nil
}

// yamlTypeProblem says why v (as decoded untyped) is not of the wanted kind,
// or "" when it is.
func yamlTypeProblem(want string, v any) string {
	switch want {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("want a text value, found %s", describeYAML(v))
		}
	case "integer":
		switch n := v.(type) {
		case int, int64, uint64:
		case float64:
			return fmt.Sprintf("want a whole number, found %v", n)
		default:
			return fmt.Sprintf("want a whole number, found %s", describeYAML(v))
		}
	case "strings":
		l, ok := v.([]any)
		if !ok {
			return fmt.Sprintf("want a list of text values, found %s", describeYAML(v))
		}
		for _, e := range l {
			if _, ok := e.(string); !ok {
				return fmt.Sprintf("want a list of text values, found an item that is %s", describeYAML(e))
			}
		}
	}
	return ""
}

func describeYAML(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the text %q", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case int, int64, uint64, float64:
		return fmt.Sprintf("the number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// refuseAliases rejects YAML aliases: a small file with nested aliases
// expands to an unbounded document ("billion laughs").
func refuseAliases(data []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("definitions file: malformed YAML")
		}
	}()
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return fmt.Errorf("definitions file: %s", yaml.FormatError(err, false, true))
	}
	var found ast.Node
	for _, doc := range f.Docs {
		ast.Walk(visitor(func(n ast.Node) bool {
			if n.Type() == ast.AliasType && found == nil {
				found = n
			}
			return found == nil
		}), doc)
	}
	if found != nil {
		return fmt.Errorf("definitions file: line %d: YAML aliases (*name) are not accepted", found.GetToken().Position.Line)
	}
	return nil
}

type visitor func(ast.Node) bool

func (v visitor) Visit(n ast.Node) ast.Visitor {
	if n == nil || !v(n) {
		return nil
	}
	return v
}

func badUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// Validate checks a definition and normalises it (the default list limit,
// numbers from JSON). pos names an unnamed definition in errors.
func (d *Definition) Validate(pos int) error {
	who := d.Name
	if who == "" {
		who = fmt.Sprintf("#%d", pos)
	}
	bad := func(field, format string, args ...any) error {
		return &FieldError{Trait: who, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if err := CheckName(d.Name); err != nil {
		return bad("name", "%s", err.Error())
	}
	if len(d.Description) > 1000 {
		return bad("description", "is %d bytes long, at most 1000", len(d.Description))
	}
	if !contains(Aggregates, d.Aggregate) {
		return bad("aggregate", "%q is not one of %s", clip(d.Aggregate), strings.Join(Aggregates, ", "))
	}
	if !contains(Sources, d.Over) {
		return bad("over", "%q is not one of %s", clip(d.Over), strings.Join(Sources, ", "))
	}
	if d.Over == "events" {
		if len(d.Status)+len(d.Category)+len(d.Product) > 0 {
			return bad(firstSet(d), "applies to orders and lines, not to events")
		}
		if len(d.Event) > maxTextLen {
			return bad("event", "is %d bytes long, at most %d", len(d.Event), maxTextLen)
		}
		if len(d.Where) > MaxFilters {
			return bad("where", "has %d filters, at most %d", len(d.Where), MaxFilters)
		}
		for i := range d.Where {
			if err := d.Where[i].validate(); err != nil {
				return bad(fmt.Sprintf("where[%d].%s", i+1, err.field), "%s", err.reason)
			}
		}
	} else {
		if d.Event != "" {
			return bad("event", "applies to events only (over: events)")
		}
		if len(d.Where) > 0 {
			return bad("where", "property filters apply to events only; orders and lines filter by status, category and product")
		}
		if d.Over == "orders" && len(d.Category)+len(d.Product) > 0 {
			return bad(firstSet(d), "applies to order lines: use over: lines")
		}
		for _, l := range []struct {
			field string
			list  []string
		}{{"status", d.Status}, {"category", d.Category}, {"product", d.Product}} {
			if err := checkList(l.list); err != nil {
				return bad(l.field, "%s", err.Error())
			}
		}
	}
	k, err := d.valueKind()
	if err != nil {
		return bad("value", "%s", err.Error())
	}
	switch d.Aggregate {
	case "count":
	case "sum", "avg":
		if k != numeric && k != property {
			return bad("value", "%s needs a number: %q is not numeric", d.Aggregate, d.Value)
		}
	case "min", "max":
		if k == text {
			return bad("value", "%s needs a number or timestamp: %q is text (use most_frequent, first or last)", d.Aggregate, d.Value)
		}
		fallthrough
	default:
		if k == none {
			return bad("value", "%s needs a value to aggregate", d.Aggregate)
		}
	}
	if d.Aggregate == "list" {
		if d.Limit == 0 {
			d.Limit = DefaultLimit
		}
		if d.Limit < 1 || d.Limit > MaxListLimit {
			return bad("limit", "%d is not between 1 and %d", d.Limit, MaxListLimit)
		}
	} else if d.Limit != 0 {
		return bad("limit", "applies to the list aggregate only")
	}
	if w := d.Window; w != nil {
		switch {
		case w.LastDays != 0 && (w.From != "" || w.To != ""):
			return bad("window", "give either last_days or from/to, not both")
		case w.LastDays < 0 || w.LastDays > MaxLastDays:
			return bad("window.last_days", "%d is not between 1 and %d", w.LastDays, MaxLastDays)
		case w.LastDays == 0 && w.From == "" && w.To == "":
			return bad("window", "is empty: give last_days, or from and to (leave window out for all time)")
		case w.LastDays == 0:
			from, err := time.Parse(time.DateOnly, w.From)
			if err != nil {
				return bad("window.from", "%q is not a date YYYY-MM-DD", clip(w.From))
			}
			to, err := time.Parse(time.DateOnly, w.To)
			if err != nil {
				return bad("window.to", "%q is not a date YYYY-MM-DD", clip(w.To))
			}
			if to.Before(from) {
				return bad("window", "to (%s) is before from (%s)", w.To, w.From)
			}
		}
	}
	return nil
}

// CheckName says why a name cannot be a computed trait's: the allow-list of
// characters, and the names built-in scores own.
func CheckName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("%q must be 1 to 63 characters: a lower-case letter, then lower-case letters, digits or _", clip(name))
	}
	if contains(traits.IndicatorNames, name) {
		return fmt.Errorf("%q is a built-in indicator", name)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return fmt.Errorf("%q: names starting with %s are reserved for built-in scores", name, p)
		}
	}
	return nil
}

type fieldErr struct{ field, reason string }

func (f *Filter) validate() *fieldErr {
	if _, err := propertyPath(f.Field); err != nil {
		return &fieldErr{"field", err.Error()}
	}
	if !contains(Operators, f.Op) {
		return &fieldErr{"op", fmt.Sprintf("%q is not one of %s", clip(f.Op), strings.Join(Operators, " "))}
	}
	switch f.Op {
	case "exists":
		if f.Value != nil {
			return &fieldErr{"value", "exists takes no value"}
		}
	case "in":
		list, ok := f.Value.([]any)
		if !ok || len(list) == 0 || len(list) > MaxInValues {
			return &fieldErr{"value", fmt.Sprintf("in needs a list of 1 to %d values", MaxInValues)}
		}
		var first scalarKind
		for i, v := range list {
			k, norm, err := scalar(v)
			if err != nil {
				return &fieldErr{"value", fmt.Sprintf("item %d: %s", i+1, err)}
			}
			if i == 0 {
				first = k
			} else if k != first {
				return &fieldErr{"value", "in needs values of one type (all strings, all numbers or all booleans)"}
			}
			list[i] = norm
		}
	case "<", "<=", ">", ">=":
		k, norm, err := scalar(f.Value)
		if err != nil {
			return &fieldErr{"value", err.Error()}
		}
		if k != numberKind {
			return &fieldErr{"value", f.Op + " compares numbers: give a number"}
		}
		f.Value = norm
	default:
		_, norm, err := scalar(f.Value)
		if err != nil {
			return &fieldErr{"value", err.Error()}
		}
		f.Value = norm
	}
	return nil
}

type scalarKind int

const (
	stringKind scalarKind = iota
	numberKind
	boolKind
)

// scalar checks a filter value and normalises numbers to float64 (YAML gives
// int types, JSON json.Number).
func scalar(v any) (scalarKind, any, error) {
	switch x := v.(type) {
	case string:
		if len(x) > maxTextLen {
			return 0, nil, fmt.Errorf("is %d bytes long, at most %d", len(x), maxTextLen)
		}
		return stringKind, x, nil
	case bool:
		return boolKind, x, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, nil, fmt.Errorf("%q is not a number", x)
		}
		return numberKind, f, nil
	case float64:
		return numberKind, x, nil
	case int:
		return numberKind, float64(x), nil
	case int64:
		return numberKind, float64(x), nil
	case uint64:
		return numberKind, float64(x), nil
	case nil:
		return 0, nil, errors.New("is missing (use op: exists to test presence)")
	}
	return 0, nil, fmt.Errorf("must be a string, a number or a boolean, not %T", v)
}

// propertyPath turns properties.a.b into the JSON path $."a"."b"; segments
// are allow-listed, so the path needs no escaping (and is bound as a
// parameter anyway).
func propertyPath(field string) (string, error) {
	rest, ok := strings.CutPrefix(field, "properties.")
	if !ok {
		return "", fmt.Errorf("%q must start with properties. (e.g. properties.plan)", clip(field))
	}
	segs := strings.Split(rest, ".")
	if len(segs) > 5 {
		return "", fmt.Errorf("%q is nested %d levels deep, at most 5", clip(field), len(segs))
	}
	var b strings.Builder
	b.WriteString("$")
	for _, s := range segs {
		if !segmentRe.MatchString(s) {
			return "", fmt.Errorf("%q: property names are 1 to 64 letters, digits, _ or - (not starting with -)", clip(field))
		}
		b.WriteString(`."` + s + `"`)
	}
	return b.String(), nil
}

func checkList(list []string) error {
	if len(list) > MaxInValues {
		return fmt.Errorf("has %d values, at most %d", len(list), MaxInValues)
	}
	for i, s := range list {
		if s == "" || len(s) > maxTextLen {
			return fmt.Errorf("item %d must be 1 to %d bytes long", i+1, maxTextLen)
		}
	}
	return nil
}

type kind int

const (
	none     kind = iota
	numeric       // a column holding numbers
	text          // a column holding text
	moment        // a timestamp, shown as YYYY-MM-DDThh:mm:ssZ
	property      // an event property: a number for sum/avg/min/max, else its JSON value
)

func (d *Definition) valueKind() (kind, error) {
	if d.Value == "" {
		return none, nil
	}
	switch d.Over {
	case "events":
		if d.Value == "timestamp" {
			return moment, nil
		}
		if _, err := propertyPath(d.Value); err != nil {
			return none, fmt.Errorf("%s (or timestamp)", err)
		}
		return property, nil
	case "orders":
		if k, ok := orderValues[d.Value]; ok {
			return k, nil
		}
		return none, fmt.Errorf("%q is not an order value (want one of %s)", clip(d.Value), keys(orderValues))
	default:
		if k, ok := lineValues[d.Value]; ok {
			return k, nil
		}
		return none, fmt.Errorf("%q is not an order line value (want one of %s)", clip(d.Value), keys(lineValues))
	}
}

func keys(m map[string]kind) string {
	var out []string
	for _, src := range []string{"total", "subtotal", "tax", "shipping", "discount", "quantity", "amount", "unit_price",
		"product_id", "category", "name", "currency", "status", "order_id", "timestamp"} {
		if _, ok := m[src]; ok {
			out = append(out, src)
		}
	}
	return strings.Join(out, ", ")
}

func firstSet(d *Definition) string {
	switch {
	case len(d.Status) > 0:
		return "status"
	case len(d.Category) > 0:
		return "category"
	}
	return "product"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// clip shortens a hostile value quoted back in an error.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

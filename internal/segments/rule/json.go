package rule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The JSON form: operators are {"op": "and"|"or", "args": [...]} and
// {"op": "not", "arg": {...}}; conditions are {"kind": ..., ...} with the
// members listed in jsonMembers. Values are JSON strings, numbers and
// booleans, {"date": "YYYY-MM-DD"} for dates and arrays for lists.

// JSONError is a JSON rule error: Path locates the offending member
// ("$.args[1].cmp"), Expected and Found say what is wrong.
type JSONError struct {
	Path            string
	Expected, Found string
}

func (e *JSONError) Error() string {
	return fmt.Sprintf("%s: expected %s, found %s", e.Path, e.Expected, e.Found)
}

type jsonWindow struct {
	Last    int       `json:"last,omitempty"`
	Unit    string    `json:"unit,omitempty"`
	Between *[]string `json:"between,omitempty"`
	Since   string    `json:"since,omitempty"`
	Before  string    `json:"before,omitempty"`
}

type jsonFilter struct {
	Path  []string         `json:"path"`
	Cmp   string           `json:"cmp"`
	Value *json.RawMessage `json:"value,omitempty"`
}

type jsonExpr struct {
	Op       string           `json:"op,omitempty"`
	Args     []*jsonExpr      `json:"args,omitempty"`
	Arg      *jsonExpr        `json:"arg,omitempty"`
	Kind     string           `json:"kind,omitempty"`
	Path     []string         `json:"path,omitempty"`
	Name     string           `json:"name,omitempty"`
	Type     string           `json:"type,omitempty"`
	Purpose  string           `json:"purpose,omitempty"`
	Product  string           `json:"product,omitempty"`
	Category string           `json:"category,omitempty"`
	Measure  string           `json:"measure,omitempty"`
	Where    []jsonFilter     `json:"where,omitempty"`
	Agg      string           `json:"agg,omitempty"`
	Property []string         `json:"property,omitempty"`
	Cmp      string           `json:"cmp,omitempty"`
	Value    *json.RawMessage `json:"value,omitempty"`
	Window   *jsonWindow      `json:"window,omitempty"`
}

// MarshalJSON returns the JSON form of e.
func MarshalJSON(e Expr) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<=" readable in stored rules
	if err := enc.Encode(toJSON(e)); err != nil {
		return nil, fmt.Errorf("marshal rule: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (x *And) MarshalJSON() ([]byte, error)        { return MarshalJSON(x) }
func (x *Or) MarshalJSON() ([]byte, error)         { return MarshalJSON(x) }
func (x *Not) MarshalJSON() ([]byte, error)        { return MarshalJSON(x) }
func (x *Trait) MarshalJSON() ([]byte, error)      { return MarshalJSON(x) }
func (x *Normalized) MarshalJSON() ([]byte, error) { return MarshalJSON(x) }
func (x *Score) MarshalJSON() ([]byte, error)      { return MarshalJSON(x) }
func (x *RFM) MarshalJSON() ([]byte, error)        { return MarshalJSON(x) }
func (x *Identity) MarshalJSON() ([]byte, error)   { return MarshalJSON(x) }
func (x *Consent) MarshalJSON() ([]byte, error)    { return MarshalJSON(x) }
func (x *Event) MarshalJSON() ([]byte, error)      { return MarshalJSON(x) }
func (x *Orders) MarshalJSON() ([]byte, error)     { return MarshalJSON(x) }
func (x *Bought) MarshalJSON() ([]byte, error)     { return MarshalJSON(x) }
func (x *InSegment) MarshalJSON() ([]byte, error)  { return MarshalJSON(x) }

func toJSON(e Expr) *jsonExpr {
	switch x := e.(type) {
	case *And:
		return &jsonExpr{Op: "and", Args: toJSONList(x.Args)}
	case *Or:
		return &jsonExpr{Op: "or", Args: toJSONList(x.Args)}
	case *Not:
		return &jsonExpr{Op: "not", Arg: toJSON(x.Arg)}
	case *Trait:
		return withTest(&jsonExpr{Kind: "trait", Path: x.Path}, x.Test)
	case *Normalized:
		return withTest(&jsonExpr{Kind: "normalized", Path: x.Path}, x.Test)
	case *Score:
		return withTest(&jsonExpr{Kind: "score", Name: x.Name}, x.Test)
	case *RFM:
		return withTest(&jsonExpr{Kind: "rfm"}, x.Test)
	case *Identity:
		return &jsonExpr{Kind: "identity", Type: x.Type}
	case *Consent:
		return &jsonExpr{Kind: "consent", Purpose: x.Purpose}
	case *Event:
		j := &jsonExpr{Kind: "event", Name: x.Name, Agg: x.Measure.Agg, Property: x.Measure.Property,
			Cmp: string(x.Measure.Cmp), Value: rawNum(x.Measure.Value), Window: windowJSON(x.Window)}
		for _, f := range x.Where {
			jf := jsonFilter{Path: f.Path, Cmp: string(f.Cmp)}
			if f.Cmp != Exists && f.Cmp != NotExists {
				jf.Value = rawValue(f.Value)
			}
			j.Where = append(j.Where, jf)
		}
		return j
	case *Orders:
		return &jsonExpr{Kind: "orders", Measure: x.Measure, Cmp: string(x.Cmp), Value: rawNum(x.Value), Window: windowJSON(x.Window)}
	case *Bought:
		return &jsonExpr{Kind: "bought", Product: x.Product, Category: x.Category, Window: windowJSON(x.Window)}
	case *InSegment:
		return &jsonExpr{Kind: "segment", Name: x.Name}
	}
	return &jsonExpr{}
}

func toJSONList(args []Expr) []*jsonExpr {
	out := make([]*jsonExpr, len(args))
	for i, a := range args {
		out[i] = toJSON(a)
	}
	return out
}

func withTest(j *jsonExpr, t Test) *jsonExpr {
	j.Cmp = string(t.Cmp)
	if t.Cmp != Exists && t.Cmp != NotExists {
		j.Value = rawValue(t.Value)
	}
	return j
}

func rawNum(f float64) *json.RawMessage {
	r := json.RawMessage(formatNum(f))
	return &r
}

func rawValue(v Value) *json.RawMessage {
	var r json.RawMessage
	switch v.Type {
	case Number:
		return rawNum(v.Num)
	case Bool:
		r = json.RawMessage(strconv.FormatBool(v.Bool))
	case Date:
		b, _ := json.Marshal(map[string]string{"date": v.Str})
		r = b
	case List:
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i, x := range v.List {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(*rawValue(x))
		}
		buf.WriteByte(']')
		r = buf.Bytes()
	default:
		b, _ := json.Marshal(v.Str)
		r = b
	}
	return &r
}

func windowJSON(w Window) *jsonWindow {
	switch {
	case w.Last != 0:
		return &jsonWindow{Last: w.Last, Unit: w.Unit}
	case w.Until != "":
		return &jsonWindow{Between: &[]string{w.Since, w.Until}}
	case w.Since != "":
		return &jsonWindow{Since: w.Since}
	case w.Before != "":
		return &jsonWindow{Before: w.Before}
	}
	return nil
}

// ParseJSON reads the JSON form and checks it like Parse checks text: the
// same limits, types and names. Errors are *JSONError.
func ParseJSON(b []byte) (Expr, error) {
	if len(b) > MaxSource {
		return nil, &JSONError{Path: "$", Expected: "a rule of at most " + strconv.Itoa(MaxSource) + " bytes", Found: strconv.Itoa(len(b)) + " bytes"}
	}
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return nil, &JSONError{Path: "$", Expected: "valid UTF-8", Found: fmt.Sprintf("byte 0x%02x at offset %d", b[i], i)}
	}
	d := &jsonDecoder{}
	return d.expr(json.RawMessage(b), "$", 0)
}

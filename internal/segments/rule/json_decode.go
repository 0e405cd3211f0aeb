package rule

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// jsonMembers lists, per op or kind, the members its object may have.
var jsonMembers = map[string][]string{
	"and": {"op", "args"}, "or": {"op", "args"}, "not": {"op", "arg"},
	"trait":      {"kind", "path", "cmp", "value"},
	"normalized": {"kind", "path", "cmp", "value"},
	"score":      {"kind", "name", "cmp", "value"},
	"rfm":        {"kind", "cmp", "value"},
	"identity":   {"kind", "type"},
	"consent":    {"kind", "purpose"},
	"segment":    {"kind", "name"},
	"event":      {"kind", "name", "where", "agg", "property", "cmp", "value", "window"},
	"orders":     {"kind", "measure", "cmp", "value", "window"},
	"bought":     {"kind", "product", "category", "window"},
	// Not kinds: the members of an event's property filter and of a window.
	"filter": {"path", "cmp", "value"},
	"window": {"last", "unit", "between", "since", "before"},
}

var jsonKinds = "trait, normalized, score, rfm, identity, consent, event, orders, bought, segment"

type jsonDecoder struct{ conditions int }

type jsonObj struct {
	m    map[string]json.RawMessage
	path string
}

func jerr(path, expected, found string) *JSONError {
	return &JSONError{Path: path, Expected: expected, Found: found}
}

func describeJSON(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return "nothing"
	case raw[0] == '{':
		return "an object"
	case raw[0] == '[':
		return "an array"
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return "string " + quoteFound(s)
		}
	case raw[0] == 'n':
		return "null"
	case raw[0] == 't' || raw[0] == 'f':
		return "boolean " + string(raw)
	}
	if len(raw) > 40 {
		raw = raw[:40]
	}
	return "number " + string(raw)
}

func (d *jsonDecoder) object(raw json.RawMessage, path string) (*jsonObj, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		if len(t) == 0 {
			return nil, jerr(path, "a JSON object", "nothing")
		}
		return nil, jerr(path, "a JSON object", describeJSON(raw))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, jerr(path, "valid JSON", strings.TrimPrefix(err.Error(), "json: "))
	}
	return &jsonObj{m: m, path: path}, nil
}

func (o *jsonObj) str(key string, required bool) (string, error) {
	raw, ok := o.m[key]
	if !ok {
		if required {
			return "", jerr(o.path, "member "+strconv.Quote(key), "none")
		}
		return "", nil
	}
	var s string
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", jerr(o.path+"."+key, "a string", describeJSON(raw))
	}
	return s, nil
}

func (o *jsonObj) strs(key string, required bool) ([]string, error) {
	raw, ok := o.m[key]
	if !ok {
		if required {
			return nil, jerr(o.path, "member "+strconv.Quote(key), "none")
		}
		return nil, nil
	}
	var list []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, jerr(o.path+"."+key, "an array of strings", describeJSON(raw))
	}
	out := make([]string, len(list))
	for i, r := range list {
		var s string
		if t := bytes.TrimSpace(r); len(t) == 0 || t[0] != '"' || json.Unmarshal(r, &s) != nil {
			return nil, jerr(o.path+"."+key+"["+strconv.Itoa(i)+"]", "a string", describeJSON(r))
		}
		out[i] = s
	}
	return out, nil
}

func (o *jsonObj) num(key string, required bool) (float64, error) {
	raw, ok := o.m[key]
	if !ok {
		if required {
			return 0, jerr(o.path, "member "+strconv.Quote(key), "none")
		}
		return 0, nil
	}
	v, err := jsonScalar(raw, o.path+"."+key)
	if err != nil {
		return 0, err
	}
	if v.Type != Number {
		return 0, jerr(o.path+"."+key, "a number", describeJSON(raw))
	}
	return v.Num, nil
}

// only refuses members the object's op or kind does not have.
func (o *jsonObj) only(tag string) error {
	allowed := jsonMembers[tag]
	var extra []string
	for k := range o.m {
		if !contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return jerr(o.path+"."+extra[0], "only "+strings.Join(allowed, ", ")+" in a "+tag+" object", "unknown member "+strconv.Quote(extra[0]))
	}
	return nil
}

func (d *jsonDecoder) expr(raw json.RawMessage, path string, depth int) (Expr, error) {
	o, err := d.object(raw, path)
	if err != nil {
		return nil, err
	}
	_, hasOp := o.m["op"]
	_, hasKind := o.m["kind"]
	if hasOp == hasKind {
		return nil, jerr(path, `exactly one of "op" and "kind"`, map[bool]string{true: "both", false: "neither"}[hasOp])
	}
	if hasOp {
		return d.op(o, depth)
	}
	d.conditions++
	if d.conditions > MaxConditions {
		return nil, jerr(path, "at most "+strconv.Itoa(MaxConditions)+" conditions", "more")
	}
	kind, err := o.str("kind", true)
	if err != nil {
		return nil, err
	}
	if _, ok := jsonMembers[kind]; !ok || !contains(strings.Split(jsonKinds, ", "), kind) {
		return nil, jerr(path+".kind", "a condition kind ("+jsonKinds+")", quoteFound(kind))
	}
	if err := o.only(kind); err != nil {
		return nil, err
	}
	e, err := d.condition(o, kind)
	if err != nil {
		return nil, err
	}
	if pr := checkNode(e); pr != nil {
		return nil, jerr(path, pr.expected, pr.found)
	}
	return e, nil
}

func (d *jsonDecoder) op(o *jsonObj, depth int) (Expr, error) {
	op, err := o.str("op", true)
	if err != nil {
		return nil, err
	}
	if op != "and" && op != "or" && op != "not" {
		return nil, jerr(o.path+".op", "and, or or not", quoteFound(op))
	}
	if err := o.only(op); err != nil {
		return nil, err
	}
	if depth >= MaxDepth {
		return nil, jerr(o.path, "at most "+strconv.Itoa(MaxDepth)+" levels of nesting", "deeper nesting")
	}
	if op == "not" {
		raw, ok := o.m["arg"]
		if !ok {
			return nil, jerr(o.path, `member "arg"`, "none")
		}
		a, err := d.expr(raw, o.path+".arg", depth+1)
		if err != nil {
			return nil, err
		}
		return &Not{Arg: a}, nil
	}
	var list []json.RawMessage
	raw, ok := o.m["args"]
	if t := bytes.TrimSpace(raw); !ok || len(t) == 0 || t[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, jerr(o.path+".args", "an array of at least 2 rules", describeJSON(raw))
	}
	if len(list) < 2 {
		return nil, jerr(o.path+".args", "at least 2 arguments to "+op, strconv.Itoa(len(list)))
	}
	args := make([]Expr, len(list))
	for i, r := range list {
		if args[i], err = d.expr(r, o.path+".args["+strconv.Itoa(i)+"]", depth+1); err != nil {
			return nil, err
		}
	}
	if op == "and" {
		return &And{Args: args}, nil
	}
	return &Or{Args: args}, nil
}

func (d *jsonDecoder) condition(o *jsonObj, kind string) (Expr, error) {
	var err error
	switch kind {
	case "trait", "normalized":
		path, err := o.strs("path", true)
		if err != nil {
			return nil, err
		}
		t, err := o.test()
		if err != nil {
			return nil, err
		}
		if kind == "trait" {
			return &Trait{Path: path, Test: t}, nil
		}
		return &Normalized{Path: path, Test: t}, nil
	case "score":
		x := &Score{}
		if x.Name, err = o.str("name", true); err != nil {
			return nil, err
		}
		x.Test, err = o.test()
		return x, err
	case "rfm":
		t, err := o.test()
		return &RFM{Test: t}, err
	case "identity":
		t, err := o.str("type", true)
		return &Identity{Type: t}, err
	case "consent":
		p, err := o.str("purpose", true)
		return &Consent{Purpose: p}, err
	case "segment":
		n, err := o.str("name", true)
		return &InSegment{Name: n}, err
	case "event":
		return o.event()
	case "orders":
		x := &Orders{}
		if x.Measure, err = o.str("measure", true); err != nil {
			return nil, err
		}
		c, err := o.str("cmp", true)
		if err != nil {
			return nil, err
		}
		x.Cmp = Cmp(c)
		if x.Value, err = o.num("value", true); err != nil {
			return nil, err
		}
		x.Window, err = o.window()
		return x, err
	case "bought":
		x := &Bought{}
		if x.Product, err = o.str("product", false); err != nil {
			return nil, err
		}
		if x.Category, err = o.str("category", false); err != nil {
			return nil, err
		}
		x.Window, err = o.window()
		return x, err
	}
	return nil, jerr(o.path+".kind", "a condition kind ("+jsonKinds+")", quoteFound(kind))
}

func (o *jsonObj) event() (Expr, error) {
	x := &Event{}
	var err error
	if x.Name, err = o.str("name", true); err != nil {
		return nil, err
	}
	if raw, ok := o.m["where"]; ok {
		var list []json.RawMessage
		if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(raw, &list) != nil {
			return nil, jerr(o.path+".where", "an array of property filters", describeJSON(raw))
		}
		if len(list) > MaxConditions {
			return nil, jerr(o.path+".where", "at most "+strconv.Itoa(MaxConditions)+" filters", strconv.Itoa(len(list)))
		}
		for i, r := range list {
			p := o.path + ".where[" + strconv.Itoa(i) + "]"
			fo, err := (&jsonDecoder{}).object(r, p)
			if err != nil {
				return nil, err
			}
			if err := fo.only("filter"); err != nil {
				return nil, err
			}
			path, err := fo.strs("path", true)
			if err != nil {
				return nil, err
			}
			t, err := fo.test()
			if err != nil {
				return nil, err
			}
			x.Where = append(x.Where, PropFilter{Path: path, Test: t})
		}
	}
	if x.Measure.Agg, err = o.str("agg", false); err != nil {
		return nil, err
	}
	if x.Measure.Property, err = o.strs("property", false); err != nil {
		return nil, err
	}
	c, err := o.str("cmp", x.Measure.Agg != "")
	if err != nil {
		return nil, err
	}
	x.Measure.Cmp = Cmp(c)
	if x.Measure.Value, err = o.num("value", c != ""); err != nil {
		return nil, err
	}
	if x.Measure.Agg == "" && c != "" {
		x.Measure.Agg = "count"
	}
	x.Window, err = o.window()
	return x, err
}

// test reads "cmp" and "value" (no value for exists / not exists).
func (o *jsonObj) test() (Test, error) {
	c, err := o.str("cmp", true)
	if err != nil {
		return Test{}, err
	}
	t := Test{Cmp: Cmp(c)}
	raw, ok := o.m["value"]
	if t.Cmp == Exists || t.Cmp == NotExists {
		if ok {
			return Test{}, jerr(o.path+".value", "no value after "+c, describeJSON(raw))
		}
		return t, nil
	}
	if !ok {
		return Test{}, jerr(o.path, `member "value"`, "none")
	}
	if t.Value, err = jsonValue(raw, o.path+".value"); err != nil {
		return Test{}, err
	}
	if pr := checkTest(&t); pr != nil {
		return Test{}, jerr(o.path, pr.expected, pr.found)
	}
	return t, nil
}

func jsonValue(raw json.RawMessage, path string) (Value, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(t, &list); err != nil {
			return Value{}, jerr(path, "a list of strings or numbers", describeJSON(raw))
		}
		if len(list) > MaxList {
			return Value{}, jerr(path, "a list of at most "+strconv.Itoa(MaxList)+" values", strconv.Itoa(len(list))+" values")
		}
		out := Value{Type: List, List: make([]Value, len(list))}
		for i, r := range list {
			v, err := jsonScalar(r, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return Value{}, err
			}
			if v.Type != String && v.Type != Number {
				return Value{}, jerr(path+"["+strconv.Itoa(i)+"]", "a string or a number", describeJSON(r))
			}
			out.List[i] = v
		}
		return out, nil
	}
	return jsonScalar(raw, path)
}

func jsonScalar(raw json.RawMessage, path string) (Value, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return Value{}, jerr(path, "a value", "nothing")
	}
	switch c := t[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return Value{}, jerr(path, "a string", describeJSON(raw))
		}
		return Value{Type: String, Str: s}, nil
	case c == 't' || c == 'f':
		var b bool
		if err := json.Unmarshal(t, &b); err != nil {
			return Value{}, jerr(path, "a boolean", describeJSON(raw))
		}
		return Value{Type: Bool, Bool: b}, nil
	case c == '{':
		var m map[string]json.RawMessage
		var s string
		if err := json.Unmarshal(t, &m); err != nil || len(m) != 1 || m["date"] == nil || json.Unmarshal(m["date"], &s) != nil {
			return Value{}, jerr(path, `a date as {"date": "YYYY-MM-DD"}`, describeJSON(raw))
		}
		return Value{Type: Date, Str: s}, nil
	case c == '-' || c >= '0' && c <= '9':
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return Value{}, jerr(path, "a number", describeJSON(raw))
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return Value{}, jerr(path, "a number within float64 range", describeJSON(raw))
		}
		return Value{Type: Number, Num: f}, nil
	}
	return Value{}, jerr(path, "a string, number, boolean, date or list", describeJSON(raw))
}

func (o *jsonObj) window() (Window, error) {
	raw, ok := o.m["window"]
	if !ok {
		return Window{}, nil
	}
	p := o.path + ".window"
	wo, err := (&jsonDecoder{}).object(raw, p)
	if err != nil {
		return Window{}, err
	}
	if err := wo.only("window"); err != nil {
		return Window{}, err
	}
	var w Window
	if _, ok := wo.m["last"]; ok {
		f, err := wo.num("last", true)
		if err != nil {
			return Window{}, err
		}
		if f != float64(int(f)) || f < 1 || f > maxLastHours {
			return Window{}, jerr(p+".last", "a whole number (1 to "+strconv.Itoa(maxLastDays)+" days, or 1 to "+
				strconv.Itoa(maxLastHours)+" hours)", formatNum(f))
		}
		w.Last = int(f)
		if w.Unit, err = wo.str("unit", true); err != nil {
			return Window{}, err
		}
	} else if _, ok := wo.m["unit"]; ok {
		return Window{}, jerr(p, `member "last" with "unit"`, "none")
	}
	if b, err := wo.strs("between", false); err != nil {
		return Window{}, err
	} else if _, ok := wo.m["between"]; ok {
		if len(b) != 2 {
			return Window{}, jerr(p+".between", "two dates [from, to]", strconv.Itoa(len(b))+" values")
		}
		if b[0] == "" || b[1] == "" {
			return Window{}, jerr(p+".between", "two dates [from, to]", "an empty string")
		}
		w.Since, w.Until = b[0], b[1]
	}
	since, err := wo.str("since", false)
	if err != nil {
		return Window{}, err
	}
	if since != "" && w.Since != "" {
		return Window{}, jerr(p, "one kind of window", "since with between")
	}
	if _, ok := wo.m["since"]; ok && since == "" {
		return Window{}, jerr(p+".since", "a date YYYY-MM-DD", "an empty string")
	}
	if since != "" {
		w.Since = since
	}
	if w.Before, err = wo.str("before", false); err != nil {
		return Window{}, err
	}
	if _, ok := wo.m["before"]; ok && w.Before == "" {
		return Window{}, jerr(p+".before", "a date YYYY-MM-DD", "an empty string")
	}
	if len(wo.m) == 0 {
		return Window{}, jerr(p, "last, between, since or before", "an empty object")
	}
	if pr := checkWindow(&w); pr != nil {
		return Window{}, jerr(p, pr.expected, pr.found)
	}
	return w, nil
}

package imports

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// plan is a mapping bound to a table's header, with each date column's
// day/month order settled from the whole column.
type plan struct {
	statuses map[string]string // NormStatus cache: a file repeats a few statuses
	kind     string
	m        *Mapping
	fields   []boundField
	orders   map[string]DateOrder // by field name
}

type boundField struct {
	Field
	idx    []int // column positions; empty for a constant
	typ    string
	name   string // the column named in reports
	target string // the target field
}

// errAmbiguous carries the column whose order is unknown.
type ambiguousError struct{ column, value string }

func (e *ambiguousError) Error() string {
	return fmt.Sprintf("ambiguous date: nothing in column %q shows whether it is day-first or month-first; "+
		"pass --date-format DD/MM/YYYY (or MM/DD/YYYY) or set date_format in the mapping", e.column)
}

// bind checks the mapping against the header and infers date orders.
func bind(kind string, m *Mapping, t *Table, dateFormat string) (*plan, error) {
	pos := map[string]int{}
	for i, h := range t.Header {
		pos[h] = i
		if _, ok := pos[NormName(h)]; !ok {
			pos["\x00"+NormName(h)] = i
		}
	}
	find := func(col string) (int, bool) {
		if i, ok := pos[col]; ok {
			return i, true
		}
		i, ok := pos["\x00"+NormName(col)]
		return i, ok
	}
	p := &plan{kind: kind, m: m, orders: map[string]DateOrder{}}
	types := typesOf(kind)
	globalOrder, err := ParseDateOrder(dateFormat)
	if err != nil {
		return nil, err
	}
	if globalOrder == DateUnknown {
		if globalOrder, err = ParseDateOrder(m.DateFormat); err != nil {
			return nil, err
		}
	}
	if err := m.CheckFor(kind); err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range m.Fields {
		if f.Skip {
			continue
		}
		bf := boundField{Field: f, target: f.Field, typ: f.Type}
		if bf.typ == "" {
			bf.typ = types[f.Field]
		}
		if bf.typ == "" {
			bf.typ = "string"
		}
		cols := f.Columns
		if f.Column != "" {
			cols = append([]string{f.Column}, cols...)
		}
		for _, c := range cols {
			i, ok := find(c)
			if !ok {
				missing = append(missing, c)
				continue
			}
			bf.idx = append(bf.idx, i)
		}
		bf.name = strings.Join(cols, "+")
		if bf.name == "" {
			bf.name = f.Field
		}
		p.fields = append(p.fields, bf)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the mapping names columns the file does not have: %s (the file has: %s)",
			strings.Join(missing, ", "), strings.Join(t.Header, ", "))
	}
	for _, bf := range p.fields {
		if bf.typ != "date" || len(bf.idx) == 0 {
			continue
		}
		o, err := ParseDateOrder(bf.DateFmt)
		if err != nil {
			return nil, err
		}
		if o == DateUnknown {
			o = globalOrder
		}
		if o == DateUnknown {
			vals := make([]string, 0, len(t.Rows))
			for _, r := range t.Rows {
				vals = append(vals, r.Cells[bf.idx[0]])
			}
			if o, err = InferDateOrder(vals); err != nil {
				var me *MixedDatesError
				if errors.As(err, &me) {
					show := func(v string) string {
						if personal(kind, bf.target) {
							return Mask(v)
						}
						return v
					}
					return nil, fmt.Errorf("column %q mixes day-first dates (row %d: %s) and month-first dates (row %d: %s); fix the rows, or pass --date-format or set date_format in the mapping to reject the ones that do not fit",
						bf.name, t.Rows[me.DayAt].Line, show(me.Day), t.Rows[me.MonthAt].Line, show(me.Month))
				}
				return nil, fmt.Errorf("column %q: %w; pass --date-format or set date_format in the mapping", bf.name, err)
			}
		}
		p.orders[bf.target] = o
	}
	return p, nil
}

// status is NormStatus, cached.
func (p *plan) status(s string) string {
	if v, ok := p.statuses[s]; ok {
		return v
	}
	if p.statuses == nil || len(p.statuses) > 1000 {
		p.statuses = map[string]string{}
	}
	v := NormStatus(s)
	p.statuses[s] = v
	return v
}

// columnOf names the column(s) a target field comes from ("" stays "").
// CheckFor refuses a mapping that cannot serve an import of kind whatever
// the file: one written for another kind (an orders mapping serves
// order_items too), or one sending two columns to the same field.
func (m *Mapping) CheckFor(kind string) error {
	if m.Kind != "" && m.Kind != kind && !(m.Kind == KindOrders && kind == KindOrderItems) {
		return &InputError{Msg: fmt.Sprintf("the mapping is for %s, and this is an import of %s", m.Kind, kind)}
	}
	mapped := map[string]string{} // target field → the column that feeds it
	for _, f := range m.Fields {
		if f.Skip || f.Field == "" || f.Split != "" {
			continue
		}
		col := f.Column
		if col == "" {
			col = strings.Join(f.Columns, "+")
		}
		if prev, dup := mapped[f.Field]; dup {
			return &InputError{Msg: fmt.Sprintf("the mapping sends two columns to %s (%q and %q): keep one, or join them with columns: [...]",
				f.Field, prev, col)}
		}
		mapped[f.Field] = col
	}
	return nil
}

// hasAny reports whether the plan maps one of the fields.
func (p *plan) hasAny(fields ...string) bool {
	for _, bf := range p.fields {
		if slices.Contains(fields, bf.target) {
			return true
		}
	}
	return false
}

func (p *plan) columnOf(field string) string {
	if field == "" {
		return ""
	}
	for _, bf := range p.fields {
		if bf.target == field || (bf.Split != "" && (field == "first_name" || field == "last_name")) {
			return bf.name
		}
	}
	return field
}

// value is one mapped cell after transforms: string, float64, bool or time.Time.
type value = any

// fieldError is a rejected cell.
type fieldError struct {
	field, column, raw, reason string
}

// nullTokens are what exports write for "no value" (R's NA, Excel's #N/A...).
var nullTokens = map[string]bool{"NA": true, "N/A": true, "n/a": true, "#N/A": true, "NULL": true, "null": true, "(null)": true,
	"None": true, "NaN": true, "nan": true, "-": true}

var titleCaser = cases.Title(language.French)

// rowValues applies the plan to one row. Empty values are left out.
// valueOf is the converted value of one target field of r, "" when the
// row has none or it does not convert (for a row whose other fields failed).
func (p *plan) valueOf(r Row, target string) string {
	for i := range p.fields {
		if p.fields[i].target == target {
			q := *p
			q.fields = p.fields[i : i+1]
			if v, err := q.rowValues(r); err == nil {
				return str(v, target)
			}
		}
	}
	return ""
}

func (p *plan) rowValues(r Row) (map[string]value, *fieldError) {
	out := make(map[string]value, len(p.fields))
	for i := range p.fields {
		bf := &p.fields[i]
		var s string
		if len(bf.idx) == 0 {
			s = bf.Constant
		} else {
			parts := make([]string, 0, len(bf.idx))
			for _, ix := range bf.idx {
				c := r.Cells[ix]
				if !bf.NoTrim {
					c = strings.TrimSpace(strings.Trim(c, "\u00a0\u200b\ufeff"))
				}
				if c != "" {
					parts = append(parts, c)
				}
			}
			sep := bf.Separator
			if sep == "" {
				sep = " "
			}
			s = strings.Join(parts, sep)
			if s == "" && bf.Constant != "" {
				s = bf.Constant
			}
		}
		if s == "" || (nullTokens[s] && bf.target != "country") {
			continue
		}
		if len(bf.Map) > 0 {
			if v, ok := bf.Map[s]; ok {
				s = v
			} else {
				for k, v := range bf.Map {
					if strings.EqualFold(k, s) {
						s = v
						break
					}
				}
			}
		}
		switch bf.Case {
		case "lower":
			s = strings.ToLower(s)
		case "upper":
			s = strings.ToUpper(s)
		case "title":
			s = titleCaser.String(strings.ToLower(s))
		}
		if bf.Split != "" {
			first, last := splitName(s, bf.Split)
			if first != "" {
				out["first_name"] = first
			}
			if last != "" {
				out["last_name"] = last
			}
			continue
		}
		switch bf.typ {
		case "string":
			out[bf.target] = s
		case "number":
			src := s
			if bf.Decimal == "point" {
				src = strings.ReplaceAll(s, ",", "")
			}
			f, err := ParseNumber(src)
			if err != nil {
				return nil, &fieldError{bf.target, bf.name, s, "not a number"}
			}
			if bf.Multiply != 0 {
				f *= bf.Multiply
			}
			out[bf.target] = f
		case "bool":
			b, err := ParseBool(s)
			if err != nil {
				return nil, &fieldError{bf.target, bf.name, s, err.Error()}
			}
			out[bf.target] = b
		case "date":
			t, _, err := ParseDate(s, p.orders[bf.target])
			if err != nil {
				reason := "not a date this importer reads (ISO 8601, DD/MM/YYYY, MM/DD/YYYY, YYYYMMDD, Excel serial)"
				if errors.Is(err, ErrAmbiguousDate) {
					reason = (&ambiguousError{column: bf.name}).Error()
				} else if !strings.HasPrefix(err.Error(), "not a date") {
					reason = "invalid date: " + strings.ReplaceAll(err.Error(), s, "value")
				}
				return nil, &fieldError{bf.target, bf.name, s, reason}
			}
			out[bf.target] = t
		}
	}
	return out, nil
}

// splitName splits a full name. last_first treats upper-case words as the
// last name when some are ("DUPONT Jean-Marie"), else the first word.
func splitName(s, order string) (first, last string) {
	words := strings.Fields(s)
	if len(words) < 2 {
		if order == "last_first" {
			return "", s
		}
		return "", s
	}
	var up, rest []string
	for _, w := range words {
		if strings.ToUpper(w) == w && strings.ToLower(w) != w && len([]rune(w)) > 1 {
			up = append(up, w)
		} else {
			rest = append(rest, w)
		}
	}
	if len(up) > 0 && len(rest) > 0 {
		return strings.Join(rest, " "), strings.Join(up, " ")
	}
	if order == "last_first" {
		return strings.Join(words[1:], " "), words[0]
	}
	return words[0], strings.Join(words[1:], " ")
}

func str(v map[string]value, k string) string {
	s, _ := v[k].(string)
	return s
}

func num(v map[string]value, k string) (float64, bool) {
	f, ok := v[k].(float64)
	return f, ok
}

func tm(v map[string]value, k string) (time.Time, bool) {
	t, ok := v[k].(time.Time)
	return t, ok
}

// jsonable turns a value into what a JSON trait holds (dates as text).
func jsonable(v value) any {
	if t, ok := v.(time.Time); ok {
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			return t.Format("2006-01-02")
		}
		return t.Format(time.RFC3339)
	}
	return v
}

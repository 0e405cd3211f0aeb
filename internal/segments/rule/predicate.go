package rule

import "strconv"

// test returns a predicate comparing the JSON value at path (a placeholder
// or the literal '$') in the JSON text column col with t. The value's type
// picks the comparison:
//   - strings compare the value's text (json_extract_string: a number
//     compares as its text), contains also matches an element of an array;
//   - numbers compare numerically; values that are not finite numbers (or
//     numeric strings) never match, without error (TRY_CAST, isfinite);
//   - booleans match JSON booleans only;
//   - dates compare the value read as a timestamp (an offset in the text is
//     honoured, none means UTC) with the day's bounds in the workspace zone.
//
// Every comparison but exists / not exists requires the value to be present:
// != and not in do not match a profile without the field.
func (c *compiler) test(col, path string, t Test) string {
	str := "json_extract_string(" + col + ", " + path + ")"
	switch t.Cmp {
	case Exists:
		return "coalesce(json_type(" + col + ", " + path + "), 'NULL') <> 'NULL'"
	case NotExists:
		return "coalesce(json_type(" + col + ", " + path + "), 'NULL') = 'NULL'"
	case Contains:
		v := c.arg(t.Value.Str)
		return "CASE WHEN json_type(" + col + ", " + path + ") = 'ARRAY' THEN coalesce(list_contains(TRY_CAST(json_extract(" +
			col + ", " + path + ") AS VARCHAR[]), " + v + "), false) ELSE contains(" + str + ", " + v + ") END"
	case StartsWith:
		return "starts_with(" + str + ", " + c.arg(t.Value.Str) + ")"
	case In, NotIn:
		var list any
		x, typ := str, "VARCHAR[]"
		if t.Value.List[0].Type == Number {
			nums := make([]float64, len(t.Value.List))
			for i, v := range t.Value.List {
				nums[i] = v.Num
			}
			list, x, typ = nums, c.num(col, path), "DOUBLE[]"
		} else {
			strs := make([]string, len(t.Value.List))
			for i, v := range t.Value.List {
				strs[i] = v.Str
			}
			list = strs
		}
		p := "list_contains(CAST(" + c.arg(list) + " AS " + typ + "), " + x + ")"
		if t.Cmp == NotIn {
			return "(" + x + " IS NOT NULL AND NOT " + p + ")"
		}
		return p
	}
	op := sqlOp(t.Cmp)
	switch t.Value.Type {
	case Number:
		return c.num(col, path) + " " + op + " " + c.arg(t.Value.Num)
	case Bool:
		return "(json_type(" + col + ", " + path + ") = 'BOOLEAN' AND " + str + " " + op + " " + c.arg(strconv.FormatBool(t.Value.Bool)) + ")"
	case Date:
		ts := "CASE WHEN regexp_matches(" + str + ", " + offsetRE + ") THEN timezone('UTC', TRY_CAST(" + str +
			" AS TIMESTAMPTZ)) ELSE TRY_CAST(" + str + " AS TIMESTAMP) END"
		start, next := c.dayStart(t.Value.Str, 0), c.dayStart(t.Value.Str, 1)
		switch t.Cmp {
		case Eq:
			a, b := c.ts(start), c.ts(next)
			return "(" + ts + " >= " + a + " AND " + ts + " < " + b + ")"
		case Ne:
			a, b := c.ts(start), c.ts(next)
			return "(" + ts + " < " + a + " OR " + ts + " >= " + b + ")"
		case Lt:
			return ts + " < " + c.ts(start)
		case Le:
			return ts + " < " + c.ts(next)
		case Gt:
			return ts + " >= " + c.ts(next)
		default: // Ge
			return ts + " >= " + c.ts(start)
		}
	}
	return str + " " + op + " " + c.arg(t.Value.Str)
}

// num reads the JSON value at path as a DOUBLE, NULL when it is not a
// number or numeric text. Text that casts to a non-finite double ("nan",
// "Infinity", "1e999") is not a number either: DuckDB orders NaN above every
// number, so it would match every "greater than".
func (c *compiler) num(col, path string) string {
	v := "TRY_CAST(json_extract_string(" + col + ", " + path + ") AS DOUBLE)"
	return "CASE WHEN isfinite(" + v + ") THEN " + v + " END"
}

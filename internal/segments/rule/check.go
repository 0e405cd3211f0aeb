package rule

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits against hostile or runaway rules. Parse and ParseJSON enforce the
// same ones.
const (
	MaxSource     = 64 << 10 // bytes of rule text or JSON
	MaxDepth      = 32       // nesting of and / or / not / parentheses
	MaxList       = 1000     // values in an in [...] list
	MaxConditions = 256      // conditions in one rule
	MaxPath       = 8        // elements of a trait or property path
	MaxName       = 256      // bytes of a path element, name, purpose or identifier type
	MaxString     = 4096     // bytes of a string value
	// MaxEventName is what the collection API accepts for an event name
	// (any character): every event it stores can be named in a rule.
	MaxEventName = 1024
	maxCount     = 1e9   // largest count a rule may compare with
	maxLastDays  = 36600 // about a century
	maxLastHours = maxLastDays * 24
)

// NormalizedFields are the fields of profiles.normalized (internal/app's
// normaliser writes them; docs/quality.md lists them).
var NormalizedFields = []string{"address", "birthday", "civility", "country", "email", "name", "phone"}

// RFMCells are the named cells of the RFM grid (docs/scores.md), the values
// of the rfm_segment score.
var RFMCells = []string{
	"Champions", "Loyal", "Potential loyalists", "New customers", "Promising", "Need attention",
	"About to sleep", "Cannot lose them", "At risk", "Hibernating", "Lost",
}

// problem is a failed check: what was expected and what was found. Parse
// turns it into a *SyntaxError at the offending token, ParseJSON into a
// *JSONError at the offending member.
type problem struct{ expected, found string }

func (p *problem) Error() string { return "expected " + p.expected + ", found " + p.found }

func quoteFound(s string) string {
	if len(s) > 40 {
		i := 40
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return quote(s)
}

// checkText checks a name-like string: non-empty, at most MaxName bytes,
// valid UTF-8, no control characters.
func checkText(what, s string, limit int) *problem {
	switch {
	case s == "":
		return &problem{"a non-empty " + what, "an empty string"}
	case len(s) > limit:
		return &problem{what + " of at most " + strconv.Itoa(limit) + " bytes", strconv.Itoa(len(s)) + " bytes"}
	case !utf8.ValidString(s):
		return &problem{what + " in valid UTF-8", "invalid UTF-8"}
	}
	if limit == MaxString || limit == MaxEventName {
		return nil // values and event names may hold any character; they are parameters
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return &problem{what + " without control characters", quoteFound(s)}
		}
	}
	return nil
}

func checkPath(what string, p []string) *problem {
	if len(p) == 0 {
		return &problem{"a " + what + " path", "an empty path"}
	}
	if len(p) > MaxPath {
		return &problem{"a " + what + " path of at most " + strconv.Itoa(MaxPath) + " elements", strconv.Itoa(len(p)) + " elements"}
	}
	for _, s := range p {
		if pr := checkText(what+" path element", s, MaxName); pr != nil {
			return pr
		}
	}
	return nil
}

var testCmps = "=, !=, <, <=, >, >=, contains, starts with, in, not in, exists, not exists"

// checkTest checks a comparison against its value's type:
// = and != take any scalar; < <= > >= strings, numbers and dates;
// contains and starts with strings; in and not in a non-empty list of
// strings or of numbers; exists and not exists nothing.
func checkTest(t *Test) *problem {
	v := &t.Value
	switch t.Cmp {
	case Eq, Ne:
		if v.Type == List || v.Type == "" {
			return &problem{"a string, number, boolean or date after " + string(t.Cmp), typeName(v.Type)}
		}
	case Lt, Le, Gt, Ge:
		if v.Type != String && v.Type != Number && v.Type != Date {
			return &problem{"a string, number or date after " + string(t.Cmp), typeName(v.Type)}
		}
	case Contains, StartsWith:
		if v.Type != String {
			return &problem{"a string after " + string(t.Cmp), typeName(v.Type)}
		}
	case In, NotIn:
		if v.Type != List {
			return &problem{"a list [...] after " + string(t.Cmp), typeName(v.Type)}
		}
		if len(v.List) == 0 {
			return &problem{"a non-empty list", "[]"}
		}
		if len(v.List) > MaxList {
			return &problem{"a list of at most " + strconv.Itoa(MaxList) + " values", strconv.Itoa(len(v.List)) + " values"}
		}
		el := v.List[0].Type
		for _, x := range v.List {
			if x.Type != String && x.Type != Number {
				return &problem{"strings or numbers in a list", typeName(x.Type)}
			}
			if x.Type != el {
				return &problem{"list values of one type (" + string(el) + ")", typeName(x.Type)}
			}
			if pr := checkScalar(&x); pr != nil {
				return pr
			}
		}
		return nil
	case Exists, NotExists:
		if v.Type != "" {
			return &problem{"no value after " + string(t.Cmp), typeName(v.Type)}
		}
		return nil
	default:
		return &problem{"a comparison (" + testCmps + ")", quoteFound(string(t.Cmp))}
	}
	return checkScalar(v)
}

func checkScalar(v *Value) *problem {
	switch v.Type {
	case String:
		return checkText("string", v.Str, MaxString)
	case Number:
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return &problem{"a finite number", "not a finite number"}
		}
	case Date:
		return checkDate(v.Str)
	}
	return nil
}

func typeName(t ValueType) string {
	if t == "" {
		return "nothing"
	}
	if t == List {
		return "a list"
	}
	return "a " + string(t)
}

func checkDate(s string) *problem {
	d, err := time.Parse("2006-01-02", s)
	if err != nil || len(s) != 10 || d.Year() < 1900 || d.Year() > 2999 {
		return &problem{"a date YYYY-MM-DD between 1900 and 2999", quoteFound(s)}
	}
	return nil
}

func isComparison(c Cmp) bool {
	switch c {
	case Eq, Ne, Lt, Le, Gt, Ge:
		return true
	}
	return false
}

func checkWindow(w *Window) *problem {
	switch {
	case w.Last != 0 || w.Unit != "":
		if w.Since != "" || w.Until != "" || w.Before != "" {
			return &problem{"one kind of window", "last with dates"}
		}
		limit := maxLastDays
		switch w.Unit {
		case "days":
		case "hours":
			limit = maxLastHours
		default:
			return &problem{"days or hours", quoteFound(w.Unit)}
		}
		if w.Last < 1 || w.Last > limit {
			return &problem{"a number of " + w.Unit + " from 1 to " + strconv.Itoa(limit), strconv.Itoa(w.Last)}
		}
	case w.Before != "":
		if w.Since != "" || w.Until != "" {
			return &problem{"one kind of window", "before with other dates"}
		}
		return checkDate(w.Before)
	case w.Until != "" && w.Since == "":
		return &problem{"a start date for the window", "an end date alone"}
	case w.Since != "":
		if pr := checkDate(w.Since); pr != nil {
			return pr
		}
		if w.Until != "" {
			if pr := checkDate(w.Until); pr != nil {
				return pr
			}
			if w.Until < w.Since {
				return &problem{"an end date on or after " + w.Since, w.Until}
			}
		}
	}
	return nil
}

// checkNode validates and canonicalises one condition (not its children).
func checkNode(e Expr) *problem {
	switch x := e.(type) {
	case *And:
		if len(x.Args) < 2 {
			return &problem{"at least 2 arguments to and", strconv.Itoa(len(x.Args))}
		}
	case *Or:
		if len(x.Args) < 2 {
			return &problem{"at least 2 arguments to or", strconv.Itoa(len(x.Args))}
		}
	case *Not:
		if x.Arg == nil {
			return &problem{"an argument to not", "nothing"}
		}
	case *Trait:
		if pr := checkPath("trait", x.Path); pr != nil {
			return pr
		}
		return checkTest(&x.Test)
	case *Normalized:
		if pr := checkPath("normalized", x.Path); pr != nil {
			return pr
		}
		if !contains(NormalizedFields, x.Path[0]) {
			return &problem{"a normalised field (" + strings.Join(NormalizedFields, ", ") + ")", quoteFound(x.Path[0])}
		}
		return checkTest(&x.Test)
	case *Score:
		if !isIdent(x.Name) || len(x.Name) > 64 {
			return &problem{"a score name (letters, digits and _, at most 64)", quoteFound(x.Name)}
		}
		return checkTest(&x.Test)
	case *RFM:
		return checkRFM(&x.Test)
	case *Identity:
		x.Type = strings.ToLower(strings.TrimSpace(x.Type))
		return checkText("identifier type", x.Type, MaxName)
	case *Consent:
		x.Purpose = strings.ToLower(strings.TrimSpace(x.Purpose))
		return checkText("consent purpose", x.Purpose, 128)
	case *Event:
		return checkEvent(x)
	case *Orders:
		if x.Measure != "count" && x.Measure != "revenue" {
			return &problem{"count or revenue", quoteFound(x.Measure)}
		}
		if pr := checkMeasureValue(x.Measure, x.Cmp, x.Value); pr != nil {
			return pr
		}
		return checkWindow(&x.Window)
	case *Bought:
		if (x.Product == "") == (x.Category == "") {
			return &problem{"one of product and category", "both or neither"}
		}
		if pr := checkText("product or category", x.Product+x.Category, MaxName); pr != nil {
			return pr
		}
		return checkWindow(&x.Window)
	case *InSegment:
		return checkText("segment name", x.Name, MaxName)
	case nil:
		return &problem{"a condition", "nothing"}
	}
	return nil
}

func checkRFM(t *Test) *problem {
	canon := func(v *Value) *problem {
		if v.Type != String {
			return &problem{"an RFM cell name (" + strings.Join(RFMCells, ", ") + ")", typeName(v.Type)}
		}
		for _, c := range RFMCells {
			if strings.EqualFold(c, strings.TrimSpace(v.Str)) {
				v.Str = c
				return nil
			}
		}
		return &problem{"an RFM cell name (" + strings.Join(RFMCells, ", ") + ")", quoteFound(v.Str)}
	}
	switch t.Cmp {
	case Eq, Ne:
		return canon(&t.Value)
	case In, NotIn:
		if pr := checkTest(t); pr != nil {
			return pr
		}
		for i := range t.Value.List {
			if pr := canon(&t.Value.List[i]); pr != nil {
				return pr
			}
		}
		return nil
	}
	return &problem{"=, !=, in or not in after rfm", quoteFound(string(t.Cmp))}
}

func checkEvent(x *Event) *problem {
	if pr := checkText("event name", x.Name, MaxEventName); pr != nil {
		return pr
	}
	for i := range x.Where {
		if pr := checkPath("property", x.Where[i].Path); pr != nil {
			return pr
		}
		if pr := checkTest(&x.Where[i].Test); pr != nil {
			return pr
		}
	}
	m := &x.Measure
	if m.Agg == "" && m.Cmp == "" {
		m.Agg, m.Cmp, m.Value = "count", Ge, 1
	}
	switch m.Agg {
	case "count":
		if len(m.Property) != 0 {
			return &problem{"no property for count", "a property"}
		}
		if m.Cmp == Ne {
			return &problem{"=, <, <=, > or >= for an event count", "!="}
		}
	case "sum", "avg", "min", "max":
		if pr := checkPath("property", m.Property); pr != nil {
			return pr
		}
	default:
		return &problem{"count, sum, avg, min or max", quoteFound(m.Agg)}
	}
	if pr := checkMeasureValue(m.Agg, m.Cmp, m.Value); pr != nil {
		return pr
	}
	return checkWindow(&x.Window)
}

// checkMeasureValue: counts are whole numbers from 0 to maxCount; other
// measures any finite number.
func checkMeasureValue(measure string, c Cmp, v float64) *problem {
	if !isComparison(c) {
		return &problem{"=, !=, <, <=, > or >= after " + measure, quoteFound(string(c))}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return &problem{"a finite number", "not a finite number"}
	}
	if measure == "count" && (v != math.Trunc(v) || v < 0 || v > maxCount) {
		return &problem{"a whole number of times from 0 to 1000000000", formatNum(v)}
	}
	return nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package imports

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseNumber reads a number written the way spreadsheets and people write
// them: decimal comma or point, thousands separators (space, no-break space,
// point, comma, apostrophe), a currency sign, a trailing minus.
func ParseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty")
	}
	var b strings.Builder
	neg := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '.', r == ',', r == 'e', r == 'E':
			b.WriteRune(r)
		case r == '-':
			if b.Len() == 0 || strings.HasSuffix(b.String(), "e") || strings.HasSuffix(b.String(), "E") {
				if b.Len() == 0 {
					neg = !neg
				} else {
					b.WriteRune(r)
				}
			} else {
				neg = !neg // trailing minus (12,50-)
			}
		case r == '+':
		case r == ' ', r == '\u00a0', r == '\u202f', r == '\'', r == '’':
		case r == '€', r == '$', r == '£', r == '%':
		default:
			return 0, fmt.Errorf("not a number")
		}
	}
	t := b.String()
	if t == "" || strings.IndexFunc(t, func(r rune) bool { return r >= '0' && r <= '9' }) < 0 {
		return 0, errors.New("not a number")
	}
	lastDot, lastComma := strings.LastIndexByte(t, '.'), strings.LastIndexByte(t, ',')
	switch {
	case lastDot >= 0 && lastComma >= 0:
		if lastComma > lastDot { // 1.234,56
			t = strings.ReplaceAll(t, ".", "")
			t = strings.Replace(t, ",", ".", 1)
		} else { // 1,234.56
			t = strings.ReplaceAll(t, ",", "")
		}
	case lastComma >= 0:
		if strings.Count(t, ",") > 1 { // 1,234,567
			t = strings.ReplaceAll(t, ",", "")
		} else { // 12,50 (French first: a single comma is a decimal comma)
			t = strings.Replace(t, ",", ".", 1)
		}
	case strings.Count(t, ".") > 1: // 1.234.567
		t = strings.ReplaceAll(t, ".", "")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errors.New("not a number")
	}
	if neg {
		f = -f
	}
	return f, nil
}

// ParseBool reads yes/no answers in English and French.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "t", "yes", "y", "oui", "o", "vrai", "v", "x", "on", "opt-in", "optin", "granted", "accepted", "accepte", "accepté":
		return true, nil
	case "0", "false", "f", "no", "n", "non", "faux", "off", "opt-out", "optout", "denied", "refused", "refuse", "refusé":
		return false, nil
	}
	return false, errors.New("not a yes/no value (oui/non, yes/no, 1/0, vrai/faux, true/false)")
}

// DateOrder is how a column writes numeric dates.
type DateOrder int

// Date orders. DateUnknown means no value of the column has proved an order.
const (
	DateUnknown DateOrder = iota
	DayFirst
	MonthFirst
)

// ParseDateOrder reads a --date-format or mapping date_format value:
// DD/MM/YYYY, %d/%m/%Y, dmy, day-first, MM/DD/YYYY, %m/%d/%Y, mdy, month-first.
func ParseDateOrder(f string) (DateOrder, error) {
	l := strings.ToLower(strings.TrimSpace(f))
	switch l {
	case "":
		return DateUnknown, nil
	case "dmy", "day-first", "dayfirst", "fr", "eu":
		return DayFirst, nil
	case "mdy", "month-first", "monthfirst", "us":
		return MonthFirst, nil
	}
	d, m := strings.Index(l, "d"), strings.Index(l, "m")
	if d >= 0 && m >= 0 {
		if d < m {
			return DayFirst, nil
		}
		return MonthFirst, nil
	}
	return DateUnknown, fmt.Errorf("unknown date format %q (want DD/MM/YYYY or MM/DD/YYYY)", f)
}

var numericDate = regexp.MustCompile(`^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?$`)

// matchNumericDate parses D/M/Y[ H:M[:S]] like numericDate (which stays
// the specification, checked by a test) without the regexp, which dominated
// the import profile. It returns the same submatches or nil.
func matchNumericDate(s string) []string {
	digits := func(i, min, max int) (string, int) {
		j := i
		for j < len(s) && j-i < max && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i < min {
			return "", -1
		}
		return s[i:j], j
	}
	isSep := func(i int) bool { return i < len(s) && (s[i] == '/' || s[i] == '.' || s[i] == '-') }
	m := make([]string, 7)
	m[0] = s
	var i int
	if m[1], i = digits(0, 1, 2); i < 0 || !isSep(i) {
		return nil
	}
	if m[2], i = digits(i+1, 1, 2); i < 0 || !isSep(i) {
		return nil
	}
	if m[3], i = digits(i+1, 2, 4); i < 0 || len(m[3]) == 3 {
		return nil
	}
	if i == len(s) {
		return m
	}
	if s[i] != ' ' && s[i] != 'T' {
		return nil
	}
	for i < len(s) && (s[i] == ' ' || s[i] == 'T') {
		i++
	}
	if m[4], i = digits(i, 1, 2); i < 0 || i >= len(s) || (s[i] != ':' && s[i] != 'h') {
		return nil
	}
	if m[5], i = digits(i+1, 2, 2); i < 0 {
		return nil
	}
	if i == len(s) {
		return m
	}
	if s[i] != ':' {
		return nil
	}
	if m[6], i = digits(i+1, 2, 2); i < 0 || i != len(s) {
		return nil
	}
	return m
}

// isoLayouts are tried in order on values that are not day/month dates.
var isoLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02", "2006/01/02", "2006/01/02 15:04:05",
	"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 -0700 MST", time.RFC1123Z, time.RFC1123,
	"02 Jan 2006", "2 Jan 2006", "Jan 2, 2006", "January 2, 2006", "2 January 2006",
}

// parseDateGuess parses a value without column context. It returns the
// order a day/month value proves (DateUnknown when it proves none) and ok
// false when the value is not a date or is an ambiguous day/month date.
func parseDateGuess(s string) (time.Time, DateOrder, bool) {
	t, proof, err := ParseDate(s, DateUnknown)
	return t, proof, err == nil
}

// ErrAmbiguousDate is returned for 03/04/1991 in a column whose order is unknown.
var ErrAmbiguousDate = errors.New("ambiguous day/month date")

// ParseDate parses one date or date-time. order resolves day/month values
// such as 03/04/1991; with DateUnknown they fail with ErrAmbiguousDate unless
// one of the two numbers is above 12 (which the second result reports as the
// order the value proves). Times without a zone are UTC. Excel serial
// numbers from 3000 (1908-03-18) and 8-digit YYYYMMDD are accepted.
func ParseDate(s string, order DateOrder) (time.Time, DateOrder, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, DateUnknown, errors.New("empty")
	}
	if m := matchNumericDate(s); m != nil {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		y, _ := strconv.Atoi(m[3])
		if len(m[3]) == 2 {
			y += 1900
			if y < 1950 {
				y += 100
			}
		}
		proof := DateUnknown
		switch {
		case a > 12 && b <= 12:
			proof = DayFirst
		case b > 12 && a <= 12:
			proof = MonthFirst
		}
		use := order
		if proof != DateUnknown {
			if order != DateUnknown && order != proof {
				return time.Time{}, proof, fmt.Errorf("%s is not a valid date in this column's %s order", s, order)
			}
			use = proof
		}
		if use == DateUnknown {
			if a != b {
				return time.Time{}, DateUnknown, ErrAmbiguousDate
			}
			use = DayFirst
		}
		day, mon := a, b
		if use == MonthFirst {
			day, mon = b, a
		}
		var hh, mm, ss int
		if m[4] != "" {
			hh, _ = strconv.Atoi(m[4])
			mm, _ = strconv.Atoi(m[5])
			if m[6] != "" {
				ss, _ = strconv.Atoi(m[6])
			}
		}
		t := time.Date(y, time.Month(mon), day, hh, mm, ss, 0, time.UTC)
		if t.Day() != day || int(t.Month()) != mon || hh > 23 || mm > 59 || ss > 59 {
			return time.Time{}, proof, fmt.Errorf("%s is not a calendar date", s)
		}
		return t, proof, nil
	}
	if len(s) == 8 && allDigits(s) {
		if t, err := time.Parse("20060102", s); err == nil && t.Year() >= 1800 {
			return t, DateUnknown, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		// Excel serial date: day 1 is 1900-01-01, with Lotus's phantom
		// 29 February 1900, hence the 1899-12-30 epoch. Kept to a plausible
		// range (1908-03-18 to 2173) so plain numbers are not taken for
		// dates: below 3000, a value is far more likely a year ("1991") or
		// a count than a date of 1900-1908.
		if f >= 1000 && f < 3000 && f == math.Floor(f) && len(s) == 4 {
			return time.Time{}, DateUnknown, fmt.Errorf("%s looks like a year, not a full date", s)
		}
		if f >= 3000 && f < 100000 && !strings.ContainsAny(s, "eE") {
			base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
			days := math.Floor(f)
			secs := math.Round((f - days) * 86400)
			return base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second), DateUnknown, nil
		}
		return time.Time{}, DateUnknown, errors.New("not a date")
	}
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), DateUnknown, nil
		}
	}
	if t, ok := parseFrenchMonth(s); ok {
		return t, DateUnknown, nil
	}
	return time.Time{}, DateUnknown, errors.New("not a date")
}

func (o DateOrder) String() string {
	switch o {
	case DayFirst:
		return "day-first"
	case MonthFirst:
		return "month-first"
	}
	return "unknown"
}

var frMonths = map[string]time.Month{"janvier": 1, "janv": 1, "fevrier": 2, "février": 2, "fevr": 2, "févr": 2, "mars": 3, "avril": 4, "avr": 4,
	"mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "août": 8, "septembre": 9, "sept": 9, "octobre": 10, "oct": 10,
	"novembre": 11, "nov": 11, "decembre": 12, "décembre": 12, "dec": 12, "déc": 12}

// parseFrenchMonth reads "15 avril 1991" and "1er mai 2020".
func parseFrenchMonth(s string) (time.Time, bool) {
	f := strings.Fields(strings.ToLower(strings.ReplaceAll(s, ".", "")))
	if len(f) != 3 {
		return time.Time{}, false
	}
	d, err1 := strconv.Atoi(strings.TrimSuffix(f[0], "er"))
	mon, ok := frMonths[f[1]]
	y, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || !ok || y < 1000 {
		return time.Time{}, false
	}
	t := time.Date(y, mon, d, 0, 0, 0, 0, time.UTC)
	return t, t.Day() == d
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// MixedDatesError is a column holding both a date only day-first can read
// and one only month-first can read: the first of each, by index.
type MixedDatesError struct {
	DayAt, MonthAt int
	Day, Month     string
}

func (e *MixedDatesError) Error() string { return "the column mixes day-first and month-first dates" }

// InferDateOrder returns the order the values of a column prove: DayFirst
// when one has its first number above 12, MonthFirst when one has its
// second above 12, DateUnknown when none does, and an error when both occur.
func InferDateOrder(values []string) (DateOrder, error) {
	var day, month string
	dayAt, monthAt := -1, -1
	for i, v := range values {
		_, p, _ := ParseDate(v, DateUnknown)
		switch p {
		case DayFirst:
			if day == "" {
				day, dayAt = v, i
			}
		case MonthFirst:
			if month == "" {
				month, monthAt = v, i
			}
		}
	}
	switch {
	case day != "" && month != "":
		return DateUnknown, &MixedDatesError{DayAt: dayAt, Day: day, MonthAt: monthAt, Month: month}
	case day != "":
		return DayFirst, nil
	case month != "":
		return MonthFirst, nil
	}
	return DateUnknown, nil
}

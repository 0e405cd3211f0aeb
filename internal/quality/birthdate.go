package quality

import (
	"strconv"
	"strings"
	"time"
)

// Birth-date reason codes.
const (
	ReasonDateUnparsable  = "unparsable_date"
	ReasonDateFuture      = "in_future"
	ReasonDateTooOld      = "implausibly_old" // over 120 years
	ReasonDateMinor       = "minor"           // under 15: parental consent for online services (French law)
	ReasonDatePlaceholder = "placeholder_date"
	ReasonDateTwoDigit    = "two_digit_year" // century inferred
	ReasonDateAmbiguous   = "day_month_swapped"
)

// maxAge is the oldest plausible living customer.
const maxAge = 120

// BirthDate checks that a birth date is plausible at now: not in the
// future (invalid), not more than 120 years ago (invalid), not a
// placeholder such as 01/01/1900 or 01/01/1970 (suspect), and flags minors
// under 15 (suspect: the age of digital consent in France). Value is the
// ISO date YYYY-MM-DD. Pass the clock in, so tests and batch jobs agree.
func BirthDate(t, now time.Time) Result {
	res := Result{Raw: t.Format("2006-01-02"), Status: StatusValid}
	if t.IsZero() {
		return invalid(res, ReasonEmpty)
	}
	y, m, d := t.Date()
	ny, nm, nd := now.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	today := time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)
	if day.After(today) {
		return invalid(res, ReasonDateFuture)
	}
	age := ny - y
	if nm < m || (nm == m && nd < d) {
		age--
	}
	if age > maxAge {
		return invalid(res, ReasonDateTooOld)
	}
	res.Value = day.Format("2006-01-02")
	if m == time.January && d == 1 && (y == 1900 || y == 1901 || y == 1970 || y == 2000) ||
		(y == 1111 || y == 1234) {
		res.addReason(ReasonDatePlaceholder)
		res.raise(StatusSuspect)
	}
	if age < 15 {
		res.addReason(ReasonDateMinor)
		res.raise(StatusSuspect)
	}
	return res
}

// ParseBirthDate reads the date formats found in French files —
// "15/04/1991", "15-04-1991", "15.04.1991", "15/04/91", "1991-04-15",
// "19910415" — and checks it with BirthDate. Day-first is assumed; a
// date that only makes sense month-first ("04/15/1991") is read so and
// flagged. Two-digit years take the century that makes the person not yet
// born in the future.
func ParseBirthDate(s string, now time.Time) Result {
	clean, reasons := Sanitize(s, 64)
	res := Result{Raw: s, Status: StatusValid}
	for _, r := range reasons {
		res.addReason(r)
	}
	if clean == "" {
		return invalid(res, ReasonEmpty)
	}
	// Drop a time part: "1991-04-15T00:00:00Z", "15/04/1991 00:00".
	if i := strings.IndexAny(clean, "T "); i >= 8 {
		clean = clean[:i]
	}
	var parts []string
	if len(clean) == 8 && strings.Trim(clean, "0123456789") == "" {
		parts = []string{clean[:4], clean[4:6], clean[6:]}
	} else {
		parts = strings.FieldsFunc(clean, func(r rune) bool { return r == '/' || r == '-' || r == '.' || r == ' ' })
	}
	if len(parts) != 3 {
		return invalid(res, ReasonDateUnparsable)
	}
	n := [3]int{}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return invalid(res, ReasonDateUnparsable)
		}
		n[i] = v
	}
	var y, m, d int
	twoDigit := false
	switch {
	case len(parts[0]) == 4:
		y, m, d = n[0], n[1], n[2]
	case len(parts[2]) == 4:
		d, m, y = n[0], n[1], n[2]
	case len(parts[2]) <= 2:
		d, m, y = n[0], n[1], n[2]
		twoDigit = true
	default:
		return invalid(res, ReasonDateUnparsable)
	}
	if twoDigit {
		y += 2000
		if y > now.Year() {
			y -= 100
		}
	}
	swapped := false
	if m > 12 && d <= 12 {
		m, d = d, m
		swapped = true
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d {
		return invalid(res, ReasonDateUnparsable)
	}
	out := BirthDate(t, now)
	out.Raw = s
	out.Reasons = append(res.Reasons, out.Reasons...)
	if twoDigit {
		out.addReason(ReasonDateTwoDigit)
		out.raise(StatusCorrected)
	}
	if swapped {
		out.addReason(ReasonDateAmbiguous)
		out.raise(StatusSuspect)
	}
	if out.Status == StatusInvalid {
		out.Value = ""
	}
	return out
}

package collect

import (
	"errors"
	"math"
	"strconv"
	"time"
)

// Accepted event times. Outside these years a time is a broken clock rather
// than an event, and keeping within them also keeps every difference between
// two accepted times inside time.Duration (±292 years), which skew correction
// relies on.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2170, 1, 1, 0, 0, 0, 0, time.UTC)
)

var errBadTime = errors.New("not an ISO 8601 time or epoch milliseconds")

// parseTimeValue reads a JSON timestamp value: an ISO 8601 / RFC 3339 string or
// a number of milliseconds since the Unix epoch. The result is UTC.
func parseTimeValue(v []byte) (time.Time, error) {
	var t time.Time
	switch c := v[0]; {
	case c == '"':
		b, kind, err := (&scanner{buf: v}).scanString()
		if err != nil {
			return t, errBadTime
		}
		if kind != 0 {
			b = []byte(unquote(b, kind))
		}
		t, err = parseISOTime(b)
		if err != nil {
			return t, err
		}
	case c == '-' || isDigit(c):
		ms, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(ms, 0) || math.Abs(ms) > 1e15 {
			return t, errBadTime
		}
		whole := math.Trunc(ms)
		t = time.UnixMilli(int64(whole)).Add(time.Duration((ms - whole) * 1e6)).UTC()
	default:
		return t, errBadTime
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, errors.New("outside the years 1900 to 2169")
	}
	return t, nil
}

// parseISOTime parses the ISO 8601 forms that SDKs send:
//
//	2024-05-06
//	2024-05-06T10:11
//	2024-05-06T10:11:12
//	2024-05-06T10:11:12.345678   (any number of fraction digits; ',' also separates)
//
// followed by an optional zone: Z, ±hh, ±hhmm or ±hh:mm. A time without a zone
// is UTC (the Segment libraries always send one; a server-side sender that
// leaves it out almost always means UTC). 't' and ' ' are accepted for 'T'.
func parseISOTime(b []byte) (time.Time, error) {
	p := isoParser{b: b}
	year := p.digits(4)
	if !p.byte('-') {
		return time.Time{}, errBadTime
	}
	month := p.digits(2)
	if !p.byte('-') {
		return time.Time{}, errBadTime
	}
	day := p.digits(2)
	var hour, minute, sec, nsec, offset int
	if p.i < len(b) && (b[p.i] == 'T' || b[p.i] == 't' || b[p.i] == ' ') {
		p.i++
		hour = p.digits(2)
		if !p.byte(':') {
			return time.Time{}, errBadTime
		}
		minute = p.digits(2)
		if p.byte(':') {
			sec = p.digits(2)
			if p.byte('.') || p.byte(',') {
				n := 0
				for p.i < len(b) && isDigit(b[p.i]) {
					if n < 9 {
						nsec = nsec*10 + int(b[p.i]-'0')
						n++
					}
					p.i++
				}
				if n == 0 {
					return time.Time{}, errBadTime
				}
				for ; n < 9; n++ {
					nsec *= 10
				}
			}
		}
		if p.i < len(b) {
			switch b[p.i] {
			case 'Z', 'z':
				p.i++
			case '+', '-':
				sign := 1
				if b[p.i] == '-' {
					sign = -1
				}
				p.i++
				oh := p.digits(2)
				om := 0
				if p.i < len(b) {
					p.byte(':')
					om = p.digits(2)
				}
				if oh > 23 || om > 59 {
					return time.Time{}, errBadTime
				}
				offset = sign * (oh*3600 + om*60)
			}
		}
	}
	if p.bad || p.i != len(b) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, errBadTime
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), nil
}

type isoParser struct {
	b   []byte
	i   int
	bad bool
}

// digits reads exactly n decimal digits.
func (p *isoParser) digits(n int) int {
	if p.i+n > len(p.b) {
		p.bad = true
		return 0
	}
	v := 0
	for _, c := range p.b[p.i : p.i+n] {
		if !isDigit(c) {
			p.bad = true
			return 0
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v
}

// byte consumes c if it is next.
func (p *isoParser) byte(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func daysIn(m time.Month, year int) int {
	if m == time.February && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return int(monthDays[m])
}

var monthDays = [13]uint8{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

package clv

import (
	"slices"
	"sort"
	"time"
)

// Week is the time unit Atrium uses for every model, as the papers do.
const Week = 7 * 24 * time.Hour

// Transaction is one order of one customer.
type Transaction struct {
	CustomerID string
	Time       time.Time // any location; only its UTC calendar day matters
	Amount     float64   // order value (revenue or margin, as the caller chooses)
}

// Summary is a customer's purchase history over the calibration period, reduced
// to what the models need (the papers' "RFM" summary).
type Summary struct {
	CustomerID string
	// Frequency (x) is the number of repeat purchases: days with an order after
	// the day of the first order.
	Frequency int
	// Recency (t_x) is the time from the first purchase to the last repeat
	// purchase, in the unit given to Summarize; 0 when Frequency is 0.
	Recency float64
	// T is the customer's age: time from the first purchase to the end of the
	// calibration period.
	T float64
	// Monetary is the mean of the repeat purchases' day totals (the first
	// purchase is left out, as in the Gamma-Gamma papers and lifetimes); 0 when
	// Frequency is 0.
	Monetary float64
}

// Summarize reduces transactions to one Summary per customer whose first order
// falls on or before calibrationEnd's day. Orders are bucketed by UTC calendar
// day; orders after calibrationEnd's day are ignored. Ages are whole numbers of
// days converted to unit (for the CDNOW data: first order 1997-01-01, end
// 1997-09-30 gives T = 272 days = 38.857 weeks).
//
// The result is sorted by CustomerID. txns may be in any order and is not
// modified. unit must be positive.
func Summarize(txns []Transaction, calibrationEnd time.Time, unit time.Duration) []Summary {
	if unit <= 0 {
		panic("clv: Summarize with a non-positive unit")
	}
	endDay := dayNumber(calibrationEnd)

	// Day totals per customer: a map of maps keeps memory proportional to the
	// number of purchase days rather than orders.
	days := make(map[string]map[int64]float64)
	for _, tx := range txns {
		d := dayNumber(tx.Time)
		if d > endDay {
			continue
		}
		m := days[tx.CustomerID]
		if m == nil {
			m = make(map[int64]float64)
			days[tx.CustomerID] = m
		}
		m[d] += tx.Amount
	}

	daysPerUnit := float64(unit) / float64(24*time.Hour)
	out := make([]Summary, 0, len(days))
	for id, m := range days {
		// Sorted days make the float sum independent of map order.
		ds := make([]int64, 0, len(m))
		for d := range m {
			ds = append(ds, d)
		}
		slices.Sort(ds)
		first, last := ds[0], ds[len(ds)-1]
		var repeatTotal float64
		for _, d := range ds[1:] {
			repeatTotal += m[d]
		}
		s := Summary{
			CustomerID: id,
			Frequency:  len(m) - 1,
			Recency:    float64(last-first) / daysPerUnit,
			T:          float64(endDay-first) / daysPerUnit,
		}
		if s.Frequency > 0 {
			s.Monetary = repeatTotal / float64(s.Frequency)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CustomerID < out[j].CustomerID })
	return out
}

// dayNumber is the number of UTC calendar days since the Unix epoch. It works
// on the calendar date rather than dividing durations so that times before 1970
// and leap seconds need no special care.
func dayNumber(t time.Time) int64 {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

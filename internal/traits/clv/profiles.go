package clv

import (
	"math"
	"runtime"
	"sync"
)

// Defaults of ScoreOptions: the horizons docs/scores-clv.md documents.
const (
	DefaultPurchaseDays    = 90   // expected purchases in the next 90 days
	DefaultCLVMonths       = 12   // CLV over the next 12 months
	DefaultMonthlyDiscount = 0.01 // 1 % a month, about 12.7 % a year
)

// ScoreOptions are the horizons of the per-customer scores.
type ScoreOptions struct {
	// PurchaseDays is the horizon of ExpectedPurchases, in days (converted to
	// weeks, the models' unit). Zero means DefaultPurchaseDays.
	PurchaseDays int
	// CLV is the horizon and discount of the CLV. A zero Months means
	// DefaultCLVMonths at DefaultMonthlyDiscount; UnitsPerMonth is always
	// WeeksPerMonth (the models are weekly).
	CLV Horizon
}

// WithDefaults fills the zero fields of o.
func (o ScoreOptions) WithDefaults() ScoreOptions {
	if o.PurchaseDays == 0 {
		o.PurchaseDays = DefaultPurchaseDays
	}
	if o.CLV.Months == 0 {
		o.CLV.Months = DefaultCLVMonths
		o.CLV.MonthlyDiscount = DefaultMonthlyDiscount
	}
	o.CLV.UnitsPerMonth = WeeksPerMonth
	return o
}

// CustomerScore is what the fitted models say about one customer.
type CustomerScore struct {
	CustomerID string
	// PAlive is P(alive) under BG/NBD; HasPAlive is false for a customer
	// without repeat purchases, for whom the model gives 1 by construction
	// (it lets customers leave only right after a repeat purchase), a number
	// that would read as "certainly still a customer" however old the only
	// order is. ChurnRisk = 1 − PAlive under the same condition.
	PAlive, ChurnRisk float64
	HasPAlive         bool
	// ExpectedPurchases is E[Y(t) | x, t_x, T] for t = PurchaseDays.
	ExpectedPurchases float64
	// ExpectedValue is the Gamma-Gamma expected value of one future order:
	// the customer's own E[M | x, z̄] when they have repeat purchases with a
	// positive mean, the population mean p·v/(q−1) otherwise. HasValue is
	// false when the fitted spend model has no finite mean (q ≤ 1); CLV is
	// then unknown too.
	ExpectedValue float64
	CLV           float64
	HasValue      bool
}

// ScoreCustomers scores every summary with the fitted models. The work is
// grouped by distinct (x, t_x, T), which is all BG/NBD needs (a million
// customers with ages in whole days share a few tens of thousands of
// triples), and spread over GOMAXPROCS goroutines; the result is in the
// order of s and does not depend on the number of CPUs.
//
// CLV is computed as ExpectedValue × CLV(BG/NBD, c, 1, horizon): the value
// of an order is constant over the horizon, so it factors out of the
// discounted sum.
func ScoreCustomers(m Models, s []Summary, o ScoreOptions) []CustomerScore {
	o = o.WithDefaults()
	t := float64(o.PurchaseDays) / 7 // the models are weekly

	type key struct {
		x     int
		tx, T float64
	}
	type perKey struct{ pAlive, expected, discounted float64 }
	idx := make(map[key]int32, len(s)/8+1)
	keyOf := make([]int32, len(s))
	var keys []key
	for i := range s {
		k := key{s[i].Frequency, s[i].Recency, s[i].T}
		j, ok := idx[k]
		if !ok {
			j = int32(len(keys))
			idx[k] = j
			keys = append(keys, k)
		}
		keyOf[i] = j
	}
	vals := make([]perKey, len(keys))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(keys)/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := w; j < len(keys); j += workers {
				k := keys[j]
				c := Summary{Frequency: k.x, Recency: k.tx, T: k.T}
				vals[j] = perKey{
					pAlive:     m.BGNBD.PAlive(c),
					expected:   m.BGNBD.ConditionalExpectedPurchases(c, t),
					discounted: CLV(m.BGNBD, c, 1, o.CLV),
				}
			}
		})
	}
	wg.Wait()

	population := m.GammaGamma.ConditionalExpectedValue(Summary{})
	out := make([]CustomerScore, len(s))
	for i := range s {
		c := &s[i]
		v := vals[keyOf[i]]
		r := CustomerScore{CustomerID: c.CustomerID, ExpectedPurchases: v.expected}
		if c.Frequency > 0 {
			r.PAlive, r.ChurnRisk, r.HasPAlive = v.pAlive, 1-v.pAlive, true
		}
		value := population
		if c.Frequency > 0 && c.Monetary > 0 {
			value = m.GammaGamma.ConditionalExpectedValue(*c)
		}
		if !math.IsInf(value, 0) && !math.IsNaN(value) && value >= 0 {
			r.ExpectedValue, r.CLV, r.HasValue = value, value*v.discounted, true
		}
		out[i] = r
	}
	return out
}

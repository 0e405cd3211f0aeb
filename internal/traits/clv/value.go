package clv

import "math"

// Predictor is a purchase model that forecasts a customer's purchases:
// BGNBD and ParetoNBD implement it.
type Predictor interface {
	// ConditionalExpectedPurchases returns the expected number of purchases
	// of customer c in the next t time units.
	ConditionalExpectedPurchases(c Summary, t float64) float64
	// PAlive returns the probability that customer c is still a customer.
	PAlive(c Summary) float64
}

// WeeksPerMonth converts months to weeks as the lifetimes library does (its
// customer_lifetime_value with freq "W"), so that CLV figures can be compared
// with it. 365.25/12/7 = 4.348 would be the calendar average.
const WeeksPerMonth = 4.345

// Horizon is the period and discounting of a CLV.
type Horizon struct {
	Months          int     // number of months to sum over
	MonthlyDiscount float64 // discount rate per month, e.g. 0.01 (≈ 12.7% a year)
	UnitsPerMonth   float64 // model time units in a month: WeeksPerMonth for weekly models
}

// CLV returns the customer lifetime value of c over h: the expected number of
// purchases in each month of the horizon, times value (the expected value of
// one purchase, normally GammaGamma.ConditionalExpectedValue), discounted to
// today:
//
//	CLV = Σ_{i=1..Months} value · (E[Y(i·u)] − E[Y((i−1)·u)]) / (1+d)^i
//
// with u = UnitsPerMonth, d = MonthlyDiscount and E[Y(t)] the model's
// conditional expected purchases. This is the definition of lifetimes'
// customer_lifetime_value. It returns NaN for a horizon without months or
// units.
func CLV(m Predictor, c Summary, value float64, h Horizon) float64 {
	if h.Months <= 0 || !(h.UnitsPerMonth > 0) {
		return math.NaN()
	}
	total, prev := 0.0, 0.0
	for i := 1; i <= h.Months; i++ {
		cum := m.ConditionalExpectedPurchases(c, float64(i)*h.UnitsPerMonth)
		total += value * (cum - prev) / math.Pow(1+h.MonthlyDiscount, float64(i))
		prev = cum
	}
	return total
}

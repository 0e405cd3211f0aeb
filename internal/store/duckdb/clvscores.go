package duckdb

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/traits/clv"
)

// Names of the per-profile CLV scores RefreshCLVScores writes into
// profile_scores (docs/scores-clv.md). The expected purchases carry their
// horizon in the name (expected_purchases_90d), so a run with another horizon
// replaces rather than mislabels them.
const (
	ScorePAlive            = "p_alive"             // BG/NBD P(alive); absent for one-time buyers
	ScoreChurnRisk         = "churn_risk"          // 1 − p_alive; absent for one-time buyers
	ScoreExpectedPrefix    = "expected_purchases_" // + horizon in days + "d"
	ScoreExpectedAOV       = "expected_aov"        // Gamma-Gamma expected value of one future order
	ScoreCLV               = "clv"                 // discounted value of the next CLVMonths months
	ScoreCLVCalibrationEnd = "clv_calibration_end" // last day of the orders the models were fitted on
)

// MinRepeatCustomers is the fewest customers with a repeat purchase a
// workspace needs before its CLV models are fitted: below it the maximum of
// the likelihood is mostly noise, and scores that look precise would not be.
const MinRepeatCustomers = 10

// ExpectedPurchasesName is the score name of the expected purchases over the
// next days days.
func ExpectedPurchasesName(days int) string {
	return ScoreExpectedPrefix + strconv.Itoa(days) + "d"
}

// clvSummarySQL (DuckDB) reduces the revenue orders of live profiles placed
// before the as-of instant to the models' per-customer summary, with the
// definitions of clv.Summarize: orders of one UTC day are one purchase whose
// value is their total; x = purchase days after the first; span = days from
// the first to the last purchase day; age = days from the first purchase day
// to the calibration end day (inclusive); repeat_total = Σ of the day totals
// after the first day. Revenue orders, guests and merge chains as in
// traits.IndicatorsSQL. A test checks it against clv.Summarize.
//
// Parameters: 1 the as-of instant (TIMESTAMP, orders at or after it are
// ignored), 2 the calibration end day (DATE).
const clvSummarySQL = `
WITH RECURSIVE
chain(id, root) AS (
	SELECT id, id FROM profiles WHERE merged_into IS NULL
	UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id),
days AS (
	SELECT c.root AS profile_id, CAST(o.ordered_at AS DATE) AS day, sum(coalesce(o.total, 0)) AS amount
	FROM orders o JOIN chain c ON c.id = o.profile_id
	WHERE o.status NOT IN ('cancelled', 'refunded', 'returned') AND o.ordered_at < CAST(? AS TIMESTAMP)
	GROUP BY ALL)
SELECT profile_id, count(*) - 1 AS x,
       date_diff('day', min(day), max(day)) AS span_days,
       date_diff('day', min(day), CAST(? AS DATE)) AS age_days,
       sum(amount) - arg_min(amount, day) AS repeat_total
FROM days GROUP BY profile_id ORDER BY profile_id`

// CalibrationEnd is the last whole day of orders counted as of asOf: the day
// before asOf when asOf is a midnight (UTC), else asOf's own day.
func CalibrationEnd(asOf time.Time) time.Time {
	d := asOf.UTC().Add(-time.Nanosecond)
	y, m, day := d.Date()
	return time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
}

// CLVSummaries returns the weekly clv.Summary of every live profile with a
// revenue order before asOf, sorted by profile id, and the calibration end
// day they are measured to.
func (d *DB) CLVSummaries(ctx context.Context, asOf time.Time) ([]clv.Summary, time.Time, error) {
	end := CalibrationEnd(asOf)
	rows, err := d.sql.QueryContext(ctx, clvSummarySQL, asOf.UTC(), end)
	if err != nil {
		return nil, end, fmt.Errorf("clv summaries: %w", err)
	}
	defer rows.Close()
	var out []clv.Summary
	for rows.Next() {
		var s clv.Summary
		var span, age int64
		var repeat float64
		if err := rows.Scan(&s.CustomerID, &s.Frequency, &span, &age, &repeat); err != nil {
			return nil, end, fmt.Errorf("clv summaries: %w", err)
		}
		// Same arithmetic as clv.Summarize (days / 7, mean of repeat days).
		s.Recency, s.T = float64(span)/7, float64(age)/7
		if s.Frequency > 0 {
			s.Monetary = repeat / float64(s.Frequency)
		}
		out = append(out, s)
	}
	return out, end, rows.Err()
}

// CLVRefresh reports what RefreshCLVScores did.
type CLVRefresh struct {
	CalibrationEnd string     `json:"calibration_end"` // YYYY-MM-DD
	Customers      int        `json:"customers"`       // profiles summarised
	Scored         int        `json:"profiles"`        // profiles that got scores
	PurchaseDays   int        `json:"purchase_days"`
	CLVMonths      int        `json:"clv_months"`
	Discount       float64    `json:"monthly_discount"`
	FittedAt       time.Time  `json:"fitted_at"`
	Skipped        string     `json:"skipped,omitempty"` // why nothing was written, when so
	Report         clv.Report `json:"report"`
}

// RefreshCLVScores fits BG/NBD and Gamma-Gamma on the revenue orders placed
// before asOf and replaces every profile's CLV scores (p_alive, churn_risk,
// expected_purchases_Nd, expected_aov, clv, clv_calibration_end) in one
// transaction, stamped with the fit time. When the models cannot be fitted
// (no orders, fewer than MinRepeatCustomers repeat customers, a fit that did
// not converge) the previous scores are removed, since they describe a model
// that no longer holds, and Skipped says why; that is not an error.
func (d *DB) RefreshCLVScores(ctx context.Context, asOf time.Time, o clv.ScoreOptions) (CLVRefresh, error) {
	o = o.WithDefaults()
	if err := checkCLVOptions(o); err != nil {
		return CLVRefresh{}, fmt.Errorf("clv scores: %w", err)
	}
	sums, end, err := d.CLVSummaries(ctx, asOf)
	if err != nil {
		return CLVRefresh{}, err
	}
	res := CLVRefresh{
		CalibrationEnd: end.Format(time.DateOnly), Customers: len(sums), PurchaseDays: o.PurchaseDays,
		CLVMonths: o.CLV.Months, Discount: o.CLV.MonthlyDiscount, FittedAt: time.Now().UTC(),
	}
	var scores []clv.CustomerScore
	var models clv.Models
	repeat := 0
	for i := range sums {
		if sums[i].Frequency > 0 {
			repeat++
		}
	}
	switch {
	case len(sums) == 0:
		res.Skipped = "no revenue orders before the as-of date"
	case repeat < MinRepeatCustomers:
		res.Skipped = fmt.Sprintf("%d customers with a repeat purchase, fewer than the %d the models need", repeat, MinRepeatCustomers)
	default:
		models, err = clv.FitModels(sums, end, clv.FitOptions{})
		switch {
		case errors.Is(err, clv.ErrNoRepeatPurchases):
			res.Skipped = "no customer has a repeat purchase with a positive value"
		case err != nil:
			return CLVRefresh{}, fmt.Errorf("clv scores: %w", err)
		case !models.Report.Models[0].Converged:
			res.Skipped = "the BG/NBD fit did not converge"
		default:
			res.Report, res.FittedAt = models.Report, time.Now().UTC()
			scores = clv.ScoreCustomers(models, sums, o)
			if !models.Report.Models[1].Converged {
				// The spend model is unusable; purchase scores still hold.
				for i := range scores {
					scores[i].HasValue = false
				}
			}
		}
	}
	if res.Skipped != "" {
		res.Report = clv.Report{}
	}
	err = d.inTx(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `DELETE FROM profile_scores WHERE name IN (?, ?, ?, ?, ?) OR starts_with(name, ?)`,
			ScorePAlive, ScoreChurnRisk, ScoreExpectedAOV, ScoreCLV, ScoreCLVCalibrationEnd, ScoreExpectedPrefix); err != nil {
			return fmt.Errorf("clear clv scores: %w", err)
		}
		rows := clvRows(scores, o.PurchaseDays, res.CalibrationEnd)
		if len(rows) == 0 {
			return nil
		}
		return appendRows(conn, "profile_scores", len(rows), func(i int) []driver.Value {
			r := rows[i]
			return []driver.Value{r.profile, r.name, r.value, res.FittedAt}
		})
	})
	if err != nil {
		return CLVRefresh{}, err
	}
	res.Scored = len(scores)
	return res, nil
}

// Counts is the number of profiles scored, for `atrium scores run`'s summary.
func (r CLVRefresh) Counts() map[string]int64 { return map[string]int64{"clv": int64(r.Scored)} }

// clvSettingsKey holds the workspace's CLV horizons (docs/scores-clv.md):
// {"purchase_days": 90, "clv_months": 12, "monthly_discount": 0.01}, every
// field optional.
const clvSettingsKey = "scores.clv"

// CLVOptions reads the workspace's CLV horizons from the scores.clv setting;
// the defaults when it is absent. A setting that does not parse, has unknown
// fields or values out of range is an error naming it.
func (d *DB) CLVOptions(ctx context.Context) (clv.ScoreOptions, error) {
	raw, err := d.Setting(ctx, clvSettingsKey)
	if errors.Is(err, store.ErrNotFound) {
		return clv.ScoreOptions{}.WithDefaults(), nil
	}
	if err != nil {
		return clv.ScoreOptions{}, err
	}
	return ParseCLVOptions([]byte(raw))
}

// ParseCLVOptions parses and checks a scores.clv setting.
func ParseCLVOptions(raw []byte) (clv.ScoreOptions, error) {
	var v struct {
		PurchaseDays    *int     `json:"purchase_days"`
		CLVMonths       *int     `json:"clv_months"`
		MonthlyDiscount *float64 `json:"monthly_discount"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return clv.ScoreOptions{}, fmt.Errorf("setting %s: %w", clvSettingsKey, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return clv.ScoreOptions{}, fmt.Errorf("setting %s: data after the JSON object", clvSettingsKey)
	}
	o := clv.ScoreOptions{}.WithDefaults()
	if v.PurchaseDays != nil {
		o.PurchaseDays = *v.PurchaseDays
	}
	if v.CLVMonths != nil {
		o.CLV.Months = *v.CLVMonths
	}
	if v.MonthlyDiscount != nil {
		o.CLV.MonthlyDiscount = *v.MonthlyDiscount
	}
	if err := checkCLVOptions(o); err != nil {
		return clv.ScoreOptions{}, fmt.Errorf("setting %s: %w", clvSettingsKey, err)
	}
	return o, nil
}

func checkCLVOptions(o clv.ScoreOptions) error {
	switch {
	case o.PurchaseDays < 1 || o.PurchaseDays > 3650:
		return fmt.Errorf("purchase_days %d: want 1…3650", o.PurchaseDays)
	case o.CLV.Months < 1 || o.CLV.Months > 120:
		return fmt.Errorf("clv_months %d: want 1…120", o.CLV.Months)
	case !(o.CLV.MonthlyDiscount >= 0 && o.CLV.MonthlyDiscount < 1):
		return fmt.Errorf("monthly_discount %g: want 0 ≤ d < 1", o.CLV.MonthlyDiscount)
	}
	return nil
}

// RunCLVScores is the "clv" step of `atrium scores run`: RefreshCLVScores
// with the workspace's horizons, as of asOf (zero: now).
func (d *DB) RunCLVScores(ctx context.Context, asOf time.Time) (CLVRefresh, error) {
	if asOf.IsZero() {
		asOf = time.Now()
	}
	o, err := d.CLVOptions(ctx)
	if err != nil {
		return CLVRefresh{}, err
	}
	return d.RefreshCLVScores(ctx, asOf, o)
}

type scoreRow struct{ profile, name, value string }

// clvRows lays the scores out as profile_scores rows with JSON values:
// probabilities and purchase counts to 4 decimals, money to 2.
func clvRows(scores []clv.CustomerScore, days int, end string) []scoreRow {
	expected := ExpectedPurchasesName(days)
	endJSON := strconv.Quote(end)
	out := make([]scoreRow, 0, len(scores)*6)
	for _, s := range scores {
		if s.HasPAlive {
			out = append(out, scoreRow{s.CustomerID, ScorePAlive, jsonNum(s.PAlive, 4)},
				scoreRow{s.CustomerID, ScoreChurnRisk, jsonNum(s.ChurnRisk, 4)})
		}
		out = append(out, scoreRow{s.CustomerID, expected, jsonNum(s.ExpectedPurchases, 4)})
		if s.HasValue {
			out = append(out, scoreRow{s.CustomerID, ScoreExpectedAOV, jsonNum(s.ExpectedValue, 2)},
				scoreRow{s.CustomerID, ScoreCLV, jsonNum(s.CLV, 2)})
		}
		out = append(out, scoreRow{s.CustomerID, ScoreCLVCalibrationEnd, endJSON})
	}
	return out
}

// jsonNum renders v rounded to digits decimals as a JSON number; a value
// that is not finite (which the models do not produce for valid summaries)
// becomes null rather than invalid JSON.
func jsonNum(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "null"
	}
	p := math.Pow(10, float64(digits))
	r := math.Round(v*p) / p
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

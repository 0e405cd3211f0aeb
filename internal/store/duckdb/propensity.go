package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/atrium-cdp/atrium/internal/traits/clv"
	"github.com/atrium-cdp/atrium/internal/traits/propensity"
)

// PropensityExamples returns the propensity features of every live profile
// with a revenue order before cutoff, labelled by a revenue order in
// [cutoff, labelEnd), ordered by profile id (propensity.FeaturesSQL).
func (d *DB) PropensityExamples(ctx context.Context, cutoff, labelEnd time.Time) ([]propensity.Example, error) {
	rows, err := d.sql.QueryContext(ctx, propensity.FeaturesSQL, cutoff.UTC(), labelEnd.UTC())
	if err != nil {
		return nil, fmt.Errorf("propensity features: %w", err)
	}
	defer rows.Close()
	var out []propensity.Example
	dest := make([]any, 2+propensity.NumFeatures)
	for rows.Next() {
		var e propensity.Example
		dest[0] = &e.ProfileID
		for j := range propensity.NumFeatures {
			dest[1+j] = &e.Features[j]
		}
		dest[1+propensity.NumFeatures] = &e.Label
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("propensity features: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("propensity features: %w", err)
	}
	return out, nil
}

// PropensitySpan returns how many revenue orders live profiles have and the
// first and last order time (zero times when there are none).
func (d *DB) PropensitySpan(ctx context.Context) (propensity.Span, error) {
	var s propensity.Span
	var first, last sql.NullTime
	if err := d.sql.QueryRowContext(ctx, propensity.SpanSQL).Scan(&s.Orders, &first, &last); err != nil {
		return s, fmt.Errorf("order history span: %w", err)
	}
	s.First, s.Last = first.Time.UTC(), last.Time.UTC()
	return s, nil
}

// PropensityTransactions returns the revenue orders of live profiles placed
// before the instant, with the live profile id as customer.
func (d *DB) PropensityTransactions(ctx context.Context, before time.Time) ([]clv.Transaction, error) {
	ps, err := d.Purchases(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]clv.Transaction, 0, len(ps))
	for _, p := range ps {
		if p.At.Before(before) {
			out = append(out, clv.Transaction{CustomerID: p.ProfileID, Time: p.At, Amount: p.Amount})
		}
	}
	return out, nil
}

// ReplacePropensityScores replaces every stored purchase_propensity score by
// the given ones in one transaction: readers see the old set or the new one,
// and a profile left out of the new set loses its stale score.
func (d *DB) ReplacePropensityScores(ctx context.Context, scores []propensity.ProfileScore, computedAt time.Time) error {
	return d.inTx(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `DELETE FROM profile_scores WHERE name = ?`, propensity.ScoreName); err != nil {
			return fmt.Errorf("clear propensity scores: %w", err)
		}
		// The appender, not one INSERT per profile: on a million profiles
		// the round trips would dominate the refresh.
		at := computedAt.UTC()
		return appendRows(conn, "profile_scores", len(scores), func(i int) []driver.Value {
			return []driver.Value{scores[i].ProfileID, propensity.ScoreName, string(scores[i].Value), at}
		})
	})
}

package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/traits"
)

// RefreshIndicators recomputes the built-in commerce indicators and RFM scores
// of every live profile as of asOf (orders at or after it are ignored) and
// replaces the previous values in one transaction: readers see either the
// old set or the new one. It returns how many profiles got indicators.
func (d *DB) RefreshIndicators(ctx context.Context, asOf time.Time) (profiles int, err error) {
	names := traits.IndicatorNames
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	del := `DELETE FROM profile_scores WHERE name IN (?` + strings.Repeat(", ?", len(names)-1) + `)`
	now := time.Now().UTC()
	err = d.inTx(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, del, args...); err != nil {
			return fmt.Errorf("clear indicators: %w", err)
		}
		ins := `INSERT INTO profile_scores (profile_id, name, value, computed_at) ` + traits.IndicatorsSQL
		if _, err := conn.ExecContext(ctx, ins, asOf.UTC(), now); err != nil {
			return fmt.Errorf("compute indicators: %w", err)
		}
		return conn.QueryRowContext(ctx, `SELECT count(*) FROM profile_scores WHERE name = ?`, traits.OrderCount).Scan(&profiles)
	})
	if err != nil {
		return 0, err
	}
	return profiles, nil
}

// ProfileScores returns the computed traits and scores of one profile by
// name; an empty map when it has none. Callers resolve merges first (scores
// are kept on live profiles only).
func (d *DB) ProfileScores(ctx context.Context, profileID string) (map[string]store.ScoreValue, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT name, value, computed_at FROM profile_scores WHERE profile_id = ?`, profileID)
	if err != nil {
		return nil, fmt.Errorf("read scores: %w", err)
	}
	defer rows.Close()
	out := map[string]store.ScoreValue{}
	for rows.Next() {
		var name, value string
		var v store.ScoreValue
		if err := rows.Scan(&name, &value, &v.ComputedAt); err != nil {
			return nil, fmt.Errorf("read scores: %w", err)
		}
		v.Value = []byte(value)
		v.ComputedAt = v.ComputedAt.UTC()
		out[name] = v
	}
	return out, rows.Err()
}

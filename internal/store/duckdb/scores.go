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
//
// The new rows are merged into the stored ones (mergeIndicatorsSQL) rather
// than the old ones deleted and the new inserted: a row whose key is already
// there is updated in place, which leaves profile_scores' primary-key index
// alone, where deleting 17 million keys and inserting them again under that
// index took four times as long (docs/benchmarks.md, "Scores"). Rows of
// other names (CLV, propensity, computed traits, …) are not touched.
func (d *DB) RefreshIndicators(ctx context.Context, asOf time.Time) (profiles int, err error) {
	now := time.Now().UTC()
	err = d.inTx(ctx, func(conn *sql.Conn) error {
		var stored bool
		if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM profile_scores WHERE name = ?)`, traits.OrderCount).Scan(&stored); err != nil {
			return fmt.Errorf("read indicators: %w", err)
		}
		q := mergeIndicatorsSQL
		if !stored {
			q = strings.Replace(q, "/*order*/", "ORDER BY profile_id, name", 1)
		}
		if _, err := conn.ExecContext(ctx, q, asOf.UTC(), now); err != nil {
			return fmt.Errorf("compute indicators: %w", err)
		}
		return conn.QueryRowContext(ctx, `SELECT count(*) FROM profile_scores WHERE name = ?`, traits.OrderCount).Scan(&profiles)
	})
	if err != nil {
		return 0, err
	}
	return profiles, nil
}

// mergeIndicatorsSQL makes the indicator rows of profile_scores those of
// traits.IndicatorsSQL (parameters: the as-of instant, computed_at): a key in
// both gets the new value and stamp, a new key is inserted, and an indicator
// row the batch no longer gives (a profile merged away, an indicator that
// became undefined) is deleted.
//
// The first batch of a workspace replaces /*order*/ with an ORDER BY, so that
// its rows go in in profile order: a profile's rows then share a row group
// and a lookup by profile (the one-profile refresh, a profile's page) skips
// the other row groups by their min/max profile id (DuckDB does not use the
// two-column key's index for it). Later batches update those rows where they
// are; sorting again only cost time (it made a second batch about twice as
// slow on 200,000 profiles).
var mergeIndicatorsSQL = `
MERGE INTO profile_scores s
USING (SELECT * FROM (` + traits.IndicatorsSQL + `) AS i(profile_id, name, value, computed_at) /*order*/) AS n
ON s.profile_id = n.profile_id AND s.name = n.name
WHEN MATCHED THEN UPDATE SET value = n.value, computed_at = n.computed_at
WHEN NOT MATCHED THEN INSERT (profile_id, name, value, computed_at) VALUES (n.profile_id, n.name, n.value, n.computed_at)
WHEN NOT MATCHED BY SOURCE AND s.name IN ('` + strings.Join(traits.IndicatorNames, "', '") + `') THEN DELETE`

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

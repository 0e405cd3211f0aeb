package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/traits/computed"
)

// SQL of the computed traits store (definitions in computed_traits, values in
// profile_scores under the definition's name).
const (
	computedListSQL = `SELECT name, definition, created_at, updated_at, refreshed_at, profiles
		FROM computed_traits ORDER BY name`
	computedGetSQL = `SELECT name, definition, created_at, updated_at, refreshed_at, profiles
		FROM computed_traits WHERE name = ?`
	// computedClashSQL counts the rows another score (an indicator, RFM,
	// another helper's model) keeps under a name.
	computedClashSQL = `SELECT count(*) FROM profile_scores
		WHERE name = ? AND name NOT IN (SELECT name FROM computed_traits)`
	computedDeleteDefSQL = `DELETE FROM computed_traits WHERE name = ?`
	computedInsertDefSQL = `INSERT INTO computed_traits (name, definition, created_at, updated_at, refreshed_at, profiles) VALUES (?, ?, ?, ?, ?, ?)`
	computedMarkSQL      = `UPDATE computed_traits SET refreshed_at = ?, profiles = ? WHERE name = ?`
	computedClearSQL     = `DELETE FROM profile_scores WHERE name = ?`
	// computedRootsSQL follows merged_into from each touched profile to the
	// live root of its chain.
	computedRootsSQL = `WITH RECURSIVE up(cur) AS (
			SELECT id FROM profiles WHERE id IN (SELECT unnest(CAST(? AS VARCHAR[])))
			UNION SELECT p.merged_into FROM up JOIN profiles p ON p.id = up.cur WHERE p.merged_into IS NOT NULL)
		SELECT DISTINCT up.cur FROM up JOIN profiles p ON p.id = up.cur WHERE p.merged_into IS NULL ORDER BY 1`
)

// ComputedTraits lists the computed trait definitions by name.
func (d *DB) ComputedTraits(ctx context.Context) ([]computed.Stored, error) {
	rows, err := d.sql.QueryContext(ctx, computedListSQL)
	if err != nil {
		return nil, fmt.Errorf("read computed traits: %w", err)
	}
	defer rows.Close()
	var out []computed.Stored
	for rows.Next() {
		s, err := scanComputed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ComputedTrait returns one definition, or store.ErrNotFound.
func (d *DB) ComputedTrait(ctx context.Context, name string) (computed.Stored, error) {
	s, err := scanComputed(d.sql.QueryRowContext(ctx, computedGetSQL, name))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("computed trait %q: %w", name, store.ErrNotFound)
	}
	return s, err
}

func scanComputed(r interface{ Scan(...any) error }) (computed.Stored, error) {
	var s computed.Stored
	var name, def string
	var refreshed sql.NullTime
	if err := r.Scan(&name, &def, &s.CreatedAt, &s.UpdatedAt, &refreshed, &s.Profiles); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return s, err
		}
		return s, fmt.Errorf("read computed trait: %w", err)
	}
	d, err := computed.UnmarshalDefinition([]byte(def))
	if err != nil {
		return s, fmt.Errorf("computed trait %q: %w", name, err)
	}
	s.Definition = d
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	if refreshed.Valid {
		t := refreshed.Time.UTC()
		s.RefreshedAt = &t
	}
	return s, nil
}

// SaveComputedTraits upserts definitions and replaces their values for every
// live profile, all in one transaction. It returns store.ErrConflict when a
// name holds another score's values.
func (d *DB) SaveComputedTraits(ctx context.Context, defs []computed.Definition, qs []computed.Query, asOf, now time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	err := d.inTx(ctx, func(conn *sql.Conn) error {
		for i, def := range defs {
			var clash int
			if err := conn.QueryRowContext(ctx, computedClashSQL, def.Name).Scan(&clash); err != nil {
				return fmt.Errorf("check name %s: %w", def.Name, err)
			}
			if clash > 0 {
				return fmt.Errorf("computed trait %q: the name is used by another score: %w", def.Name, store.ErrConflict)
			}
			created := now.UTC()
			var old time.Time
			err := conn.QueryRowContext(ctx, `SELECT created_at FROM computed_traits WHERE name = ?`, def.Name).Scan(&old)
			switch {
			case err == nil:
				created = old
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("read computed trait %s: %w", def.Name, err)
			}
			n, err := replaceValues(ctx, conn, qs[i], nil, asOf, now)
			if err != nil {
				return err
			}
			out[def.Name] = n
			if _, err := conn.ExecContext(ctx, computedDeleteDefSQL, def.Name); err != nil {
				return fmt.Errorf("save computed trait %s: %w", def.Name, err)
			}
			if _, err := conn.ExecContext(ctx, computedInsertDefSQL, def.Name, string(computed.MarshalDefinition(def)),
				created, now.UTC(), now.UTC(), n); err != nil {
				return fmt.Errorf("save computed trait %s: %w", def.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteComputedTrait removes a definition and its values in one
// transaction, or returns store.ErrNotFound.
func (d *DB) DeleteComputedTrait(ctx context.Context, name string) error {
	return d.inTx(ctx, func(conn *sql.Conn) error {
		res, err := conn.ExecContext(ctx, computedDeleteDefSQL, name)
		if err != nil {
			return fmt.Errorf("delete computed trait: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("computed trait %q: %w", name, store.ErrNotFound)
		}
		if _, err := conn.ExecContext(ctx, computedClearSQL, name); err != nil {
			return fmt.Errorf("delete computed trait values: %w", err)
		}
		return nil
	})
}

// RefreshComputedTraits replaces the values of qs's traits in one
// transaction. touched nil: every profile (batch; the definitions record the
// refresh). Otherwise only the touched profiles' rows are replaced, with
// values computed for the live roots of their merge chains (incremental).
// It returns, per trait, how many profiles got a value.
func (d *DB) RefreshComputedTraits(ctx context.Context, qs []computed.Query, touched []string, asOf, now time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	err := d.inTx(ctx, func(conn *sql.Conn) error {
		var roots []string
		if touched != nil {
			var err error
			if roots, err = liveRoots(ctx, conn, touched); err != nil {
				return err
			}
		}
		for _, q := range qs {
			if touched == nil && q.Scoped() || touched != nil && !q.Scoped() {
				return fmt.Errorf("computed trait %s: compiled for the wrong refresh mode", q.Name)
			}
			var clear []string
			if touched != nil {
				clear = append(append(clear, touched...), roots...)
			}
			n, err := replaceValues(ctx, conn, q, clear, asOf, now)
			if err != nil {
				return err
			}
			out[q.Name] = n
			if touched == nil {
				if _, err := conn.ExecContext(ctx, computedMarkSQL, now.UTC(), n, q.Name); err != nil {
					return fmt.Errorf("record refresh of %s: %w", q.Name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// replaceValues makes a trait's rows (all of them when clear is nil, else
// those of the listed profiles) equal to q's values. The new values are
// computed into a temporary table first, then rows without a value are
// deleted, existing ones updated in place and new ones inserted: deleting
// and re-inserting the same primary keys in one transaction costs DuckDB's
// index far more (10× on 100,000 profiles with four traits) than updating
// the value columns.
func replaceValues(ctx context.Context, conn *sql.Conn, q computed.Query, clear []string, asOf, now time.Time) (int64, error) {
	var scope []string
	if clear != nil {
		scope = clear
	}
	if _, err := conn.ExecContext(ctx, computedStageSQL+q.SQL, q.Bind(asOf, scope)...); err != nil {
		return 0, fmt.Errorf("compute %s: %w", q.Name, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), computedUnstageSQL) //nolint:errcheck // a temporary table
	var err error
	if clear == nil {
		_, err = conn.ExecContext(ctx, computedDropGoneSQL, q.Name)
	} else {
		_, err = conn.ExecContext(ctx, computedDropGoneSomeSQL, q.Name, clear)
	}
	if err != nil {
		return 0, fmt.Errorf("clear %s: %w", q.Name, err)
	}
	if _, err := conn.ExecContext(ctx, computedUpdateSQL, now.UTC(), q.Name); err != nil {
		return 0, fmt.Errorf("update %s: %w", q.Name, err)
	}
	if _, err := conn.ExecContext(ctx, computedInsertNewSQL, q.Name, now.UTC(), q.Name); err != nil {
		return 0, fmt.Errorf("insert %s: %w", q.Name, err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM computed_stage`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", q.Name, err)
	}
	return n, nil
}

// Statements of replaceValues, over the temporary table computed_stage
// (profile_id, value) of the writer connection.
const (
	computedStageSQL    = `CREATE OR REPLACE TEMP TABLE computed_stage AS `
	computedUnstageSQL  = `DROP TABLE IF EXISTS computed_stage`
	computedDropGoneSQL = `DELETE FROM profile_scores WHERE name = ?
		AND profile_id NOT IN (SELECT profile_id FROM computed_stage)`
	computedDropGoneSomeSQL = `DELETE FROM profile_scores WHERE name = ?
		AND profile_id IN (SELECT unnest(CAST(? AS VARCHAR[]))) AND profile_id NOT IN (SELECT profile_id FROM computed_stage)`
	computedUpdateSQL = `UPDATE profile_scores SET value = n.value, computed_at = ?
		FROM computed_stage n WHERE profile_scores.name = ? AND profile_scores.profile_id = n.profile_id`
	computedInsertNewSQL = `INSERT INTO profile_scores (profile_id, name, value, computed_at)
		SELECT n.profile_id, ?, n.value, ? FROM computed_stage n
		WHERE n.profile_id NOT IN (SELECT profile_id FROM profile_scores WHERE name = ?)`
)

// liveRoots returns the live profiles at the end of the touched profiles'
// merge chains (a live touched profile is its own root).
func liveRoots(ctx context.Context, conn *sql.Conn, touched []string) ([]string, error) {
	return queryStrings(ctx, conn, "resolve touched profiles", computedRootsSQL, touched)
}

// computedOrderProfilesSQL lists the profiles some orders of a source
// belong to.
const computedOrderProfilesSQL = `SELECT DISTINCT profile_id FROM orders
	WHERE source_id = ? AND order_id IN (SELECT unnest(CAST(? AS VARCHAR[]))) AND profile_id IS NOT NULL ORDER BY 1`

// OrderProfiles returns the profiles the named orders of a source belong to
// (before an import replaces them, so that both their old and new profiles
// are refreshed).
func (d *DB) OrderProfiles(ctx context.Context, sourceID string, orderIDs []string) ([]string, error) {
	if len(orderIDs) == 0 {
		return nil, nil
	}
	return queryStrings(ctx, d.sql, "read order profiles", computedOrderProfilesSQL, sourceID, orderIDs)
}

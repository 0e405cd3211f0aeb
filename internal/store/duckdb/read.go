package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// clusterCTE lists a profile and every profile merged into it, transitively.
const clusterCTE = `WITH RECURSIVE cluster(id) AS (
	SELECT CAST(? AS VARCHAR)
	UNION SELECT p.id FROM profiles p JOIN cluster c ON p.merged_into = c.id)`

// Survivor follows merged_into from id to the live profile. It returns
// store.ErrNotFound for an unknown id.
func (d *DB) Survivor(ctx context.Context, id string) (string, error) {
	cur := id
	for i := 0; i < 64; i++ { // a merge chain longer than this is a bug, not data
		var next sql.NullString
		err := d.sql.QueryRowContext(ctx, `SELECT merged_into FROM profiles WHERE id = ?`, cur).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("profile %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return "", fmt.Errorf("read profile: %w", err)
		}
		if !next.Valid || next.String == "" {
			return cur, nil
		}
		cur = next.String
	}
	return "", fmt.Errorf("profile %q: merge chain too long", id)
}

// Lookup returns the profile an identifier belongs to (before following merges),
// or store.ErrNotFound.
func (d *DB) Lookup(ctx context.Context, idType, value string) (string, error) {
	var pid string
	err := d.sql.QueryRowContext(ctx, `SELECT profile_id FROM identities WHERE type = ? AND value = ?`, idType, value).Scan(&pid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("identity: %w", store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("lookup identity: %w", err)
	}
	return pid, nil
}

// Profile reads a live profile with its identities and consent state.
// It returns store.ErrNotFound for an unknown id; callers resolve merges first.
func (d *DB) Profile(ctx context.Context, id string) (store.ProfileView, error) {
	var v store.ProfileView
	var traits, meta, norm string
	err := d.sql.QueryRowContext(ctx, `SELECT id, identified, traits, trait_meta, normalized, created_at, updated_at FROM profiles WHERE id = ?`, id).
		Scan(&v.ID, &v.Identified, &traits, &meta, &norm, &v.CreatedAt, &v.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("profile %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("read profile: %w", err)
	}
	v.Traits, v.TraitMeta, v.Normalized = json.RawMessage(traits), json.RawMessage(meta), json.RawMessage(norm)
	rows, err := d.sql.QueryContext(ctx, `SELECT type, value, display FROM identities WHERE profile_id = ? ORDER BY type, first_seen_at, value`, id)
	if err != nil {
		return v, fmt.Errorf("read identities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i model.Identifier
		if err := rows.Scan(&i.Type, &i.Value, &i.Display); err != nil {
			return v, err
		}
		v.Identities = append(v.Identities, i)
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	cluster, err := d.cluster(ctx, id)
	if err != nil {
		return v, err
	}
	for _, c := range cluster {
		if c != id {
			v.MergedIDs = append(v.MergedIDs, c)
		}
	}
	states, err := d.LatestConsents(ctx, cluster)
	if err != nil {
		return v, err
	}
	v.Consents = currentConsents(states)
	return v, nil
}

// currentConsents folds the per-profile states of a cluster into one state per
// purpose: the most recent decision wins.
func currentConsents(states map[string]map[string]store.ConsentState) []store.ConsentState {
	best := map[string]store.ConsentState{}
	for _, byPurpose := range states {
		for p, s := range byPurpose {
			if cur, ok := best[p]; !ok || s.At.After(cur.At) {
				best[p] = s
			}
		}
	}
	out := make([]store.ConsentState, 0, len(best))
	for _, s := range best {
		out = append(out, s)
	}
	sortConsents(out)
	return out
}

func (d *DB) cluster(ctx context.Context, id string) ([]string, error) {
	return queryStrings(ctx, d.sql, "read merged profiles", clusterCTE+` SELECT id FROM cluster ORDER BY id`, id)
}

// querier is what queryStrings reads through: the pool or one connection.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// queryStrings runs a query of one text column and returns its values; what
// names the read in errors.
func queryStrings(ctx context.Context, q querier, what, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ProfileEvents lists the events of a profile and of every profile merged into
// it, newest first, strictly before the cursor when one is given.
func (d *DB) ProfileEvents(ctx context.Context, profileID string, limit int, before *store.EventCursor) ([]store.EventView, error) {
	q := clusterCTE + ` SELECT seq, profile_id, source_id, type, coalesce(event, ''), coalesce(name, ''), message_id,
		coalesce(user_id, ''), coalesce(anonymous_id, ''), timestamp, original_timestamp, received_at, skew_ms,
		coalesce(properties, '{}'), traits, context
		FROM events WHERE profile_id IN (SELECT id FROM cluster)`
	args := []any{profileID}
	if before != nil {
		q += ` AND (timestamp < ? OR (timestamp = ? AND seq < ?))`
		args = append(args, before.Timestamp.UTC(), before.Timestamp.UTC(), before.Seq)
	}
	q += ` ORDER BY timestamp DESC, seq DESC LIMIT ?`
	args = append(args, limit)
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	out := []store.EventView{}
	for rows.Next() {
		var e store.EventView
		var orig sql.NullTime
		var props string
		var traits, cctx sql.NullString
		if err := rows.Scan(&e.Seq, &e.ProfileID, &e.SourceID, &e.Type, &e.Event, &e.Name, &e.MessageID, &e.UserID, &e.AnonymousID,
			&e.Timestamp, &orig, &e.ReceivedAt, &e.SkewMillis, &props, &traits, &cctx); err != nil {
			return nil, err
		}
		e.Timestamp, e.ReceivedAt = e.Timestamp.UTC(), e.ReceivedAt.UTC()
		if orig.Valid {
			t := orig.Time.UTC()
			e.OriginalTimestamp = &t
		}
		e.Properties = json.RawMessage(props)
		if traits.Valid {
			e.Traits = json.RawMessage(traits.String)
		}
		if cctx.Valid {
			e.Context = json.RawMessage(cctx.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ProfileMerges lists the merges that touch the profile or a profile merged
// into it, newest first.
func (d *DB) ProfileMerges(ctx context.Context, profileID string) ([]model.Merge, error) {
	rows, err := d.sql.QueryContext(ctx, clusterCTE+` `+mergeSelect+`
		WHERE survivor_id IN (SELECT id FROM cluster) OR merged_id IN (SELECT id FROM cluster) OR merged_id = ?
		ORDER BY created_at DESC, id`, profileID, profileID)
	if err != nil {
		return nil, fmt.Errorf("read merges: %w", err)
	}
	ms, err := scanMerges(rows)
	if ms == nil {
		ms = []model.Merge{}
	}
	return ms, err
}

// Counts returns row counts of the main tables (for status and tests).
func (d *DB) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range []string{"events", "profiles", "identities", "merges", "consents", "sources"} {
		var n int64
		if err := d.sql.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		out[t] = n
	}
	var live int64
	if err := d.sql.QueryRowContext(ctx, `SELECT count(*) FROM profiles WHERE merged_into IS NULL`).Scan(&live); err != nil {
		return nil, err
	}
	out["live_profiles"] = live
	return out, nil
}

// IdentityTypes lists the identifier types in use, sorted.
func (d *DB) IdentityTypes(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, d.sql, "list identifier types", `SELECT DISTINCT type FROM identities ORDER BY type`)
}

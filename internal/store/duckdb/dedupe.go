package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

// Queries of probabilistic deduplication (package dedupe).
const (
	// matchProfilesSQL reads every live profile with what the matcher needs.
	matchProfilesSQL = `SELECT id, traits, normalized, created_at FROM profiles WHERE merged_into IS NULL ORDER BY created_at, id`
	// matchIdentitiesSQL reads the identifiers of live profiles.
	matchIdentitiesSQL = `SELECT i.profile_id, i.type, i.value FROM identities i
		JOIN profiles p ON p.id = i.profile_id AND p.merged_into IS NULL ORDER BY i.profile_id, i.type, i.value`
	// survivorLinksSQL reads every merge link (profile -> the profile it was merged into).
	survivorLinksSQL = `SELECT id, merged_into FROM profiles WHERE merged_into IS NOT NULL`
	// rejectedPairsSQL: pairs a person refused; never proposed again.
	rejectedPairsSQL = `SELECT profile_a, profile_b FROM dedupe_reviews WHERE status = 'rejected'`
	// undonePairsSQL: merges a person undid; never redone automatically.
	undonePairsSQL = `SELECT survivor_id, merged_id FROM merges WHERE undone_at IS NOT NULL`

	reviewColumns = `id, profile_a, profile_b, probability, weight, explanation, status, created_at, updated_at,
		coalesce(decided_by, ''), decided_at, coalesce(merge_id, '')`
	reviewByIDSQL   = `SELECT ` + reviewColumns + ` FROM dedupe_reviews WHERE id = ?`
	reviewsSQL      = `SELECT ` + reviewColumns + ` FROM dedupe_reviews WHERE (? = '' OR status = ?) ORDER BY probability DESC, created_at, id LIMIT ?`
	openReviewOfSQL = `SELECT id FROM dedupe_reviews WHERE status = 'open' AND profile_a = ? AND profile_b = ?`
	insertReviewSQL = `INSERT INTO dedupe_reviews (id, profile_a, profile_b, probability, weight, explanation, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)`
	refreshReviewSQL = `UPDATE dedupe_reviews SET probability = ?, weight = ?, explanation = ?, updated_at = ? WHERE id = ? AND status = 'open'`
	// decideReviewSQL moves an open review to its final status; a review
	// that is no longer open is left alone (the caller sees 0 rows).
	decideReviewSQL = `UPDATE dedupe_reviews SET status = ?, decided_by = ?, decided_at = ?, updated_at = ?, merge_id = ?
		WHERE id = ? AND status = 'open'`

	// eventTraitProfilesSQL maps the value of one trait of identify events
	// to the profile each event resolved to (evaluation: row -> profile).
	eventTraitProfilesSQL = `SELECT json_extract_string(traits, '$.' || ?), profile_id FROM events
		WHERE type = 'identify' AND traits IS NOT NULL AND profile_id IS NOT NULL AND json_extract_string(traits, '$.' || ?) IS NOT NULL`

	createdAtSQL = `SELECT id, created_at FROM profiles WHERE id IN (SELECT unnest(?::VARCHAR[]))`

	// lineageSQL reads a merge cluster (the profile and every profile
	// merged into it, transitively) with each member's source: its latest
	// event with traits, else its first identifier.
	lineageSQL = clusterCTE + ` SELECT p.id, coalesce(p.merged_into, ''), p.traits, p.trait_meta, p.normalized, p.created_at,
		coalesce((SELECT e.source_id FROM events e WHERE e.profile_id = p.id AND e.traits IS NOT NULL
			ORDER BY e.timestamp DESC, e.seq DESC LIMIT 1),
		(SELECT i.source_id FROM identities i WHERE i.profile_id = p.id ORDER BY i.first_seen_at, i.type, i.value LIMIT 1), '')
		FROM profiles p WHERE p.id IN (SELECT id FROM cluster) ORDER BY p.created_at, p.id`
)

// MatchProfiles reads every live profile with its identifiers.
func (d *DB) MatchProfiles(ctx context.Context) ([]store.MatchProfile, error) {
	rows, err := d.sql.QueryContext(ctx, matchProfilesSQL)
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	defer rows.Close()
	var out []store.MatchProfile
	index := map[string]int{}
	for rows.Next() {
		var p store.MatchProfile
		var traits, norm string
		if err := rows.Scan(&p.ID, &traits, &norm, &p.CreatedAt); err != nil {
			return nil, err
		}
		p.Traits, p.Normalized = json.RawMessage(traits), json.RawMessage(norm)
		p.CreatedAt = p.CreatedAt.UTC()
		index[p.ID] = len(out)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	irows, err := d.sql.QueryContext(ctx, matchIdentitiesSQL)
	if err != nil {
		return nil, fmt.Errorf("read identities: %w", err)
	}
	defer irows.Close()
	for irows.Next() {
		var pid, typ, val string
		if err := irows.Scan(&pid, &typ, &val); err != nil {
			return nil, err
		}
		i, ok := index[pid]
		if !ok {
			continue
		}
		if out[i].Identities == nil {
			out[i].Identities = map[string][]string{}
		}
		out[i].Identities[typ] = append(out[i].Identities[typ], val)
	}
	return out, irows.Err()
}

// MergeLinks returns, for every merged-away profile, the profile it was
// merged into (follow the links to reach the live survivor).
func (d *DB) MergeLinks(ctx context.Context) (map[string]string, error) {
	rows, err := d.sql.QueryContext(ctx, survivorLinksSQL)
	if err != nil {
		return nil, fmt.Errorf("read merge links: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, into string
		if err := rows.Scan(&id, &into); err != nil {
			return nil, err
		}
		out[id] = into
	}
	return out, rows.Err()
}

// RejectedPairs lists the pairs reviewers rejected.
func (d *DB) RejectedPairs(ctx context.Context) ([]store.ProfilePair, error) {
	return d.pairs(ctx, rejectedPairsSQL)
}

// UndonePairs lists the (survivor, merged) pairs of undone merges.
func (d *DB) UndonePairs(ctx context.Context) ([]store.ProfilePair, error) {
	return d.pairs(ctx, undonePairsSQL)
}

func (d *DB) pairs(ctx context.Context, q string) ([]store.ProfilePair, error) {
	rows, err := d.sql.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read pairs: %w", err)
	}
	defer rows.Close()
	var out []store.ProfilePair
	for rows.Next() {
		var p store.ProfilePair
		if err := rows.Scan(&p.A, &p.B); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProposeReview puts a pair in the review queue, or refreshes the
// probability and explanation of the open review of the same pair. It
// returns the review's id and whether it is new. r.ProfileA < r.ProfileB.
func (d *DB) ProposeReview(ctx context.Context, r store.DedupeReview) (string, bool, error) {
	if r.ProfileA >= r.ProfileB {
		return "", false, fmt.Errorf("propose review: profiles %q and %q out of order", r.ProfileA, r.ProfileB)
	}
	var id string
	err := d.sql.QueryRowContext(ctx, openReviewOfSQL, r.ProfileA, r.ProfileB).Scan(&id)
	switch {
	case err == nil:
		if _, err := d.sql.ExecContext(ctx, refreshReviewSQL, r.Probability, r.Weight, jsonOr(r.Explanation), r.UpdatedAt.UTC(), id); err != nil {
			return "", false, fmt.Errorf("refresh review %s: %w", id, err)
		}
		return id, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", false, fmt.Errorf("read review: %w", err)
	}
	if _, err := d.sql.ExecContext(ctx, insertReviewSQL, r.ID, r.ProfileA, r.ProfileB, r.Probability, r.Weight,
		jsonOr(r.Explanation), r.CreatedAt.UTC(), r.CreatedAt.UTC()); err != nil {
		return "", false, fmt.Errorf("insert review: %w", err)
	}
	return r.ID, true, nil
}

// Review reads one review, or store.ErrNotFound.
func (d *DB) Review(ctx context.Context, id string) (store.DedupeReview, error) {
	rows, err := d.sql.QueryContext(ctx, reviewByIDSQL, id)
	if err != nil {
		return store.DedupeReview{}, fmt.Errorf("read review: %w", err)
	}
	rs, err := scanReviews(rows)
	if err != nil {
		return store.DedupeReview{}, err
	}
	if len(rs) == 0 {
		return store.DedupeReview{}, fmt.Errorf("review %q: %w", id, store.ErrNotFound)
	}
	return rs[0], nil
}

// Reviews lists reviews of a status ("" for all), most probable first.
func (d *DB) Reviews(ctx context.Context, status string, limit int) ([]store.DedupeReview, error) {
	rows, err := d.sql.QueryContext(ctx, reviewsSQL, status, status, limit)
	if err != nil {
		return nil, fmt.Errorf("list reviews: %w", err)
	}
	return scanReviews(rows)
}

// DecideReview closes an open review as accepted or rejected. A review that
// is not open is store.ErrConflict; an unknown one store.ErrNotFound.
func (d *DB) DecideReview(ctx context.Context, id, status, actor, mergeID string, at time.Time) error {
	if status != store.ReviewAccepted && status != store.ReviewRejected {
		return fmt.Errorf("decide review: status %q", status)
	}
	res, err := d.sql.ExecContext(ctx, decideReviewSQL, status, actor, at.UTC(), at.UTC(), nullStr(mergeID), id)
	if err != nil {
		if strings.Contains(err.Error(), "Conflict on tuple") {
			// DuckDB's optimistic concurrency: another transaction updated
			// the row first and won.
			return fmt.Errorf("review %s is being decided by another request: %w", id, store.ErrConflict)
		}
		return fmt.Errorf("decide review %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	r, err := d.Review(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("review %s is already %s: %w", id, r.Status, store.ErrConflict)
}

func scanReviews(rows *sql.Rows) ([]store.DedupeReview, error) {
	defer rows.Close()
	out := []store.DedupeReview{}
	for rows.Next() {
		var r store.DedupeReview
		var expl string
		var decided sql.NullTime
		if err := rows.Scan(&r.ID, &r.ProfileA, &r.ProfileB, &r.Probability, &r.Weight, &expl, &r.Status,
			&r.CreatedAt, &r.UpdatedAt, &r.DecidedBy, &decided, &r.MergeID); err != nil {
			return nil, err
		}
		r.Explanation = json.RawMessage(expl)
		r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		if decided.Valid {
			t := decided.Time.UTC()
			r.DecidedAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Lineage reads the merge cluster of a live profile (itself first among
// equals; order is creation time) for survivorship. An unknown id is
// store.ErrNotFound.
func (d *DB) Lineage(ctx context.Context, profileID string) ([]store.LineageRow, error) {
	rows, err := d.sql.QueryContext(ctx, lineageSQL, profileID)
	if err != nil {
		return nil, fmt.Errorf("read lineage: %w", err)
	}
	defer rows.Close()
	var out []store.LineageRow
	for rows.Next() {
		var r store.LineageRow
		var traits, meta, norm string
		if err := rows.Scan(&r.ID, &r.MergedInto, &traits, &meta, &norm, &r.CreatedAt, &r.SourceID); err != nil {
			return nil, err
		}
		r.Traits, r.TraitMeta, r.Normalized = json.RawMessage(traits), json.RawMessage(meta), json.RawMessage(norm)
		r.CreatedAt = r.CreatedAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("profile %q: %w", profileID, store.ErrNotFound)
	}
	return out, nil
}

// CreatedAt returns the creation time of the given profiles (unknown ids are
// left out).
func (d *DB) CreatedAt(ctx context.Context, ids []string) (map[string]time.Time, error) {
	rows, err := d.sql.QueryContext(ctx, createdAtSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = at.UTC()
	}
	return out, rows.Err()
}

// EventTraitProfiles maps each value of the trait key (a plain name) sent in
// identify events to the profile the event resolved to at ingest.
func (d *DB) EventTraitProfiles(ctx context.Context, key string) (map[string]string, error) {
	for _, r := range key {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return nil, fmt.Errorf("event trait %q: want a plain lower-case name", key)
		}
	}
	rows, err := d.sql.QueryContext(ctx, eventTraitProfilesSQL, key, key)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var v, pid string
		if err := rows.Scan(&v, &pid); err != nil {
			return nil, err
		}
		out[v] = pid
	}
	return out, rows.Err()
}

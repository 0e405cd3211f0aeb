package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/atrium-cdp/atrium/internal/store"
)

// writerConn returns the one connection batches are written through. Only the
// ingest writer goroutine calls ApplyBatch, so no lock is needed beyond the
// pool's own.
func (d *DB) writerConn(ctx context.Context) (*sql.Conn, error) {
	return d.sql.Conn(ctx)
}

// ApplyBatch writes one group commit in one transaction: either every row of b
// is durable when it returns nil, or none is (a failed transaction is rolled
// back, and the caller answers every waiting request with an error, so
// nothing is acknowledged).
func (d *DB) ApplyBatch(ctx context.Context, b *store.Batch) error {
	if b.Empty() {
		return nil
	}
	return d.inTx(ctx, func(conn *sql.Conn) error { return applyRows(ctx, conn, b) })
}

// inTx runs fn in one transaction on the writer connection.
func (d *DB) inTx(ctx context.Context, fn func(conn *sql.Conn) error) (err error) {
	conn, err := d.writerConn(ctx)
	if err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err = fn(conn); err != nil {
		return err
	}
	if _, err = conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func applyRows(ctx context.Context, conn *sql.Conn, b *store.Batch) error {
	if len(b.NewProfiles) > 0 {
		if err := appendRows(conn, "profiles", len(b.NewProfiles), func(i int) []driver.Value {
			p := b.NewProfiles[i]
			return []driver.Value{p.ID, nullStr(p.MergedInto), p.Identified, jsonOr(p.Traits), jsonOr(p.TraitMeta), p.CreatedAt.UTC(), p.UpdatedAt.UTC(), jsonOr(p.Normalized)}
		}); err != nil {
			return err
		}
	}
	for _, p := range b.ProfileUpdates {
		if _, err := conn.ExecContext(ctx, `UPDATE profiles SET merged_into = ?, identified = ?, traits = ?, trait_meta = ?, normalized = ?, updated_at = ? WHERE id = ?`,
			nullStr(p.MergedInto), p.Identified, jsonOr(p.Traits), jsonOr(p.TraitMeta), jsonOr(p.Normalized), p.UpdatedAt.UTC(), p.ID); err != nil {
			return fmt.Errorf("update profile: %w", err)
		}
	}
	if len(b.NewIdentities) > 0 {
		if err := appendRows(conn, "identities", len(b.NewIdentities), func(i int) []driver.Value {
			r := b.NewIdentities[i]
			return []driver.Value{r.Type, r.Value, r.ProfileID, r.Display, r.SourceID, r.FirstSeenAt.UTC()}
		}); err != nil {
			return err
		}
	}
	for _, mv := range b.Moves {
		for _, id := range mv.Identifiers {
			if _, err := conn.ExecContext(ctx, `UPDATE identities SET profile_id = ? WHERE type = ? AND value = ?`, mv.ProfileID, id.Type, id.Value); err != nil {
				return fmt.Errorf("move identity: %w", err)
			}
		}
	}
	for _, m := range b.Merges {
		if _, err := conn.ExecContext(ctx, `INSERT INTO merges (id, survivor_id, merged_id, rule, evidence, message_id, actor, created_at, undo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.SurvivorID, m.MergedID, m.Rule, jsonOr(m.Evidence), nullStr(m.MessageID), m.Actor, m.CreatedAt.UTC(), jsonOr(m.Undo)); err != nil {
			return fmt.Errorf("insert merge: %w", err)
		}
	}
	for _, u := range b.UndoneMerges {
		if _, err := conn.ExecContext(ctx, `UPDATE merges SET undone_at = ? WHERE id = ?`, u.At.UTC(), u.ID); err != nil {
			return fmt.Errorf("mark merge undone: %w", err)
		}
	}
	if len(b.Consents) > 0 {
		if err := appendRows(conn, "consents", len(b.Consents), func(i int) []driver.Value {
			c := b.Consents[i]
			return []driver.Value{c.ID, c.ProfileID, c.Purpose, nullStr(c.Channel), string(c.Status), c.SourceID, nullStr(c.MessageID),
				nullStr(c.TextVer), jsonOr(c.Proof), c.OccurredAt.UTC(), c.RecordedAt.UTC(), c.PrevHash, c.Hash}
		}); err != nil {
			return err
		}
	}
	for _, g := range b.Groups {
		// Group traits merge like identify traits (a key with null clears it,
		// an absent key keeps it): replacing them made a group call without
		// traits, or with only some, erase what the account was known by.
		if _, err := conn.ExecContext(ctx, `INSERT INTO groups (group_id, traits, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (group_id) DO UPDATE SET traits = CAST(json_merge_patch(groups.traits, excluded.traits) AS VARCHAR),
				updated_at = greatest(groups.updated_at, excluded.updated_at)`,
			g.GroupID, jsonOr(g.Traits), g.At.UTC(), g.At.UTC()); err != nil {
			return fmt.Errorf("upsert group: %w", err)
		}
		if g.ProfileID == "" {
			continue
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO group_members (profile_id, group_id, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (profile_id, group_id) DO UPDATE SET first_seen_at = least(group_members.first_seen_at, excluded.first_seen_at),
				last_seen_at = greatest(group_members.last_seen_at, excluded.last_seen_at)`,
			g.ProfileID, g.GroupID, g.At.UTC(), g.At.UTC()); err != nil {
			return fmt.Errorf("upsert group member: %w", err)
		}
	}
	if len(b.Audit) > 0 {
		if err := appendRows(conn, "audit_log", len(b.Audit), func(i int) []driver.Value {
			a := b.Audit[i]
			return []driver.Value{a.ID, a.At.UTC(), a.Actor, a.Action, nullStr(a.ProfileID), jsonOr(a.Details)}
		}); err != nil {
			return err
		}
	}
	if len(b.Events) > 0 {
		if err := appendRows(conn, "events", len(b.Events), func(i int) []driver.Value {
			return eventValues(&b.Events[i])
		}); err != nil {
			return err
		}
	}
	return nil
}

// appendRows streams n rows into table through DuckDB's appender on conn,
// inside whatever transaction conn has open.
func appendRows(conn *sql.Conn, table string, n int, row func(i int) []driver.Value) error {
	return conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("append %s: unexpected driver connection %T", table, dc)
		}
		ap, err := duckdb.NewAppenderFromConn(dconn, "", table)
		if err != nil {
			return fmt.Errorf("append %s: %w", table, err)
		}
		for i := 0; i < n; i++ {
			if err := ap.AppendRow(row(i)...); err != nil {
				ap.Close()
				return fmt.Errorf("append %s row %d: %w", table, i, err)
			}
		}
		if err := ap.Close(); err != nil {
			return fmt.Errorf("append %s: %w", table, err)
		}
		return nil
	})
}

// eventValues lays an event out in the column order of the events table.
func eventValues(e *store.EventRow) []driver.Value {
	m := e.Msg
	return []driver.Value{
		e.Seq, nullStr(e.ProfileID), m.SourceID, m.MessageID, e.DedupHash, string(m.Type),
		nullStr(m.Event), nullStr(m.Name), nullStr(m.UserID), nullStr(m.AnonymousID), nullStr(m.GroupID), nullStr(m.PreviousID),
		m.Timestamp.UTC(), nullTime(m.OriginalTimestamp), nullTime(m.SentAt), m.ReceivedAt.UTC(), m.SkewMillis,
		jsonText(m.Properties), traitsText(m.Traits), jsonText(m.Context), jsonText(m.Integrations),
		nullStr(m.Page.URL), nullStr(m.Page.Path), nullStr(m.Page.Referrer), nullStr(m.Page.Title),
		nullStr(m.Campaign.Source), nullStr(m.Campaign.Medium), nullStr(m.Campaign.Name), nullStr(m.Campaign.Term), nullStr(m.Campaign.Content),
		nullStr(m.SessionID), nullStr(m.UserAgent), nullStr(m.IP), nullStr(m.Library), e.IsBot, "consented",
	}
}

func jsonOr(b []byte) any {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

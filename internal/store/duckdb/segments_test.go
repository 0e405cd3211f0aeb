package duckdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

func segmentsDB(t *testing.T) (*duckdb.DB, func(q string, args ...any)) {
	t.Helper()
	db, err := duckdb.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQL().Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db, exec
}

// ApplySegment with Only changes the candidates' and the gone profiles'
// rows and nobody else's, and numbers its changes in the feed.
func TestApplySegmentScope(t *testing.T) {
	ctx := context.Background()
	db, exec := segmentsDB(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := db.CreateSegment(ctx, store.SegmentRow{ID: "s", Name: "s", Rule: "r", RuleJSON: []byte(`{}`), TimeZone: "UTC",
		CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSegment(ctx, store.SegmentRow{ID: "s2", Name: "s", RuleJSON: []byte(`{}`)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate name: %v", err)
	}
	// Open rows for a, b, x (x was merged away).
	for _, p := range []string{"a", "b", "x"} {
		exec(`INSERT INTO segment_memberships VALUES (?, 's', ?, NULL)`, p, at)
	}
	// The rule now matches c and d only; the evaluation covers b, c, x.
	q := `SELECT unnest(['c', 'd']) AS profile_id INTERSECT SELECT unnest($1::VARCHAR[])`
	res, err := db.ApplySegment(ctx, store.SegmentEval{SegmentID: "s", SQL: q, Args: []any{[]string{"b", "c"}}, Only: true,
		Candidates: []string{"b", "c"}, Gone: []string{"x"}, At: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entered != 1 || res.Exited != 2 || res.Size != 2 || res.LastSeq-res.FirstSeq != 2 {
		t.Errorf("applied = %+v", res)
	}
	rows, _ := db.SegmentMembers(ctx, "s", "", 10)
	if len(rows) != 2 || rows[0].ProfileID+" "+rows[1].ProfileID != "a c" {
		t.Errorf("members = %+v", rows)
	}
	ch, _ := db.SegmentChanges(ctx, 0, 10)
	got := ""
	for _, c := range ch {
		got += c.Kind + ":" + c.ProfileID + " "
	}
	if got != "exit:b exit:x enter:c " {
		t.Errorf("feed = %q", got)
	}
	if ch, _ := db.SegmentChanges(ctx, ch[1].Seq, 10); len(ch) != 1 || ch[0].ProfileID != "c" {
		t.Errorf("feed after a cursor = %+v", ch)
	}
	// A failing rule leaves everything as it was (one transaction).
	if _, err := db.ApplySegment(ctx, store.SegmentEval{SegmentID: "s", SQL: `SELECT 1/0 AS profile_id FROM nowhere`, At: at}); err == nil {
		t.Fatal("bad SQL applied")
	}
	if rows, _ := db.SegmentMembers(ctx, "s", "", 10); len(rows) != 2 {
		t.Errorf("members after a failed evaluation = %+v", rows)
	}
}

// EachMember reads the newest consent across the member's merged profiles.
func TestEachMemberConsentThroughMerges(t *testing.T) {
	ctx := context.Background()
	db, exec := segmentsDB(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	exec(`INSERT INTO profiles (id, merged_into, created_at, updated_at) VALUES ('live', NULL, ?, ?), ('old', 'live', ?, ?)`, at, at, at, at)
	exec(`INSERT INTO segment_memberships VALUES ('live', 's', ?, NULL)`, at)
	// The merged-away profile's later grant wins over the survivor's older denial.
	exec(`INSERT INTO consents (id, profile_id, purpose, status, source_id, occurred_at, recorded_at, prev_hash, hash) VALUES
		('1', 'live', 'sms', 'denied', 's', ?, ?, '', ''), ('2', 'old', 'sms', 'granted', 's', ?, ?, '', '')`,
		at, at, at.Add(time.Hour), at.Add(time.Hour))
	var got []string
	err := db.EachMember(ctx, "s", nil, "sms", func(m store.MemberRecord) error {
		got = append(got, m.ProfileID+"="+m.Consent)
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[live=granted]" {
		t.Errorf("members = %v, %v", got, err)
	}
}

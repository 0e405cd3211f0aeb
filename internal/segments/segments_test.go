package segments_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/segments"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Enter, exit, enter again: the history keeps every stay, the feed every
// change, and the Listener gets what the feed holds.
func TestMembershipHistoryAndFeed(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec)
	f.profile("a", `{"city":"Lyon"}`)
	f.profile("b", `{"city":"Lyon"}`)
	f.profile("c", `{"city":"Paris"}`)
	s := f.create("lyon", `trait.city = "Lyon"`)
	if s.Size != 2 || s.Status != store.SegmentOK || s.LastComputedAt == nil || !s.LastComputedAt.Equal(t0) {
		t.Fatalf("after create: size %d status %s computed %v", s.Size, s.Status, s.LastComputedAt)
	}
	eq(t, "members", f.open(s.ID), sorted("a", "b"))

	f.exec(`UPDATE profiles SET traits = '{"city":"Paris"}' WHERE id = 'b'`)
	f.exec(`UPDATE profiles SET traits = '{"city":"Lyon"}' WHERE id = 'c'`)
	f.clk.Add(time.Hour)
	res, err := f.svc.Refresh(f.ctx, segments.RefreshOptions{All: true})
	if err != nil || len(res.Segments) != 1 || res.Segments[0].Entered != 1 || res.Segments[0].Exited != 1 {
		t.Fatalf("refresh: %+v, %v", res, err)
	}
	eq(t, "members", f.open(s.ID), sorted("a", "c"))
	// b's stay is closed at the computation instant, not deleted.
	eq(t, "b's stays", f.strings(`SELECT strftime(entered_at, '%H:%M') || '-' || strftime(exited_at, '%H:%M')
		FROM segment_memberships WHERE profile_id = 'b'`), []string{"12:00-13:00"})
	// c enters again later: a second stay.
	f.exec(`UPDATE profiles SET traits = '{"city":"Paris"}' WHERE id = 'c'`)
	f.clk.Add(time.Hour)
	f.refreshAll()
	f.exec(`UPDATE profiles SET traits = '{"city":"Lyon"}' WHERE id = 'c'`)
	f.clk.Add(time.Hour)
	f.refreshAll()
	if n := f.count(`SELECT count(*) FROM segment_memberships WHERE profile_id = 'c'`); n != 2 {
		t.Errorf("c has %d stays, want 2", n)
	}
	feed := f.strings(`SELECT kind || ':' || profile_id FROM segment_changes ORDER BY seq`)
	want := []string{"enter:a", "enter:b", "exit:b", "enter:c", "exit:c", "enter:c"}
	eq(t, "feed", feed, want)
	var got []string
	for _, c := range rec.got {
		got = append(got, c.Kind+":"+c.ProfileID)
	}
	eq(t, "listener", got, want)
	sizes, err := f.svc.Sizes(f.ctx, "lyon", 10)
	if err != nil || len(sizes) != 4 {
		t.Fatalf("sizes: %v %v", sizes, err)
	}
	if sizes[0].Size != 2 || sizes[1].Size != 1 || sizes[3].Size != 2 || sizes[3].Entered != 2 {
		t.Errorf("size history (newest first) = %+v", sizes)
	}
}

func (f *fixture) refreshAll() {
	f.t.Helper()
	res, err := f.svc.Refresh(f.ctx, segments.RefreshOptions{All: true})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range res.Segments {
		if c.Error != "" {
			f.t.Fatalf("segment %s: %s", c.Name, c.Error)
		}
	}
}

// The proof: a profile whose only qualifying event is 7 days and
// 1 minute old leaves a "last 7 days" segment with no new event, when the
// scheduler's refresh runs (clock injected, no sleeping).
func TestWindowAgesOutOnSchedule(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"p1", "p2", "p3"} {
		f.profile(p, `{}`)
	}
	f.event("p1", "Purchase", t0.Add(-7*24*time.Hour+time.Minute)) // 1 minute inside the window at t0
	f.event("p2", "Purchase", t0.Add(-24*time.Hour))
	f.event("p3", "Purchase", t0.Add(-8*24*time.Hour))
	s := f.create("recent buyers", `did event "Purchase" in last 7 days`)
	static := f.create("everyone", `not trait.city exists`)
	eq(t, "members at t0", f.open(s.ID), sorted("p1", "p2"))
	if !s.TimeWindow || static.TimeWindow {
		t.Errorf("time_window: %v / %v", s.TimeWindow, static.TimeWindow)
	}

	f.clk.Add(2 * time.Minute) // p1's event is now 7 days and 1 minute old
	res, err := f.svc.Refresh(f.ctx, segments.RefreshOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Segments) != 1 || res.Segments[0].Name != "recent buyers" {
		t.Errorf("the scheduler recomputed %+v, want only the windowed segment", res.Segments)
	}
	eq(t, "members at t0+2m", f.open(s.ID), []string{"p2"})
	eq(t, "p1 left at", f.strings(`SELECT strftime(exited_at, '%Y-%m-%d %H:%M') FROM segment_memberships
		WHERE profile_id = 'p1' AND segment_id = ?`, s.ID), []string{"2026-03-10 12:02"})
}

// The same through Run, the server's scheduler loop, with a short interval.
func TestRunAgesOutAndEvaluatesTouched(t *testing.T) {
	f := newFixture(t, nil)
	f.svc = segments.New(f.db, segments.Options{Now: f.clk.Now, Interval: 20 * time.Millisecond})
	f.profile("p1", `{}`)
	f.profile("p2", `{}`)
	f.event("p1", "Purchase", t0.Add(-7*24*time.Hour+time.Minute))
	s := f.create("recent", `did event "Purchase" in last 7 days`)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// Real time: p2 buys now; only the commit's notification brings it in.
	f.event("p2", "Purchase", t0)
	f.svc.Touched([]string{"p2"}, nil)
	f.waitMembers(s.ID, sorted("p1", "p2"))
	f.clk.Add(2 * time.Minute)
	f.waitMembers(s.ID, []string{"p2"})
}

func (f *fixture) waitMembers(segID string, want []string) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := f.open(segID)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("members = %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Real-time evaluation changes only the touched profiles; a merged-away
// profile leaves.
func TestTouchedOnlyAndMerges(t *testing.T) {
	f := newFixture(t, nil)
	for _, p := range []string{"p1", "p2", "p3"} {
		f.profile(p, `{}`)
	}
	f.event("p1", "Purchase", t0.Add(-time.Hour))
	s := f.create("buyers", `did event "Purchase"`)
	ref := f.create("buyers again", `in segment "buyers"`)
	eq(t, "start", f.open(s.ID), []string{"p1"})

	f.event("p2", "Purchase", t0)
	f.event("p3", "Purchase", t0)
	f.svc.Touched([]string{"p2"}, nil)
	if n, err := f.svc.EvaluateTouched(f.ctx); err != nil || n != 1 {
		t.Fatalf("evaluate: %d %v", n, err)
	}
	eq(t, "after p2's commit", f.open(s.ID), sorted("p1", "p2")) // p3 was not touched
	eq(t, "dependent segment, same pass", f.open(ref.ID), sorted("p1", "p2"))

	// p2 is merged into p1 (the writer reports p1 touched, p2 gone).
	f.exec(`UPDATE profiles SET merged_into = 'p1' WHERE id = 'p2'`)
	f.svc.Touched([]string{"p1"}, []string{"p2"})
	if _, err := f.svc.EvaluateTouched(f.ctx); err != nil {
		t.Fatal(err)
	}
	eq(t, "after the merge", f.open(s.ID), []string{"p1"})
	eq(t, "dependent after the merge", f.open(ref.ID), []string{"p1"})
	f.refreshAll()
	eq(t, "full refresh", f.open(s.ID), sorted("p1", "p3"))
}

// A computation that fails is recorded, visible and retried with backoff.
func TestFailureRetriedWithBackoff(t *testing.T) {
	f := newFixture(t, nil)
	f.profile("a", `{"vip":true}`)
	s := f.create("vip", `trait.vip = true`)
	good := f.strings(`SELECT rule_json FROM segments WHERE id = ?`, s.ID)[0]
	f.exec(`UPDATE segments SET rule_json = '{"op":"nonsense"}', definition = '((' WHERE id = ?`, s.ID)
	res, _ := f.svc.Refresh(f.ctx, segments.RefreshOptions{All: true})
	if len(res.Segments) != 1 || res.Segments[0].Error == "" {
		t.Fatalf("refresh: %+v", res)
	}
	got, _ := f.svc.Get(f.ctx, "vip")
	if got.Status != store.SegmentError || got.Retries != 1 || got.LastError == "" || got.NextRetryAt == nil ||
		!got.NextRetryAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("after a failure: %+v", got)
	}
	f.clk.Add(10 * time.Second)
	if res, _ := f.svc.Refresh(f.ctx, segments.RefreshOptions{}); len(res.Segments) != 0 {
		t.Errorf("retried before its backoff: %+v", res)
	}
	f.clk.Add(25 * time.Second)
	if res, _ := f.svc.Refresh(f.ctx, segments.RefreshOptions{}); len(res.Segments) != 1 {
		t.Errorf("not retried after its backoff: %+v", res)
	}
	got, _ = f.svc.Get(f.ctx, "vip")
	if got.Retries != 2 || !got.NextRetryAt.Equal(t0.Add(35*time.Second+60*time.Second)) {
		t.Errorf("second failure: retries %d next %v", got.Retries, got.NextRetryAt)
	}
	f.exec(`UPDATE segments SET rule_json = ? WHERE id = ?`, good, s.ID)
	f.clk.Add(2 * time.Minute)
	f.svc.Refresh(f.ctx, segments.RefreshOptions{})
	got, _ = f.svc.Get(f.ctx, "vip")
	if got.Status != store.SegmentOK || got.Retries != 0 || got.LastError != "" || got.Size != 1 {
		t.Errorf("after recovery: %+v", got)
	}
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 8: time.Hour, 100: time.Hour} {
		if got := segments.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestDefinitionsRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.create("base", `trait.x = 1`)
	f.create("uses base", `in segment "base"`)
	long := strings.Repeat("é", 101)
	cases := []struct {
		name string
		in   segments.Input
		want string // field
	}{
		{"empty name", segments.Input{Rule: `trait.x = 1`}, "name"},
		{"padded name", segments.Input{Name: " x", Rule: `trait.x = 1`}, "name"},
		{"slash", segments.Input{Name: "a/b", Rule: `trait.x = 1`}, "name"},
		{"control char", segments.Input{Name: "a\x00b", Rule: `trait.x = 1`}, "name"},
		{"bad utf8", segments.Input{Name: "a\xffb", Rule: `trait.x = 1`}, "name"},
		{"too long", segments.Input{Name: long, Rule: `trait.x = 1`}, "name"},
		{"reserved", segments.Input{Name: "preview", Rule: `trait.x = 1`}, "name"},
		{"no rule", segments.Input{Name: "n"}, "rule"},
		{"both forms", segments.Input{Name: "n", Rule: `trait.x = 1`, RuleJSON: []byte(`{}`)}, "rule"},
		{"oversized", segments.Input{Name: "n", Rule: `trait.x = "` + strings.Repeat("a", 70<<10) + `"`}, "rule"},
		{"bad utf8 rule", segments.Input{Name: "n", Rule: "trait.x = \"\xff\""}, "rule"},
		{"bad json", segments.Input{Name: "n", RuleJSON: []byte(`{"op":"drop table"}`)}, "rule_json"},
		{"json not json", segments.Input{Name: "n", RuleJSON: []byte(`{`)}, "rule_json"},
		{"unknown ref", segments.Input{Name: "n", Rule: `in segment "nope"`}, "rule"},
		{"self ref", segments.Input{Name: "n", Rule: `in segment "n"`}, "rule"},
		{"traversal tz", segments.Input{Name: "n", Rule: `trait.x = 1`, TimeZone: "../../etc/passwd"}, "time_zone"},
		{"unknown tz", segments.Input{Name: "n", Rule: `trait.x = 1`, TimeZone: "Mars/Olympus"}, "time_zone"},
		{"server's own zone", segments.Input{Name: "n", Rule: `trait.x = 1`, TimeZone: "Local"}, "time_zone"},
		{"dot", segments.Input{Name: ".", Rule: `trait.x = 1`}, "name"},
		{"an id's shape", segments.Input{Name: "0b6e1f7c-3f0d-4a51-9c1e-2d7b8f9a0c11", Rule: `trait.x = 1`}, "name"},
		{"dot dot", segments.Input{Name: "..", Rule: `trait.x = 1`}, "name"},
		{"dots", segments.Input{Name: "...", Rule: `trait.x = 1`}, "name"},
		{"long description", segments.Input{Name: "n", Rule: `trait.x = 1`, Description: ptr(strings.Repeat("d", 3000))}, "description"},
	}
	for _, c := range cases {
		_, err := f.svc.Create(f.ctx, c.in)
		var ie *segments.InputError
		if !errors.As(err, &ie) || ie.Field != c.want {
			t.Errorf("%s: err = %v, want an input error on %s", c.name, err, c.want)
		}
	}
	// A syntax error says where.
	_, err := f.svc.Create(f.ctx, segments.Input{Name: "n", Rule: `trait.city = `})
	var ie *segments.InputError
	if !errors.As(err, &ie) || ie.Syntax == nil || ie.Syntax.Line != 1 || ie.Syntax.Col != 14 || ie.Syntax.Pos != 13 {
		t.Errorf("syntax error = %#v", err)
	}
	// A cycle through an update is refused; so is deleting a referenced segment.
	_, err = f.svc.Update(f.ctx, "base", segments.Input{Rule: `in segment "uses base"`})
	if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "cycle") {
		t.Errorf("cycle: %v", err)
	}
	if _, err := f.svc.Delete(f.ctx, "base"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("delete a referenced segment: %v", err)
	}
	if _, err := f.svc.Update(f.ctx, "base", segments.Input{Name: "renamed", Rule: `trait.x = 2`}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("rename a referenced segment: %v", err)
	}
	if _, err := f.svc.Create(f.ctx, segments.Input{Name: "base", Rule: `trait.x = 2`}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := f.svc.Get(f.ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get unknown: %v", err)
	}
	// Nothing refused was stored.
	if n := f.count(`SELECT count(*) FROM segments`); n != 2 {
		t.Errorf("%d segments stored, want 2", n)
	}
}

// Deleting records the members' exits in the feed and removes the rows.
func TestDeleteExitsMembers(t *testing.T) {
	f := newFixture(t, nil)
	f.profile("a", `{"x":1}`)
	f.profile("b", `{"x":1}`)
	s := f.create("x", `trait.x = 1`)
	n, err := f.svc.Delete(f.ctx, "x")
	if err != nil || n != 2 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if got := f.count(`SELECT count(*) FROM segment_memberships WHERE segment_id = ?`, s.ID); got != 0 {
		t.Errorf("%d membership rows left", got)
	}
	eq(t, "feed", f.strings(`SELECT kind || ':' || profile_id FROM segment_changes ORDER BY seq`),
		[]string{"enter:a", "enter:b", "exit:a", "exit:b"})
}

// midRead is a Store whose RuleIDs runs hook after the real read, so that a
// test can act between a full computation's read and its apply.
type midRead struct {
	segments.Store
	hook func()
}

func (m *midRead) RuleIDs(ctx context.Context, q string, args []any) ([]string, error) {
	ids, err := m.Store.RuleIDs(ctx, q, args)
	if m.hook != nil {
		h := m.hook
		m.hook = nil
		h()
	}
	return ids, err
}

// A full computation reads its result without blocking real-time
// evaluations; what real time applied meanwhile is not undone by the older
// result, and those profiles are evaluated again afterwards.
func TestRealTimeDuringFullComputation(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec)
	st := &midRead{Store: f.db}
	f.svc = segments.New(st, segments.Options{Now: f.clk.Now, Listener: rec})
	for _, p := range []string{"p1", "p2", "p3", "p4"} {
		f.profile(p, `{}`)
	}
	f.event("p1", "Purchase", t0.Add(-time.Hour))
	f.event("p3", "Purchase", t0.Add(-time.Hour))
	s := f.create("buyers", `did event "Purchase"`)
	eq(t, "start", f.open(s.ID), sorted("p1", "p3"))

	// During the read: p2 buys and enters in real time; p3 is merged into
	// p4 and leaves in real time; p1 is unchanged.
	st.hook = func() {
		f.event("p2", "Purchase", t0)
		f.exec(`UPDATE profiles SET merged_into = 'p4' WHERE id = 'p3'`)
		f.svc.Touched([]string{"p2", "p4"}, []string{"p3"})
		if _, err := f.svc.EvaluateTouched(f.ctx); err != nil {
			t.Errorf("real time during the read: %v", err)
		}
		eq(t, "after real time", f.open(s.ID), sorted("p1", "p2", "p4"))
	}
	f.clk.Add(time.Minute)
	f.refreshAll()
	if st.hook != nil {
		t.Fatal("the full computation did not read through RuleIDs")
	}
	eq(t, "after the full computation", f.open(s.ID), sorted("p1", "p2", "p4"))
	// The profiles queued during the read are queued again.
	if n, err := f.svc.EvaluateTouched(f.ctx); err != nil || n != 3 {
		t.Errorf("evaluated again: %d %v, want 3", n, err)
	}
	eq(t, "after the second real-time pass", f.open(s.ID), sorted("p1", "p2", "p4"))
	// Creation, then the real-time pass (its exits first); nothing after.
	want := []string{"enter:p1", "enter:p3", "exit:p3", "enter:p2", "enter:p4"}
	eq(t, "feed", f.strings(`SELECT kind || ':' || profile_id FROM segment_changes ORDER BY seq`), want)
}

// An update keeps what it does not give: a new rule alone keeps the time
// zone and the description, a rename alone keeps the rule, and an empty
// description given clears it.
func TestUpdateKeepsWhatIsNotGiven(t *testing.T) {
	f := newFixture(t, nil)
	f.profile("p1", `{"city":"Lyon"}`)
	f.profile("p2", `{"city":"Paris"}`)
	s, err := f.svc.Create(f.ctx, segments.Input{Name: "lyon", Description: ptr("Lyon customers"),
		Rule: `trait.city = "Lyon"`, TimeZone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.svc.Update(f.ctx, "lyon", segments.Input{Rule: `trait.city = "Paris"`})
	if err != nil {
		t.Fatal(err)
	}
	if u.TimeZone != "Europe/Paris" || u.Description != "Lyon customers" || u.Name != "lyon" {
		t.Errorf("after a new rule: time zone %q, description %q, name %q", u.TimeZone, u.Description, u.Name)
	}
	eq(t, "members after the new rule", f.open(s.ID), []string{"p2"})
	u, err = f.svc.Update(f.ctx, s.ID, segments.Input{Name: "paris"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Rule != `trait.city = "Paris"` || u.Name != "paris" || u.TimeZone != "Europe/Paris" {
		t.Errorf("after a rename: rule %q, name %q, time zone %q", u.Rule, u.Name, u.TimeZone)
	}
	eq(t, "members after the rename", f.open(s.ID), []string{"p2"})
	u, err = f.svc.Update(f.ctx, "paris", segments.Input{Description: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if u.Description != "" || u.Rule != `trait.city = "Paris"` {
		t.Errorf("after clearing the description: %q, rule %q", u.Description, u.Rule)
	}
	if _, err := f.svc.Update(f.ctx, "paris", segments.Input{TimeZone: "Mars/Olympus"}); err == nil {
		t.Error("an unknown time zone was accepted on update")
	}
}

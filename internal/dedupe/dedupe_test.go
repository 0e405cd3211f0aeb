package dedupe_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/store"
)

// contributions indexes an explanation's per-field lines by comparison.
func contributions(t *testing.T, raw json.RawMessage) map[string]match.Contribution {
	t.Helper()
	var x match.Explanation
	if err := json.Unmarshal(raw, &x); err != nil {
		t.Fatalf("explanation %s: %v", raw, err)
	}
	out := map[string]match.Contribution{}
	for _, c := range x.Contributions {
		out[c.Comparison] = c
	}
	return out
}

// Jean's two profiles merge (they agree on birth date, street number,
// postcode and town, and nearly on surname and street); Marie stays apart.
// The merge is audited with rule "probabilistic" and the explanation under
// "match" in its evidence, whose lines add up to its weight.
func TestRunMergesNearDuplicates(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t)
	ctx := context.Background()
	ws.background(60)
	crm := ws.identify("crm-1", 1, jeanCRM)
	shop := ws.identify("shop-1", 2, jeanShop)
	other := ws.identify("crm-2", 3, marie)

	dry, err := ws.svc.Run(ctx, dedupe.RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Merges) != 1 || dry.Merges[0].MergeID != "" || ws.count(`SELECT count(*) FROM merges`) != 0 {
		t.Fatalf("dry run: %d merges proposed, %d made; want 1 proposed, none made", len(dry.Merges), ws.count(`SELECT count(*) FROM merges`))
	}

	rep, err := ws.svc.Run(ctx, dedupe.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Profiles != 63 || len(rep.Merges) != 1 || len(rep.Clusters) != 1 {
		t.Fatalf("report: %d profiles, %d merges, %d clusters; want 63, 1, 1", rep.Profiles, len(rep.Merges), len(rep.Clusters))
	}
	m := rep.Merges[0]
	// The CRM profile is older: it survives.
	if m.SurvivorID != crm || m.MergedID != shop {
		t.Fatalf("merge %s <- %s, want %s <- %s", m.SurvivorID, m.MergedID, crm, shop)
	}
	if s, _ := ws.db.Survivor(ctx, other); s != other {
		t.Errorf("Marie's profile was merged into %s", s)
	}
	var rule, evidence string
	if err := ws.db.SQL().QueryRow(`SELECT rule, evidence FROM merges WHERE id = ?`, m.MergeID).Scan(&rule, &evidence); err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Match json.RawMessage `json:"match"`
	}
	if err := json.Unmarshal([]byte(evidence), &ev); err != nil || rule != dedupe.Rule {
		t.Fatalf("rule %q evidence %s (%v)", rule, evidence, err)
	}
	c := contributions(t, ev.Match)
	for field, level := range map[string]int{"birth_date": 1, "street_number": 1, "postal_code": 1, "locality": 1, "given_name": 1} {
		if c[field].Level != level {
			t.Errorf("%s: level %d (%s), want %d", field, c[field].Level, c[field].LevelName, level)
		}
	}
	// Dupont / Dupond: 5 of 6 letters match in place, no transposition:
	// Jaro = (5/6 + 5/6 + 1)/3 = 0.889, Winkler's bonus for the 4-letter
	// common prefix adds 4 × 0.1 × 0.111 = 0.044: 0.933, the ≥ 0.92 band
	// (level 2).
	if l := c["surname"].Level; l != 2 {
		t.Errorf("surname level %d (%s), want 2 (Jaro-Winkler ≥ 0.92)", l, c["surname"].LevelName)
	}
	// Different e-mails and phones weigh against, never for.
	for _, f := range []string{"email", "phone"} {
		if c[f].Level == 1 {
			t.Errorf("%s: exact level for different values", f)
		}
	}
	var x match.Explanation
	_ = json.Unmarshal(ev.Match, &x)
	sum := x.PriorWeight
	for _, cc := range x.Contributions {
		sum += cc.Weight
	}
	if d := sum - x.Weight; d > 1e-9 || d < -1e-9 || x.Probability < 0.95 {
		t.Errorf("explanation: lines sum to %v, weight %v, probability %v", sum, x.Weight, x.Probability)
	}

	// A second run finds nothing more to do.
	again, err := ws.svc.Run(ctx, dedupe.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Profiles != 62 || len(again.Merges) != 0 {
		t.Errorf("second run: %d profiles, %d merges; want 62, 0", again.Profiles, len(again.Merges))
	}
}

// A merge a person undid is not redone by the next run.
func TestUndoneMergeIsNotRedone(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t)
	ctx := context.Background()
	ws.background(60)
	ws.identify("crm-1", 1, jeanCRM)
	ws.identify("shop-1", 2, jeanShop)
	ws.identify("crm-2", 3, marie)
	rep, err := ws.svc.Run(ctx, dedupe.RunOptions{})
	if err != nil || len(rep.Merges) != 1 {
		t.Fatalf("run: %v, %d merges", err, len(rep.Merges))
	}
	if _, err := ws.w.Unmerge(ctx, rep.Merges[0].MergeID, "someone"); err != nil {
		t.Fatal(err)
	}
	again, err := ws.svc.Run(ctx, dedupe.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Merges) != 0 || again.SkippedUndone != 1 || len(again.Reviews) != 0 {
		t.Errorf("after undo: %d merges, %d skipped as undone, %d reviews; want 0, 1, 0", len(again.Merges), again.SkippedUndone, len(again.Reviews))
	}
	if n := ws.count(`SELECT count(*) FROM merges WHERE undone_at IS NULL`); n != 0 {
		t.Errorf("%d active merges, want 0", n)
	}
}

// reviewOnly is the default configuration with an auto-merge threshold no
// pair can reach (the largest probability below 1 a float64 holds), so the
// near-duplicate pair goes to the queue.
func reviewOnly() match.Config {
	cfg := match.DefaultConfig()
	cfg.AutoMergeThreshold = 1 - 1e-16
	return cfg
}

// The queue: a pair between the thresholds is proposed once (a second run
// refreshes it, not duplicates it), a rejected pair is never proposed again,
// an accepted one is merged with its explanation.
func TestReviewQueue(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t)
	ctx := context.Background()
	ws.background(60)
	crm := ws.identify("crm-1", 1, jeanCRM)
	shop := ws.identify("shop-1", 2, jeanShop)
	ws.identify("crm-2", 3, marie)
	svc := ws.svc.WithConfig(reviewOnly())

	rep, err := svc.Run(ctx, dedupe.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Merges) != 0 || len(rep.Reviews) != 1 || !rep.Reviews[0].New {
		t.Fatalf("run: %d merges, %d reviews; want 0 and 1 new", len(rep.Merges), len(rep.Reviews))
	}
	wantA, wantB := min(crm, shop), max(crm, shop)
	if r := rep.Reviews[0]; r.ProfileA != wantA || r.ProfileB != wantB {
		t.Fatalf("review pair %s/%s, want %s/%s", r.ProfileA, r.ProfileB, wantA, wantB)
	}
	rep2, err := svc.Run(ctx, dedupe.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Reviews) != 1 || rep2.Reviews[0].New || rep2.Reviews[0].ReviewID != rep.Reviews[0].ReviewID {
		t.Fatalf("second run: %+v, want the same open review refreshed", rep2.Reviews)
	}
	if n := ws.count(`SELECT count(*) FROM dedupe_reviews`); n != 1 {
		t.Fatalf("%d review rows, want 1", n)
	}
	id := rep.Reviews[0].ReviewID
	r, err := svc.Reject(ctx, id, "alice")
	if err != nil || r.Status != store.ReviewRejected || r.DecidedBy != "alice" || r.DecidedAt == nil {
		t.Fatalf("reject: %+v, %v", r, err)
	}
	if _, err := svc.Reject(ctx, id, "bob"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second reject: %v, want a conflict", err)
	}
	if _, _, err := svc.Accept(ctx, id, "bob"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("accept after reject: %v, want a conflict", err)
	}
	rep3, err := svc.Run(ctx, dedupe.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep3.Reviews) != 0 || rep3.SkippedRejected != 1 {
		t.Errorf("after reject: %d reviews, %d skipped as rejected; want 0, 1", len(rep3.Reviews), rep3.SkippedRejected)
	}
	// Not even the default configuration merges a rejected pair.
	rep4, err := ws.svc.Run(ctx, dedupe.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep4.Merges) != 0 || rep4.SkippedRejected != 1 {
		t.Errorf("default run after reject: %d merges, %d skipped; want 0, 1", len(rep4.Merges), rep4.SkippedRejected)
	}
	if _, err := svc.Review(ctx, "no-such-review"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown review: %v", err)
	}
	if _, _, err := svc.Accept(ctx, "no-such-review", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("accept unknown review: %v", err)
	}
}

// Two people accepting the same review at once make one merge; the other
// gets a conflict.
func TestConcurrentAccept(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t)
	ctx := context.Background()
	ws.background(60)
	crm := ws.identify("crm-1", 1, jeanCRM)
	shop := ws.identify("shop-1", 2, jeanShop)
	ws.identify("crm-2", 3, marie)
	svc := ws.svc.WithConfig(reviewOnly())
	rep, err := svc.Run(ctx, dedupe.RunOptions{})
	if err != nil || len(rep.Reviews) != 1 {
		t.Fatalf("run: %v, %d reviews", err, len(rep.Reviews))
	}
	id := rep.Reviews[0].ReviewID
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = svc.Accept(ctx, id, "reviewer")
		}()
	}
	wg.Wait()
	ok, conflicts := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrConflict):
			conflicts++
		default:
			t.Errorf("accept: %v", err)
		}
	}
	if ok != 1 || conflicts != 3 {
		t.Fatalf("%d accepted, %d conflicts; want 1 and 3", ok, conflicts)
	}
	if n := ws.count(`SELECT count(*) FROM merges WHERE rule = 'probabilistic' AND actor = 'reviewer'`); n != 1 {
		t.Errorf("%d merges, want 1", n)
	}
	r, _ := svc.Review(ctx, id)
	var survivor string
	if err := ws.db.SQL().QueryRow(`SELECT survivor_id FROM merges WHERE id = ?`, r.MergeID).Scan(&survivor); err != nil {
		t.Fatal(err)
	}
	if r.Status != store.ReviewAccepted || (survivor != crm && survivor != shop) {
		t.Errorf("review %+v, survivor %s", r, survivor)
	}
}

// A workspace with fewer than MinProfiles live profiles is left alone: the
// model cannot be fitted on so few.
func TestRunTinyWorkspace(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t)
	rep, err := ws.svc.Run(context.Background(), dedupe.RunOptions{})
	if err != nil || rep.Profiles != 0 || len(rep.Merges) != 0 || rep.Note == "" {
		t.Fatalf("empty: %+v, %v", rep, err)
	}
	ws.identify("crm-1", 1, jeanCRM)
	ws.identify("shop-1", 2, jeanShop)
	ws.identify("crm-2", 3, marie)
	rep, err = ws.svc.Run(context.Background(), dedupe.RunOptions{})
	if err != nil || rep.Profiles != 3 || len(rep.Merges) != 0 || len(rep.Reviews) != 0 || rep.Note == "" {
		t.Fatalf("three profiles: %+v, %v", rep, err)
	}
	if n := ws.count(`SELECT count(*) FROM merges`); n != 0 {
		t.Errorf("%d merges made", n)
	}
}

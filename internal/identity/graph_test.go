package identity

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/model"
)

// newTestGraph returns a graph whose profile ids are p1, p2, ...
func newTestGraph(cfg Config) *Graph {
	n := 0
	return NewGraph(cfg, func() string { n++; return fmt.Sprintf("p%d", n) })
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func user(v string) model.Identifier  { return id(model.IDUserID, v, v) }
func anon(v string) model.Identifier  { return id(model.IDAnonymousID, v, v) }
func email(v string) model.Identifier { return id(model.IDEmail, v, v) }

// resolve runs Resolve inside a committed batch, as the writer does.
func resolve(g *Graph, at time.Time, ids ...model.Identifier) Resolution {
	g.Begin()
	r := g.Resolve(ids, at)
	g.Commit()
	return r
}

// owners maps each identifier value to its owner's id.
func owners(g *Graph, ids ...model.Identifier) map[string]string {
	out := map[string]string{}
	for _, i := range ids {
		if n := g.Owner(i); n != nil {
			out[i.Value] = n.ID
		} else {
			out[i.Value] = ""
		}
	}
	return out
}

func TestResolveNewAndKnown(t *testing.T) {
	g := newTestGraph(DefaultConfig())
	r := resolve(g, t0, anon("a1"))
	if r.ProfileID != "p1" || !r.NewProfile || r.Became || len(r.NewIdentities) != 1 {
		t.Fatalf("first message: %+v", r)
	}
	r = resolve(g, t0, anon("a1"))
	if r.ProfileID != "p1" || r.NewProfile || len(r.NewIdentities) != 0 {
		t.Fatalf("same id again: %+v", r)
	}
	// Identify: the anonymous profile takes the user id and becomes identified.
	r = resolve(g, t0, user("u1"), email("e1"), anon("a1"))
	if r.ProfileID != "p1" || r.NewProfile || !r.Became || len(r.NewIdentities) != 2 || !g.Node("p1").Identified {
		t.Fatalf("identify: %+v", r)
	}
	// No usable identifier: a profile of its own, every time.
	r1, r2 := resolve(g, t0), resolve(g, t0)
	if !r1.NewProfile || !r2.NewProfile || r1.ProfileID == r2.ProfileID {
		t.Errorf("messages without ids shared a profile: %s %s", r1.ProfileID, r2.ProfileID)
	}
}

func TestResolveNeverMergesTwoUserIDs(t *testing.T) {
	g := newTestGraph(DefaultConfig())
	resolve(g, t0, user("u1"), email("shared"))
	r := resolve(g, t0, user("u2"), email("shared"))
	if r.ProfileID != "p2" || !r.NewProfile || len(r.Merges) != 0 {
		t.Fatalf("second user: %+v", r)
	}
	want := []Refusal{{Identifier: email("shared"), ProfileID: "p2", OtherID: "p1", Reason: "merge_limit:user_id"}}
	if !reflect.DeepEqual(r.Refusals, want) {
		t.Errorf("refusals %+v, want %+v", r.Refusals, want)
	}
	// Even when both user ids come in one message.
	r = resolve(g, t0, user("u1"), user("u2"))
	if r.ProfileID != "p1" || len(r.Merges) != 0 || len(r.Refusals) != 1 || r.Refusals[0].Reason != "merge_limit:user_id" {
		t.Errorf("message with both user ids: %+v", r)
	}
	if got := owners(g, user("u1"), user("u2"), email("shared")); !reflect.DeepEqual(got, map[string]string{"u1": "p1", "u2": "p2", "shared": "p1"}) {
		t.Errorf("owners %v", got)
	}
}

func TestResolveSharedDevice(t *testing.T) {
	g := newTestGraph(DefaultConfig())
	resolve(g, t0, anon("tablet"))
	resolve(g, t0, user("alice"), anon("tablet"))
	rb := resolve(g, t0, user("bob"), anon("tablet"))
	rc := resolve(g, t0, user("carol"), anon("tablet"))
	if rb.ProfileID != "p2" || rc.ProfileID != "p3" || len(rb.Merges)+len(rc.Merges) != 0 {
		t.Fatalf("bob %+v carol %+v", rb, rc)
	}
	if got := owners(g, user("alice"), user("bob"), user("carol"), anon("tablet")); !reflect.DeepEqual(got,
		map[string]string{"alice": "p1", "bob": "p2", "carol": "p3", "tablet": "p1"}) {
		t.Errorf("owners %v", got)
	}
}

func TestResolveMergesAnonymousIntoKnown(t *testing.T) {
	g := newTestGraph(DefaultConfig())
	resolve(g, t0, user("u1"))                   // p1, identified
	resolve(g, t0.Add(-time.Hour), anon("a1"))   // p2, older but anonymous
	resolve(g, t0, email("e1"), anon("a1"))      // p2 takes e1: identified now
	resolve(g, t0.Add(-2*time.Hour), anon("a2")) // p3
	r := resolve(g, t0, user("u1"), anon("a2"))  // p3 into p1
	want := MergeOp{SurvivorID: "p1", MergedID: "p3", Moved: []model.Identifier{anon("a2")}, Link: anon("a2"), Rule: "identifier_match"}
	if r.ProfileID != "p1" || len(r.Merges) != 1 || !reflect.DeepEqual(r.Merges[0], want) {
		t.Fatalf("merge: %+v", r)
	}
	if g.Node("p3") != nil || g.Owner(anon("a2")).ID != "p1" {
		t.Error("the merged profile is still live or kept its identifier")
	}
	// Both identified: the older one survives, whichever the message named first.
	r = resolve(g, t0, user("u1"), email("e1"))
	if len(r.Merges) != 1 || r.Merges[0].SurvivorID != "p2" || r.Merges[0].MergedID != "p1" || r.ProfileID != "p2" {
		t.Fatalf("merge of two identified profiles: %+v", r)
	}
	if got := owners(g, user("u1"), email("e1"), anon("a1"), anon("a2")); !reflect.DeepEqual(got,
		map[string]string{"u1": "p2", "e1": "p2", "a1": "p2", "a2": "p2"}) {
		t.Errorf("owners %v", got)
	}
}

func TestResolveLimitsAndPriority(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits[model.IDEmail] = 2
	g := newTestGraph(cfg)
	resolve(g, t0, user("u1"), email("e1"), email("e2"))
	r := resolve(g, t0, user("u1"), email("e3"))
	want := []Refusal{{Identifier: email("e3"), ProfileID: "p1", Reason: "limit:email"}}
	if !reflect.DeepEqual(r.Refusals, want) || g.Owner(email("e3")) != nil {
		t.Errorf("third e-mail: %+v", r)
	}

	// The strongest known identifier picks the profile.
	setup := func(cfg Config) *Graph {
		g := newTestGraph(cfg)
		resolve(g, t0, user("u1"))              // p1
		resolve(g, t0, user("u2"), email("e9")) // p2
		return g
	}
	if r := resolve(setup(DefaultConfig()), t0, user("u1"), email("e9")); r.ProfileID != "p1" {
		t.Errorf("default priority (user id first): message went to %s, want p1", r.ProfileID)
	}
	emailFirst := DefaultConfig()
	emailFirst.Priority = []string{model.IDEmail, model.IDUserID, model.IDPhone, "*", model.IDAnonymousID}
	ids := []model.Identifier{user("u1"), email("e9")}
	emailFirst.SortByPriority(ids)
	if r := resolve(setup(emailFirst), t0, ids...); r.ProfileID != "p2" {
		t.Errorf("e-mail first: message went to %s, want p2", r.ProfileID)
	}
}

func TestRollbackUndoesABatch(t *testing.T) {
	g := newTestGraph(DefaultConfig())
	resolve(g, t0, user("u1"), anon("a1"))
	resolve(g, t0, anon("a2"))
	before := snapshot(g)
	g.Begin()
	g.Resolve([]model.Identifier{user("u1"), email("e1"), anon("a2")}, t0) // merges p2 into p1, adds e1
	g.Resolve([]model.Identifier{user("u3")}, t0)                          // new p3
	if _, ok := g.ForceMerge("p1", "p3"); !ok {
		t.Fatal("force merge refused")
	}
	g.Rollback()
	if after := snapshot(g); !reflect.DeepEqual(after, before) {
		t.Errorf("after rollback\n got %v\nwant %v", after, before)
	}
}

// snapshot describes the graph: each live profile with its sorted identifiers
// and flag, and each identifier's owner.
func snapshot(g *Graph) map[string]string {
	out := map[string]string{}
	for id, n := range g.nodes {
		var keys []string
		for _, i := range n.IDs {
			keys = append(keys, i.Type+"="+i.Value)
		}
		sort.Strings(keys)
		out["node "+id] = fmt.Sprint(n.Identified, keys)
	}
	for k, n := range g.byKey {
		out["key "+k] = n.ID
	}
	return out
}

func TestForceMergeAndRestore(t *testing.T) {
	g := newTestGraph(DefaultConfig())
	resolve(g, t0, user("u1"), anon("a1"))
	resolve(g, t0, user("u2"), email("e2"))
	g.Begin()
	op, ok := g.ForceMerge("p1", "p2")
	g.Commit()
	if !ok || op.SurvivorID != "p1" || op.MergedID != "p2" || op.Rule != "admin" {
		t.Fatalf("force merge: %+v %v", op, ok)
	}
	if got := owners(g, user("u2"), email("e2")); got["u2"] != "p1" || got["e2"] != "p1" {
		t.Errorf("owners after merge %v", got)
	}
	if _, ok := g.ForceMerge("p1", "p1"); ok {
		t.Error("a profile merged into itself")
	}
	if _, ok := g.ForceMerge("p1", "p2"); ok {
		t.Error("a merged-away profile merged again")
	}
	g.Begin()
	moved := g.Restore("p2", true, t0, op.Moved)
	g.Commit()
	if len(moved) != 2 || g.Node("p2") == nil || !g.Node("p2").Identified {
		t.Fatalf("restore moved %v", moved)
	}
	if got := owners(g, user("u1"), anon("a1"), user("u2"), email("e2")); !reflect.DeepEqual(got,
		map[string]string{"u1": "p1", "a1": "p1", "u2": "p2", "e2": "p2"}) {
		t.Errorf("owners after restore %v", got)
	}
	if !g.Node("p1").Identified {
		t.Error("p1 lost its identified status")
	}
}

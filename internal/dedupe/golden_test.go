package dedupe_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/store"
)

func TestParseSurvivorship(t *testing.T) {
	t.Parallel()
	def := dedupe.DefaultSurvivorship()
	got, err := dedupe.ParseSurvivorship(nil)
	if err != nil || len(got.Fields) != len(dedupe.GoldenFields) || got.Fields["email"][0] != dedupe.RuleValidatedFirst {
		t.Fatalf("empty document: %+v, %v", got, err)
	}
	got, err = dedupe.ParseSurvivorship([]byte(`{"fields":{"email":["source_priority","most_recent"]},"source_priority":["crm","shop"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Fields["email"], ",") != "source_priority,most_recent" || strings.Join(got.Fields["phone"], ",") != strings.Join(def.Fields["phone"], ",") {
		t.Errorf("email %v phone %v: want the given chain and the default", got.Fields["email"], got.Fields["phone"])
	}
	bad := map[string]string{
		"not json":              `{"fields":`,
		"array":                 `[]`,
		"unknown key":           `{"field":{}}`,
		"unknown field":         `{"fields":{"shoe_size":["most_recent"]}}`,
		"unknown rule":          `{"fields":{"email":["loudest"]}}`,
		"empty chain":           `{"fields":{"email":[]}}`,
		"rule twice":            `{"fields":{"email":["most_recent","most_recent"]}}`,
		"priority without list": `{"fields":{"email":["source_priority"]}}`,
		"blank source":          `{"source_priority":[" "]}`,
		"source twice":          `{"source_priority":["crm","crm"]}`,
		"wrong type":            `{"fields":{"email":"most_recent"}}`,
		"trailing data":         `{} {}`,
		"invalid utf-8":         "{\"source_priority\":[\"\xff\"]}",
		"oversized":             `{"source_priority":["` + strings.Repeat("a", 70000) + `"]}`,
		"script as source":      `{"source_priority":["` + strings.Repeat("<script>", 30) + `"]}`,
	}
	for name, doc := range bad {
		if _, err := dedupe.ParseSurvivorship([]byte(doc)); err == nil {
			t.Errorf("%s: accepted %.60q", name, doc)
		} else if !strings.HasPrefix(err.Error(), "survivorship: ") {
			t.Errorf("%s: error %q does not say where", name, err)
		}
	}
}

// A bad document changes nothing; a good one is stored with the defaults
// filled in.
func TestPutSurvivorship(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t)
	ctx := context.Background()
	if _, err := ws.svc.PutSurvivorship(ctx, []byte(`{"fields":{"email":["nope"]}}`)); err == nil {
		t.Fatal("bad rules accepted")
	}
	if _, err := ws.db.Setting(ctx, dedupe.SurvivorshipKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused document was stored: %v", err)
	}
	if _, err := ws.svc.PutSurvivorship(ctx, []byte(`{"fields":{"phone":["most_recent"]}}`)); err != nil {
		t.Fatal(err)
	}
	got, err := ws.svc.Survivorship(ctx)
	if err != nil || strings.Join(got.Fields["phone"], ",") != "most_recent" || len(got.Fields["email"]) != 2 {
		t.Fatalf("read back %+v, %v", got, err)
	}
}

// The golden record of a merged cluster, worked out by hand from the
// default rules:
//   - first_name: "J." (CRM, day 1) against "Jean" (shop, day 2): most
//     complete, "Jean" (4 letters against 1), from the shop profile;
//   - email: the CRM's is valid, the shop's newer one has no domain
//     (invalid): validated first, the CRM's;
//   - phone: both valid: most recent, the shop's (day 2);
//   - birthday: only the CRM has it: only value.
func TestGoldenRecord(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t)
	ctx := context.Background()
	crm := ws.identify("crm-1", 1, map[string]any{"first_name": "J.", "last_name": "Dupont", "email": "jean.dupont@example.com",
		"phone": "+33612345678", "birthday": "1980-05-03"})
	shop := ws.identify("shop-1", 2, map[string]any{"first_name": "Jean", "last_name": "Dupont", "email": "jean.dupont@",
		"phone": "+33698765400"})
	m, err := ws.w.Merge(ctx, crm, shop, "test")
	if err != nil {
		t.Fatal(err)
	}
	g, err := ws.svc.Golden(ctx, shop) // a merged id resolves to its survivor
	if err != nil {
		t.Fatal(err)
	}
	if g.ProfileID != m.SurvivorID || len(g.Members) != 2 {
		t.Fatalf("golden of %s with %v, want %s with 2 members", g.ProfileID, g.Members, m.SurvivorID)
	}
	day := func(d int) time.Time { return time.Date(2024, 5, d, 10, 0, 0, 0, time.UTC) }
	want := map[string]struct {
		value, profile, rule string
		at                   time.Time
	}{
		"first_name": {"Jean", shop, dedupe.RuleMostComplete, day(2)},
		"email":      {"jean.dupont@example.com", crm, dedupe.RuleValidatedFirst, day(1)},
		"phone":      {"+33698765400", shop, dedupe.RuleMostRecent, day(2)},
		"birthday":   {"1980-05-03", crm, "only_value", day(1)},
	}
	for f, w := range want {
		v, ok := g.Fields[f]
		if !ok {
			t.Errorf("%s: missing", f)
			continue
		}
		if v.Value != w.value || v.ProfileID != w.profile || v.Rule != w.rule || !v.At.Equal(w.at) || v.Source != ws.src {
			t.Errorf("%s: %+v, want %q from %s by %s at %s (source %s)", f, v, w.value, w.profile, w.rule, w.at, ws.src)
		}
	}
	// Both say Dupont: "agreed"; the chain (most complete: a tie, then most
	// recent) shows the shop's lineage.
	if v := g.Fields["last_name"]; v.Value != "Dupont" || v.Rule != "agreed" || v.ProfileID != shop || v.Candidates != 2 {
		t.Errorf("last_name %+v", v)
	}
	// Source priority puts the shop first for e-mails, whatever their validity.
	if _, err := ws.svc.PutSurvivorship(ctx, []byte(`{"fields":{"email":["source_priority","most_recent"]},"source_priority":["nowhere"]}`)); err != nil {
		t.Fatal(err)
	}
	g, err = ws.svc.Golden(ctx, crm)
	if err != nil {
		t.Fatal(err)
	}
	// Both profiles come from the one source, which is not listed: a tie on
	// priority, so the most recent (the shop's) wins.
	if v := g.Fields["email"]; v.Value != "jean.dupont@" || v.Rule != dedupe.RuleMostRecent {
		t.Errorf("email with priority: %+v", v)
	}
	if _, err := ws.svc.Golden(ctx, "no-such-profile"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown profile: %v", err)
	}
}

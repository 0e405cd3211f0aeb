package app_test

// Probabilistic deduplication end to end: people come in through the
// collection API, `POST /api/v1/dedupe/run` merges the near duplicates with
// an explanation, the merge shows in the profile's merges, and an undo gives
// both profiles back with their events. Expected outcomes are reasoned out
// by hand from the people below (see each test).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// Jean Dupont typed twice (a CRM and a shop): same birth date (ISO and
// day-first), same house number, street (abbreviated), postcode and town,
// surname one letter off; different e-mails and phones, so identity
// resolution keeps them apart. Marie Curie shares only the town.
func dedupePeople(s *server) {
	backgroundPeople(s, 60)
	// One batch per person: each profile is created by its own commit, so
	// the CRM profile is the oldest.
	s.batch(
		M{"type": "identify", "userId": "crm-1", "messageId": "i1", "timestamp": ts(1, 10), "traits": M{
			"first_name": "Jean", "last_name": "Dupont", "birthday": "1980-05-03", "email": "jean.dupont@example.com",
			"phone": "+33612345678", "address": M{"street": "12 rue des Lilas", "postalCode": "69003", "city": "Lyon"}}},
		M{"type": "track", "userId": "crm-1", "event": "Newsletter Opened", "messageId": "e1", "timestamp": ts(1, 11)})
	time.Sleep(2 * time.Millisecond)
	s.batch(
		M{"type": "identify", "userId": "shop-1", "messageId": "i2", "timestamp": ts(2, 10), "traits": M{
			"first_name": "Jean", "last_name": "Dupond", "birthday": "03/05/1980", "email": "jdupond@shop.example",
			"phone": "+33698765400", "address": M{"street": "12 r. des Lilas", "postalCode": "69003", "city": "LYON"}}},
		M{"type": "track", "userId": "shop-1", "event": "Order Completed", "messageId": "e2", "timestamp": ts(2, 11)})
	time.Sleep(2 * time.Millisecond)
	s.batch(
		M{"type": "identify", "userId": "crm-2", "messageId": "i3", "timestamp": ts(3, 10), "traits": M{
			"first_name": "Marie", "last_name": "Curie", "birthday": "1967-11-07", "email": "marie.curie@example.org",
			"phone": "+33145678901", "address": M{"street": "1 place Bellecour", "postalCode": "69002", "city": "Lyon"}}},
		M{"type": "track", "userId": "crm-2", "event": "Newsletter Opened", "messageId": "e3", "timestamp": ts(3, 11)})
}

// backgroundPeople sends n distinct generated people (the matcher's
// FEBRL-like generator, no duplicates): a workspace has a population, and
// the model is fitted on it (a run on fewer than 20 profiles does nothing).
func backgroundPeople(s *server, n int) {
	recs, _ := match.Generate(n, 0, 11)
	msgs := make([]M, 0, n)
	for i, r := range recs {
		t := M{"first_name": r.GivenName, "last_name": r.Surname, "country": "AU"}
		if d := r.BirthDate; d.Year > 0 && d.Month > 0 && d.Day > 0 {
			t["birthday"] = fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
		}
		t["address"] = M{"street": strings.TrimSpace(r.StreetNumber + " " + strings.Join(r.AddressLines, " ")),
			"postalCode": r.PostalCode, "city": r.Locality, "state": r.Region}
		if r.Phone != "" {
			t["phone"] = r.Phone
		}
		if r.Email != "" {
			t["email"] = r.Email
		}
		msgs = append(msgs, M{"type": "identify", "userId": fmt.Sprintf("bg-%d", i), "messageId": fmt.Sprintf("bg-%d", i),
			"timestamp": ts(1, 1), "traits": t})
	}
	s.batch(msgs...)
	time.Sleep(2 * time.Millisecond)
}

// runReport is the part of a run's answer the tests read.
type runReport struct {
	DryRun   bool       `json:"dry_run"`
	Profiles int        `json:"profiles"`
	Clusters [][]string `json:"clusters"`
	Merges   []struct {
		SurvivorID  string  `json:"survivor_id"`
		MergedID    string  `json:"merged_id"`
		MergeID     string  `json:"merge_id"`
		Probability float64 `json:"probability"`
	} `json:"merges"`
	Reviews         []json.RawMessage `json:"reviews"`
	SkippedRejected int               `json:"skipped_rejected"`
	SkippedUndone   int               `json:"skipped_undone"`
}

type explanation struct {
	PriorWeight   float64 `json:"prior_weight"`
	Contributions []struct {
		Comparison string  `json:"comparison"`
		Level      int     `json:"level"`
		LevelName  string  `json:"level_name"`
		Weight     float64 `json:"weight"`
	} `json:"contributions"`
	Weight      float64 `json:"weight"`
	Probability float64 `json:"probability"`
}

func TestDedupeMergeExplainUndo(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	dedupePeople(s)
	crm, shop, marie := s.lookup("user_id", "crm-1").ID, s.lookup("user_id", "shop-1").ID, s.lookup("user_id", "crm-2").ID
	if crm == shop || crm == marie || shop == marie {
		t.Fatal("identity resolution already merged the people")
	}

	var dry runReport
	s.apiJSON("POST", "/api/v1/dedupe/run", M{"dry_run": true}, http.StatusOK, &dry)
	if !dry.DryRun || dry.Profiles != 63 || len(dry.Merges) != 1 || dry.Merges[0].MergeID != "" || len(s.merges(crm)) != 0 {
		t.Fatalf("dry run: %+v; merges made %d", dry, len(s.merges(crm)))
	}

	var rep runReport
	s.apiJSON("POST", "/api/v1/dedupe/run", nil, http.StatusOK, &rep)
	// The CRM profile is the older one: it survives.
	if len(rep.Merges) != 1 || rep.Merges[0].SurvivorID != crm || rep.Merges[0].MergedID != shop || rep.Merges[0].Probability < 0.95 {
		t.Fatalf("run: %+v, want %s <- %s", rep, crm, shop)
	}
	if got := s.lookup("user_id", "shop-1").ID; got != crm {
		t.Fatalf("shop-1 resolves to %s, want %s", got, crm)
	}
	if got := s.lookup("user_id", "crm-2").ID; got != marie {
		t.Fatalf("Marie resolves to %s", got)
	}
	if ids := messageIDs(s.allEvents(crm, 10)); !slices.Equal(ids, []string{"e2", "i2", "e1", "i1"}) {
		t.Errorf("merged profile's events %v, want both people's", ids)
	}

	// The merge's explanation, as GET /profiles/{id}/merges shows it.
	ms := s.merges(crm)
	if len(ms) != 1 || ms[0].Rule != "probabilistic" || ms[0].ID != rep.Merges[0].MergeID {
		t.Fatalf("merges %+v", ms)
	}
	var ev struct {
		Match explanation `json:"match"`
	}
	if err := json.Unmarshal(ms[0].Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	level := map[string]int{}
	sum := ev.Match.PriorWeight
	for _, c := range ev.Match.Contributions {
		level[c.Comparison] = c.Level
		sum += c.Weight
		if c.Level == 0 && c.Weight != 0 {
			t.Errorf("%s: missing but weighs %v", c.Comparison, c.Weight)
		}
	}
	// Exact: given name, birth date (both read as 1980-05-03), house
	// number, postcode, town. Dupont/Dupond: Jaro-Winkler 0.933, level 2.
	// Different e-mail and phone never agree exactly.
	want := map[string]int{"given_name": 1, "birth_date": 1, "street_number": 1, "postal_code": 1, "locality": 1, "surname": 2}
	for f, l := range want {
		if level[f] != l {
			t.Errorf("%s level %d, want %d", f, level[f], l)
		}
	}
	if level["email"] == 1 || level["phone"] == 1 {
		t.Errorf("email level %d, phone level %d: different values cannot be exact", level["email"], level["phone"])
	}
	if d := sum - ev.Match.Weight; d > 1e-9 || d < -1e-9 {
		t.Errorf("lines add up to %v, weight %v", sum, ev.Match.Weight)
	}

	// The golden record of the merged pair keeps lineage.
	var g struct {
		Golden map[string]struct {
			Value     any       `json:"value"`
			Source    string    `json:"source"`
			ProfileID string    `json:"profile_id"`
			At        time.Time `json:"at"`
			Rule      string    `json:"rule"`
		} `json:"golden"`
	}
	s.apiJSON("GET", "/api/v1/profiles/"+shop+"/golden", nil, http.StatusOK, &g)
	// Both e-mails are valid: most recent, the shop's (day 2).
	if e := g.Golden["email"]; e.Value != "jdupond@shop.example" || e.ProfileID != shop || e.Source != s.sourceID || !e.At.Equal(time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("golden email %+v", e)
	}

	// Undo: both profiles come back with their own events.
	var undone merge
	s.apiJSON("POST", "/api/v1/merges/"+ms[0].ID+"/undo", nil, http.StatusOK, &undone)
	if undone.UndoneAt == nil {
		t.Fatal("undo did not mark the merge")
	}
	if p := s.profile(shop); p.ID != shop || p.Merged || !p.has("user_id", "shop-1") || p.Traits["last_name"] != "Dupond" {
		t.Errorf("restored shop profile %+v", p)
	}
	if p := s.profile(crm); len(p.MergedProfileIDs) != 0 || p.has("user_id", "shop-1") || p.Traits["last_name"] != "Dupont" {
		t.Errorf("crm profile after undo %+v", p)
	}
	if ids := messageIDs(s.allEvents(crm, 10)); !slices.Equal(ids, []string{"e1", "i1"}) {
		t.Errorf("crm events after undo %v", ids)
	}
	if ids := messageIDs(s.allEvents(shop, 10)); !slices.Equal(ids, []string{"e2", "i2"}) {
		t.Errorf("shop events after undo %v", ids)
	}
	// A person undid it: the next run leaves the pair alone.
	var again runReport
	s.apiJSON("POST", "/api/v1/dedupe/run", M{}, http.StatusOK, &again)
	if len(again.Merges) != 0 || again.SkippedUndone != 1 {
		t.Errorf("run after undo: %+v", again)
	}
}

// The review queue through the API: a pair put in the queue (here by hand,
// as a run would) is listed, accepted into an audited merge carrying its
// explanation, and cannot be decided twice; a rejected pair is never
// merged by a run, though the matcher finds it sure.
func TestDedupeReviewAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	dedupePeople(s)
	crm, shop, marie := s.lookup("user_id", "crm-1").ID, s.lookup("user_id", "shop-1").ID, s.lookup("user_id", "crm-2").ID
	expl := `{"a":"x","b":"y","prior_weight":-3,"contributions":[{"comparison":"surname","level":2,"level_name":"jw","weight":4}],"weight":1,"probability":0.6667}`
	s.withDB(func(db *duckdb.DB) {
		at := time.Now()
		for _, r := range []store.DedupeReview{
			{ID: "rev-1", ProfileA: min(crm, shop), ProfileB: max(crm, shop), Probability: 0.6667, Weight: 1, Explanation: json.RawMessage(expl), CreatedAt: at, UpdatedAt: at},
			{ID: "rev-2", ProfileA: min(crm, marie), ProfileB: max(crm, marie), Probability: 0.6, Weight: 0.58, Explanation: json.RawMessage(expl), CreatedAt: at, UpdatedAt: at},
		} {
			if _, _, err := db.ProposeReview(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
	})
	s.start()

	var list struct {
		Reviews []store.DedupeReview `json:"reviews"`
	}
	s.apiJSON("GET", "/api/v1/dedupe/reviews", nil, http.StatusOK, &list)
	if len(list.Reviews) != 2 || list.Reviews[0].ID != "rev-1" || list.Reviews[0].Status != "open" {
		t.Fatalf("open reviews %+v", list.Reviews)
	}
	// Hostile and wrong requests.
	s.apiError("POST", "/api/v1/dedupe/reviews/nope/accept", nil, http.StatusNotFound, "not_found")
	s.apiError("POST", "/api/v1/dedupe/reviews/rev-2/accept", []byte(`{"x":`), http.StatusBadRequest, "invalid_json")
	s.apiError("POST", "/api/v1/dedupe/run", []byte(`{"dry_run":"yes"}`), http.StatusBadRequest, "invalid_json")
	s.apiError("POST", "/api/v1/dedupe/run", []byte(`{"dryrun":true}`), http.StatusBadRequest, "invalid_json")
	s.apiError("GET", "/api/v1/dedupe/reviews?status=maybe", nil, http.StatusBadRequest, "invalid_status")
	s.apiError("GET", "/api/v1/dedupe/reviews?limit=0", nil, http.StatusBadRequest, "invalid_limit")
	s.apiError("GET", "/api/v1/dedupe/reviews?limit=ten", nil, http.StatusBadRequest, "invalid_limit")
	if status, _ := s.do("POST", "/api/v1/dedupe/reviews/rev-1/accept", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("accept without a token: %d, want 401", status)
	}

	// A person decides Jean's shop profile is someone else (reject) and,
	// for the test's sake, that Marie is Jean (accept).
	var dec struct {
		Review store.DedupeReview `json:"review"`
		Merge  *merge             `json:"merge"`
	}
	s.apiJSON("POST", "/api/v1/dedupe/reviews/rev-2/accept", nil, http.StatusOK, &dec)
	if dec.Review.Status != "accepted" || dec.Merge == nil || dec.Merge.Rule != "probabilistic" || dec.Review.MergeID != dec.Merge.ID {
		t.Fatalf("accept: %+v", dec)
	}
	if !strings.Contains(string(dec.Merge.Evidence), `"comparison":"surname"`) {
		t.Errorf("merge evidence %s lacks the review's explanation", dec.Merge.Evidence)
	}
	if got := s.lookup("user_id", "crm-2").ID; got != crm {
		t.Errorf("Marie resolves to %s after the accept, want %s", got, crm)
	}
	s.apiError("POST", "/api/v1/dedupe/reviews/rev-2/accept", nil, http.StatusConflict, "conflict")
	s.apiError("POST", "/api/v1/dedupe/reviews/rev-2/reject", nil, http.StatusConflict, "conflict")

	var rej struct {
		Review store.DedupeReview `json:"review"`
		Merge  *merge             `json:"merge"`
	}
	s.apiJSON("POST", "/api/v1/dedupe/reviews/rev-1/reject", nil, http.StatusOK, &rej)
	if rej.Review.Status != "rejected" || rej.Merge != nil || rej.Review.DecidedBy != "api" || rej.Review.MergeID != "" {
		t.Fatalf("reject: %+v", rej)
	}
	s.apiJSON("GET", "/api/v1/dedupe/reviews?status=all", nil, http.StatusOK, &list)
	if len(list.Reviews) != 2 {
		t.Errorf("all reviews %d, want 2", len(list.Reviews))
	}
	s.apiJSON("GET", "/api/v1/dedupe/reviews", nil, http.StatusOK, &list)
	if len(list.Reviews) != 0 {
		t.Errorf("open reviews %d, want 0", len(list.Reviews))
	}
	// The matcher finds Jean's pair sure (TestDedupeMergeExplainUndo), but
	// it was rejected: the run neither merges nor proposes it.
	var rep runReport
	s.apiJSON("POST", "/api/v1/dedupe/run", M{"dry_run": false}, http.StatusOK, &rep)
	if len(rep.Merges) != 0 || len(rep.Reviews) != 0 || rep.SkippedRejected != 1 {
		t.Errorf("run after reject: %+v", rep)
	}
	if s.lookup("user_id", "shop-1").ID != shop {
		t.Error("the rejected pair was merged")
	}
}

// Survivorship settings through the API: bad documents are refused with a
// reason and change nothing.
func TestSurvivorshipSettingsAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	var sv struct {
		Fields map[string][]string `json:"fields"`
	}
	s.apiJSON("GET", "/api/v1/settings/survivorship", nil, http.StatusOK, &sv)
	if strings.Join(sv.Fields["email"], ",") != "validated_first,most_recent" {
		t.Fatalf("default email rules %v", sv.Fields["email"])
	}
	for _, bad := range []string{`{`, `{"fields":{"email":["loudest"]}}`, `{"fields":{"email":["source_priority"]}}`, `{"nope":1}`, "\xff"} {
		s.apiError("PUT", "/api/v1/settings/survivorship", []byte(bad), http.StatusBadRequest, "invalid_settings")
	}
	s.apiError("PUT", "/api/v1/settings/survivorship", []byte(`{"source_priority":["`+strings.Repeat("a", 70000)+`"]}`), http.StatusRequestEntityTooLarge, "too_large")
	s.apiJSON("PUT", "/api/v1/settings/survivorship", []byte(`{"fields":{"phone":["most_recent"]}}`), http.StatusOK, &sv)
	s.apiJSON("GET", "/api/v1/settings/survivorship", nil, http.StatusOK, &sv)
	if strings.Join(sv.Fields["phone"], ",") != "most_recent" || len(sv.Fields["email"]) != 2 {
		t.Errorf("stored rules %v", sv.Fields)
	}
	s.apiError("GET", "/api/v1/profiles/nope/golden", nil, http.StatusNotFound, "not_found")
}

// `atrium dedupe` and `atrium dedupe review` against a running server: the
// command cannot open the held workspace and goes through the API.
func TestDedupeCLIAgainstServer(t *testing.T) {
	t.Parallel()
	bin := atriumBinary(t)
	s := startServer(t, "")
	dedupePeople(s)
	crm, shop := s.lookup("user_id", "crm-1").ID, s.lookup("user_id", "shop-1").ID
	cli := func(wantExit int, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--data", s.dir)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantExit || !strings.Contains(stderr.String(), "using the running server") {
			t.Fatalf("atrium %v: exit %d (want %d)\n%s\n%s", args, code, wantExit, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	out, _ := cli(0, "dedupe", "--dry-run")
	if !strings.Contains(out, "would merge 1 pair(s)") || !strings.Contains(out, "merge "+shop+" into "+crm) || !strings.Contains(out, "birth_date") {
		t.Errorf("dry run through the server:\n%s", out)
	}
	out, _ = cli(0, "dedupe", "review", "list", "--json")
	if !strings.Contains(out, `"reviews": []`) {
		t.Errorf("empty queue: %s", out)
	}
	_, errOut := cli(1, "dedupe", "review", "accept", "nope")
	if !strings.Contains(errOut, "not found") {
		t.Errorf("unknown review: %s", errOut)
	}
	out, _ = cli(0, "dedupe", "--json")
	var rep runReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Merges) != 1 || rep.Merges[0].MergedID != shop {
		t.Fatalf("run through the server: %s (%v)", out, err)
	}
	if got := s.lookup("user_id", "shop-1").ID; got != crm {
		t.Errorf("after the CLI run shop-1 is on %s, want %s", got, crm)
	}
}

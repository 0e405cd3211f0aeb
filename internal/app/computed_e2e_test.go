package app_test

// Computed traits through the real router: definitions API, values in the
// profile JSON, incremental refresh after ingest and order imports, the
// scores run route and the CLI against a running server.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/cli"
)

// startScoresServer is startServer with the CLI's score steps, as
// "atrium serve" runs them (no schedule: the test runs them).
func startScoresServer(t *testing.T) *server {
	t.Helper()
	s := newServer(t, "")
	s.configure = func(c *app.Config) { c.ScoreSteps = cli.ScoreSteps() }
	s.start()
	t.Cleanup(s.stop)
	return s
}

type scoreJSON struct {
	Value      json.RawMessage `json:"value"`
	ComputedAt time.Time       `json:"computed_at"`
}

func (s *server) scores(typ, value string) (string, map[string]scoreJSON) {
	s.t.Helper()
	var p struct {
		ID     string               `json:"id"`
		Scores map[string]scoreJSON `json:"scores"`
	}
	s.apiJSON("GET", "/api/v1/profiles/lookup?"+typ+"="+value, nil, http.StatusOK, &p)
	return p.ID, p.Scores
}

// waitScore polls until a profile's score has the value (the incremental
// refresh runs a couple of seconds after a commit).
func (s *server) waitScore(typ, value, name, want string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, sc := s.scores(typ, value)
		if got, ok := sc[name]; ok && string(got.Value) == want {
			if got.ComputedAt.IsZero() {
				s.t.Errorf("%s has no computed_at", name)
			}
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s of %s=%s: %v, want %s", name, typ, value, sc[name], want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestComputedTraitsAPI(t *testing.T) {
	s := startScoresServer(t)
	day := 24 * time.Hour
	at := func(d time.Duration) string { return time.Now().UTC().Add(-d).Format(time.RFC3339) }
	s.batch(
		M{"type": "identify", "userId": "u1", "messageId": "i1", "traits": M{"email": "ann@example.com"}},
		M{"type": "track", "userId": "u1", "event": "Product Viewed", "messageId": "e1", "timestamp": at(day), "properties": M{"price": 10}},
		M{"type": "track", "userId": "u1", "event": "Product Viewed", "messageId": "e2", "timestamp": at(40 * day), "properties": M{"price": 20}},
		M{"type": "track", "userId": "u2", "event": "Product Viewed", "messageId": "e3", "timestamp": at(2 * day), "properties": M{"price": 3}},
	)

	def := M{"name": "views_30d", "description": "product views, last 30 days", "aggregate": "count", "over": "events",
		"event": "Product Viewed", "window": M{"last_days": 30}}
	var created struct {
		Definition struct {
			Name string `json:"name"`
		} `json:"definition"`
		Profiles    int64      `json:"profiles"`
		RefreshedAt *time.Time `json:"refreshed_at"`
	}
	s.apiJSON("POST", "/api/v1/computed-traits", def, http.StatusCreated, &created)
	if created.Definition.Name != "views_30d" || created.Profiles != 2 || created.RefreshedAt == nil {
		t.Fatalf("created %+v", created)
	}
	_, sc := s.scores("user_id", "u1")
	if string(sc["views_30d"].Value) != "1" || sc["views_30d"].ComputedAt.IsZero() {
		t.Fatalf("u1 views_30d = %+v, want 1 with computed_at", sc["views_30d"])
	}
	s.apiError("POST", "/api/v1/computed-traits", def, http.StatusConflict, "conflict")

	// Update: a 60-day window counts u1's 40-day-old view too.
	s.apiJSON("PUT", "/api/v1/computed-traits/views_30d", M{"aggregate": "count", "over": "events", "event": "Product Viewed",
		"window": M{"last_days": 60}}, http.StatusOK, nil)
	s.waitScore("user_id", "u1", "views_30d", "2")
	s.apiError("PUT", "/api/v1/computed-traits/views_30d", M{"name": "other", "aggregate": "count", "over": "events"},
		http.StatusBadRequest, "invalid_computed_trait")
	s.apiError("PUT", "/api/v1/computed-traits/nothing_here", M{"aggregate": "count", "over": "events"}, http.StatusNotFound, "not_found")

	// Incremental: new events and imported orders reach the values without
	// a batch run.
	s.apiJSON("POST", "/api/v1/computed-traits", M{"name": "order_revenue", "aggregate": "sum", "over": "orders", "value": "total"},
		http.StatusCreated, nil)
	s.batch(M{"type": "track", "userId": "u2", "event": "Product Viewed", "messageId": "e4", "timestamp": at(time.Hour)})
	s.waitScore("user_id", "u2", "views_30d", "2")
	csv := "order_id,email,ordered_at,total,status\n" +
		"A1,ann@example.com," + time.Now().UTC().Add(-3*day).Format("2006-01-02") + ",12.5,completed\n" +
		"A2,ann@example.com," + time.Now().UTC().Add(-2*day).Format("2006-01-02") + ",7.25,completed\n" +
		"A3,ann@example.com," + time.Now().UTC().Add(-1*day).Format("2006-01-02") + ",100,refunded\n"
	status, raw := s.upload(map[string]string{"kind": "orders", "source": "shop"}, "orders.csv", []byte(csv))
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", status, raw)
	}
	var started struct{ ID string }
	_ = json.Unmarshal(raw, &started)
	if r := s.waitImport(started.ID); r.Status != "done" || r.Created != 3 {
		t.Fatalf("import %+v", r)
	}
	s.waitScore("user_id", "u1", "order_revenue", "19.75") // 12.5 + 7.25; the refunded order is left out

	// List, show, bulk apply, delete.
	var list struct {
		ComputedTraits []struct {
			Definition struct{ Name string } `json:"definition"`
		} `json:"computed_traits"`
	}
	s.apiJSON("GET", "/api/v1/computed-traits", nil, http.StatusOK, &list)
	if len(list.ComputedTraits) != 2 || list.ComputedTraits[0].Definition.Name != "order_revenue" {
		t.Errorf("list %+v", list)
	}
	s.apiJSON("GET", "/api/v1/computed-traits/views_30d", nil, http.StatusOK, nil)
	s.apiError("GET", "/api/v1/computed-traits/nothing_here", nil, http.StatusNotFound, "not_found")
	var applied struct {
		Applied  int              `json:"applied"`
		Profiles map[string]int64 `json:"profiles"`
	}
	s.apiJSON("PUT", "/api/v1/computed-traits", M{"computed_traits": []M{
		{"name": "max_price", "aggregate": "max", "over": "events", "value": "properties.price"},
		{"name": "views_all", "aggregate": "count", "over": "events", "event": "Product Viewed"},
	}}, http.StatusOK, &applied)
	if applied.Applied != 2 || applied.Profiles["max_price"] != 2 || applied.Profiles["views_all"] != 2 {
		t.Errorf("bulk apply %+v", applied)
	}
	_, sc = s.scores("user_id", "u1")
	if string(sc["max_price"].Value) != "20.0" || string(sc["views_all"].Value) != "2" {
		t.Errorf("u1 max_price %s views_all %s, want 20.0 and 2", sc["max_price"].Value, sc["views_all"].Value)
	}
	s.apiJSON("DELETE", "/api/v1/computed-traits/max_price", nil, http.StatusNoContent, nil)
	if _, sc = s.scores("user_id", "u1"); sc["max_price"].Value != nil {
		t.Errorf("deleted trait still on the profile: %s", sc["max_price"].Value)
	}
	s.apiError("DELETE", "/api/v1/computed-traits/max_price", nil, http.StatusNotFound, "not_found")

	// Malformed, hostile, oversized and wrongly encoded input.
	bad := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unknown key", M{"name": "x", "aggregate": "count", "over": "events", "windw": M{}}, 400, "invalid_computed_trait"},
		{"wrong type", M{"name": "x", "aggregate": "count", "over": "events", "limit": "3"}, 400, "invalid_computed_trait"},
		{"malformed", []byte(`{"name": "x",`), 400, "invalid_computed_trait"},
		{"hostile name", M{"name": "x'; DROP TABLE events; --", "aggregate": "count", "over": "events"}, 400, "invalid_computed_trait"},
		{"built-in name", M{"name": "revenue", "aggregate": "count", "over": "orders"}, 400, "invalid_computed_trait"},
		{"hostile property", M{"name": "x", "aggregate": "sum", "over": "events", "value": "properties.a') OR 1=1 --"}, 400, "invalid_computed_trait"},
		{"invalid UTF-8", []byte("{\"name\": \"x\xff\", \"aggregate\": \"count\", \"over\": \"events\"}"), 400, "invalid_encoding"},
		{"oversized", []byte(`{"name": "x", "description": "` + strings.Repeat("a", 70<<10) + `"}`), 413, "too_large"},
	}
	for _, b := range bad {
		status, raw := s.api("POST", "/api/v1/computed-traits", b.body)
		checkError(t, b.name, status, raw, b.status, b.code)
	}
	if st, _ := s.do("POST", "/api/v1/computed-traits", def, nil); st != http.StatusUnauthorized {
		t.Errorf("no token: %d", st)
	}
	if n := strings.Count(s.mustGet("/api/v1/computed-traits"), `"name"`); n != 3 {
		t.Errorf("%d traits after the refused requests, want 3", n)
	}

	// scores run through the API.
	var rep struct {
		Steps []struct {
			Name   string          `json:"name"`
			Result json.RawMessage `json:"result"`
		} `json:"steps"`
	}
	s.apiJSON("POST", "/api/v1/scores/run", M{"only": []string{"computed_traits"}}, http.StatusOK, &rep)
	if len(rep.Steps) != 1 || rep.Steps[0].Name != "computed_traits" || !bytes.Contains(rep.Steps[0].Result, []byte(`"order_revenue":1`)) {
		t.Errorf("scores run: %+v", rep)
	}
	s.apiError("POST", "/api/v1/scores/run", M{"only": []string{"nope"}}, http.StatusBadRequest, "invalid_only")
	s.apiError("POST", "/api/v1/scores/run", M{"onyl": []string{}}, http.StatusBadRequest, "invalid_body")
	s.apiError("POST", "/api/v1/scores/run", []byte(`{"only": ["indicators"]} []`), http.StatusBadRequest, "invalid_body")

	// The atrium binary reaches the running server for traits apply and
	// scores run (in this process the CLI would share the open file).
	bin := atriumBinary(t)
	file := filepath.Join(t.TempDir(), "traits.yaml")
	yaml := "computed_traits:\n  - name: cheap_views\n    aggregate: count\n    over: events\n    where: [{field: properties.price, op: \"<\", value: 5}]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, append(args, "--data", s.dir)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	if code, out, errs := run("scores", "traits", "apply", file); code != 0 || !strings.Contains(errs, "using the running server") {
		t.Fatalf("traits apply: %d %s %s", code, out, errs)
	}
	s.waitScore("user_id", "u2", "cheap_views", "1")
	code, out, errs := run("scores", "run", "--only", "indicators,computed_traits", "--json")
	if code != 0 || !strings.Contains(errs, "using the running server") || !strings.Contains(out, `"computed_traits"`) {
		t.Errorf("scores run via the server: %d %s / %s", code, out, errs)
	}
	if code, _, errs := run("scores", "run", "--only", "nope"); code != 2 || !strings.Contains(errs, "computed_traits") {
		t.Errorf("scores run --only nope: exit %d %s, want 2 listing the steps", code, errs)
	}
}

func (s *server) mustGet(path string) string {
	s.t.Helper()
	status, raw := s.api("GET", path, nil)
	if status != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, status, raw)
	}
	return string(raw)
}

// Profiles touched just before a stop are queued in memory only: the next
// start catches up with one batch refresh, so no accepted change is missing
// from the computed traits.
func TestComputedTraitsCatchUpAfterAStop(t *testing.T) {
	s := startScoresServer(t)
	s.apiJSON("POST", "/api/v1/computed-traits", M{"name": "views_all", "aggregate": "count", "over": "events",
		"event": "Product Viewed"}, http.StatusCreated, nil)
	msgs := []M{{"type": "identify", "userId": "u9", "messageId": "c0", "traits": M{"email": "u9@example.com"}}}
	for i := 1; i <= 5; i++ {
		msgs = append(msgs, M{"type": "track", "userId": "u9", "event": "Product Viewed", "messageId": fmt.Sprintf("c%d", i)})
	}
	s.batch(msgs...)
	s.stop() // well within the incremental delay after the commit
	s.start()
	s.waitScore("user_id", "u9", "views_all", "5")
}

// A segment on a computed trait follows it: the incremental refresh of the
// trait re-evaluates the profile's memberships, and so does a scores run.
func TestSegmentOnAComputedTraitFollowsIt(t *testing.T) {
	s := startScoresServer(t)
	s.apiJSON("POST", "/api/v1/computed-traits", M{"name": "clicks", "aggregate": "count", "over": "events",
		"event": "Click"}, http.StatusCreated, nil)
	s.apiJSON("POST", "/api/v1/segments", M{"name": "clickers", "rule": `score.clicks >= 3`}, http.StatusCreated, nil)
	s.batch(M{"type": "identify", "userId": "u1", "messageId": "s0"},
		M{"type": "track", "userId": "u1", "event": "Click", "messageId": "s1"})
	s.waitScore("user_id", "u1", "clicks", "1")
	pid := s.lookup("user_id", "u1").ID
	s.waitMember("clickers", pid, false)
	s.batch(M{"type": "track", "userId": "u1", "event": "Click", "messageId": "s2"},
		M{"type": "track", "userId": "u1", "event": "Click", "messageId": "s3"})
	s.waitScore("user_id", "u1", "clicks", "3")
	s.waitMember("clickers", pid, true)
}

// Concurrent creates of one name: one 201, the others 409.
func TestComputedTraitConcurrentCreates(t *testing.T) {
	s := startScoresServer(t)
	codes := make(chan int, 6)
	for range 6 {
		go func() {
			st, _ := s.api("POST", "/api/v1/computed-traits", M{"name": "same", "aggregate": "count", "over": "orders"})
			codes <- st
		}()
	}
	created := 0
	for range 6 {
		switch st := <-codes; st {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", st)
		}
	}
	if created != 1 {
		t.Errorf("%d creates answered 201, want 1", created)
	}
}

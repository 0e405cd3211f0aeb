package app_test

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

type segmentJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Rule      string  `json:"rule"`
	Size      int64   `json:"size"`
	Status    string  `json:"status"`
	Computed  *string `json:"last_computed_at"`
	LastError string  `json:"last_error"`
}

// waitMember polls the members route until the profile is (or is not) a
// member of the segment.
func (s *server) waitMember(seg, pid string, want bool) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := s.api("GET", "/api/v1/segments/"+url.PathEscape(seg)+"/members?profile_id="+url.QueryEscape(pid), nil)
		if (status == http.StatusOK) == want {
			return
		}
		if status != http.StatusOK && status != http.StatusNotFound {
			s.t.Fatalf("membership check answered %d", status)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("profile %s member of %s: want %v within 10 s", pid, seg, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// From events over HTTP to memberships, exports and the change feed.
func TestSegmentsEndToEnd(t *testing.T) {
	s := startServer(t, "")
	now := time.Now().UTC()
	s.batch(
		M{"type": "identify", "userId": "u1", "messageId": "i1", "traits": M{"email": "Ann@Example.com", "city": "Lyon"}},
		M{"type": "identify", "userId": "u2", "messageId": "i2", "traits": M{"email": "bo@example.org", "city": "Lyon"}},
		M{"type": "identify", "userId": "u3", "messageId": "i3", "traits": M{"city": "Paris"}},
		M{"type": "track", "userId": "u1", "messageId": "t1", "event": "Purchase", "timestamp": now.Add(-time.Hour).Format(time.RFC3339)},
	)
	u1, u2, u3 := s.lookup("user_id", "u1").ID, s.lookup("user_id", "u2").ID, s.lookup("user_id", "u3").ID

	var seg segmentJSON
	s.apiJSON("POST", "/api/v1/segments", M{"name": "lyon buyers", "rule": `trait.city = "Lyon" and did event "Purchase" in last 7 days`},
		http.StatusCreated, &seg)
	if seg.Size != 1 || seg.Status != "ok" || seg.Computed == nil {
		t.Fatalf("created: %+v", seg)
	}
	// Real time: u2 buys; the membership follows the commit.
	s.batch(M{"type": "track", "userId": "u2", "messageId": "t2", "event": "Purchase"})
	s.waitMember(seg.ID, u2, true)
	// u3 buys but lives in Paris; then moves to Lyon (a trait change).
	s.batch(M{"type": "track", "userId": "u3", "messageId": "t3", "event": "Purchase"})
	s.batch(M{"type": "identify", "userId": "u3", "messageId": "i3b", "traits": M{"city": "Lyon"}})
	s.waitMember(seg.ID, u3, true)
	// An administrative merge: u3 merged into u1 leaves.
	s.apiJSON("POST", "/api/v1/profiles/"+u1+"/merge", M{"profile_id": u3}, http.StatusOK, nil)
	s.waitMember(seg.ID, u3, false)
	s.waitMember(seg.ID, u1, true)

	var page struct {
		Members []struct {
			ProfileID string `json:"profile_id"`
		} `json:"members"`
	}
	s.apiJSON("GET", "/api/v1/segments/lyon%20buyers/members?limit=10", nil, http.StatusOK, &page)
	got := []string{}
	for _, m := range page.Members {
		got = append(got, m.ProfileID)
	}
	want := sortedIDs(u1, u2)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("members = %v, want %v", got, want)
	}

	// Preview and overlap.
	var p struct {
		Count  int64 `json:"count"`
		Sample []struct {
			ID     string         `json:"id"`
			Traits map[string]any `json:"traits"`
		} `json:"sample"`
	}
	s.apiJSON("POST", "/api/v1/segments/preview", M{"rule": `trait.city = "Lyon"`, "sample": 5}, http.StatusOK, &p)
	if p.Count != 2 || len(p.Sample) != 2 || p.Sample[0].Traits["city"] != "Lyon" { // u1, u2 (u3 merged away)
		t.Errorf("preview: %+v", p)
	}
	var all segmentJSON
	s.apiJSON("POST", "/api/v1/segments", M{"name": "everyone", "rule": `not trait.nothing exists`}, http.StatusCreated, &all)
	var o struct {
		Both    int64   `json:"both"`
		Jaccard float64 `json:"jaccard"`
	}
	s.apiJSON("GET", "/api/v1/segments/everyone/overlap?with=lyon%20buyers", nil, http.StatusOK, &o)
	if o.Both != 2 || o.Jaccard != 1 {
		t.Errorf("overlap: %+v", o)
	}

	// Export with trailers.
	req, _ := http.NewRequest("GET", s.url+"/api/v1/segments/"+seg.ID+"/export?format=csv&fields=id,email,traits.city", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(rows) != 3 || resp.Trailer.Get("Atrium-Included") != "2" {
		t.Fatalf("export: %d %v %v trailer %v", resp.StatusCode, rows, err, resp.Trailer)
	}
	emails := map[string]string{rows[1][0]: rows[1][1], rows[2][0]: rows[2][1]}
	// the quality normaliser lower-cases the domain only
	if emails[u1] != "Ann@example.com" || emails[u2] != "bo@example.org" {
		t.Errorf("export e-mails: %v", emails)
	}

	// The change feed holds every enter and exit in order.
	var feed struct {
		Changes []struct {
			Seq       int64  `json:"seq"`
			SegmentID string `json:"segment_id"`
			ProfileID string `json:"profile_id"`
			Kind      string `json:"kind"`
		} `json:"changes"`
	}
	s.apiJSON("GET", "/api/v1/segments/changes?after=0&limit=100", nil, http.StatusOK, &feed)
	var mine []string
	for _, c := range feed.Changes {
		if c.SegmentID == seg.ID {
			mine = append(mine, c.Kind+":"+c.ProfileID)
		}
	}
	wantFeed := []string{"enter:" + u1, "enter:" + u2, "enter:" + u3, "exit:" + u3}
	if strings.Join(mine, ",") != strings.Join(wantFeed, ",") {
		t.Errorf("feed = %v, want %v", mine, wantFeed)
	}

	var sizes struct {
		Sizes []struct {
			Size int64 `json:"size"`
		} `json:"sizes"`
	}
	s.apiJSON("GET", "/api/v1/segments/"+seg.ID+"/sizes", nil, http.StatusOK, &sizes)
	if len(sizes.Sizes) < 1 || sizes.Sizes[len(sizes.Sizes)-1].Size != 1 {
		t.Errorf("sizes: %+v", sizes)
	}
	var refreshed struct {
		Segments []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"segments"`
	}
	s.apiJSON("POST", "/api/v1/segments/refresh", nil, http.StatusOK, &refreshed)
	if len(refreshed.Segments) != 2 {
		t.Errorf("refresh: %+v", refreshed)
	}

	s.apiJSON("DELETE", "/api/v1/segments/everyone", nil, http.StatusOK, nil)
	s.apiError("GET", "/api/v1/segments/everyone", nil, http.StatusNotFound, "not_found")

	// Independent check on the file: open memberships by plain SQL.
	s.withDB(func(db *duckdb.DB) {
		n := count(t, db, `SELECT count(*) FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL`, seg.ID)
		if n != 2 {
			t.Errorf("%d open memberships on file, want 2", n)
		}
	})
}

func sortedIDs(ids ...string) []string {
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if ids[j] < ids[i] {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
	}
	return ids
}

// Malformed, oversized, wrongly encoded and hostile input on every route.
func TestSegmentsHostileInput(t *testing.T) {
	s := startServer(t, "")
	s.apiJSON("POST", "/api/v1/segments", M{"name": "base", "rule": `trait.x = 1`}, http.StatusCreated, nil)

	// A syntax error comes back with its position.
	status, raw := s.api("POST", "/api/v1/segments", M{"name": "n", "rule": "trait.city = \"Lyon\" and\n  did event"})
	var e struct {
		Error struct {
			Code     string `json:"code"`
			Message  string `json:"message"`
			Position struct {
				Line, Column int
				Expected     string
			} `json:"position"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e); status != 400 || e.Error.Code != "invalid_rule" || e.Error.Position.Line != 2 ||
		e.Error.Position.Column != 12 || e.Error.Position.Expected == "" {
		t.Errorf("syntax error: %d %s", status, raw)
	}

	big := strings.Repeat("a", 70<<10)
	cases := []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/v1/segments", []byte(`{"name":`), 400, "invalid_json"},
		{"POST", "/api/v1/segments", []byte(`[]`), 400, "invalid_json"},
		{"POST", "/api/v1/segments", M{"name": "n", "rule": "x", "admin": true}, 400, "invalid_json"},
		{"POST", "/api/v1/segments", M{"name": "n", "rule": big}, 413, "too_large"},
		{"POST", "/api/v1/segments", []byte("{\"name\":\"n\xff\",\"rule\":\"trait.x = 1\"}"), 400, "invalid_json"},
		{"POST", "/api/v1/segments", M{"name": "n'; DROP TABLE profiles; --", "rule": `trait.x = 1`}, 400, "invalid_name"},
		{"POST", "/api/v1/segments", M{"name": "n", "rule": `trait.x = 1; DROP TABLE profiles`}, 400, "invalid_rule"},
		{"POST", "/api/v1/segments", M{"name": "n", "rule": `in segment "ghost"`}, 400, "invalid_rule"},
		{"POST", "/api/v1/segments", M{"name": "n", "rule_json": M{"op": "and", "args": "x"}}, 400, "invalid_rule_json"},
		{"POST", "/api/v1/segments", M{"name": "n", "rule": `trait.x = 1`, "time_zone": "../../../etc/passwd"}, 400, "invalid_time_zone"},
		{"POST", "/api/v1/segments", M{"name": "base", "rule": `trait.x = 2`}, 409, "conflict"},
		{"PUT", "/api/v1/segments/ghost", M{"rule": `trait.x = 1`}, 404, "not_found"},
		{"PUT", "/api/v1/segments/base", M{"rule": `((`}, 400, "invalid_rule"},
		{"DELETE", "/api/v1/segments/ghost", nil, 404, "not_found"},
		{"GET", "/api/v1/segments/" + url.PathEscape(strings.Repeat("z", 2000)), nil, 404, "not_found"},
		{"POST", "/api/v1/segments/preview", M{"rule": `trait.x = `}, 400, "invalid_rule"},
		{"POST", "/api/v1/segments/preview", M{"rule": `trait.x = 1`, "sample": 100000}, 400, "invalid_sample"},
		{"GET", "/api/v1/segments/base/members?limit=0", nil, 400, "invalid_limit"},
		{"GET", "/api/v1/segments/base/members?limit=abc", nil, 400, "invalid_limit"},
		{"GET", "/api/v1/segments/base/members?after=" + strings.Repeat("x", 300), nil, 400, "invalid_after"},
		{"GET", "/api/v1/segments/base/members?profile_id=nobody", nil, 404, "not_found"},
		{"GET", "/api/v1/segments/base/overlap", nil, 400, "invalid_with"},
		{"GET", "/api/v1/segments/base/overlap?with=ghost", nil, 404, "not_found"},
		{"GET", "/api/v1/segments/base/sizes?limit=-1", nil, 400, "invalid_limit"},
		{"GET", "/api/v1/segments/base/export?format=xlsx", nil, 400, "invalid_format"},
		{"GET", "/api/v1/segments/base/export?fields=id,../../etc", nil, 400, "invalid_fields"},
		{"GET", "/api/v1/segments/base/export?purpose=%27%3B", nil, 400, "invalid_purpose"},
		{"GET", "/api/v1/segments/ghost/export", nil, 404, "not_found"},
		{"GET", "/api/v1/segments/changes?after=-5", nil, 400, "invalid_after"},
		{"POST", "/api/v1/segments/refresh", M{"names": []string{"ghost"}}, 404, "not_found"},
	}
	for _, c := range cases {
		s.apiError(c.method, c.path, c.body, c.status, c.code)
	}
	// A body cut short says so, rather than "unreadable".
	if status, raw := s.api("POST", "/api/v1/segments", []byte(`{"name":"x","rule":"has email"`)); status != 400 ||
		!strings.Contains(string(raw), "ends too early") {
		t.Errorf("truncated body: %d %s", status, raw)
	}
	// An update keeps what it does not give: a new description alone keeps the rule.
	if status, raw := s.api("PUT", "/api/v1/segments/base", M{"description": "the base"}); status != 200 ||
		!strings.Contains(string(raw), `"rule":"trait.x = 1"`) || !strings.Contains(string(raw), `"description":"the base"`) {
		t.Errorf("description-only update: %d %s", status, raw)
	}
	// Without a token every segment route is refused.
	for _, p := range []string{"/api/v1/segments", "/api/v1/segments/base", "/api/v1/segments/base/export"} {
		status, _ := s.do("GET", p, nil, nil)
		if status != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d", p, status)
		}
	}
	// Nothing refused was stored, and the profiles table is intact.
	var list struct {
		Segments []segmentJSON `json:"segments"`
	}
	s.apiJSON("GET", "/api/v1/segments", nil, http.StatusOK, &list)
	if len(list.Segments) != 1 || list.Segments[0].Name != "base" {
		t.Errorf("segments after hostile input: %+v", list.Segments)
	}
	s.withDB(func(db *duckdb.DB) {
		if n := count(t, db, `SELECT count(*) FROM profiles`); n != 0 {
			t.Errorf("profiles: %d", n)
		}
	})
}

// A change committed but never evaluated (the touched queue is in memory: a
// stop or a crash between commit and evaluation loses it) still reaches the
// memberships, because every start computes every segment once. The change
// is written straight into the file while the server is stopped, which is
// exactly what the server finds after such a crash.
func TestSegmentsCatchUpAtStart(t *testing.T) {
	s := startServer(t, "")
	s.batch(M{"type": "identify", "userId": "u1", "messageId": "i1", "traits": M{"plan": "free"}})
	pid := s.lookup("user_id", "u1").ID
	s.apiJSON("POST", "/api/v1/segments", M{"name": "vip", "rule": `trait.plan = "vip"`}, http.StatusCreated, nil)
	s.waitMember("vip", pid, false)
	s.withDB(func(db *duckdb.DB) {
		if _, err := db.SQL().Exec(`UPDATE profiles SET traits = '{"plan":"vip"}' WHERE id = ?`, pid); err != nil {
			t.Fatal(err)
		}
	})
	s.start()
	s.waitMember("vip", pid, true)
}

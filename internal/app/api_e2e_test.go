package app_test

// The profile REST API: authentication, errors, paging and the JSON shapes.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestAPIRefusesWriteKeysAndBadTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "identify", "userId": "u-1", "messageId": "m1"})
	path := "/api/v1/profiles/lookup?user_id=u-1"
	cases := []struct {
		name string
		edit func(*http.Request)
		code string
	}{
		{"no credentials", nil, "unauthorized"},
		{"write key as bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s.writeKey) }, "invalid_token"},
		{"write key as basic", func(r *http.Request) { r.SetBasicAuth(s.writeKey, "") }, "unauthorized"},
		{"token as basic", func(r *http.Request) { r.SetBasicAuth(s.token, "") }, "unauthorized"},
		{"unknown token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer atr_nope") }, "invalid_token"},
	}
	for _, c := range cases {
		status, raw := s.do("GET", path, nil, c.edit)
		checkError(t, c.name, status, raw, http.StatusUnauthorized, c.code)
	}
	// The API token is no write key either.
	status, r := s.sendWith("track", M{"userId": "u-1", "event": "X"}, func(r *http.Request) { r.SetBasicAuth(s.token, "") })
	if status != http.StatusUnauthorized || r.Error == nil || r.Error.Code != "invalid_write_key" {
		t.Errorf("API token as write key: %d %+v", status, r)
	}

	// A token made through the API works until it is revoked.
	var made struct {
		Token struct {
			ID string `json:"id"`
		} `json:"token"`
		Secret string `json:"secret"`
	}
	s.apiJSON("POST", "/api/v1/tokens", M{"name": "ci"}, http.StatusCreated, &made)
	withTok := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+made.Secret) }
	if st, raw := s.do("GET", path, nil, withTok); st != http.StatusOK {
		t.Fatalf("new token: %d %s", st, raw)
	}
	s.apiJSON("DELETE", "/api/v1/tokens/"+made.Token.ID, nil, http.StatusOK, nil)
	st, raw := s.do("GET", path, nil, withTok)
	checkError(t, "revoked token", st, raw, http.StatusUnauthorized, "invalid_token")

	// The last active token cannot be revoked: that would lock everyone out.
	var list struct {
		Tokens []struct {
			ID        string  `json:"id"`
			Name      string  `json:"name"`
			RevokedAt *string `json:"revoked_at"`
		} `json:"tokens"`
	}
	s.apiJSON("GET", "/api/v1/tokens", nil, http.StatusOK, &list)
	for _, tk := range list.Tokens {
		if tk.Name == "admin" && tk.RevokedAt == nil {
			st, raw := s.api("DELETE", "/api/v1/tokens/"+tk.ID, nil)
			checkError(t, "last token", st, raw, http.StatusConflict, "conflict")
		}
	}
	if st, _ := s.api("GET", path, nil); st != http.StatusOK {
		t.Errorf("admin token no longer works after a refused revoke: %d", st)
	}
}

// Every error is {"error": {"code", "message"}} with its status, and no
// message carries internal text.
func TestAPIErrorAnswers(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "identify", "userId": "u-1", "messageId": "m1", "traits": M{"email": "a@example.com"}})
	id := s.lookup("user_id", "u-1").ID
	cases := []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"GET", "/api/v1/profiles/00000000-0000-0000-0000-000000000000", nil, 404, "not_found"},
		{"GET", "/api/v1/profiles/" + strings.Repeat("x", 65), nil, 400, "invalid_id"},
		{"GET", "/api/v1/profiles/a%20b", nil, 400, "invalid_id"},
		{"GET", "/api/v1/profiles/lookup?email=nobody@example.com", nil, 404, "not_found"},
		{"GET", "/api/v1/profiles/lookup?user_id=" + url.QueryEscape("x'; DROP TABLE profiles; --"), nil, 404, "not_found"},
		{"GET", "/api/v1/profiles/lookup", nil, 400, "invalid_lookup"},
		{"GET", "/api/v1/profiles/lookup?email=a@example.com&user_id=u-1", nil, 400, "invalid_lookup"},
		{"GET", "/api/v1/profiles/lookup?email=a@example.com&email=b@example.com", nil, 400, "invalid_lookup"},
		{"GET", "/api/v1/profiles/lookup?email=not-an-email", nil, 400, "invalid_email"},
		{"GET", "/api/v1/profiles/lookup?phone=abc", nil, 400, "invalid_phone"},
		{"GET", "/api/v1/profiles/lookup?user_id=%20%20", nil, 400, "invalid_lookup"},
		{"GET", "/api/v1/profiles/" + id + "/events?limit=0", nil, 400, "invalid_limit"},
		{"GET", "/api/v1/profiles/" + id + "/events?limit=1001", nil, 400, "invalid_limit"},
		{"GET", "/api/v1/profiles/" + id + "/events?limit=ten", nil, 400, "invalid_limit"},
		{"GET", "/api/v1/profiles/" + id + "/events?before=!!!", nil, 400, "invalid_cursor"},
		{"GET", "/api/v1/profiles/" + id + "/events?before=" + "MTIzLmFiYw", nil, 400, "invalid_cursor"},
		{"GET", "/api/v1/profiles/no-such-id/events", nil, 404, "not_found"},
		{"GET", "/api/v1/profiles/no-such-id/merges", nil, 404, "not_found"},
		{"POST", "/api/v1/profiles/" + id + "/merge", []byte(`{"profile_id": 12}`), 400, "invalid_json"},
		{"POST", "/api/v1/profiles/" + id + "/merge", []byte(strings.Repeat(" ", 70<<10) + "{}"), 413, "too_large"},
		{"POST", "/api/v1/merges/no-such-merge/undo", nil, 404, "not_found"},
		{"POST", "/api/v1/sources", M{"name": ""}, 400, "invalid_name"},
		{"POST", "/api/v1/sources", M{"name": "crm", "kind": "fax"}, 400, "invalid_kind"},
		{"DELETE", "/api/v1/sources/no-such-source", nil, 404, "not_found"},
		{"GET", "/api/v1/nothing-here", nil, 404, "not_found"},
		{"POST", "/api/v1/profiles/" + id + "/merge", M{}, 400, "invalid_json"},
		{"POST", "/api/v1/profiles/" + id + "/merge", []byte("{\"profile_id\": \"\xff\"}"), 400, "invalid_json"},
		{"POST", "/api/v1/profiles/" + id + "/merge", []byte(`{"profile_id": "x"} {"junk": 1}`), 400, "invalid_json"},
		{"POST", "/api/v1/profiles/" + id + "/merge", []byte(`[{"profile_id": "x"}]`), 400, "invalid_json"},
		{"GET", "/api/v1/profiles/lookup?emial=a@example.com", nil, 400, "invalid_lookup"},
		{"GET", "/api/v1/profiles/lookup?" + url.QueryEscape("crm_id'--") + "=1", nil, 400, "invalid_lookup"},
		{"DELETE", "/api/v1/profiles/" + id, nil, 405, "method_not_allowed"},
		{"GET", "/v1/track", nil, 405, "method_not_allowed"},
		{"POST", "/api/v1/settings/identity", M{}, 405, "method_not_allowed"},
		{"PUT", "/api/v1/settings/identity", M{"priority": []string{"bogus"}}, 400, "invalid_settings"},
		{"PUT", "/api/v1/settings/identity", M{"limits": M{"Foo Bar": 3}}, 400, "invalid_settings"},
		{"PUT", "/api/v1/settings/identity", M{"default_region": "ZZ"}, 400, "invalid_settings"},
		{"PUT", "/api/v1/settings/identity", M{"limits": M{"user_id": "two"}}, 400, "invalid_settings"},
		{"PUT", "/api/v1/settings/identity", M{"nope": 1}, 400, "invalid_settings"},
	}
	for _, c := range cases {
		status, raw := s.api(c.method, c.path, c.body)
		what := c.method + " " + c.path
		if len(what) > 80 {
			what = what[:80]
		}
		checkError(t, what, status, raw, c.status, c.code)
		low := strings.ToLower(string(raw))
		for _, leak := range []string{"sql", "duckdb", "binder", "catalog", "unnest", "panic", "goroutine", "drop table"} {
			if strings.Contains(low, leak) {
				t.Errorf("%s: the answer leaks internal text %q: %s", what, leak, raw)
			}
		}
	}
	// A second source with the same name is a conflict.
	s.apiJSON("POST", "/api/v1/sources", M{"name": "crm", "kind": "crm"}, http.StatusCreated, nil)
	s.apiError("POST", "/api/v1/sources", M{"name": "crm", "kind": "crm"}, http.StatusConflict, "conflict")
}

// Paging through a profile's events with the cursor loses and repeats
// nothing, newest first, ties broken by arrival, merged histories included.
func TestProfileEventsPaging(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	type sent struct {
		id string
		at time.Time
		n  int // arrival order
	}
	var all []sent
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var batch []M
	flush := func() {
		if len(batch) > 0 {
			s.batch(batch...)
			batch = nil
		}
	}
	for i := 0; i < 57; i++ {
		// Five distinct times, so most events share their time with others.
		at := base.Add(time.Duration(i%5) * time.Hour)
		id := fmt.Sprintf("e%02d", i)
		who := "userId"
		whoVal := "u-p"
		if i >= 40 {
			who, whoVal = "anonymousId", "anon-p" // a second history, merged below
		}
		batch = append(batch, M{"type": "track", who: whoVal, "event": "E", "messageId": id, "timestamp": at.Format(time.RFC3339Nano),
			"properties": M{"i": i}})
		all = append(all, sent{id, at, i})
		if len(batch) == 9 {
			flush()
		}
	}
	flush()
	s.batch(M{"type": "identify", "userId": "u-p", "anonymousId": "anon-p", "messageId": "link", "timestamp": base.Add(-time.Hour).Format(time.RFC3339)})
	all = append(all, sent{"link", base.Add(-time.Hour), 57})

	sort.Slice(all, func(i, j int) bool {
		if !all[i].at.Equal(all[j].at) {
			return all[i].at.After(all[j].at)
		}
		return all[i].n > all[j].n
	})
	want := make([]string, len(all))
	for i, e := range all {
		want[i] = e.id
	}
	p := s.lookup("user_id", "u-p")
	for _, size := range []int{1, 7, 10, 29, 58, 1000} {
		got := s.allEvents(p.ID, size)
		if ids := messageIDs(got); !slices.Equal(ids, want) {
			t.Errorf("page size %d: %d events %v\nwant %d %v", size, len(ids), ids, len(want), want)
		}
	}
	// The first page of a merged-away id is the survivor's first page.
	anon := s.profile(s.lookup("anonymous_id", "anon-p").ID)
	if anon.ID != p.ID {
		t.Fatalf("anon-p not merged into u-p")
	}
	var page eventsPage
	s.apiJSON("GET", "/api/v1/profiles/"+p.ID+"/events?limit=3", nil, http.StatusOK, &page)
	if ids := messageIDs(page.Events); !slices.Equal(ids, want[:3]) || page.Next == nil {
		t.Errorf("first page %v next %v, want %v and a cursor", ids, page.Next, want[:3])
	}
	// The default page is 50 events.
	s.apiJSON("GET", "/api/v1/profiles/"+p.ID+"/events", nil, http.StatusOK, &page)
	if len(page.Events) != 50 {
		t.Errorf("default page has %d events, want 50", len(page.Events))
	}
}

// Events carry their type, name, message id, corrected time and properties.
func TestEventJSON(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	// A device whose clock runs two hours ahead, sending an event it
	// recorded ten minutes before sending.
	skew := 2 * time.Hour
	now := time.Now().UTC()
	sentAt := now.Add(skew).Truncate(time.Millisecond)
	devTime := sentAt.Add(-10 * time.Minute)
	s.batch(M{"type": "track", "userId": "u-e", "event": "Order Completed", "messageId": "o1", "sentAt": sentAt.Format(time.RFC3339Nano),
		"timestamp": devTime.Format(time.RFC3339Nano), "properties": M{"total": 42.5, "currency": "EUR"}},
		M{"type": "page", "userId": "u-e", "name": "Pricing", "messageId": "o2", "timestamp": ts(1, 10)})
	evs := s.allEvents(s.lookup("user_id", "u-e").ID, 10)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	e := evs[0]
	if e.Type != "track" || e.Event != "Order Completed" || e.MessageID != "o1" || e.SourceID != s.sourceID || e.UserID != "u-e" ||
		!jsonEqual(e.Properties, M{"total": 42.5, "currency": "EUR"}) {
		t.Errorf("track event %+v", e)
	}
	// Corrected: receivedAt - (sentAt - timestamp) = about now - 10 min.
	if d := e.Timestamp.Sub(now.Add(-10 * time.Minute)); d < -5*time.Second || d > 30*time.Second {
		t.Errorf("corrected timestamp %s, want about %s", e.Timestamp, now.Add(-10*time.Minute))
	}
	if e.OriginalTimestamp == nil || !e.OriginalTimestamp.Equal(devTime) {
		t.Errorf("original_timestamp %v, want %s", e.OriginalTimestamp, devTime)
	}
	if d := time.Duration(e.SkewMillis)*time.Millisecond + skew; d < -30*time.Second || d > 30*time.Second {
		t.Errorf("skew_ms %d, want about %d", e.SkewMillis, -skew.Milliseconds())
	}
	pg := evs[1]
	if pg.Type != "page" || pg.Name != "Pricing" || !pg.Timestamp.Equal(mustTime(ts(1, 10))) || pg.Properties == nil {
		t.Errorf("page event %+v", pg)
	}
	// Field names as documented.
	_, raw := s.api("GET", "/api/v1/profiles/"+e.ProfileID+"/events?limit=1", nil)
	var shape struct {
		Events []map[string]json.RawMessage `json:"events"`
		Next   json.RawMessage              `json:"next"`
	}
	if err := json.Unmarshal(raw, &shape); err != nil || len(shape.Events) != 1 || shape.Next == nil {
		t.Fatalf("events answer %s", raw)
	}
	for _, k := range []string{"type", "event", "message_id", "timestamp", "properties"} {
		if _, ok := shape.Events[0][k]; !ok {
			t.Errorf("event JSON has no %q: %s", k, raw)
		}
	}
}

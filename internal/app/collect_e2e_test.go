package app_test

// The collection API over HTTP against a real server: authentication,
// compression, limits, partial batches, deduplication, broken text, CORS and
// the operational endpoints. The decoder's own unit tests live in package
// collect; these check what a sender sees and what ends up stored.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// storedIDs lists the stored events' message ids, sorted.
func storedIDs(t *testing.T, db *duckdb.DB) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT message_id FROM events ORDER BY message_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func TestWriteKeyPlacesAndRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	noAuth := func(*http.Request) {}
	ok := []struct {
		name, endpoint string
		body           any
		edit           func(*http.Request)
	}{
		{"basic user name", "track", M{"userId": "u", "event": "E", "messageId": "ok1"}, nil},
		{"body of a single call", "track", M{"userId": "u", "event": "E", "messageId": "ok2", "writeKey": s.writeKey}, noAuth},
		{"top of a batch", "batch", M{"writeKey": s.writeKey, "batch": []M{{"type": "track", "userId": "u", "event": "E", "messageId": "ok3"}}}, noAuth},
		{"first message of a batch", "batch", M{"batch": []M{{"type": "track", "userId": "u", "event": "E", "messageId": "ok4", "writeKey": s.writeKey}}}, noAuth},
		{"short endpoint /v1/t", "t", M{"userId": "u", "event": "E", "messageId": "ok5"}, nil},
		{"short endpoint /v1/i", "i", M{"userId": "u", "messageId": "ok6"}, nil},
	}
	for _, c := range ok {
		var status int
		var r collectResp
		if c.edit == nil {
			status, r = s.send(c.endpoint, c.body)
		} else {
			status, r = s.sendWith(c.endpoint, c.body, c.edit)
		}
		if status != http.StatusOK || !r.Success || r.Accepted != 1 {
			t.Errorf("%s: %d %+v", c.name, status, r)
		}
	}

	// A second source, used, then revoked.
	var src struct {
		ID       string `json:"id"`
		WriteKey string `json:"write_key"`
	}
	s.apiJSON("POST", "/api/v1/sources", M{"name": "shop", "kind": "eshop"}, http.StatusCreated, &src)
	withKey := func(k string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(k, "") } }
	if st, r := s.sendWith("track", M{"userId": "u", "event": "E", "messageId": "shop1"}, withKey(src.WriteKey)); st != 200 || r.Accepted != 1 {
		t.Fatalf("second source: %d %+v", st, r)
	}
	s.apiJSON("DELETE", "/api/v1/sources/"+src.ID, nil, http.StatusOK, nil)

	refused := []struct {
		name string
		edit func(*http.Request)
		code string
	}{
		{"no key", noAuth, "missing_write_key"},
		{"unknown key", withKey("wk_nope"), "invalid_write_key"},
		{"revoked key", withKey(src.WriteKey), "invalid_write_key"},
		{"API token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s.token) }, "missing_write_key"},
	}
	for i, c := range refused {
		body := M{"batch": []M{{"type": "track", "userId": "u", "event": "E", "messageId": "no" + strconv.Itoa(i)}}}
		status, r := s.sendWith("batch", body, c.edit)
		if status != http.StatusUnauthorized || r.Error == nil || r.Error.Code != c.code || r.Success {
			t.Errorf("%s: %d %+v, want 401 %s", c.name, status, r, c.code)
		}
	}
	s.withDB(func(db *duckdb.DB) {
		want := []string{"ok1", "ok2", "ok3", "ok4", "ok5", "ok6", "shop1"}
		if got := storedIDs(t, db); !slices.Equal(got, want) {
			t.Errorf("stored %v, want %v", got, want)
		}
	})
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGzipAndSizeLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	gzipped := func(r *http.Request) {
		r.SetBasicAuth(s.writeKey, "")
		r.Header.Set("Content-Encoding", "gzip")
	}
	body := []byte(`{"batch":[{"type":"track","userId":"u","event":"E","messageId":"gz1"},{"type":"track","userId":"u","event":"E","messageId":"gz2"}]}`)
	if st, r := s.sendWith("batch", gz(t, body), gzipped); st != 200 || r.Accepted != 2 {
		t.Errorf("gzip batch: %d %+v", st, r)
	}
	// Truncated and corrupt streams: a specific 400, nothing stored.
	trunc := gz(t, []byte(`{"batch":[{"type":"track","userId":"u","event":"E","messageId":"tr1"}]}`))
	corrupt := slices.Clone(trunc)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC
	for name, b := range map[string][]byte{"truncated": trunc[:len(trunc)-10], "corrupt": corrupt, "not gzip": []byte("hello")} {
		st, r := s.sendWith("batch", b, gzipped)
		if st != http.StatusBadRequest || r.Error == nil || r.Error.Code != "invalid_gzip" {
			t.Errorf("%s gzip: %d %+v, want 400 invalid_gzip", name, st, r)
		}
	}

	// Over 500 KB: 413 for the request, whether plain or compressed.
	var big []M
	for i := 0; len(big)*30<<10 < 520<<10; i++ {
		big = append(big, M{"type": "track", "userId": "u", "event": "E", "messageId": fmt.Sprintf("big%d", i),
			"properties": M{"pad": strings.Repeat("x", 30<<10)}})
	}
	st, r := s.send("batch", M{"batch": big})
	if st != http.StatusRequestEntityTooLarge || r.Error == nil || r.Error.Code != "request_too_large" {
		t.Errorf("600 KB request: %d %+v, want 413 request_too_large", st, r)
	}
	bomb := gz(t, []byte(`{"batch":[{"type":"track","userId":"u","event":"E","messageId":"bomb","properties":{"pad":"`+strings.Repeat("0", 2<<20)+`"}}]}`))
	if st, r := s.sendWith("batch", bomb, gzipped); st != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MB decompressed from %d bytes: %d %+v, want 413", len(bomb), st, r)
	}

	// A 40 KB message inside an acceptable batch: rejected by index.
	st, r = s.send("batch", M{"batch": []M{
		{"type": "track", "userId": "u", "event": "E", "messageId": "s1"},
		{"type": "track", "userId": "u", "event": "E", "messageId": "s2", "properties": M{"pad": strings.Repeat("y", 40<<10)}},
		{"type": "track", "userId": "u", "event": "E", "messageId": "s3"},
	}})
	if st != http.StatusOK || r.Accepted != 2 || len(r.Rejected) != 1 || r.Rejected[0].Index != 1 || r.Rejected[0].Code != "message_too_large" {
		t.Errorf("batch with a 40 KB message: %d %+v", st, r)
	}
	// The same message alone on a single-call endpoint: 413.
	st, r = s.send("track", M{"userId": "u", "event": "E", "messageId": "s4", "properties": M{"pad": strings.Repeat("y", 40<<10)}})
	if st != http.StatusRequestEntityTooLarge || r.Error == nil || r.Error.Code != "message_too_large" {
		t.Errorf("40 KB single call: %d %+v", st, r)
	}
	s.withDB(func(db *duckdb.DB) {
		if got, want := storedIDs(t, db), []string{"gz1", "gz2", "s1", "s3"}; !slices.Equal(got, want) {
			t.Errorf("stored %v, want %v", got, want)
		}
	})
}

func TestBadMessageInBatchAndResend(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	body := M{"batch": []M{
		{"type": "track", "userId": "u", "event": "A", "messageId": "b1"},
		{"type": "track", "userId": "u", "event": "", "messageId": "b2"},
		{"type": "track", "userId": "u", "event": "C", "messageId": "b3"},
		{"type": "track", "userId": "u", "event": "C", "messageId": "b3"}, // twice in one batch
	}}
	st, r := s.send("batch", body)
	if st != http.StatusOK || !r.Success || r.Accepted != 2 || r.Duplicates != 1 || len(r.Rejected) != 1 || r.Rejected[0].Index != 1 ||
		r.Rejected[0].Code != "missing_field" || r.Rejected[0].Reason == "" {
		t.Fatalf("first send: %d %+v", st, r)
	}
	st, r = s.send("batch", body)
	if st != http.StatusOK || r.Accepted != 0 || r.Duplicates != 3 || len(r.Rejected) != 1 || r.Rejected[0].Index != 1 {
		t.Errorf("re-send: %d %+v, want nothing new, 3 duplicates, index 1 rejected", st, r)
	}
	// Dedup is durable across a restart and is per source.
	s.restart()
	st, r = s.send("batch", body)
	if st != http.StatusOK || r.Accepted != 0 || r.Duplicates != 3 {
		t.Errorf("re-send after restart: %d %+v", st, r)
	}
	var src struct {
		WriteKey string `json:"write_key"`
	}
	s.apiJSON("POST", "/api/v1/sources", M{"name": "other"}, http.StatusCreated, &src)
	st, r = s.sendWith("batch", body, func(r *http.Request) { r.SetBasicAuth(src.WriteKey, "") })
	if st != http.StatusOK || r.Accepted != 2 || r.Duplicates != 1 {
		t.Errorf("same ids from another source: %d %+v, want 2 accepted", st, r)
	}
	s.withDB(func(db *duckdb.DB) {
		if got, want := storedIDs(t, db), []string{"b1", "b1", "b3", "b3"}; !slices.Equal(got, want) {
			t.Errorf("stored %v, want %v (each id once per source)", got, want)
		}
	})
}

// Twenty senders with overlapping message ids, all at once: exactly the
// distinct ids are stored, and the answers add up.
func TestDedupUnderConcurrentRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	const senders, perBatch, stride = 20, 10, 5 // sender g sends ids g*5 .. g*5+9
	var mu sync.Mutex
	accepted, dups := 0, 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var msgs []M
			for i := 0; i < perBatch; i++ {
				msgs = append(msgs, M{"type": "track", "anonymousId": fmt.Sprintf("a%d", g), "event": "E", "messageId": fmt.Sprintf("c%03d", g*stride+i)})
			}
			<-start
			st, r := s.send("batch", M{"batch": msgs})
			if st != http.StatusOK {
				t.Errorf("sender %d: %d %+v", g, st, r)
			}
			mu.Lock()
			accepted += r.Accepted
			dups += r.Duplicates
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	distinct := (senders-1)*stride + perBatch // 0 .. 104
	if accepted != distinct || dups != senders*perBatch-distinct {
		t.Errorf("accepted %d duplicates %d, want %d and %d", accepted, dups, distinct, senders*perBatch-distinct)
	}
	s.withDB(func(db *duckdb.DB) {
		got := storedIDs(t, db)
		want := make([]string, distinct)
		for i := range want {
			want[i] = fmt.Sprintf("c%03d", i)
		}
		if !slices.Equal(got, want) {
			t.Errorf("stored %d ids, want %d distinct (c000..c104)", len(got), distinct)
		}
	})
}

// Invalid UTF-8 and lone surrogates never reach storage.
func TestBrokenTextIsRepairedBeforeStorage(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	body := []byte("{\"batch\":[" +
		"{\"type\":\"track\",\"userId\":\"u\\ud800x\",\"event\":\"Bad \xff\xfe bytes\",\"messageId\":\"t1\"," +
		"\"properties\":{\"name\":\"H\xe9l\xe8ne\",\"emoji\":\"\\ud83d\",\"k\\udc00\":\"v\"},\"context\":{\"page\":{\"title\":\"\xc3\"}}}," +
		"{\"type\":\"identify\",\"anonymousId\":\"a\xff\",\"messageId\":\"t2\",\"traits\":{\"city\":\"\\udfff\",\"nom\":\"Ren\xe9\"}}" +
		"]}")
	st, r := s.send("batch", body)
	if st != http.StatusOK || r.Accepted+len(r.Rejected) != 2 {
		t.Fatalf("broken text: %d %+v", st, r)
	}
	s.withDB(func(db *duckdb.DB) {
		rows, err := db.SQL().Query(`SELECT message_id, coalesce(user_id, ''), coalesce(anonymous_id, ''), coalesce(event, ''),
			coalesce(properties, ''), coalesce(traits, ''), coalesce(context, ''), coalesce(title, '') FROM events`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		surrogate := regexp.MustCompile(`(?i)\\ud[89a-f][0-9a-f]{2}`)
		n := 0
		for rows.Next() {
			var f [8]string
			if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]); err != nil {
				t.Fatal(err)
			}
			n++
			for i, v := range f {
				if !utf8.ValidString(v) || surrogate.MatchString(v) || strings.ContainsRune(v, 0xDFFF) {
					t.Errorf("event %s column %d stored broken text %q", f[0], i, v)
				}
			}
			if f[0] == "t1" && (!strings.Contains(f[3], "\uFFFD") || !strings.Contains(f[4], "\uFFFD")) {
				t.Errorf("t1: broken text was dropped, not replaced: event %q properties %q", f[3], f[4])
			}
		}
		if n != r.Accepted {
			t.Errorf("%d events stored, %d accepted", n, r.Accepted)
		}
		for _, q := range []string{`SELECT coalesce(string_agg(value || display, ''), '') FROM identities`,
			`SELECT coalesce(string_agg(traits, ''), '') FROM profiles`} {
			var v string
			if err := db.SQL().QueryRow(q).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(v) || surrogate.MatchString(v) {
				t.Errorf("%s: broken text %q", q, v)
			}
		}
	})
}

func TestCORSHealthReadinessMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	req, _ := http.NewRequest("OPTIONS", s.url+"/v1/batch", nil)
	req.Header.Set("Origin", "https://shop.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,authorization")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "content-encoding") {
		t.Errorf("preflight: %d %v", resp.StatusCode, h)
	}
	// The answer to the POST itself carries the CORS header too.
	st, _ := s.sendWith("track", M{"userId": "u", "event": "E", "messageId": "c1"}, func(r *http.Request) {
		r.SetBasicAuth(s.writeKey, "")
		r.Header.Set("Origin", "https://shop.example.com")
	})
	if st != 200 {
		t.Fatal(st)
	}

	for _, p := range []string{"/healthz", "/readyz"} {
		if st, raw := s.do("GET", p, nil, nil); st != http.StatusOK {
			t.Errorf("%s: %d %s", p, st, raw)
		}
	}
	s.batch(M{"type": "track", "userId": "u", "event": "E", "messageId": "c2"}, M{"type": "track", "userId": "u", "event": "E", "messageId": "c2"})
	s.send("batch", M{"batch": []M{{"type": "track", "userId": "u", "event": ""}}})
	st, raw := s.do("GET", "/metrics", nil, nil)
	if st != http.StatusOK {
		t.Fatalf("/metrics: %d", st)
	}
	metrics := string(raw)
	for _, want := range []string{
		`atrium_collect_messages_total{reason="",result="accepted"} 2`,
		`atrium_collect_messages_total{reason="",result="duplicate"} 1`,
		`atrium_collect_messages_total{reason="missing_field",result="rejected"} 1`,
		`atrium_collect_requests_total{status="200"} 3`,
		`atrium_ingest_commit_seconds_count`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The metrics endpoint is public but holds no personal data.
	if strings.Contains(metrics, s.writeKey) {
		t.Error("/metrics shows the write key")
	}
}

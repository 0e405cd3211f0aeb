package app_test

// Shared helpers of the end-to-end tests: a real server (app.Serve) on a
// temporary workspace, requests to its collection API and REST API, and
// access to the DuckDB file once the server stopped.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// M is a JSON object written by hand in a test.
type M = map[string]any

// server is one running Atrium (in this process) over a temporary workspace.
type server struct {
	t        *testing.T
	dir      string
	url      string
	writeKey string
	token    string
	sourceID string
	hc       *http.Client

	cancel context.CancelFunc
	done   chan error
	// configure, when set, adjusts the configuration of every start.
	configure func(*app.Config)
}

// startServer initialises a workspace (with identity settings when not
// empty), starts Atrium on 127.0.0.1:0 and stops it when the test ends.
func startServer(t *testing.T, identitySettings string) *server {
	t.Helper()
	s := newServer(t, identitySettings)
	s.start()
	t.Cleanup(s.stop)
	return s
}

// newServer initialises the workspace of startServer without starting it.
func newServer(t *testing.T, identitySettings string) *server {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := app.Initialize(ctx, db, app.NewWorkspace(db))
	if err != nil {
		t.Fatal(err)
	}
	if identitySettings != "" {
		if err := db.PutSetting(ctx, app.IdentitySettingKey, identitySettings, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return &server{t: t, dir: dir, writeKey: creds.WriteKey, token: creds.APIToken, sourceID: creds.SourceID,
		hc: &http.Client{Timeout: 30 * time.Second}}
}

func (s *server) start() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	s.done = make(chan error, 1)
	s.cancel = cancel
	cfg := app.Config{DataDir: s.dir, Addr: "127.0.0.1:0", Logger: quietLogger(),
		Ready: func(a string) { addr <- a }}
	if s.configure != nil {
		s.configure(&cfg)
	}
	go func() { s.done <- app.Serve(ctx, cfg, nil) }()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		s.done = nil
		s.t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		s.t.Fatal("server did not start within 60 s")
	}
}

// stop shuts the server down and waits for it (a no-op when stopped).
func (s *server) stop() {
	if s.done == nil {
		return
	}
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Errorf("server stopped with an error: %v", err)
	}
	s.done = nil
}

// restart stops the server and starts it again on the same workspace.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// withDB stops the server, opens the workspace file, runs fn and closes it;
// the server stays stopped.
func (s *server) withDB(fn func(db *duckdb.DB)) {
	s.t.Helper()
	s.stop()
	db, err := duckdb.Open(context.Background(), s.dir)
	if err != nil {
		s.t.Fatal(err)
	}
	defer db.Close()
	fn(db)
}

func quietLogger() *slog.Logger {
	if testing.Verbose() && os.Getenv("ATRIUM_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// collectResp is the body of a collection answer.
type collectResp struct {
	Success    bool `json:"success"`
	Accepted   int  `json:"accepted"`
	Duplicates int  `json:"duplicates"`
	Rejected   []struct {
		Index  int    `json:"index"`
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"rejected"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// send posts body (marshalled unless it is []byte) to a collection endpoint
// ("batch", "identify", ...) with the write key as the Basic user name.
func (s *server) send(endpoint string, body any) (int, collectResp) {
	s.t.Helper()
	return s.sendWith(endpoint, body, func(r *http.Request) { r.SetBasicAuth(s.writeKey, "") })
}

// batch sends messages in one /v1/batch call and fails the test unless all
// of them were accepted.
func (s *server) batch(msgs ...M) collectResp {
	s.t.Helper()
	status, r := s.send("batch", M{"batch": msgs})
	if status != http.StatusOK || len(r.Rejected) > 0 {
		s.t.Fatalf("batch: status %d, answer %+v", status, r)
	}
	return r
}

func (s *server) sendWith(endpoint string, body any, edit func(*http.Request)) (int, collectResp) {
	s.t.Helper()
	status, raw := s.do("POST", "/v1/"+endpoint, body, edit)
	var r collectResp
	if err := json.Unmarshal(raw, &r); err != nil {
		s.t.Fatalf("collect answer is not JSON (%d): %q", status, raw)
	}
	return status, r
}

// do sends one request and returns the status and body.
func (s *server) do(method, path string, body any, edit func(*http.Request)) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if edit != nil {
		edit(req)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// api calls the REST API with the admin token.
func (s *server) api(method, path string, body any) (int, []byte) {
	s.t.Helper()
	return s.do(method, path, body, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s.token) })
}

// apiJSON calls the REST API, requires the status and decodes the answer.
func (s *server) apiJSON(method, path string, body any, want int, out any) {
	s.t.Helper()
	status, raw := s.api(method, path, body)
	if status != want {
		s.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

// apiError calls the REST API and requires an error answer of that status and code.
func (s *server) apiError(method, path string, body any, wantStatus int, wantCode string) {
	s.t.Helper()
	status, raw := s.api(method, path, body)
	checkError(s.t, method+" "+path, status, raw, wantStatus, wantCode)
}

func checkError(t *testing.T, what string, status int, raw []byte, wantStatus int, wantCode string) {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Error == nil {
		t.Fatalf("%s: answer is not {\"error\": ...}: %q", what, raw)
	}
	if status != wantStatus || (wantCode != "" && e.Error.Code != wantCode) || e.Error.Message == "" {
		t.Fatalf("%s: got %d %s %q, want %d %s", what, status, e.Error.Code, e.Error.Message, wantStatus, wantCode)
	}
}

// profile is a profile as the API answers it.
type profile struct {
	ID          string         `json:"id"`
	RequestedID string         `json:"requested_id"`
	Merged      bool           `json:"merged"`
	Identified  bool           `json:"identified"`
	Traits      map[string]any `json:"traits"`
	Identities  []struct {
		Type    string `json:"type"`
		Value   string `json:"value"`
		Display string `json:"display"`
	} `json:"identities"`
	Consents []struct {
		Purpose   string    `json:"purpose"`
		Status    string    `json:"status"`
		Channel   string    `json:"channel"`
		SourceID  string    `json:"source_id"`
		MessageID string    `json:"message_id"`
		At        time.Time `json:"at"`
		Hash      string    `json:"hash"`
	} `json:"consents"`
	MergedProfileIDs []string  `json:"merged_profile_ids"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// ids lists the profile's identities as "type=value" (the matching keys).
func (p profile) ids() []string {
	out := []string{}
	for _, i := range p.Identities {
		out = append(out, i.Type+"="+i.Value)
	}
	return out
}

// has reports whether the profile holds the identifier type=value.
func (p profile) has(typ, value string) bool {
	for _, i := range p.Identities {
		if i.Type == typ && i.Value == value {
			return true
		}
	}
	return false
}

// consent returns the current state of a purpose ("" when none).
func (p profile) consent(purpose string) string {
	for _, c := range p.Consents {
		if c.Purpose == purpose {
			return c.Status
		}
	}
	return ""
}

func (s *server) profile(id string) profile {
	s.t.Helper()
	var p profile
	s.apiJSON("GET", "/api/v1/profiles/"+url.PathEscape(id), nil, http.StatusOK, &p)
	return p
}

// lookup finds a profile by one identifier (type as the query parameter).
func (s *server) lookup(typ, value string) profile {
	s.t.Helper()
	var p profile
	s.apiJSON("GET", "/api/v1/profiles/lookup?"+url.Values{typ: {value}}.Encode(), nil, http.StatusOK, &p)
	return p
}

// lookupStatus answers the status of a lookup (for "not found" checks).
func (s *server) lookupStatus(typ, value string) int {
	s.t.Helper()
	status, _ := s.api("GET", "/api/v1/profiles/lookup?"+url.Values{typ: {value}}.Encode(), nil)
	return status
}

// event is a stored event as the API answers it.
type event struct {
	ProfileID         string         `json:"profile_id"`
	SourceID          string         `json:"source_id"`
	Type              string         `json:"type"`
	Event             string         `json:"event"`
	Name              string         `json:"name"`
	MessageID         string         `json:"message_id"`
	UserID            string         `json:"user_id"`
	AnonymousID       string         `json:"anonymous_id"`
	Timestamp         time.Time      `json:"timestamp"`
	OriginalTimestamp *time.Time     `json:"original_timestamp"`
	ReceivedAt        time.Time      `json:"received_at"`
	SkewMillis        int64          `json:"skew_ms"`
	Properties        map[string]any `json:"properties"`
	Traits            map[string]any `json:"traits"`
}

type eventsPage struct {
	Events []event `json:"events"`
	Next   *string `json:"next"`
}

// allEvents pages through a profile's events with the given page size.
func (s *server) allEvents(id string, pageSize int) []event {
	s.t.Helper()
	var out []event
	before := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			s.t.Fatal("events paging does not end")
		}
		q := url.Values{"limit": {fmt.Sprint(pageSize)}}
		if before != "" {
			q.Set("before", before)
		}
		var p eventsPage
		s.apiJSON("GET", "/api/v1/profiles/"+url.PathEscape(id)+"/events?"+q.Encode(), nil, http.StatusOK, &p)
		if len(p.Events) > pageSize {
			s.t.Fatalf("page of %d events for limit %d", len(p.Events), pageSize)
		}
		out = append(out, p.Events...)
		if p.Next == nil {
			return out
		}
		before = *p.Next
	}
}

// messageIDs lists the events' message ids.
func messageIDs(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.MessageID
	}
	return out
}

// merge is a merge record as the API answers it.
type merge struct {
	ID         string          `json:"id"`
	SurvivorID string          `json:"survivor_id"`
	MergedID   string          `json:"merged_id"`
	Rule       string          `json:"rule"`
	Evidence   json.RawMessage `json:"evidence"`
	MessageID  string          `json:"message_id"`
	Actor      string          `json:"actor"`
	CreatedAt  time.Time       `json:"created_at"`
	UndoneAt   *time.Time      `json:"undone_at"`
}

func (s *server) merges(id string) []merge {
	s.t.Helper()
	var out struct {
		Merges []merge `json:"merges"`
	}
	s.apiJSON("GET", "/api/v1/profiles/"+url.PathEscape(id)+"/merges", nil, http.StatusOK, &out)
	return out.Merges
}

// ts is a fixed event time: day d of May 2024 at h o'clock UTC, as sent.
func ts(d, h int) string {
	return time.Date(2024, 5, d, h, 0, 0, 0, time.UTC).Format(time.RFC3339)
}

// auditRow is one row of audit_log.
type auditRow struct {
	Action, ProfileID string
	Details           map[string]any
}

func auditRows(t *testing.T, db *duckdb.DB, action string) []auditRow {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT action, coalesce(profile_id, ''), details FROM audit_log WHERE action = ? ORDER BY occurred_at, id`, action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var d string
		if err := rows.Scan(&r.Action, &r.ProfileID, &d); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(d), &r.Details); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// count runs a SELECT count(*) query.
func count(t *testing.T, db *duckdb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The atrium binary, built once per test run for the child-process tests.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// atriumBinary builds ./cmd/atrium (once) and returns its path. Tests that
// need it are skipped with -short.
func atriumBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skips the tests that build and run the atrium binary")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "atrium-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "atrium")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/atrium-cdp/atrium/cmd/atrium")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

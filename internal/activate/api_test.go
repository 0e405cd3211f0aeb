package activate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/cli"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// apiServer is a real Atrium (app.Serve) over a temporary workspace.
type apiServer struct {
	t                    *testing.T
	url, token, writeKey string
}

func startAtrium(t *testing.T) *apiServer {
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
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	addr := make(chan string, 1)
	done := make(chan error, 1)
	cfg := app.Config{DataDir: dir, Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready: func(a string) { addr <- a }}
	go func() { done <- app.Serve(runCtx, cfg, nil) }()
	s := &apiServer{t: t, token: creds.APIToken, writeKey: creds.WriteKey}
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start within 60 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with an error: %v", err)
		}
	})
	return s
}

// call sends a JSON request with the API token and decodes the answer.
func (s *apiServer) call(method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			b, _ = json.Marshal(body)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if strings.HasPrefix(path, "/v1/") {
		req.Header.Del("Authorization")
		req.SetBasicAuth(s.writeKey, "")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// The whole path through the real server: an identify makes a profile
// enter a segment, and the webhook destination created through the API
// receives a signed segment.entered; the API lists and filters deliveries
// and refuses bad input with the field named.
func TestAPIEndToEnd(t *testing.T) {
	s := startAtrium(t)
	rc := newReceiver(t, nil)

	var seg struct {
		ID string `json:"id"`
	}
	if st := s.call("POST", "/api/v1/segments", map[string]any{"name": "gold", "rule": `trait.plan = "gold"`}, &seg); st != 201 {
		t.Fatalf("create segment: %d", st)
	}
	var e apiError
	for _, bad := range []struct {
		body  string
		field string
	}{
		{`{"name": "x", "settings": {"url": "ftp://e.com", "segments": ["gold"], "purpose": "none"}}`, "url"},
		{`{"name": "x", "settings": {"url": "https://e.com", "segments": ["nope"], "purpose": "none"}}`, "segments[0]"},
		{`{"name": "x", "settings": {"url": "https://e.com", "segments": ["gold"], "purpose": "none", "timeout": -5}}`, "timeout"},
		{`{"name": "x", "settings": {"url": "https://e.com", "segments": ["gold"], "purpose": "none", "x": 1}}`, "x"},
		{`{"name": "x"}`, "settings"},
	} {
		if st := s.call("POST", "/api/v1/destinations", []byte(bad.body), &e); st != 400 || !strings.HasPrefix(e.Error.Message, bad.field+":") {
			t.Fatalf("%s: %d %+v, want 400 naming %s", bad.body, st, e, bad.field)
		}
	}
	if st := s.call("POST", "/api/v1/destinations", []byte(`{"name": "x", "settings": {}, "extra": 1}`), &e); st != 400 || e.Error.Code != "invalid_json" {
		t.Fatalf("unknown body field: %d %+v", st, e)
	}
	huge := []byte(`{"name": "x", "settings": {"url": "https://e.com/` + strings.Repeat("a", 70<<10) + `"}}`)
	if st := s.call("POST", "/api/v1/destinations", huge, &e); st != 413 {
		t.Fatalf("a 70 KB body: %d %+v", st, e)
	}
	if st := s.call("POST", "/api/v1/destinations", []byte(`{"name": ["x"], "settings": {}}`), &e); st != 400 || e.Error.Code != "invalid_json" {
		t.Fatalf("wrong type: %d %+v", st, e)
	}
	var created struct {
		Destination struct {
			ID       string         `json:"id"`
			Settings map[string]any `json:"settings"`
		} `json:"destination"`
		Secret string `json:"secret"`
	}
	if st := s.call("POST", "/api/v1/destinations", map[string]any{"name": "crm", "settings": map[string]any{
		"url": rc.srv.URL, "segments": []string{"gold"}, "purpose": "none", "traits": []string{"plan"}}}, &created); st != 201 {
		t.Fatalf("create destination: %d", st)
	}
	if created.Secret == "" || created.Destination.Settings["secret"] == created.Secret || created.Destination.Settings["segments"].([]any)[0] != seg.ID {
		t.Fatalf("created %+v", created)
	}
	if st := s.call("POST", "/v1/identify", map[string]any{"userId": "u1", "traits": map[string]any{"plan": "gold"}}, nil); st != 200 {
		t.Fatalf("identify: %d", st)
	}
	waitFor(t, 20*time.Second, "the webhook", func() bool { return len(rc.requests()) == 1 })
	r := rc.requests()[0]
	var p struct {
		Type    string `json:"type"`
		Segment struct{ ID, Name string }
		Profile struct {
			Traits map[string]any `json:"traits"`
		}
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "segment.entered" || p.Segment.ID != seg.ID || p.Segment.Name != "gold" || p.Profile.Traits["plan"] != "gold" {
		t.Fatalf("payload %s", r.Body)
	}
	if err := verifyRecipe(created.Secret, r); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Deliveries []struct {
			Status string `json:"status"`
		} `json:"deliveries"`
	}
	waitFor(t, 10*time.Second, "the delivery recorded", func() bool {
		s.call("GET", "/api/v1/destinations/crm/deliveries?status=delivered", nil, &list)
		return len(list.Deliveries) == 1
	})
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `atrium_delivery_attempts_total{destination="` + created.Destination.ID + `",outcome="delivered"} 1`
	if !strings.Contains(string(metrics), want) {
		t.Fatalf("metrics lack %s", want)
	}
	// A segment a destination routes cannot be deleted from under it.
	if st := s.call("DELETE", "/api/v1/segments/gold", nil, &e); st != 409 || !strings.Contains(e.Error.Message, `destination "crm"`) {
		t.Fatalf("delete a routed segment: %d %+v", st, e)
	}
	if st := s.call("GET", "/api/v1/destinations/crm/deliveries?status=dead", nil, &list); st != 200 || len(list.Deliveries) != 0 {
		t.Fatalf("dead filter: %d %+v", st, list)
	}
	if st := s.call("GET", "/api/v1/destinations/crm/deliveries?status=lost", nil, &e); st != 400 {
		t.Fatalf("bad status filter: %d", st)
	}
	var test struct {
		OK     bool `json:"ok"`
		Status int  `json:"http_status"`
	}
	if st := s.call("POST", "/api/v1/destinations/crm/test", nil, &test); st != 200 || !test.OK || test.Status != 200 {
		t.Fatalf("test send: %d %+v", st, test)
	}
	var replay struct {
		Replayed int `json:"replayed"`
	}
	if st := s.call("POST", "/api/v1/destinations/crm/replay", nil, &replay); st != 200 || replay.Replayed != 0 {
		t.Fatalf("replay with nothing dead: %d %+v", st, replay)
	}
	if st := s.call("GET", "/api/v1/destinations/nope", nil, &e); st != 404 {
		t.Fatalf("unknown destination: %d", st)
	}
	req, _ := http.NewRequest("GET", s.url+"/api/v1/destinations", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("no token: %v %v", resp, err)
	}
	if st := s.call("DELETE", "/api/v1/destinations/crm", nil, nil); st != 200 {
		t.Fatalf("delete: %d", st)
	}
}

func verifyRecipe(secret string, r request) error {
	return verifySig([]byte(secret), r)
}

// The CLI on a stopped workspace: create (secret printed once), list,
// deliveries, replay usage errors.
func TestCLIDirect(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	addSegment(t, db, "seg-1", "buyers")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	runCLI := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), append(args, "--data", dir), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errOut := runCLI("destinations", "create", "crm", "--url", "https://hooks.example.com/a", "--segment", "buyers", "--purpose", "sms", "--traits", "email,first_name")
	if code != 0 || !strings.Contains(out, "signing secret (shown once): whsec_") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI("destinations", "list")
	if code != 0 || !strings.Contains(out, "crm") || !strings.Contains(out, "https://hooks.example.com/a") || strings.Contains(out, "whsec_") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, _, errOut = runCLI("destinations", "create", "bad", "--url", "ftp://x", "--segment", "buyers", "--purpose", "sms")
	if code != 1 || !strings.Contains(errOut, "url:") {
		t.Fatalf("bad url: %d %q", code, errOut)
	}
	code, _, errOut = runCLI("destinations", "replay", "crm")
	if code != 2 || !strings.Contains(errOut, "--delivery ID | --all") {
		t.Fatalf("replay usage: %d %q", code, errOut)
	}
	code, out, _ = runCLI("destinations", "replay", "crm", "--all", "--json")
	if code != 0 || !strings.Contains(out, `"replayed": 0`) {
		t.Fatalf("replay all: %d %q", code, out)
	}
	code, out, _ = runCLI("destinations", "deliveries", "crm", "--status", "dead")
	if code != 0 || !strings.HasPrefix(out, "ID") {
		t.Fatalf("deliveries: %d %q", code, out)
	}
	code, _, errOut = runCLI("destinations", "show", "nope")
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("show unknown: %d %q", code, errOut)
	}
	var out2, err2 bytes.Buffer
	stdin := strings.NewReader(`{"url": "http://127.0.0.1:9/hook", "segments": ["seg-1"], "purpose": "none", "timeout": "2s"}`)
	if code := cli.Run(context.Background(), []string{"destinations", "create", "from-file", "--settings", "-", "--json", "--data", dir}, stdin, &out2, &err2); code != 0 ||
		!strings.Contains(out2.String(), `"timeout": "2s"`) {
		t.Fatalf("create from stdin: %d %q %q", code, out2.String(), err2.String())
	}
	stdin = strings.NewReader(`{"url": "http://127.0.0.1:9/hook", "segments": ["seg-1"], "purpose": "none", "pad": "` + strings.Repeat("x", 20<<10) + `"}`)
	if code := cli.Run(context.Background(), []string{"destinations", "create", "too-big", "--settings", "-", "--data", dir}, stdin, &out2, &err2); code != 2 {
		t.Fatalf("oversized settings file: %d %q", code, err2.String())
	}
	if code, _, _ = runCLI("destinations", "delete", "crm"); code != 0 {
		t.Fatalf("delete: %d", code)
	}
}

package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write while
// the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// atrium demo as a new user runs it: build once (--no-serve), then serve the
// built workspace and try the calls it prints.
func TestDemoBuildsThenServes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, stderr := run(t, "", "demo", "--data", dir, "--no-serve")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"import", "quality", "dedupe", "scores", "segments", "14 starter segments", "write key: wk_", "API token: atr_"} {
		if !strings.Contains(out, want) {
			t.Errorf("the build output lacks %q:\n%s", want, out)
		}
	}

	// --json: stdout is one JSON document, for an existing demo too.
	code, out, stderr = run(t, "", "demo", "--data", dir, "--no-serve", "--json")
	var again struct {
		Credentials struct {
			APIToken string `json:"api_token"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal([]byte(out), &again); code != 0 || err != nil || !strings.HasPrefix(again.Credentials.APIToken, "atr_") {
		t.Errorf("demo --json on the built demo: exit %d, %v: %q (stderr %q)", code, err, out, stderr)
	}

	// Serving the existing demo does not rebuild it, and prints calls that
	// work as printed.
	addr := freeAddr(t)
	srv := startAtrium(t, "demo", "--data", dir, "--addr", addr)
	waitReady(t, srv, addr)
	var printed string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if printed = srv.stdout.String(); strings.Contains(printed, "/v1/track") {
			break
		}
	}
	if !strings.Contains(srv.stderr.String(), "already holds the demo workspace") {
		t.Errorf("serving an existing demo should say it does not rebuild: %q", srv.stderr.String())
	}
	calls := regexp.MustCompile(`curl -H 'Authorization: Bearer (atr_\S+)' '(http://[^']+)'`).FindAllStringSubmatch(printed, -1)
	if len(calls) < 4 {
		t.Fatalf("printed %d API calls: %s", len(calls), printed)
	}
	for _, c := range calls {
		req, _ := http.NewRequest("GET", c[2], nil)
		req.Header.Set("Authorization", "Bearer "+c[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) < 20 {
			t.Errorf("%s: %d %.200s", c[2], resp.StatusCode, body)
		}
		if strings.Contains(c[2], "lookup") {
			var prof struct {
				Scores map[string]any `json:"scores"`
			}
			if json.Unmarshal(body, &prof); prof.Scores["order_count"] == nil {
				t.Errorf("the printed lookup has no scores: %.300s", body)
			}
		}
	}
	// The score steps run on demand through the server (not on a schedule).
	var ran struct {
		Steps []any `json:"steps"`
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/scores/run", strings.NewReader(`{"only":["geo"]}`))
	req.Header.Set("Authorization", "Bearer "+calls[0][1])
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("scores run through the demo server: %v %v", resp, err)
	} else {
		json.NewDecoder(resp.Body).Decode(&ran)
		resp.Body.Close()
		if len(ran.Steps) != 1 {
			t.Errorf("scores run ran %d steps, want 1", len(ran.Steps))
		}
	}
	// --rebuild under a running demo server is refused and deletes nothing.
	if code, _, e := run(t, "", "demo", "--data", dir, "--rebuild", "--no-serve"); code != 1 || !strings.Contains(e, "in use") {
		t.Errorf("rebuild under a running server: exit %d %q", code, e)
	}
	srv.stop(t)

	// A folder holding another workspace is refused and left alone; stray
	// arguments are usage errors.
	other := t.TempDir()
	if code, _, e := run(t, "", "init", "--data", other); code != 0 {
		t.Fatal(e)
	}
	before, _ := os.ReadDir(other)
	if code, _, e := run(t, "", "demo", "--data", other, "--no-serve"); code != 1 || !strings.Contains(e, "did not build") {
		t.Errorf("demo over a real workspace: exit %d %q", code, e)
	}
	if after, _ := os.ReadDir(other); len(after) != len(before) {
		t.Errorf("the other workspace's folder changed")
	}
	if code, _, _ := run(t, "", "demo", "extra"); code != 2 {
		t.Errorf("demo extra: exit %d, want 2", code)
	}
}

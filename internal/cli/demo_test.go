package cli

import (
	"bytes"
	"context"
	"encoding/json"
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

	// Serving the existing demo does not rebuild it, and prints working calls.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sout, serr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"demo", "--data", dir, "--addr", "127.0.0.1:0"}, strings.NewReader(""), &sout, &serr)
	}()
	urlRe := regexp.MustCompile(`Serving on (http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := urlRe.FindStringSubmatch(sout.String()); m != nil {
			base = m[1]
		}
		select {
		case c := <-done:
			t.Fatalf("demo stopped (exit %d): %s %s", c, sout.String(), serr.String())
		default:
		}
	}
	if base == "" {
		t.Fatalf("no URL printed: %s %s", sout.String(), serr.String())
	}
	if !strings.Contains(serr.String(), "already holds the demo workspace") {
		t.Errorf("serving an existing demo should say it does not rebuild: %q", serr.String())
	}
	token := regexp.MustCompile(`API token: (atr_\S+)`).FindStringSubmatch(sout.String())
	if token == nil {
		t.Fatalf("no token printed: %s", sout.String())
	}
	get := func(path string, into any) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if into != nil {
			json.NewDecoder(resp.Body).Decode(into)
		}
		return resp.StatusCode
	}
	// The printed lookup: customer 12347 of the Online Retail sample.
	var prof struct {
		ID     string         `json:"id"`
		Scores map[string]any `json:"scores"`
	}
	if code := get("/api/v1/profiles/lookup?eshop_customer_id=12347", &prof); code != 200 || prof.ID == "" || prof.Scores["order_count"] == nil {
		t.Errorf("lookup of the printed example: %d %+v", code, prof)
	}
	var segs struct {
		Segments []struct {
			Name string `json:"name"`
		} `json:"segments"`
	}
	if code := get("/api/v1/segments", &segs); code != 200 || len(segs.Segments) != 14 {
		t.Errorf("segments: %d, %d listed", code, len(segs.Segments))
	}
	cancel()
	select {
	case c := <-done:
		if c != 0 {
			t.Errorf("demo exit %d after Ctrl-C: %s", c, serr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}

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

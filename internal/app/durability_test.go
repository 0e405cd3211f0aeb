package app_test

// Durability with the real binary as a child process: what was acknowledged
// survives SIGKILL, and SIGTERM drains in-flight requests. Also the CLI's
// merge and unmerge, through a running server and on the file directly.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// lockedBuffer collects a child's output from its copying goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// child is `atrium serve` running as a separate process.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

// creds runs `atrium init --json` on dir.
func initWorkspace(t *testing.T, bin, dir string) (writeKey, token string) {
	t.Helper()
	out, err := exec.Command(bin, "init", "--data", dir, "--json").Output()
	if err != nil {
		t.Fatalf("atrium init: %v", err)
	}
	var c struct {
		WriteKey string `json:"write_key"`
		APIToken string `json:"api_token"`
	}
	if err := json.Unmarshal(out, &c); err != nil || c.WriteKey == "" || c.APIToken == "" {
		t.Fatalf("atrium init --json printed %q", out)
	}
	return c.WriteKey, c.APIToken
}

// serveChild starts `atrium serve` on dir and waits until it is ready.
func serveChild(t *testing.T, bin, dir string) *child {
	t.Helper()
	c := &child{t: t, stderr: &lockedBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(bin, "serve", "--data", dir, "--addr", "127.0.0.1:0")
	c.cmd.Stderr = c.stderr
	c.cmd.Stdout = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill() // our own child, by its pid
			<-c.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			t.Fatalf("atrium serve exited early: %v\n%s", c.err, c.stderr)
		default:
		}
		// server.json may be left over from a killed process: wait for ours.
		if info, err := app.ReadServerInfo(dir); err == nil && info.PID == c.cmd.Process.Pid {
			c.url = "http://" + info.Addr
			if resp, err := http.Get(c.url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return c
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("atrium serve not ready within 60 s\n%s", c.stderr)
	return nil
}

// stop signals the child and waits for it to exit.
func (c *child) stop(sig os.Signal, within time.Duration) error {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.done:
		return c.err
	case <-time.After(within):
		c.t.Fatalf("atrium serve did not exit within %s after %v\n%s", within, sig, c.stderr)
		return nil
	}
}

// burst sends batches of 10 messages from `senders` goroutines until a
// request fails after stopAt closed (or 30 s pass). It returns the ids of
// every message in an acknowledged (2xx) request, and calls onAcked with the
// running count after each acknowledgement.
func burst(t *testing.T, url, writeKey, prefix string, senders int, stopAt <-chan struct{}, onAcked func(n int)) (acked []string, failures int) {
	t.Helper()
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	defer hc.CloseIdleConnections()
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second)
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				ids := make([]string, 10)
				msgs := make([]M, 10)
				for k := range msgs {
					ids[k] = fmt.Sprintf("%s-%d-%d-%d", prefix, g, i, k)
					msgs[k] = M{"type": "track", "userId": fmt.Sprintf("u%d", g), "event": "Tick", "messageId": ids[k],
						"properties": M{"pad": strings.Repeat("p", 200)}}
				}
				body, _ := json.Marshal(M{"batch": msgs})
				req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader(body))
				req.SetBasicAuth(writeKey, "")
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				ok := false
				if err == nil {
					var r collectResp
					_ = json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					ok = resp.StatusCode/100 == 2 && r.Accepted+r.Duplicates == len(ids)
				}
				if ok {
					mu.Lock()
					acked = append(acked, ids...)
					n := len(acked)
					mu.Unlock()
					if onAcked != nil {
						onAcked(n)
					}
					continue
				}
				mu.Lock()
				failures++
				mu.Unlock()
				select {
				case <-stopAt:
					return
				default:
					if err == nil {
						t.Errorf("request refused before the stop: status %d", resp.StatusCode)
						return
					}
					t.Errorf("request failed before the stop: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return acked, failures
}

// storedSet opens the workspace file (no server may hold it) and returns
// how many times each message id is stored.
func storedSet(t *testing.T, dir string) map[string]int {
	t.Helper()
	db, err := duckdb.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().Query(`SELECT message_id, count(*) FROM events GROUP BY message_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

func checkAckedStored(t *testing.T, acked []string, stored map[string]int) {
	t.Helper()
	lost := 0
	for _, id := range acked {
		if stored[id] != 1 {
			if lost < 5 {
				t.Errorf("acknowledged message %s stored %d times, want once", id, stored[id])
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged messages not stored exactly once", lost, len(acked))
	}
}

// Every acknowledged message survives SIGKILL right after the burst.
func TestAcknowledgedSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := atriumBinary(t)
	dir := t.TempDir()
	writeKey, token := initWorkspace(t, bin, dir)
	c := serveChild(t, bin, dir)

	stop := make(chan struct{})
	var once sync.Once
	kill := func(n int) {
		if n >= 2000 { // well into the burst, with requests still in flight
			once.Do(func() {
				close(stop) // first, so no sender takes the failures that follow for errors
				_ = c.cmd.Process.Signal(syscall.SIGKILL)
			})
		}
	}
	acked, failures := burst(t, c.url, writeKey, "k", 16, stop, kill)
	once.Do(func() { close(stop); _ = c.cmd.Process.Signal(syscall.SIGKILL) })
	<-c.done
	t.Logf("%d messages acknowledged before SIGKILL, %d requests cut", len(acked), failures)
	if len(acked) < 2000 {
		t.Fatalf("only %d messages acknowledged", len(acked))
	}

	// Restart the binary on the same folder: it recovers and serves the data.
	c2 := serveChild(t, bin, dir)
	var p profile
	req, _ := http.NewRequest("GET", c2.url+"/api/v1/profiles/lookup?user_id=u0", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 200 || p.ID == "" {
		t.Fatalf("lookup after restart: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if err := c2.stop(syscall.SIGTERM, 60*time.Second); err != nil {
		t.Fatalf("atrium serve exited with %v\n%s", err, c2.stderr)
	}
	checkAckedStored(t, acked, storedSet(t, dir))
}

// Requests in flight at SIGTERM are acknowledged and stored, or refused;
// never acknowledged and lost. The process exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	bin := atriumBinary(t)
	dir := t.TempDir()
	writeKey, _ := initWorkspace(t, bin, dir)
	c := serveChild(t, bin, dir)

	stop := make(chan struct{})
	var once sync.Once
	term := func(n int) {
		if n >= 2000 {
			once.Do(func() {
				close(stop) // first, so no sender takes the failures that follow for errors
				_ = c.cmd.Process.Signal(syscall.SIGTERM)
			})
		}
	}
	acked, failures := burst(t, c.url, writeKey, "t", 16, stop, term)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("atrium serve did not exit after SIGTERM\n%s", c.stderr)
	}
	if c.err != nil {
		t.Fatalf("atrium serve exited with %v after SIGTERM\n%s", c.err, c.stderr)
	}
	t.Logf("%d messages acknowledged, %d requests refused", len(acked), failures)
	if !strings.Contains(c.stderr.String(), "atrium stopped") {
		t.Errorf("no orderly stop in the log:\n%s", c.stderr)
	}
	checkAckedStored(t, acked, storedSet(t, dir))
	if _, err := os.Stat(filepath.Join(dir, app.ServerFile)); !os.IsNotExist(err) {
		t.Errorf("%s left behind after an orderly stop", app.ServerFile)
	}
}

// `atrium profiles merge|unmerge` work through a running server and on the
// file when none runs.
func TestCLIMergeAndUnmerge(t *testing.T) {
	t.Parallel()
	bin := atriumBinary(t)
	dir := t.TempDir()
	writeKey, token := initWorkspace(t, bin, dir)
	c := serveChild(t, bin, dir)
	s := &server{t: t, url: c.url, writeKey: writeKey, token: token, hc: &http.Client{Timeout: 30 * time.Second}}
	s.batch(M{"type": "identify", "userId": "u-a", "messageId": "a1", "traits": M{"name": "Ann"}},
		M{"type": "identify", "userId": "u-b", "messageId": "b1", "traits": M{"city": "Paris"}})
	a, b := s.lookup("user_id", "u-a").ID, s.lookup("user_id", "u-b").ID

	run := func(wantVia string, args ...string) []merge {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--data", dir, "--json")...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("atrium %v: %v\n%s", args, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), wantVia) {
			t.Errorf("atrium %v: stderr %q does not say %q", args, stderr.String(), wantVia)
		}
		var out struct {
			Merges []merge `json:"merges"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("atrium %v printed %q", args, stdout.String())
		}
		return out.Merges
	}

	ms := run("using the running server", "profiles", "merge", a, b)
	if len(ms) != 1 || ms[0].SurvivorID != a || ms[0].MergedID != b || ms[0].Actor != "api" {
		t.Fatalf("merge through the server: %+v", ms)
	}
	if got := s.lookup("user_id", "u-b"); got.ID != a || !jsonEqual(got.Traits, M{"name": "Ann", "city": "Paris"}) {
		t.Errorf("after CLI merge u-b is on %s with %v", got.ID, got.Traits)
	}
	run("using the running server", "profiles", "unmerge", ms[0].ID)
	if got := s.lookup("user_id", "u-b"); got.ID != b {
		t.Errorf("after CLI unmerge u-b is on %s, want %s", got.ID, b)
	}

	if err := c.stop(syscall.SIGTERM, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	ms = run("opened", "profiles", "merge", b, a)
	if len(ms) != 1 || ms[0].SurvivorID != b || ms[0].MergedID != a || ms[0].Actor != "cli" {
		t.Fatalf("merge on the file: %+v", ms)
	}
	out, err := exec.Command(bin, "profiles", "get", a, "--data", dir, "--json").Output()
	var p profile
	if err != nil || json.Unmarshal(out, &p) != nil || p.ID != b || !p.Merged {
		t.Errorf("profiles get %s after the merge: %v %s", a, err, out)
	}
	run("opened", "profiles", "unmerge", ms[0].ID)
	all := run("opened", "profiles", "merges", a)
	if len(all) != 2 || all[0].UndoneAt == nil || all[1].UndoneAt == nil {
		t.Errorf("merges of %s: %+v, want two, both undone", a, all)
	}
	cmd := exec.Command(bin, "profiles", "unmerge", ms[0].ID, "--data", dir)
	if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "already undone") {
		t.Errorf("undoing twice: %v %s", err, msg)
	}
}

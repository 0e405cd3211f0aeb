package app_test

// Real Segment clients against a running Atrium: the official Go library,
// and the official Node.js library through examples/segment-node.

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"
)

// sdkCallback records what the Go client could not deliver.
type sdkCallback struct {
	mu       sync.Mutex
	ok       int
	failures []error
}

func (c *sdkCallback) Success(analytics.Message) { c.mu.Lock(); c.ok++; c.mu.Unlock() }
func (c *sdkCallback) Failure(_ analytics.Message, err error) {
	c.mu.Lock()
	c.failures = append(c.failures, err)
	c.mu.Unlock()
}

// checkSDKProfile asserts what one identify, track, page, group and alias
// from a client left: one profile found by e-mail with the user id, the
// anonymous id and the e-mail, the traits sent, and the five events.
func checkSDKProfile(t *testing.T, s *server, userID, anonID, emailKey, emailTyped string, traits M) {
	t.Helper()
	p := s.lookup("email", emailKey)
	for _, want := range [][2]string{{"user_id", userID}, {"anonymous_id", anonID}, {"email", emailKey}} {
		if !p.has(want[0], want[1]) {
			t.Errorf("profile %s lacks %s=%s: %v", p.ID, want[0], want[1], p.ids())
		}
	}
	for _, i := range p.Identities {
		if i.Type == "email" && i.Display != emailTyped {
			t.Errorf("e-mail display %q, want %q", i.Display, emailTyped)
		}
	}
	if len(p.Identities) != 3 || !p.Identified {
		t.Errorf("profile identities %v identified %v, want exactly the three", p.ids(), p.Identified)
	}
	for k, v := range traits {
		if !jsonEqual(p.Traits[k], v) {
			t.Errorf("trait %s = %v, want %v", k, p.Traits[k], v)
		}
	}
	for _, q := range [][2]string{{"user_id", userID}, {"anonymous_id", anonID}} {
		if got := s.lookup(q[0], q[1]).ID; got != p.ID {
			t.Errorf("%s=%s is on %s, not on the e-mail's profile %s", q[0], q[1], got, p.ID)
		}
	}
	evs := s.allEvents(p.ID, 2)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
		if e.MessageID == "" || e.SourceID != s.sourceID {
			t.Errorf("event %+v lacks its message id or source", e)
		}
		if e.Type == "track" && (e.Event != "Order Completed" || !jsonEqual(e.Properties["total"], 42.5)) {
			t.Errorf("track event %+v", e)
		}
	}
	sort.Strings(types)
	if want := []string{"alias", "group", "identify", "page", "track"}; !slices.Equal(types, want) {
		t.Errorf("event types %v, want %v", types, want)
	}
}

func TestSegmentGoClient(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	cb := &sdkCallback{}
	client, err := analytics.NewWithConfig(s.writeKey, analytics.Config{
		Endpoint: s.url, Interval: 50 * time.Millisecond, BatchSize: 100, Callback: cb,
		Logger: testLogger{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []analytics.Message{
		analytics.Identify{UserId: "go-user", AnonymousId: "go-anon",
			Traits: analytics.NewTraits().SetEmail("Go.User@Example.com").SetName("Go User").Set("plan", "pro")},
		analytics.Track{UserId: "go-user", Event: "Order Completed", Properties: analytics.NewProperties().Set("total", 42.5).SetCurrency("EUR")},
		analytics.Page{UserId: "go-user", Name: "Pricing", Properties: analytics.NewProperties().SetURL("https://shop.example.com/pricing")},
		analytics.Group{UserId: "go-user", GroupId: "acme-go", Traits: analytics.NewTraits().SetName("Acme").Set("employees", 40)},
		analytics.Alias{PreviousId: "go-anon", UserId: "go-user"},
	}
	for _, m := range msgs {
		if err := client.Enqueue(m); err != nil {
			t.Fatalf("enqueue %T: %v", m, err)
		}
	}
	if err := client.Close(); err != nil { // flushes
		t.Fatal(err)
	}
	if cb.ok != len(msgs) || len(cb.failures) > 0 {
		t.Fatalf("the client delivered %d of %d messages; failures %v", cb.ok, len(msgs), cb.failures)
	}
	checkSDKProfile(t, s, "go-user", "go-anon", "go.user@example.com", "Go.User@Example.com",
		M{"email": "Go.User@Example.com", "name": "Go User", "plan": "pro"})
}

type testLogger struct{ t *testing.T }

func (l testLogger) Logf(format string, args ...any) { l.t.Logf("analytics-go: "+format, args...) }
func (l testLogger) Errorf(format string, args ...any) {
	l.t.Logf("analytics-go error: "+format, args...)
}

// The Node example sends through @segment/analytics-node. It needs node on
// PATH and `npm install` run in examples/segment-node.
func TestSegmentNodeClientExample(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: install Node.js 20+ to run the analytics-node example test")
	}
	dir, err := filepath.Abs("../../examples/segment-node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@segment", "analytics-node")); err != nil {
		t.Skip("examples/segment-node/node_modules is missing: run `npm install` in examples/segment-node to run this test")
	}
	s := startServer(t, "")
	cmd := exec.Command(node, "send.mjs", s.url, s.writeKey)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ATRIUM_USER_ID=node-user-7", "ATRIUM_ANONYMOUS_ID=node-anon-7", "ATRIUM_EMAIL= Node.User@Example.com ")
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("node send.mjs did not finish within 60 s: %s", out)
	}
	if err != nil {
		t.Fatalf("node send.mjs: %v\n%s", err, out)
	}
	t.Logf("node: %s", out)
	checkSDKProfile(t, s, "node-user-7", "node-anon-7", "node.user@example.com", "Node.User@Example.com",
		M{"email": " Node.User@Example.com ", "name": "Node User", "plan": "pro"})
}

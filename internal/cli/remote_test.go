package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Commands run while "atrium serve" holds the workspace go through its API
// and say so; the server's errors come back as the same exit codes and
// messages as on a stopped workspace (a rule's syntax error with its caret).
func TestCommandsThroughARunningServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// The server runs in its own process, as it does for a user: DuckDB's
	// file lock is what sends the commands to the API.
	var serr syncBuffer
	srv := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	srv.Env = append(os.Environ(), "ATRIUM_HELPER_SERVE="+dir+"|"+addr)
	srv.Stderr = &serr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	defer srv.Process.Kill()
	ready := false
	for deadline := time.Now().Add(60 * time.Second); !ready && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
	}
	if !ready {
		t.Fatalf("server not ready: %s", serr.String())
	}

	file := filepath.Join(t.TempDir(), "contacts.csv")
	os.WriteFile(file, []byte("email,first_name,city\nann@example.com,Ann,Lyon\nbo@example.org,Bo,Lyon\ncy@example.net,Cy,Paris\n"), 0o600)
	code, out, stderr := runCLI(t, "import", "contacts", file, "--data", dir)
	if code != 0 || !strings.Contains(stderr, "using the running server") {
		t.Fatalf("import: %d %s %s", code, out, stderr)
	}
	code, _, stderr = runCLI(t, "segments", "create", "bad", "--rule", `trait.city = `, "--data", dir)
	if code != 2 || !strings.Contains(stderr, "line 1, col 14") || !strings.Contains(stderr, "\n  trait.city = \n               ^") {
		t.Errorf("syntax error through the server: %d %q", code, stderr)
	}
	code, out, stderr = runCLI(t, "segments", "create", "lyon", "--rule", `trait.city = "Lyon"`, "--data", dir)
	if code != 0 || !strings.Contains(out, "size:        2") {
		t.Errorf("create through the server: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "segments", "show", "ghost", "--data", dir); code != 1 {
		t.Errorf("show ghost through the server: exit %d, want 1 (%s)", code, stderr)
	}
	srv.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after an interrupt: %v: %s", err, serr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestHelperServe is the server process of TestCommandsThroughARunningServer;
// it does nothing in a normal test run.
func TestHelperServe(t *testing.T) {
	v := os.Getenv("ATRIUM_HELPER_SERVE")
	if v == "" {
		t.Skip("runs only as the server process of another test")
	}
	dir, addr, _ := strings.Cut(v, "|")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if code := Run(ctx, []string{"serve", "--data", dir, "--addr", addr, "--scores-every", "0"}, strings.NewReader(""), io.Discard, os.Stderr); code != 0 {
		t.Fatalf("serve: exit %d", code)
	}
}

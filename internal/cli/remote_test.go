package cli

import (
	"context"
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

// atriumProcess is an atrium command running in a process of its own, as it
// does for a user: DuckDB's file lock then works as in production (inside
// one process DuckDB shares the file instead).
type atriumProcess struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan error
}

// startAtrium runs "atrium ARGS..." as a child process (this test binary,
// re-entering TestHelperProcess).
func startAtrium(t *testing.T, args ...string) *atriumProcess {
	t.Helper()
	p := &atriumProcess{done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	p.cmd.Env = append(os.Environ(), "ATRIUM_HELPER_ARGS="+strings.Join(args, "\x1f"))
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// stop interrupts the process (Ctrl-C) and waits for a clean exit.
func (p *atriumProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("atrium after an interrupt: %v: %s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("atrium did not stop")
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitReady polls /readyz until the server answers 200.
func waitReady(t *testing.T, p *atriumProcess, addr string) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("atrium stopped (%v): %s %s", err, p.stdout.String(), p.stderr.String())
		default:
		}
	}
	t.Fatalf("server not ready: %s", p.stderr.String())
}

// Commands run while "atrium serve" holds the workspace go through its API
// and say so; the server's errors come back as the same exit codes and
// messages as on a stopped workspace (a rule's syntax error with its caret).
func TestCommandsThroughARunningServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	addr := freeAddr(t)
	srv := startAtrium(t, "serve", "--data", dir, "--addr", addr, "--scores-every", "0")
	waitReady(t, srv, addr)

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
	for _, name := range []string{"ghost", ".", ".."} {
		if code, out, stderr := runCLI(t, "segments", "show", name, "--data", dir); code != 1 {
			t.Errorf("show %q through the server: exit %d, want 1 (%s %s)", name, code, out, stderr)
		}
	}
	srv.stop(t)
}

// TestHelperProcess is the child process of startAtrium; it does nothing in
// a normal test run.
func TestHelperProcess(t *testing.T) {
	v := os.Getenv("ATRIUM_HELPER_ARGS")
	if v == "" {
		t.Skip("runs only as the child process of another test")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if code := Run(ctx, strings.Split(v, "\x1f"), strings.NewReader(""), os.Stdout, os.Stderr); code != 0 {
		t.Fatalf("atrium: exit %d", code)
	}
}

package cli

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// atrium segments on a stopped workspace: create, show, members, export to a
// file, and the usage errors (exit 2) for bad rules and arguments.
func TestSegmentsCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	file := filepath.Join(dir, "contacts.csv")
	os.WriteFile(file, []byte("email,first_name,city\nann@example.com,Ann,Lyon\nbo@example.org,Bo,Lyon\ncy@example.net,Cy,Paris\n"), 0o600)
	if code, out, stderr := runCLI(t, "import", "contacts", file, "--data", data); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, stderr)
	}
	code, out, stderr := runCLI(t, "segments", "create", "lyon", "--rule", `trait.city = "Lyon"`, "--data", data)
	if code != 0 || !strings.Contains(out, "size:        2") {
		t.Fatalf("create: %d %s %s", code, out, stderr)
	}
	// A rule file saved with a byte-order mark reads as the rule.
	bom := filepath.Join(dir, "bom.rule")
	os.WriteFile(bom, []byte("\ufefftrait.city = \"Paris\"\n"), 0o600)
	if code, out, stderr := runCLI(t, "segments", "create", "paris", "--rule-file", bom, "--data", data); code != 0 || !strings.Contains(out, "size:        1") {
		t.Errorf("rule file with a BOM: %d %s %s", code, out, stderr)
	}
	// A syntax error: exit 2, the position and a caret under it.
	code, _, stderr = runCLI(t, "segments", "create", "bad", "--rule", `trait.city = `, "--data", data)
	if code != 2 || !strings.Contains(stderr, "line 1, col 14") || !strings.Contains(stderr, "\n  trait.city = \n               ^") {
		t.Errorf("syntax error: %d %q", code, stderr)
	}
	out2 := filepath.Join(dir, "out.csv")
	code, _, stderr = runCLI(t, "segments", "export", "lyon", "--fields", "email,traits.first_name", "--out", out2, "--data", data)
	if code != 0 || !strings.Contains(stderr, "exported 2 of 2 members") {
		t.Fatalf("export: %d %s", code, stderr)
	}
	f, _ := os.Open(out2)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 || rows[0][0] != "email" {
		t.Fatalf("exported %v %v", rows, err)
	}
	got := rows[1][0] + "," + rows[2][0]
	if got != "ann@example.com,bo@example.org" && got != "bo@example.org,ann@example.com" {
		t.Errorf("exported e-mails %s", got)
	}
	big := filepath.Join(dir, "big.rule")
	os.WriteFile(big, []byte(strings.Repeat("x", 70<<10)), 0o600)
	usage := [][]string{
		{"segments"},
		{"segments", "frobnicate"},
		{"segments", "create"},
		{"segments", "create", "x"},
		{"segments", "create", "x", "--rule", "trait.a = 1", "--rule-file", big},
		{"segments", "create", "x", "--rule-file", big},
		{"segments", "create", "x", "--rule-file", filepath.Join(dir, "missing")},
		{"segments", "create", "a/b", "--rule", "trait.a = 1"},
		{"segments", "create", "x", "--rule", `in segment "ghost"`},
		{"segments", "preview", "--rule", "trait.a = 1", "--sample", "1000"},
		{"segments", "members", "lyon", "--limit", "0"},
		{"segments", "sizes", "lyon", "--limit", "5000"},
		{"segments", "export", "lyon", "--format", "xml"},
		{"segments", "export", "lyon", "--fields", "id,password"},
		{"segments", "export", "lyon", "--purpose", "Not A Purpose"},
		{"segments", "overlap", "lyon"},
	}
	for _, args := range usage {
		code, _, stderr := runCLI(t, append(args, "--data", data)...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
	if code, _, _ := runCLI(t, "segments", "show", "ghost", "--data", data); code != 1 {
		t.Errorf("show ghost: exit %d, want 1", code)
	}
	// A failed export leaves no file behind.
	if code, _, _ := runCLI(t, "segments", "export", "ghost", "--out", filepath.Join(dir, "bad.csv"), "--data", data); code != 1 {
		t.Errorf("export ghost: exit %d, want 1", code)
	}
	for _, n := range []string{"bad.csv", "bad.csv.part"} {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s was left by a failed export", n)
		}
	}
	code, out, _ = runCLI(t, "segments", "refresh", "--data", data)
	if code != 0 || !strings.Contains(out, "lyon\t2 members") {
		t.Errorf("refresh: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "segments", "delete", "lyon", "--data", data); code != 0 || !strings.Contains(out, "2 members exited") {
		t.Errorf("delete: %d %s", code, out)
	}
}

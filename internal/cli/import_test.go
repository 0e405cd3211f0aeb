package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// atrium import on a stopped workspace: opens the file itself and says so;
// a second run of the same file is all unchanged; rejected rows give exit 1.
func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	file := filepath.Join(dir, "clients.csv")
	if err := os.WriteFile(file, []byte("\xEF\xBB\xBFid;prénom;email\n1;Zoé;zoe@example.fr\n2;Léo;leo@example.fr\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "import", "contacts", file, "--data", data, "--source", "crm")
	if code != 0 || !strings.Contains(stderr, "opened") || !strings.Contains(out, "created      2") {
		t.Fatalf("first import: %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "import", "contacts", file, "--data", data, "--source", "crm", "--json")
	var rep struct {
		Unchanged, Created, Updated int
		Encoding                    string
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Unchanged != 2 || rep.Created+rep.Updated != 0 || rep.Encoding != "utf-8-bom" {
		t.Fatalf("second import: %d %s", code, out)
	}
	if err := os.WriteFile(file, []byte("id;email;date_naissance\n3;x@example.fr;03/04/1991\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCLI(t, "import", "contacts", file, "--data", data)
	if code != 1 || !strings.Contains(out, "--date-format") || !strings.Contains(stderr, "1 rows rejected") {
		t.Fatalf("ambiguous date: %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "import", "contacts", file, "--print-mapping")
	if code != 0 || !strings.Contains(out, "field: birthdate") {
		t.Fatalf("print-mapping: %d %s", code, out)
	}
	if code, _, _ := runCLI(t, "import", "invoices", file, "--data", data); code == 0 {
		t.Error("unknown kind accepted")
	}
	if code, _, _ := runCLI(t, "import", "contacts"); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}

package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// atrium scores traits apply / list / delete and scores run --only on the
// workspace file, with values checked against the orders written below.
func TestScoresTraitsCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	orders := filepath.Join(dir, "orders.csv")
	csv := "order_id,email,ordered_at,total,status\n" +
		"A1,ann@example.com,2024-05-01,10.5,completed\n" +
		"A2,ann@example.com,2024-05-20,4.25,completed\n" +
		"A3,ann@example.com,2024-05-25,100,refunded\n" +
		"B1,bob@example.com,2024-03-01,7,completed\n" +
		"A4,ann@example.com,2024-06-02,1000,completed\n" // after the as-of day
	if err := os.WriteFile(orders, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCLI(t, "import", "orders", orders, "--source", "shop", "--data", data); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, stderr)
	}
	traits := filepath.Join(dir, "traits.yaml")
	yaml := `computed_traits:
  - name: spend_30d
    aggregate: sum
    over: orders
    value: total
    window: {last_days: 31}
  - name: order_ids
    aggregate: list
    over: orders
    value: order_id
`
	if err := os.WriteFile(traits, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "scores", "traits", "apply", traits, "--data", data, "--json")
	if code != 0 || !strings.Contains(out, `"applied": 2`) {
		t.Fatalf("apply: %d %s %s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "scores", "run", "--only", "computed_traits", "--as-of", "2024-06-01", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("scores run: %d %s", code, stderr)
	}
	var rep struct {
		Steps []struct{ Name string } `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Steps) != 1 || rep.Steps[0].Name != "computed_traits" {
		t.Fatalf("scores run --only computed_traits ran %s (%v)", out, err)
	}
	// As of 2024-06-01 00:00: the 31-day window starts 2024-05-01 00:00, so
	// A1 (05-01) and A2 count: 10.5 + 4.25; A3 is refunded, A4 is later.
	// Bob's only order (03-01) is outside the window: no value.
	want := map[string]string{"ann@example.com/spend_30d": "14.75", "ann@example.com/order_ids": `["A2","A1"]`,
		"bob@example.com/order_ids": `["B1"]`}
	db, err := duckdb.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL().Query(`SELECT i.value || '/' || s.name, s.value FROM profile_scores s
		JOIN identities i ON i.profile_id = s.profile_id AND i.type = 'email'
		WHERE s.name IN ('spend_30d', 'order_ids')`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		got[k] = v
	}
	rows.Close()
	db.Close()
	if len(got) != len(want) {
		t.Errorf("values %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}

	code, _, stderr = runCLI(t, "scores", "run", "--only", "indicators,nope", "--data", data)
	if code != 2 || !strings.Contains(stderr, `"nope"`) || !strings.Contains(stderr, "computed_traits") {
		t.Errorf("--only nope: exit %d %s, want a usage error listing the steps", code, stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("computed_traits:\n  - name: x\n    aggregate: count\n    over: orders\n    window: {last_days: 0}\n"), 0o600)
	if code, _, stderr = runCLI(t, "scores", "traits", "apply", bad, "--data", data); code != 1 || !strings.Contains(stderr, "window") {
		t.Errorf("bad file: exit %d %s", code, stderr)
	}
	huge := filepath.Join(dir, "huge.yaml")
	_ = os.WriteFile(huge, []byte("computed_traits:\n#"+strings.Repeat("x", 300<<10)), 0o600)
	if code, _, stderr = runCLI(t, "scores", "traits", "apply", huge, "--data", data); code != 1 || !strings.Contains(stderr, "larger than") {
		t.Errorf("huge file: exit %d %s", code, stderr)
	}
	code, out, _ = runCLI(t, "scores", "traits", "list", "--data", data, "--json")
	if code != 0 || strings.Count(out, `"aggregate"`) != 2 {
		t.Errorf("list after refused files: %s", out)
	}
	if code, _, stderr = runCLI(t, "scores", "traits", "delete", "order_ids", "--data", data); code != 0 {
		t.Errorf("delete: %s", stderr)
	}
	if code, _, _ = runCLI(t, "scores", "traits", "show", "order_ids", "--data", data); code != 1 {
		t.Errorf("show after delete: exit %d, want 1", code)
	}
}

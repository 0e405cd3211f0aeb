package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// contactsCSV are the people of the deduplication tests as a CRM export:
// Jean Dupont twice (surname one letter off, address abbreviated, same birth
// date, different e-mail and phone) and Marie Curie.
const contactsCSV = `customer_id,first_name,last_name,birthday,email,phone,address,postal_code,city,country
c1,Jean,Dupont,1980-05-03,jean.dupont@example.com,+33612345678,12 rue des Lilas,69003,Lyon,FR
c2,Jean,Dupond,1980-05-03,jdupond@shop.example,+33698765400,12 r. des Lilas,69003,LYON,FR
c3,Marie,Curie,1967-11-07,marie.curie@example.org,+33145678901,1 place Bellecour,69002,Lyon,FR
`

// backgroundCSV is n distinct generated people (the matcher's generator, no
// duplicates) in the same columns: the population the model is fitted on
// (a run on fewer than 20 profiles does nothing).
func backgroundCSV(n int) string {
	recs, _ := match.Generate(n, 0, 11)
	var b strings.Builder
	for i, r := range recs {
		dob := ""
		if d := r.BirthDate; d.Year > 0 && d.Month > 0 && d.Day > 0 {
			dob = fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
		}
		fmt.Fprintf(&b, "bg%d,%s,%s,%s,%s,%s,%s,%s,%s,AU\n", i, r.GivenName, r.Surname, dob, r.Email, r.Phone,
			strings.TrimSpace(r.StreetNumber+" "+strings.Join(r.AddressLines, " ")), r.PostalCode, r.Locality)
	}
	return b.String()
}

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// dedupeWorkspace creates a workspace and imports the contacts through the
// CLI, as a user would.
func dedupeWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if code, _, e := run(t, "", "init", "--data", dir); code != 0 {
		t.Fatalf("init: %s", e)
	}
	f := filepath.Join(t.TempDir(), "contacts.csv")
	if err := os.WriteFile(f, []byte(contactsCSV+backgroundCSV(60)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, e := run(t, "", "import", "contacts", f, "--source", "crm", "--data", dir); code != 0 {
		t.Fatalf("import: %s", e)
	}
	return dir
}

type cliReport struct {
	DryRun   bool `json:"dry_run"`
	Profiles int  `json:"profiles"`
	Merges   []struct {
		SurvivorID string `json:"survivor_id"`
		MergedID   string `json:"merged_id"`
		MergeID    string `json:"merge_id"`
	} `json:"merges"`
	SkippedRejected int `json:"skipped_rejected"`
}

// On a stopped workspace: a dry run proposes Jean's merge and makes none;
// the run makes it; the text output lists the per-field explanation.
func TestDedupeCommandStoppedWorkspace(t *testing.T) {
	dir := dedupeWorkspace(t)
	code, out, e := run(t, "", "dedupe", "--dry-run", "--json", "--data", dir)
	if code != 0 {
		t.Fatalf("dry run: %s", e)
	}
	var rep cliReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.Profiles != 63 || len(rep.Merges) != 1 || rep.Merges[0].MergeID != "" {
		t.Fatalf("dry run %+v", rep)
	}
	code, out, e = run(t, "", "dedupe", "--data", dir)
	if code != 0 {
		t.Fatalf("run: %s", e)
	}
	for _, want := range []string{"profiles 63", "merged 1 pair(s)", "birth_date", "surname", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "", "dedupe", "--json", "--data", dir)
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Profiles != 62 || len(rep.Merges) != 0 {
		t.Errorf("second run: %d %s", code, out)
	}
	if code, _, _ := run(t, "", "dedupe", "extra", "--data", dir); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}

// seedReviews puts two reviews in the queue of a stopped workspace: Jean's
// pair and Jean/Marie.
func seedReviews(t *testing.T, dir string) (jeanPair, other string) {
	t.Helper()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	id := func(c string) string {
		p, err := db.Lookup(ctx, "crm_customer_id", c)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	c1, c2, c3 := id("c1"), id("c2"), id("c3")
	now := time.Now()
	for _, r := range []store.DedupeReview{
		{ID: "rev-jean", ProfileA: min(c1, c2), ProfileB: max(c1, c2), Probability: 0.7, Weight: 1.2, Explanation: json.RawMessage(`{"weight":1.2}`), CreatedAt: now, UpdatedAt: now},
		{ID: "rev-other", ProfileA: min(c1, c3), ProfileB: max(c1, c3), Probability: 0.6, Weight: 0.6, Explanation: json.RawMessage(`{"weight":0.6}`), CreatedAt: now, UpdatedAt: now},
	} {
		if _, _, err := db.ProposeReview(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return "rev-jean", "rev-other"
}

// The review queue from the CLI, first on the stopped workspace, then
// against a running server (the same commands go through the API).
func TestDedupeReviewCommand(t *testing.T) {
	dir := dedupeWorkspace(t)
	jean, other := seedReviews(t, dir)

	code, out, e := run(t, "", "dedupe", "review", "--json", "--data", dir)
	var list struct {
		Reviews []store.DedupeReview `json:"reviews"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Reviews) != 2 {
		t.Fatalf("list: %d %s %s", code, out, e)
	}
	if code, _, e := run(t, "", "dedupe", "review", "reject", jean, "--data", dir); code != 0 {
		t.Fatalf("reject: %s", e)
	}
	if code, _, e := run(t, "", "dedupe", "review", "reject", jean, "--data", dir); code != 1 || !strings.Contains(e, "already rejected") {
		t.Errorf("second reject: exit %d %q", code, e)
	}
	if code, _, e := run(t, "", "dedupe", "review", "accept", "nope", "--data", dir); code != 1 || !strings.Contains(e, "not found") {
		t.Errorf("unknown review: exit %d %q", code, e)
	}
	if code, _, _ := run(t, "", "dedupe", "review", "list", "--status", "maybe", "--data", dir); code != 2 {
		t.Errorf("bad status: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "", "dedupe", "review", "accept", "--data", dir); code != 2 {
		t.Errorf("accept without id: exit %d, want 2", code)
	}
	// The rejected pair is never merged by a run.
	code, out, _ = run(t, "", "dedupe", "--json", "--data", dir)
	var rep cliReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Merges) != 0 || rep.SkippedRejected != 1 {
		t.Fatalf("run after reject: %d %s", code, out)
	}

	if code, _, e := run(t, "", "dedupe", "review", "accept", other, "--data", dir); code != 0 {
		t.Fatalf("accept: %s", e)
	}
	code, out, _ = run(t, "", "dedupe", "review", "list", "--status", "accepted", "--json", "--data", dir)
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Reviews) != 1 || list.Reviews[0].ID != other || list.Reviews[0].MergeID == "" {
		t.Errorf("accepted reviews: %d %s", code, out)
	}
	// (The same commands against a running server: internal/app's
	// TestDedupeCLIAgainstServer, which needs a second process.)
}

// Survivorship settings from the CLI: bad files are refused with the reason.
func TestDedupeSurvivorshipCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, e := run(t, "", "init", "--data", dir); code != 0 {
		t.Fatalf("init: %s", e)
	}
	if code, _, e := run(t, `{"fields":{"email":["loudest"]}}`, "dedupe", "survivorship", "set", "-", "--data", dir); code != 1 || !strings.Contains(e, `unknown rule "loudest"`) {
		t.Errorf("bad rules: exit %d %q", code, e)
	}
	code, out, e := run(t, `{"fields":{"phone":["most_recent"]}}`, "dedupe", "survivorship", "set", "-", "--data", dir)
	if code != 0 || !strings.Contains(out, `"most_recent"`) {
		t.Fatalf("set: %d %s %s", code, out, e)
	}
	code, out, _ = run(t, "", "dedupe", "survivorship", "get", "--data", dir)
	var sv struct {
		Fields map[string][]string `json:"fields"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &sv) != nil || len(sv.Fields["phone"]) != 1 || len(sv.Fields["email"]) != 2 {
		t.Errorf("get: %d %s", code, out)
	}
}

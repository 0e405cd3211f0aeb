package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// csvRows reads a bundled file with encoding/csv (not Atrium's importer), so
// the expected figures come from a second reader of the same bytes.
func csvRows(t *testing.T, name string, comma rune) [][]string {
	t.Helper()
	b, err := files.ReadFile("data/" + name)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	r.Comma = comma
	r.TrimLeadingSpace = true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

func TestBuildImportsEverythingAndCountsMatchTheFiles(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "demo")
	var progress bytes.Buffer
	sum, err := Build(ctx, dir, &progress)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, progress.String())
	}
	if sum.Credentials.APIToken == "" || sum.Credentials.WriteKey == "" {
		t.Fatal("no credentials")
	}
	if c, err := ReadCredentials(dir); err != nil || c != sum.Credentials {
		t.Fatalf("saved credentials %+v, %v", c, err)
	}

	// Expected figures, from the files themselves.
	retailCustomers := map[string]bool{}
	var retailRevenue float64
	for _, r := range csvRows(t, "online_retail_sample_20k.csv", ',') {
		if r[6] != "NA" {
			retailCustomers[r[6]] = true
		}
		if !strings.HasPrefix(r[0], "C") {
			q, _ := strconv.ParseFloat(r[3], 64)
			p, _ := strconv.ParseFloat(r[5], 64)
			retailRevenue += q * p
		}
	}
	frOnly := 0 // French contacts with a client number that has no order
	for _, r := range csvRows(t, "contacts_fr.csv", ';') {
		if !retailCustomers[r[0]] {
			frOnly++
		}
	}
	cdnow := map[string]bool{}
	for _, r := range csvRows(t, "cdnow_sample.csv", ',') {
		cdnow[r[1]] = true
	}
	febrlValid := 0 // rows whose birth date is empty or a calendar date
	for _, r := range csvRows(t, "febrl3.csv", ',') {
		if d := strings.TrimSpace(r[9]); d == "" {
			febrlValid++
		} else if _, err := time.Parse("20060102", d); err == nil {
			febrlValid++
		}
	}
	wantProfiles := len(retailCustomers) + frOnly + len(cdnow) + febrlValid

	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var live int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM profiles WHERE merged_into IS NULL AND id IN (SELECT profile_id FROM identities)`).Scan(&live); err != nil {
		t.Fatal(err)
	}
	var merged int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM profiles WHERE merged_into IS NOT NULL`).Scan(&merged); err != nil {
		t.Fatal(err)
	}
	if live+merged != wantProfiles {
		t.Errorf("profiles: %d live + %d merged, want %d from the files (%d retail customers, %d contacts without orders, %d CDNOW customers, %d valid FEBRL rows)",
			live, merged, wantProfiles, len(retailCustomers), frOnly, len(cdnow), febrlValid)
	}
	var revenue float64
	if err := db.SQL().QueryRowContext(ctx, `SELECT sum(total) FROM orders o JOIN sources s ON s.id = o.source_id
		WHERE s.name = 'eshop' AND o.status NOT IN ('cancelled', 'refunded', 'returned')`).Scan(&revenue); err != nil {
		t.Fatal(err)
	}
	if math.Abs(revenue-retailRevenue) > 0.005 {
		t.Errorf("eshop revenue %.2f, the CSV gives %.2f", revenue, retailRevenue)
	}
}

func TestBuildRefusesAnExistingWorkspace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadDir(dir)
	if _, err := Build(ctx, dir, nil); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("got %v, want ErrNotEmpty", err)
	}
	after, _ := os.ReadDir(dir)
	if len(after) != len(before) {
		t.Errorf("the existing workspace folder changed: %d entries, was %d", len(after), len(before))
	}
}

func TestBuildLeavesNothingWhenInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := filepath.Join(t.TempDir(), "demo")
	var progress lineTrigger
	progress.after, progress.cancel = 2, cancel // stop during the imports
	if _, err := Build(ctx, dir, &progress); err == nil {
		t.Fatal("an interrupted build reported success")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the half-built demo folder is still there (%v)", err)
	}
}

// lineTrigger cancels a context after a number of progress lines.
type lineTrigger struct {
	n, after int
	cancel   func()
}

func (l *lineTrigger) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte("\n"))
	if l.n >= l.after {
		l.cancel()
	}
	return len(p), nil
}

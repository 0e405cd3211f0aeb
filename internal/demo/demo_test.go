package demo

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/segments/rule"
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
	sum, err := Build(ctx, dir, &progress, Options{ScoreSteps: testScoreSteps})
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

	// Each starter segment's size against the same question answered from
	// the raw tables: merges followed and windows applied in Go, not by the
	// segment compiler.
	want := starterCountsFromTables(t, ctx, db)
	if len(sum.Segments) != len(StarterSegments()) {
		t.Fatalf("%d segments built, want %d", len(sum.Segments), len(StarterSegments()))
	}
	nonEmpty := 0
	for _, s := range sum.Segments {
		w, ok := want[s.Name]
		if !ok {
			t.Errorf("segment %q has no independent count", s.Name)
			continue
		}
		t.Logf("segment %-40q %6d members (tables: %d)", s.Name, s.Size, w)
		if s.Size != w {
			t.Errorf("segment %q: %d members, the tables give %d", s.Name, s.Size, w)
		}
		if s.Size > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < len(sum.Segments)-2 {
		t.Errorf("only %d of %d starter segments have members: the demo data no longer exercises them", nonEmpty, len(sum.Segments))
	}
}

// testScoreSteps are the score steps the starter segments read: the
// indicators and RFM, and the per-profile CLV scores (churn_risk).
var testScoreSteps = []app.ScoreStep{
	{Name: "indicators", Run: func(ctx context.Context, env app.ScoreEnv) (any, error) {
		return env.DB.RefreshIndicators(ctx, env.AsOf)
	}},
	{Name: "clv", Run: func(ctx context.Context, env app.ScoreEnv) (any, error) { return env.DB.RunCLVScores(ctx, env.AsOf) }},
}

// starterCountsFromTables answers each starter segment's question from the
// profiles, orders, consents and profile_scores rows, in Go.
func starterCountsFromTables(t *testing.T, ctx context.Context, db *duckdb.DB) map[string]int64 {
	t.Helper()
	query := func(q string, scan func(rows *sql.Rows) error) {
		rows, err := db.SQL().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Live profile at the end of each merge chain.
	into := map[string]string{}
	query(`SELECT id, coalesce(merged_into, '') FROM profiles`, func(r *sql.Rows) error {
		var id, m string
		err := r.Scan(&id, &m)
		into[id] = m
		return err
	})
	live := func(id string) string {
		for i := 0; i < 100 && into[id] != ""; i++ {
			id = into[id]
		}
		return id
	}

	// Orders: revenue statuses only, before the as-of instant.
	type buyer struct {
		count     int
		last      time.Time
		sinceSept float64
	}
	buyers := map[string]*buyer{}
	sept := time.Date(2011, 9, 10, 0, 0, 0, 0, time.UTC)
	query(`SELECT profile_id, status, coalesce(total, 0), ordered_at FROM orders WHERE profile_id IS NOT NULL`, func(r *sql.Rows) error {
		var pid, status string
		var total float64
		var at time.Time
		if err := r.Scan(&pid, &status, &total, &at); err != nil {
			return err
		}
		if status == "cancelled" || status == "refunded" || status == "returned" {
			return nil
		}
		p := live(pid)
		b := buyers[p]
		if b == nil {
			b = &buyer{}
			buyers[p] = b
		}
		if at.Before(AsOf) {
			b.count++
			if at.After(b.last) {
				b.last = at
			}
		}
		if !at.Before(sept) {
			b.sinceSept += total
		}
		return nil
	})

	// Consent: the latest row per purpose wins; on a tie, a refusal wins.
	type consentRow struct {
		occurred, recorded time.Time
		granted            bool
	}
	email := map[string]consentRow{}
	query(`SELECT profile_id, status, occurred_at, recorded_at FROM consents WHERE purpose = 'email_marketing'`, func(r *sql.Rows) error {
		var pid, status string
		var c consentRow
		if err := r.Scan(&pid, &status, &c.occurred, &c.recorded); err != nil {
			return err
		}
		c.granted = status == "granted"
		p := live(pid)
		old, seen := email[p]
		newer := !seen || c.occurred.After(old.occurred) ||
			(c.occurred.Equal(old.occurred) && (c.recorded.After(old.recorded) || (c.recorded.Equal(old.recorded) && !c.granted)))
		if newer {
			email[p] = c
		}
		return nil
	})

	// Scores (computed after deduplication, so on live profiles).
	scores := map[string]map[string]string{}
	query(`SELECT profile_id, name, value FROM profile_scores WHERE name IN ('rfm_segment', 'churn_risk')`, func(r *sql.Rows) error {
		var pid, name, value string
		if err := r.Scan(&pid, &name, &value); err != nil {
			return err
		}
		p := live(pid)
		if scores[p] == nil {
			scores[p] = map[string]string{}
		}
		scores[p][name] = strings.Trim(value, `"`)
		return nil
	})

	want := map[string]int64{}
	for _, cell := range rule.RFMCells {
		want["RFM - "+cell] = 0
	}
	for id, m := range into {
		if m != "" {
			continue
		}
		if cell := scores[id]["rfm_segment"]; cell != "" {
			want["RFM - "+cell]++
		}
		b := buyers[id]
		if b != nil && b.count >= 2 {
			lastDay := b.last.UTC().Truncate(24 * time.Hour)
			if AsOf.Sub(lastDay).Hours()/24 > 90 {
				want["Lapsed buyers"]++
			}
		}
		if risk, err := strconv.ParseFloat(scores[id]["churn_risk"], 64); err == nil && risk >= 0.7 && email[id].granted {
			want["High churn risk with e-mail consent"]++
		}
		if b != nil && b.sinceSept >= 300 {
			want["Recent big spenders"]++
		}
	}
	return want
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
	if _, err := Build(ctx, dir, nil, Options{}); !errors.Is(err, ErrNotEmpty) {
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
	if _, err := Build(ctx, dir, &progress, Options{}); err == nil {
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

package segments_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/segments"
)

// sha is written out here, not taken from the package, so expected values
// do not depend on the code under test.
func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// people: jane (Lyon, e-mail and phone, consent granted), bob (Lyon, e-mail,
// consent granted then denied), eve (Paris, a hostile city, no contact).
func people(f *fixture) {
	f.exec(`INSERT INTO profiles (id, traits, normalized, created_at, updated_at) VALUES
		('jane', '{"city":"Lyon","first_name":"Jane","zip":"69001","tier":{"level":2}}',
		 '{"email":{"raw":" Jane@Example.com ","value":"jane@example.com","status":"valid"},
		   "phone":{"raw":"06 12 34 56 78","value":"+33612345678","status":"valid"},
		   "name":{"value":"Jane Doe-Martin","first":"Jane","last":"Doe-Martin","status":"valid"},
		   "country":{"value":"FR","status":"valid"}}', ?, ?),
		('bob', '{"city":"Lyon"}', '{"email":{"value":"bob@example.org","status":"valid"}}', ?, ?),
		('eve', '{"city":"=HYPERLINK(\"http://x\")"}', '{"email":{"raw":"nope","value":"","status":"invalid"}}', ?, ?)`,
		t0, t0, t0, t0, t0, t0)
	f.consent("jane", "email_marketing", "granted", t0.Add(-48*time.Hour))
	f.consent("jane", "advertising", "granted", t0.Add(-48*time.Hour))
	f.consent("bob", "email_marketing", "granted", t0.Add(-48*time.Hour))
	f.consent("bob", "email_marketing", "denied", t0.Add(-24*time.Hour))
	f.consent("bob", "advertising", "granted", t0.Add(-48*time.Hour))
	f.exec(`INSERT INTO profile_scores VALUES ('jane', 'clv', '123.5', ?)`, t0)
}

func TestPreviewOverlapSizes(t *testing.T) {
	f := newFixture(t, nil)
	people(f)
	p, err := f.svc.Preview(f.ctx, segments.Input{Rule: `trait.city = "Lyon"`}, 1)
	if err != nil || p.Count != 2 || len(p.Sample) != 1 || p.Sample[0].ID != "bob" {
		t.Fatalf("preview: %+v %v", p, err)
	}
	if n := f.count(`SELECT count(*) FROM segments`); n != 0 {
		t.Errorf("a preview stored %d segments", n)
	}
	if _, err := f.svc.Preview(f.ctx, segments.Input{Rule: `trait.city = "Lyon"`}, 101); err == nil {
		t.Error("sample 101 accepted")
	}
	f.create("lyon", `trait.city = "Lyon"`)
	f.create("mailable", `consent email_marketing`)
	o, err := f.svc.Overlap(f.ctx, "lyon", "mailable")
	// lyon = {jane, bob}, mailable = {jane}: both 1, union 2.
	if err != nil || o.SizeA != 2 || o.SizeB != 1 || o.Both != 1 || o.Jaccard != 0.5 {
		t.Errorf("overlap: %+v %v", o, err)
	}
	if _, err := f.svc.Sizes(f.ctx, "lyon", 0); err == nil {
		t.Error("limit 0 accepted")
	}
	m, err := f.svc.Members(f.ctx, "lyon", "", 1)
	if err != nil || len(m) != 1 || m[0].ProfileID != "bob" {
		t.Fatalf("members page 1: %+v %v", m, err)
	}
	m, err = f.svc.Members(f.ctx, "lyon", "bob", 1)
	if err != nil || len(m) != 1 || m[0].ProfileID != "jane" || !m[0].EnteredAt.Equal(t0) {
		t.Fatalf("members page 2: %+v %v", m, err)
	}
	if _, err := f.svc.Member(f.ctx, "lyon", "eve"); err == nil {
		t.Error("eve reported a member")
	}
}

func TestExportFieldsAndConsent(t *testing.T) {
	f := newFixture(t, nil)
	people(f)
	f.create("all", `not trait.nothing exists`)

	var buf bytes.Buffer
	res, err := f.svc.Export(f.ctx, "all", segments.ExportOptions{Format: "csv",
		Fields: []string{"id", "traits.city", "email", "phone", "scores.clv", "traits.tier.level", "normalized.email.status"}}, &buf)
	if err != nil || res.Included != 3 || res.Members != 3 {
		t.Fatalf("csv: %+v %v", res, err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"id", "traits.city", "email", "phone", "scores.clv", "traits.tier.level", "normalized.email.status"},
		{"bob", "Lyon", "bob@example.org", "", "", "", "valid"},
		{"eve", `'=HYPERLINK("http://x")`, "", "", "", "", "invalid"},
		{"jane", "Lyon", "jane@example.com", "+33612345678", "123.5", "2", "valid"},
	}
	if got, _ := json.Marshal(rows); string(got) != mustJSON(want) {
		t.Errorf("csv rows\n got %s\nwant %s", got, mustJSON(want))
	}

	buf.Reset()
	res, err = f.svc.Export(f.ctx, "all", segments.ExportOptions{Format: "jsonl", Fields: []string{"id", "consent"},
		Purpose: "email_marketing"}, &buf)
	// bob's newest decision is a denial; eve has none.
	if err != nil || res.Included != 1 || res.ExcludedConsent != 2 {
		t.Fatalf("jsonl: %+v %v", res, err)
	}
	if got := strings.TrimSpace(buf.String()); got != `{"consent":"granted","id":"jane"}` {
		t.Errorf("jsonl = %s", got)
	}

	for _, bad := range []segments.ExportOptions{
		{Format: "xml"},
		{Format: "csv", Fields: []string{"password"}},
		{Format: "csv", Fields: []string{"id", "id"}},
		{Format: "csv", Fields: []string{"traits."}},
		{Format: "csv", Fields: make([]string, 51)},
		{Format: "csv", Purpose: "Email Marketing; DROP"},
		{Format: "meta", Fields: []string{"id"}},
	} {
		var ie *segments.InputError
		if _, err := f.svc.Export(f.ctx, "all", bad, &bytes.Buffer{}); !errors.As(err, &ie) {
			t.Errorf("%+v: err = %v, want an input error", bad, err)
		}
	}
	if _, err := segments.ParseFields("id,,email"); err == nil {
		t.Error("empty field accepted")
	}
}

func TestAdAudienceFiles(t *testing.T) {
	f := newFixture(t, nil)
	people(f)
	f.create("all", `not trait.nothing exists`)
	var buf bytes.Buffer
	res, err := f.svc.Export(f.ctx, "all", segments.ExportOptions{Format: "meta"}, &buf)
	// Purpose defaults to advertising: eve has no consent; jane and bob do.
	if err != nil || res.Purpose != "advertising" || res.Included != 2 || res.ExcludedConsent != 1 {
		t.Fatalf("meta: %+v %v", res, err)
	}
	rows, _ := csv.NewReader(&buf).ReadAll()
	want := [][]string{
		{"EMAIL", "PHONE", "FN", "LN", "CT", "ZIP", "COUNTRY"},
		{sha("bob@example.org"), "", "", "", sha("lyon"), "", ""},
		{sha("jane@example.com"), sha("33612345678"), sha("jane"), sha("doemartin"), sha("lyon"), sha("69001"), sha("fr")},
	}
	if got := mustJSON(rows); got != mustJSON(want) {
		t.Errorf("meta\n got %s\nwant %s", got, mustJSON(want))
	}

	buf.Reset()
	if _, err := f.svc.Export(f.ctx, "all", segments.ExportOptions{Format: "google"}, &buf); err != nil {
		t.Fatal(err)
	}
	rows, _ = csv.NewReader(&buf).ReadAll()
	want = [][]string{
		{"Email", "Phone", "First Name", "Last Name", "Country", "Zip"},
		{sha("bob@example.org"), "", "", "", "", ""},
		{sha("jane@example.com"), sha("+33612345678"), sha("jane"), sha("doe-martin"), "fr", "69001"},
	}
	if got := mustJSON(rows); got != mustJSON(want) {
		t.Errorf("google\n got %s\nwant %s", got, mustJSON(want))
	}

	// Without consent filtering on a purpose nobody granted: all excluded,
	// and a member with no usable contact is counted apart.
	f.consent("eve", "sms", "granted", t0)
	buf.Reset()
	res, err = f.svc.Export(f.ctx, "all", segments.ExportOptions{Format: "google", Purpose: "sms"}, &buf)
	if err != nil || res.Included != 0 || res.ExcludedConsent != 2 || res.ExcludedNoContact != 1 {
		t.Errorf("sms: %+v %v", res, err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Without a country trait, the ad-audience country comes from the normalised
// postal address, else from the phone number's region.
func TestAdAudienceCountryFallback(t *testing.T) {
	f := newFixture(t, nil)
	f.exec(`INSERT INTO profiles (id, traits, normalized, created_at, updated_at) VALUES
		('ann', '{"city":"Paris"}', '{"email":{"value":"ann@example.fr","status":"valid"},
		   "phone":{"value":"+32470123456","region":"BE","status":"valid"},
		   "address":{"postal_code":"75011","city":"PARIS","country":"FR","status":"valid"}}', ?, ?),
		('ben', '{}', '{"email":{"value":"ben@example.be","status":"valid"},
		   "phone":{"value":"+32470123457","region":"BE","status":"valid"}}', ?, ?),
		('cat', '{}', '{"email":{"value":"cat@example.com","status":"valid"},
		   "address":{"country":"FR","status":"invalid"}}', ?, ?)`, t0, t0, t0, t0, t0, t0)
	for _, id := range []string{"ann", "ben", "cat"} {
		f.consent(id, "advertising", "granted", t0.Add(-time.Hour))
	}
	f.create("all", `not trait.nothing exists`)
	var buf bytes.Buffer
	if _, err := f.svc.Export(f.ctx, "all", segments.ExportOptions{Format: "google"}, &buf); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&buf).ReadAll()
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[0]] = r[4]
	}
	want := map[string]string{sha("ann@example.fr"): "fr", sha("ben@example.be"): "be", sha("cat@example.com"): ""}
	if mustJSON(got) != mustJSON(want) {
		t.Errorf("countries %v, want %v", got, want)
	}
	// "none" is not a purpose: refused rather than excluding everyone.
	if _, err := f.svc.Export(f.ctx, "all", segments.ExportOptions{Format: "csv", Purpose: "none"}, &buf); err == nil || !strings.Contains(err.Error(), "not a consent purpose") {
		t.Errorf("purpose none: %v", err)
	}
}

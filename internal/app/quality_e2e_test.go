package app_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"testing"
	"time"
)

// The normalised fields a profile carries, as the API shows them.
type normalizedProfile struct {
	Traits     map[string]any `json:"traits"`
	Normalized map[string]struct {
		Raw     string   `json:"raw"`
		Value   string   `json:"value"`
		Key     string   `json:"key"`
		Status  string   `json:"status"`
		Reasons []string `json:"reasons"`
		Lines   []string `json:"lines"`
	} `json:"normalized"`
	Identities []struct{ Type, Value, Display string } `json:"identities"`
}

// A contact given as " JANE.DOE@Example.COM " and "06.12.34.56.78", then
// tracked as "jane.doe@example.com" and "+33612345678", is one person: the
// keys are the normalised forms, the raw values stay in the traits.
func TestNormalisedContactFieldsJoinOneProfile(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(
		M{"type": "identify", "messageId": "q1", "anonymousId": "crm-1", "traits": M{
			"email": " JANE.DOE@Example.COM ", "phone": "06.12.34.56.78",
			"first_name": "JEAN-PIERRE", "last_name": "DE LA FONTAINE",
			"address": M{"street": "12 bis av. du Gal Leclerc", "postalCode": "6000", "city": "nice"}}},
		M{"type": "track", "messageId": "q2", "anonymousId": "web-7", "event": "Viewed",
			"context": M{"traits": M{"email": "jane.doe@example.com"}}},
		M{"type": "track", "messageId": "q3", "anonymousId": "app-9", "event": "Opened",
			"context": M{"traits": M{"phone": "+33612345678"}}},
	)
	byEmail := s.lookup("email", "jane.doe@example.com")
	byPhone := s.lookup("phone", "+33612345678")
	byRaw := s.lookup("phone", "06 12 34 56 78")
	if byEmail.ID != byPhone.ID || byEmail.ID != byRaw.ID {
		t.Fatalf("one person became several profiles: %s %s %s", byEmail.ID, byPhone.ID, byRaw.ID)
	}
	for _, anon := range []string{"crm-1", "web-7", "app-9"} {
		if !byEmail.has("anonymous_id", anon) {
			t.Errorf("profile lacks anonymous id %s: %v", anon, byEmail.ids())
		}
	}
	var p normalizedProfile
	s.apiJSON("GET", "/api/v1/profiles/"+byEmail.ID, nil, http.StatusOK, &p)
	if p.Traits["email"] != " JANE.DOE@Example.COM " || p.Traits["phone"] != "06.12.34.56.78" {
		t.Errorf("raw values not kept: %v", p.Traits)
	}
	checks := []struct{ field, value, status string }{
		{"email", "JANE.DOE@example.com", "valid"}, // domain lower-cased, local part as typed
		{"phone", "+33612345678", "valid"},
		{"name", "Jean-Pierre de La Fontaine", "corrected"},
	}
	for _, c := range checks {
		got := p.Normalized[c.field]
		if got.Value != c.value || got.Status != c.status {
			t.Errorf("%s: got %q (%s), want %q (%s)", c.field, got.Value, got.Status, c.value, c.status)
		}
	}
	if got := p.Normalized["address"].Lines; len(got) != 7 || got[5] != "06000 NICE" {
		t.Errorf("address line 6: got %q, want 06000 NICE", got)
	}

	var rep struct {
		Fields []struct {
			Field    string             `json:"field"`
			Total    int64              `json:"total"`
			Shares   map[string]float64 `json:"shares"`
			Problems []struct {
				Reason, Example string
				Count           int64
			} `json:"problems"`
		} `json:"fields"`
	}
	s.apiJSON("GET", "/api/v1/quality", nil, http.StatusOK, &rep)
	found := map[string]bool{}
	for _, f := range rep.Fields {
		found[f.Field] = f.Total > 0
		if f.Field == "name" && (f.Total != 1 || f.Shares["corrected"] != 1) {
			t.Errorf("name quality: %+v", f)
		}
		for _, pr := range f.Problems {
			if pr.Example == "JEAN-PIERRE | DE LA FONTAINE" {
				t.Errorf("report shows an unmasked personal value")
			}
		}
	}
	for _, f := range []string{"email", "phone", "name", "address"} {
		if !found[f] {
			t.Errorf("quality report misses %s", f)
		}
	}
	raw, _ := json.Marshal(rep)
	if len(raw) == 0 {
		t.Fatal("empty report")
	}
}

// importContacts uploads a contacts CSV through the imports API and waits
// for its report.
func (s *server) importContacts(csv string) map[string]any {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", "contacts")
	_ = mw.WriteField("source", "crm")
	fw, _ := mw.CreateFormFile("file", "contacts.csv")
	_, _ = fw.Write([]byte(csv))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", s.url+"/api/v1/imports", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	var started struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || started.ID == "" {
		s.t.Fatalf("import upload: status %d", resp.StatusCode)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var rep map[string]any
		s.apiJSON("GET", "/api/v1/imports/"+started.ID, nil, http.StatusOK, &rep)
		if rep["status"] != "running" {
			return rep
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatal("import did not finish in 30 s")
	return nil
}

// The data-quality issue's acceptance case: a contact imported with
// " JANE.DOE@Example.COM " and "06.12.34.56.78", tracked later with
// "jane.doe@example.com" and "+33612345678", is one profile with valid,
// normalised fields and the raw values kept.
func TestImportedContactAndTrackedVisitorAreOnePerson(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	rep := s.importContacts("id;prenom;nom;email;telephone\nC-1;Jane;DOE; JANE.DOE@Example.COM ;06.12.34.56.78\n")
	if rep["status"] != "done" || rep["created"] != float64(1) {
		t.Fatalf("import report: %v", rep)
	}
	s.batch(
		M{"type": "track", "messageId": "t1", "anonymousId": "web-1", "event": "Viewed", "context": M{"traits": M{"email": "jane.doe@example.com"}}},
		M{"type": "track", "messageId": "t2", "anonymousId": "app-1", "event": "Opened", "context": M{"traits": M{"phone": "+33612345678"}}},
	)
	a, b := s.lookup("email", "jane.doe@example.com"), s.lookup("phone", "+33612345678")
	if a.ID != b.ID || !a.has("anonymous_id", "web-1") || !a.has("anonymous_id", "app-1") {
		t.Fatalf("not one profile: %s %s %v", a.ID, b.ID, a.ids())
	}
	var p normalizedProfile
	s.apiJSON("GET", "/api/v1/profiles/"+a.ID, nil, http.StatusOK, &p)
	// The import reads the cell trimmed (CSV padding), the case as typed.
	if e := p.Normalized["email"]; e.Status != "valid" || e.Raw != "JANE.DOE@Example.COM" || e.Key != "jane.doe@example.com" {
		t.Errorf("email: %+v", p.Normalized["email"])
	}
	if p.Normalized["phone"].Status != "valid" || p.Normalized["phone"].Value != "+33612345678" {
		t.Errorf("phone: %+v", p.Normalized["phone"])
	}
	if p.Normalized["phone"].Raw != "06.12.34.56.78" {
		t.Errorf("phone raw value not kept: %q", p.Normalized["phone"].Raw)
	}
	if p.Normalized["name"].Value != "Jane Doe" {
		t.Errorf("name: %+v", p.Normalized["name"])
	}
	for _, d := range []string{"JANE.DOE@Example.COM", "06.12.34.56.78"} {
		found := false
		for _, i := range p.Identities {
			found = found || i.Display == d
		}
		if !found {
			t.Errorf("identity display %q not kept: %+v", d, p.Identities)
		}
	}
}

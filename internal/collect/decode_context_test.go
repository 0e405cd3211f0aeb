package collect

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/model"
)

func TestConsent(t *testing.T) {
	t.Parallel()
	consent := `{"categoryPreferences":{"Advertising":true,"Analytics":false,"Weird":"yes","Null":null},"domains":["a"]}`
	m := decode(t, "track", `{"userId":"u","event":"E","context":{"consent":`+consent+`}}`).Messages[0]
	want := &model.ConsentPreferences{
		Categories: map[string]bool{"Advertising": true, "Analytics": false},
		Raw:        []byte(consent),
	}
	if m.Consent == nil || !reflect.DeepEqual(m.Consent.Categories, want.Categories) || string(m.Consent.Raw) != consent {
		t.Errorf("consent %+v, want %+v", m.Consent, want)
	}
	// Raw is compact and clean even when the context was not.
	m = decode(t, "track", "{\"userId\":\"u\",\"event\":\"E\",\"context\":{\"consent\": { \"categoryPreferences\" : {\"Ads\\ud83d\": true} } }}").Messages[0]
	if string(m.Consent.Raw) != "{\"categoryPreferences\":{\"Ads\uFFFD\":true}}" || !m.Consent.Categories["Ads\uFFFD"] {
		t.Errorf("consent raw %q categories %v", m.Consent.Raw, m.Consent.Categories)
	}
	for _, c := range []string{`{"consent":{"domains":[]}}`, `{"consent":"all"}`, `{"consent":{"categoryPreferences":[true]}}`} {
		if m := decode(t, "track", `{"userId":"u","event":"E","context":`+c+`}`).Messages[0]; m.Consent != nil {
			t.Errorf("%s: consent %+v, want nil", c, m.Consent)
		}
	}
}

func TestExternalIDs(t *testing.T) {
	t.Parallel()
	ids := `[{"id":"cus_1","type":"stripe_customer_id","collection":"users","encoding":"none"},` +
		`{"id":42,"type":"crm_id"},{"id":"","type":"x"},{"type":"no_id"},"str",{"id":{"a":1},"type":"t"},` +
		`{"id":"x","type":""},{"id":"x","type":7},{"id":"nul\u0000","type":"t"},null]`
	m := decode(t, "track", `{"userId":"u","event":"E","context":{"externalIds":`+ids+`}}`).Messages[0]
	want := []model.ExternalID{
		{ID: "cus_1", Type: "stripe_customer_id", Collection: "users"},
		{ID: "42", Type: "crm_id"},
	}
	if !reflect.DeepEqual(m.ExternalIDs, want) {
		t.Errorf("external ids %+v, want %+v", m.ExternalIDs, want)
	}
	if m := decode(t, "track", `{"userId":"u","event":"E","context":{"externalIds":{"id":"x"}}}`).Messages[0]; m.ExternalIDs != nil {
		t.Errorf("not an array: %+v", m.ExternalIDs)
	}
}

func TestPageAndCampaign(t *testing.T) {
	t.Parallel()
	// Page call: properties fill what context.page lacks.
	m := decode(t, "page", `{"userId":"u","name":"Pricing",
		"properties":{"url":"https://p.example/from-props","path":"/pricing","title":"Pricing","referrer":"https://r.example/","search":"?q=1"},
		"context":{"page":{"url":"https://p.example/pricing?utm_source=ads&utm_medium=cpc&utm_campaign=may&utm_term=crm&utm_content=a%FFb"}}}`).Messages[0]
	wantPage := model.PageInfo{
		URL:  "https://p.example/pricing?utm_source=ads&utm_medium=cpc&utm_campaign=may&utm_term=crm&utm_content=a%FFb",
		Path: "/pricing", Title: "Pricing", Referrer: "https://r.example/", Search: "?q=1",
	}
	if m.Page != wantPage || m.Name != "Pricing" {
		t.Errorf("page %+v, want %+v", m.Page, wantPage)
	}
	// No context.campaign: UTM parameters from the page URL; %FF is not UTF-8.
	wantCampaign := model.Campaign{Source: "ads", Medium: "cpc", Name: "may", Term: "crm", Content: "a\uFFFDb"}
	if m.Campaign != wantCampaign {
		t.Errorf("campaign %+v, want %+v", m.Campaign, wantCampaign)
	}

	// Page call without context.page: all from properties, UTM from its url.
	m = decode(t, "page", `{"userId":"u","properties":{"url":"https://p.example/?utm_source=mail#top","path":"/"}}`).Messages[0]
	if m.Page.URL != "https://p.example/?utm_source=mail#top" || m.Page.Path != "/" || m.Campaign != (model.Campaign{Source: "mail"}) {
		t.Errorf("page from properties %+v %+v", m.Page, m.Campaign)
	}

	// Track: no fallback on properties.
	m = decode(t, "track", `{"userId":"u","event":"E","properties":{"url":"https://p.example/x","path":"/x"}}`).Messages[0]
	if m.Page != (model.PageInfo{}) {
		t.Errorf("track page %+v", m.Page)
	}

	// context.campaign present (even partial): used as is, no URL parsing.
	m = decode(t, "track", `{"userId":"u","event":"E","context":{"campaign":{"source":"news","name":"spring","medium":3},
		"page":{"url":"https://p.example/?utm_source=other&utm_term=t"}}}`).Messages[0]
	if m.Campaign != (model.Campaign{Source: "news", Name: "spring"}) {
		t.Errorf("context campaign %+v", m.Campaign)
	}
	// A page field of the wrong type is ignored, not a rejection.
	m = decode(t, "track", `{"userId":"u","event":"E","context":{"page":{"url":5,"path":"/p"},"library":"x","campaign":[]}}`).Messages[0]
	if m.Page != (model.PageInfo{Path: "/p"}) || m.Library != "" || m.Campaign != (model.Campaign{}) {
		t.Errorf("odd types: %+v %q %+v", m.Page, m.Library, m.Campaign)
	}
}

func TestContextScalars(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body                   string
		ua, ip, lib, sessionID string
	}{
		{`{"context":{"userAgent":"UA","ip":"2001:db8::1","library":{"name":"analytics-ios","version":"4.1.8"},"sessionId":1714990000000}}`,
			"UA", "2001:db8::1", "analytics-ios/4.1.8", "1714990000000"},
		{`{"context":{"library":{"name":"analytics-python"}},"properties":{"session_id":"ps-1"}}`,
			"", "", "analytics-python", "ps-1"},
		{`{"context":{"library":{"version":"1.0"},"sessionId":"cs-1"},"properties":{"session_id":"ps-1"}}`,
			"", "", "", "cs-1"},
		{`{"context":{"userAgent":null,"ip":7,"sessionId":true},"properties":{"session_id":99}}`,
			"", "", "", "99"},
	} {
		body := `{"userId":"u","event":"E",` + c.body[1:]
		m := decode(t, "track", body).Messages[0]
		if m.UserAgent != c.ua || m.IP != c.ip || m.Library != c.lib || m.SessionID != c.sessionID {
			t.Errorf("%s: got ua %q ip %q lib %q session %q", c.body, m.UserAgent, m.IP, m.Library, m.SessionID)
		}
	}
	// context.traits that are not an object are ignored.
	if m := decode(t, "track", `{"userId":"u","event":"E","context":{"traits":"x"}}`).Messages[0]; m.ContextTraits != nil {
		t.Errorf("context traits %#v", m.ContextTraits)
	}
}

func TestBatchContextAndSentAt(t *testing.T) {
	t.Parallel()
	// Batch-level context and sentAt may come before or after the batch.
	for _, order := range []string{
		`{"context":{"library":{"name":"batch-lib"},"ip":"198.51.100.1","locale":"fr"},"sentAt":"2024-05-06T11:59:59Z","batch":%s}`,
		`{"batch":%s,"sentAt":"2024-05-06T11:59:59Z","context":{"library":{"name":"batch-lib"},"ip":"198.51.100.1","locale":"fr"}}`,
	} {
		batch := `[
			{"type":"track","event":"A","userId":"u","context":{"ip":"203.0.113.9"}},
			{"type":"track","event":"B","userId":"u","sentAt":"2024-05-06T11:59:30Z"},
			{"type":"track","event":"C","userId":"u","context":{}},
			{"type":"track","event":"D","userId":"u","context": { "library" : {"name":"own"} } }]`
		out := decode(t, "batch", fmt.Sprintf(order, batch))
		if len(out.Messages) != 4 {
			t.Fatalf("%+v", out.Rejected)
		}
		want := []struct {
			ctx, ip, lib string
			sent         time.Time
		}{
			{`{"ip":"203.0.113.9","library":{"name":"batch-lib"},"locale":"fr"}`, "203.0.113.9", "batch-lib", time.Date(2024, 5, 6, 11, 59, 59, 0, time.UTC)},
			{`{"library":{"name":"batch-lib"},"ip":"198.51.100.1","locale":"fr"}`, "198.51.100.1", "batch-lib", time.Date(2024, 5, 6, 11, 59, 30, 0, time.UTC)},
			{`{"library":{"name":"batch-lib"},"ip":"198.51.100.1","locale":"fr"}`, "198.51.100.1", "batch-lib", time.Date(2024, 5, 6, 11, 59, 59, 0, time.UTC)},
			{`{"library":{"name":"own"},"ip":"198.51.100.1","locale":"fr"}`, "198.51.100.1", "own", time.Date(2024, 5, 6, 11, 59, 59, 0, time.UTC)},
		}
		for i, m := range out.Messages {
			w := want[i]
			if string(m.Context) != w.ctx || m.IP != w.ip || m.Library != w.lib || !m.SentAt.Equal(w.sent) {
				t.Errorf("message %d: context %s ip %q lib %q sentAt %v; want %s %q %q %v", i, m.Context, m.IP, m.Library, m.SentAt, w.ctx, w.ip, w.lib, w.sent)
			}
		}
	}
}

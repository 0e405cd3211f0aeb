package collect

import (
	"bytes"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/model"
)

// fuzzSeeds are bodies from the tests above, and odd corners.
var fuzzSeeds = []struct {
	endpoint string
	body     string
}{
	{"batch", `{"batch":[{"type":"track","event":"E","userId":"u"},{"type":"track","event":"","userId":"u"},3]}`},
	{"batch", `{"context":{"ip":"1.2.3.4","library":{"name":"x"}},"sentAt":"2024-05-06T11:59:59Z","batch":[{"type":"identify","userId":12,"context":{"ip":"5.6.7.8"}}]}`},
	{"batch", "{\"batch\":[{\"type\":\"identify\",\"userId\":\"caf\xe9\",\"traits\":{\"k\xe9\":\"\\ud83d\"},\"context\":{\"traits\":{\"\\udc00\":1}}}]}"},
	{"track", `{"event":"E","userId":"u","timestamp":"2024-05-09T11:50:00Z","sentAt":"2024-05-09T11:59:59Z","properties":{"a":[1,{"b":null}]}}`},
	{"page", `{"userId":"u","properties":{"url":"https://p.example/?utm_source=a%FF","path":"/"},"context":{"page":{"title":"T"}}}`},
	{"identify", `{"userId":1e400,"anonymousId":{}}`},
	{"group", `{"userId":"u","groupId":"g","traits":{"name":"Acme"},"context":{"consent":{"categoryPreferences":{"a":true}},"externalIds":[{"id":1,"type":"t"}]}}`},
	{"alias", `{"userId":"u","previousId":"p\u0000"}`},
	{"track", `{"event":"E","userId":"u","timestamp":1714990272345.5,"originalTimestamp":"2024-05-06"}`},
	{"batch", `{"batch":[],"context":"x"}`},
	{"track", ""},
	{"screen", "\xef\xbb\xbf{ \"userId\" : \"u\" , \"name\" : \"n\" }"},
}

// FuzzDecode feeds arbitrary bodies to every endpoint and checks the
// package's invariants on whatever comes out.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(endpointCode(s.endpoint), []byte(s.body))
	}
	if b, err := os.ReadFile("testdata/analyticsjs_track.json"); err == nil {
		f.Add(endpointCode("track"), b)
		f.Add(endpointCode("batch"), []byte(`{"batch":[`+string(b)+`]}`))
	}
	f.Fuzz(func(t *testing.T, ep byte, body []byte) {
		endpoint := fuzzEndpoints[int(ep)%len(fuzzEndpoints)]
		out, err := testDecoder(testNow).Decode(endpoint, "application/json", "", bytes.NewReader(body))
		if err != nil {
			re, ok := err.(*RequestError)
			if !ok || out != nil {
				t.Fatalf("Decode: %v (%T), out %v", err, err, out)
			}
			if !utf8.ValidString(re.Message) {
				t.Fatalf("invalid UTF-8 in error message %q", re.Message)
			}
			return
		}
		checkDecoded(t, out)
		if !utf8.ValidString(out.WriteKey) {
			t.Fatalf("writeKey %q", out.WriteKey)
		}
		for _, r := range out.Rejected {
			if !utf8.ValidString(r.Reason) || r.Code == "" || r.Index < 0 || r.Index >= out.Total {
				t.Fatalf("rejection %+v", r)
			}
		}
	})
}

var fuzzEndpoints = []string{"batch", "identify", "track", "page", "screen", "group", "alias"}

func endpointCode(e string) byte {
	for i, x := range fuzzEndpoints {
		if x == e {
			return byte(i)
		}
	}
	panic(e)
}

// checkMessage asserts what model.Message promises.
func checkMessage(t *testing.T, what string, m *model.Message) {
	t.Helper()
	for _, s := range []string{
		string(m.Type), m.MessageID, m.SourceID, m.AnonymousID, m.UserID, m.PreviousID, m.GroupID, m.Event, m.Name,
		m.Page.URL, m.Page.Path, m.Page.Referrer, m.Page.Title, m.Page.Search,
		m.Campaign.Source, m.Campaign.Medium, m.Campaign.Name, m.Campaign.Term, m.Campaign.Content,
		m.UserAgent, m.IP, m.Library, m.SessionID,
	} {
		if !utf8.ValidString(s) {
			t.Fatalf("%s: invalid UTF-8 in %q", what, s)
		}
	}
	for _, id := range []string{m.MessageID, m.AnonymousID, m.UserID, m.PreviousID, m.GroupID} {
		if bytes.IndexByte([]byte(id), 0) >= 0 {
			t.Fatalf("%s: NUL in id %q", what, id)
		}
	}
	if m.MessageID == "" || (m.UserID == "" && m.AnonymousID == "") {
		t.Fatalf("%s: missing ids %+v", what, m)
	}
	for _, raw := range []struct {
		name string
		b    []byte
	}{{"properties", m.Properties}, {"context", m.Context}, {"integrations", m.Integrations}} {
		if raw.b != nil {
			checkRawJSON(t, what+" "+raw.name, raw.b)
			if raw.b[0] != '{' {
				t.Fatalf("%s: %s is not an object: %q", what, raw.name, raw.b)
			}
		}
	}
	if m.Consent != nil {
		checkRawJSON(t, what+" consent", m.Consent.Raw)
		for k := range m.Consent.Categories {
			if !utf8.ValidString(k) {
				t.Fatalf("%s: consent key %q", what, k)
			}
		}
	}
	for _, e := range m.ExternalIDs {
		if !utf8.ValidString(e.ID) || !utf8.ValidString(e.Type) || !utf8.ValidString(e.Collection) || e.ID == "" || e.Type == "" {
			t.Fatalf("%s: external id %+v", what, e)
		}
	}
	checkAny(t, what+" traits", m.Traits)
	checkAny(t, what+" context traits", m.ContextTraits)
	for _, tm := range []struct {
		name string
		zero bool
		loc  string
	}{
		{"timestamp", m.Timestamp.IsZero(), m.Timestamp.Location().String()},
		{"receivedAt", m.ReceivedAt.IsZero(), m.ReceivedAt.Location().String()},
		{"sentAt", false, m.SentAt.Location().String()},
		{"originalTimestamp", false, m.OriginalTimestamp.Location().String()},
	} {
		if tm.zero || tm.loc != "UTC" {
			t.Fatalf("%s: %s zero or not UTC", what, tm.name)
		}
	}
	if d := m.Timestamp.Sub(m.ReceivedAt); d > DefaultSkewTolerance {
		t.Fatalf("%s: timestamp %v after receivedAt %v", what, m.Timestamp, m.ReceivedAt)
	}
}

// checkAny walks a decoded JSON value checking every string and key.
func checkAny(t *testing.T, what string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) {
				t.Fatalf("%s: key %q", what, k)
			}
			checkAny(t, what, e)
		}
	case []any:
		for _, e := range v {
			checkAny(t, what, e)
		}
	case string:
		if !utf8.ValidString(v) {
			t.Fatalf("%s: string %q", what, v)
		}
	}
}

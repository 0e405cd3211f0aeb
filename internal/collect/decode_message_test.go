package collect

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/model"
)

func TestTrackFieldByField(t *testing.T) {
	t.Parallel()
	body := `{"type":"track","messageId":"m-1","anonymousId":"anon-1","userId":"user-1","event":"Order Completed",
	"timestamp":"2024-05-06T11:59:00.250Z","sentAt":"2024-05-06T11:59:59Z","writeKey":"wk",
	"properties":{"total":12.5,"session_id":"not-used"},
	"context":{"ip":"203.0.113.7","userAgent":"UA/1.0","library":{"name":"analytics-go","version":"3.3.0"},"sessionId":"s-1","page":{"url":"https://shop.example/cart?utm_source=news&utm_medium=email&utm_campaign=spring","path":"/cart","referrer":"https://ref.example/","title":"Cart","search":"?utm_source=news&utm_medium=email&utm_campaign=spring"},"traits":{"email":"a@example.com"}},
	"integrations":{"All":false},"groupId":"ignored","name":"ignored","previousId":"ignored","traits":{"ignored":true}}`
	out := decode(t, "track", body)
	if out.Total != 1 || len(out.Messages) != 1 || out.Index[0] != 0 || out.WriteKey != "wk" {
		t.Fatalf("got %+v", out)
	}
	// sentAt is 1 s before receipt (12:00:00): delay, not skew.
	ts := time.Date(2024, 5, 6, 11, 59, 0, 250e6, time.UTC)
	want := model.Message{
		Type:              model.Track,
		MessageID:         "m-1",
		AnonymousID:       "anon-1",
		UserID:            "user-1",
		Event:             "Order Completed",
		Timestamp:         ts,
		OriginalTimestamp: ts,
		SentAt:            time.Date(2024, 5, 6, 11, 59, 59, 0, time.UTC),
		ReceivedAt:        testNow,
		Properties:        json.RawMessage(`{"total":12.5,"session_id":"not-used"}`),
		Context:           json.RawMessage(`{"ip":"203.0.113.7","userAgent":"UA/1.0","library":{"name":"analytics-go","version":"3.3.0"},"sessionId":"s-1","page":{"url":"https://shop.example/cart?utm_source=news&utm_medium=email&utm_campaign=spring","path":"/cart","referrer":"https://ref.example/","title":"Cart","search":"?utm_source=news&utm_medium=email&utm_campaign=spring"},"traits":{"email":"a@example.com"}}`),
		Integrations:      json.RawMessage(`{"All":false}`),
		ContextTraits:     map[string]any{"email": "a@example.com"},
		Page: model.PageInfo{
			URL:      "https://shop.example/cart?utm_source=news&utm_medium=email&utm_campaign=spring",
			Path:     "/cart",
			Referrer: "https://ref.example/",
			Title:    "Cart",
			Search:   "?utm_source=news&utm_medium=email&utm_campaign=spring",
		},
		Campaign:  model.Campaign{Source: "news", Medium: "email", Name: "spring"},
		UserAgent: "UA/1.0",
		IP:        "203.0.113.7",
		Library:   "analytics-go/3.3.0",
		SessionID: "s-1",
	}
	assertMessage(t, out.Messages[0], want)
}

// assertMessage compares two messages field by field, raw JSON as text.
func assertMessage(t *testing.T, got, want model.Message) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if raw, ok := g.(json.RawMessage); ok {
			g, w = string(raw), string(w.(json.RawMessage))
		}
		if gt, ok := g.(time.Time); ok {
			if !gt.Equal(w.(time.Time)) || (!gt.IsZero() && gt.Location() != time.UTC) {
				t.Errorf("%s = %v, want %v", name, g, w)
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", name, g, w)
		}
	}
}

// rejection decodes a single call that must be rejected.
func rejection(t *testing.T, endpoint, body string) Rejection {
	t.Helper()
	out := decode(t, endpoint, body)
	if len(out.Rejected) != 1 {
		t.Fatalf("%s %s: want one rejection, got %+v", endpoint, body, out)
	}
	return out.Rejected[0]
}

func TestIDs(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("u", 1024)
	for _, c := range []struct{ in, want string }{
		{`42`, "42"},
		{`-7`, "-7"},
		{`12345678901234567890`, "12345678901234567890"}, // beyond float64: kept digit for digit
		{`1.5e3`, "1500"},
		{`0.25`, "0.25"},
		{`1E2`, "100"},
		{`"  padded "`, "  padded "}, // not trimmed
		{`"\u00e9"`, "é"},
		{`"` + long + `"`, long},
	} {
		out := decode(t, "identify", `{"userId":`+c.in+`}`)
		if len(out.Messages) != 1 || out.Messages[0].UserID != c.want {
			t.Errorf("userId %s: got %+v", c.in, out)
		}
	}
	for _, c := range []struct{ field, value, reason string }{
		{"userId", `true`, `"userId" must be a string or a number, not a boolean`},
		{"anonymousId", `{}`, `"anonymousId" must be a string or a number, not an object`},
		{"userId", `["a"]`, `"userId" must be a string or a number, not an array`},
		{"userId", `1e400`, `"userId" is a number too large to be an id`},
		{"userId", `"` + long + `u"`, `"userId" is 1025 bytes, over the limit of 1024`},
		{"anonymousId", `"a\u0000b"`, `"anonymousId" contains a NUL character`},
		{"messageId", `"` + strings.Repeat("m", 257) + `"`, `"messageId" is 257 bytes, over the limit of 256`},
	} {
		r := rejection(t, "identify", fmt.Sprintf(`{"userId":"u",%q:%s}`, c.field, c.value))
		if r.Code != "invalid_field" || r.Reason != c.reason || r.Index != 0 {
			t.Errorf("%s %s: got %+v, want invalid_field %q", c.field, c.value[:min(len(c.value), 20)], r, c.reason)
		}
	}
	// Per-type ids, checked only where the type uses them.
	if r := rejection(t, "group", `{"userId":"u","groupId":[]}`); r.Reason != `"groupId" must be a string or a number, not an array` {
		t.Errorf("groupId: %+v", r)
	}
	if r := rejection(t, "alias", `{"userId":"u","previousId":"p\u0000"}`); r.Reason != `"previousId" contains a NUL character` {
		t.Errorf("previousId: %+v", r)
	}
	if out := decode(t, "track", `{"userId":"u","event":"E","groupId":[],"previousId":{}}`); len(out.Messages) != 1 {
		t.Errorf("track with odd groupId: %+v", out.Rejected)
	}
	m := decode(t, "group", `{"anonymousId":5,"groupId":900}`).Messages[0]
	if m.AnonymousID != "5" || m.GroupID != "900" {
		t.Errorf("group ids: %q %q", m.AnonymousID, m.GroupID)
	}
	m = decode(t, "alias", `{"userId":"new","previousId":77}`).Messages[0]
	if m.UserID != "new" || m.PreviousID != "77" {
		t.Errorf("alias ids: %q %q", m.UserID, m.PreviousID)
	}
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	out := decode(t, "batch", `{"batch":[
		{"type":"track","event":"E","userId":"u"},
		{"type":"track","event":"E","userId":"u","messageId":""},
		{"type":"track","event":"E","userId":"u","messageId":null},
		{"type":"track","event":"E","userId":"u","messageId":"`+strings.Repeat("m", 256)+`"},
		{"type":"track","event":"E","userId":"u","messageId":123}]}`)
	got := make([]string, len(out.Messages))
	for i, m := range out.Messages {
		got[i] = m.MessageID
	}
	want := []string{"gen-1", "gen-2", "gen-3", strings.Repeat("m", 256), "123"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("message ids %q, want %q", got, want)
	}
}

func TestNamesAndLimits(t *testing.T) {
	t.Parallel()
	name := strings.Repeat("n", 1024)
	if m := decode(t, "track", `{"userId":"u","event":"`+name+`"}`).Messages[0]; m.Event != name {
		t.Errorf("event at the limit")
	}
	if r := rejection(t, "track", `{"userId":"u","event":"`+name+`n"}`); r.Reason != `"event" is 1025 bytes, over the limit of 1024` {
		t.Errorf("long event: %+v", r)
	}
	if r := rejection(t, "page", `{"userId":"u","name":"`+name+`n"}`); r.Reason != `"name" is 1025 bytes, over the limit of 1024` {
		t.Errorf("long name: %+v", r)
	}
	if r := rejection(t, "track", `{"userId":"u","event":42}`); r.Code != "invalid_field" || r.Reason != `"event" must be a string, not a number` {
		t.Errorf("numeric event: %+v", r)
	}
	if r := rejection(t, "screen", `{"userId":"u","name":"a\u0000"}`); r.Reason != `"name" contains a NUL character` {
		t.Errorf("NUL name: %+v", r)
	}
	m := decode(t, "screen", `{"userId":"u","name":"Home","event":"ignored"}`).Messages[0]
	if m.Name != "Home" || m.Event != "" {
		t.Errorf("screen: %+v", m)
	}
}

func TestRequiredFields(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ endpoint, body, reason string }{
		{"identify", `{"traits":{"a":1}}`, `identify needs "userId" or "anonymousId"`},
		{"track", `{"event":"E","userId":"","anonymousId":null}`, `track needs "userId" or "anonymousId"`},
		{"page", `{"name":"Home"}`, `page needs "userId" or "anonymousId"`},
		{"screen", `{}`, `screen needs "userId" or "anonymousId"`},
		{"track", `{"userId":"u"}`, `track needs a non-empty "event"`},
		{"track", `{"userId":"u","event":""}`, `track needs a non-empty "event"`},
		{"group", `{"userId":"u"}`, `group needs "groupId"`},
		{"group", `{"groupId":"g"}`, `group needs "userId" or "anonymousId"`},
		{"alias", `{"userId":"u","anonymousId":"a"}`, `alias needs "previousId"`},
		{"alias", `{"previousId":"p","anonymousId":"a"}`, `alias needs "userId"`},
		// Ids of only white space are no ids.
		{"identify", `{"userId":"   "}`, `identify needs "userId" or "anonymousId"`},
		{"track", `{"event":"E","userId":" ","anonymousId":"\t"}`, `track needs "userId" or "anonymousId"`},
		{"track", `{"userId":"u","event":"  "}`, `track needs a non-empty "event"`},
		{"group", `{"userId":"u","groupId":" "}`, `group needs "groupId"`},
		{"alias", `{"userId":"u","previousId":"  "}`, `alias needs "previousId"`},
	} {
		r := rejection(t, c.endpoint, c.body)
		if r.Code != "missing_field" || r.Reason != c.reason {
			t.Errorf("%s %s: got %+v, want missing_field %q", c.endpoint, c.body, r, c.reason)
		}
	}
	// Each type with its minimum.
	for _, c := range []struct{ endpoint, body string }{
		{"identify", `{"anonymousId":"a"}`},
		{"track", `{"anonymousId":"a","event":"E"}`},
		{"page", `{"userId":"u"}`},
		{"screen", `{"userId":"u"}`},
		{"group", `{"anonymousId":"a","groupId":"g"}`},
		{"alias", `{"userId":"u","previousId":"p"}`},
	} {
		if out := decode(t, c.endpoint, c.body); len(out.Messages) != 1 {
			t.Errorf("%s %s: %+v", c.endpoint, c.body, out.Rejected)
		}
	}
}

func TestTypes(t *testing.T) {
	t.Parallel()
	// One bad message in a batch: the two good ones are kept.
	out := decode(t, "batch", `{"batch":[
		{"type":"track","event":"E","userId":"u"},
		{"type":"track","event":"","userId":"u"},
		{"type":"purchase","userId":"u"},
		{"userId":"u"},
		{"type":5,"userId":"u"},
		{"type":"t","event":"E","userId":"u"},
		{"type":"Track","event":"E","userId":"u"},
		{"userId":"u","type":"identify"}]}`)
	want := []Rejection{
		{1, "missing_field", `track needs a non-empty "event"`},
		{2, "unknown_type", `"type" is not one of identify, track, page, screen, group, alias`},
		{3, "missing_field", `"type" is missing`},
		{4, "unknown_type", `"type" must be a string, not a number`},
		{6, "unknown_type", `"type" is not one of identify, track, page, screen, group, alias`},
	}
	if !reflect.DeepEqual(out.Rejected, want) {
		t.Errorf("rejected %+v,\nwant %+v", out.Rejected, want)
	}
	if fmt.Sprint(out.Index) != "[0 5 7]" || out.Messages[1].Type != model.Track || out.Messages[2].Type != model.Identify {
		t.Errorf("accepted %v", out.Index)
	}

	// Single calls: a type, if present, must match the endpoint.
	if r := rejection(t, "track", `{"type":"page","userId":"u","event":"E"}`); r.Code != "invalid_field" || r.Reason != `"type" does not match the endpoint /v1/track` {
		t.Errorf("mismatch: %+v", r)
	}
	if r := rejection(t, "identify", `{"type":"bogus","userId":"u"}`); r.Code != "invalid_field" {
		t.Errorf("bogus type on identify: %+v", r)
	}
	if out := decode(t, "page", `{"type":"page","userId":"u"}`); len(out.Messages) != 1 || out.Messages[0].Type != model.Page {
		t.Errorf("matching type: %+v", out)
	}
	if out := decode(t, "page", `{"type":null,"userId":"u"}`); len(out.Messages) != 1 {
		t.Errorf("null type: %+v", out)
	}
}

func TestObjectFields(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ endpoint, body, reason string }{
		{"track", `{"userId":"u","event":"E","properties":"x"}`, `"properties" must be an object, not a string`},
		{"track", `{"userId":"u","event":"E","context":[]}`, `"context" must be an object, not an array`},
		{"track", `{"userId":"u","event":"E","integrations":true}`, `"integrations" must be an object, not a boolean`},
		{"identify", `{"userId":"u","traits":5}`, `"traits" must be an object, not a number`},
		{"group", `{"userId":"u","groupId":"g","traits":[]}`, `"traits" must be an object, not an array`},
	} {
		r := rejection(t, c.endpoint, c.body)
		if r.Code != "invalid_field" || r.Reason != c.reason {
			t.Errorf("%s: got %+v, want %q", c.body, r, c.reason)
		}
	}
	// null is absent; traits are not a track field.
	m := decode(t, "track", `{"userId":"u","event":"E","properties":null,"context":null,"traits":5}`).Messages[0]
	if m.Properties != nil || m.Context != nil || m.Traits != nil {
		t.Errorf("nulls: %+v", m)
	}
	m = decode(t, "track", `{"userId":"u","event":"E","properties":{}}`).Messages[0]
	if string(m.Properties) != `{}` {
		t.Errorf("empty properties: %q", m.Properties)
	}
}

func TestTraits(t *testing.T) {
	t.Parallel()
	m := decode(t, "identify", `{"userId":"u","traits":{"email":"a@example.com","age":41,"phone":33612345678901234,"tags":["a"]},"context":{"traits":{"plan":"pro"}}}`).Messages[0]
	wantTraits := map[string]any{
		"email": "a@example.com",
		"age":   json.Number("41"),
		"phone": json.Number("33612345678901234"),
		"tags":  []any{"a"},
	}
	if !reflect.DeepEqual(m.Traits, wantTraits) || !reflect.DeepEqual(m.ContextTraits, map[string]any{"plan": "pro"}) {
		t.Errorf("identify traits %#v, context traits %#v", m.Traits, m.ContextTraits)
	}
	// identify without traits falls back on context.traits (analytics.js).
	m = decode(t, "identify", `{"userId":"u","context":{"traits":{"plan":"pro"}}}`).Messages[0]
	if !reflect.DeepEqual(m.Traits, map[string]any{"plan": "pro"}) {
		t.Errorf("fallback traits %#v", m.Traits)
	}
	// group: its own traits only; track: none.
	m = decode(t, "group", `{"userId":"u","groupId":"g","traits":{"name":"Acme"},"context":{"traits":{"plan":"pro"}}}`).Messages[0]
	if !reflect.DeepEqual(m.Traits, map[string]any{"name": "Acme"}) {
		t.Errorf("group traits %#v", m.Traits)
	}
	m = decode(t, "group", `{"userId":"u","groupId":"g","context":{"traits":{"plan":"pro"}}}`).Messages[0]
	if m.Traits != nil {
		t.Errorf("group without traits: %#v", m.Traits)
	}
	m = decode(t, "track", `{"userId":"u","event":"E","traits":{"a":1},"context":{"traits":{"plan":"pro"}}}`).Messages[0]
	if m.Traits != nil || !reflect.DeepEqual(m.ContextTraits, map[string]any{"plan": "pro"}) {
		t.Errorf("track traits %#v, context traits %#v", m.Traits, m.ContextTraits)
	}
}

// Raw bytes that are not UTF-8 and lone surrogate escapes become U+FFFD in
// strings, raw JSON and map keys alike.
func TestBrokenText(t *testing.T) {
	t.Parallel()
	body := "{\"type\":\"identify\",\"userId\":\"caf\xe9\",\"anonymousId\":\"\\ud83d\"," +
		"\"properties\":{\"k\xe9y\":\"\\ud83d\",\"ok\":\"\\ud83d\\ude00\",\"s\":\"x\\udc00y\"}," +
		"\"context\":{\"a\":{\"b\":\"\xc3\"},\"userAgent\":\"UA\xff\",\"traits\":{\"n\xe9\":\"\\ud800v\"}}," +
		"\"integrations\":{\"\\udfff\":true},\"traits\":{\"name\\ud83d\":\"Ren\xe9e\"}}"
	out := decode(t, "batch", `{"batch":[`+body+`]}`)
	if len(out.Messages) != 1 {
		t.Fatalf("%+v", out.Rejected)
	}
	m := out.Messages[0]
	const r = "\uFFFD"
	checks := []struct{ what, got, want string }{
		{"userId", m.UserID, "caf" + r},
		{"anonymousId", m.AnonymousID, r},
		{"properties", string(m.Properties), `{"k` + r + `y":"` + r + `","ok":"\ud83d\ude00","s":"x` + r + `y"}`},
		{"context", string(m.Context), `{"a":{"b":"` + r + `"},"userAgent":"UA` + r + `","traits":{"n` + r + `":"` + r + `v"}}`},
		{"integrations", string(m.Integrations), `{"` + r + `":true}`},
		{"userAgent", m.UserAgent, "UA" + r},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !reflect.DeepEqual(m.Traits, map[string]any{"name" + r: "Ren" + r + "e"}) {
		t.Errorf("traits %#v", m.Traits)
	}
	if !reflect.DeepEqual(m.ContextTraits, map[string]any{"n" + r: r + "v"}) {
		t.Errorf("context traits %#v", m.ContextTraits)
	}
}

func TestRawJSONIsCompactAndKeptAsSent(t *testing.T) {
	t.Parallel()
	body := "{ \"type\" : \"track\" , \"userId\" : \"u\" , \"event\" : \"E\" ,\n" +
		"  \"properties\" : { \"a b\" : [ 1 , 2.50 , \" c \" ] , \"e\" : \"\\u00e9\\n\" } ,\n" +
		"  \"context\" : {\n\t\"ip\" : \"198.51.100.4\" } }"
	m := decode(t, "track", body).Messages[0]
	if got, want := string(m.Properties), `{"a b":[1,2.50," c "],"e":"\u00e9\n"}`; got != want {
		t.Errorf("properties %s, want %s", got, want)
	}
	if got, want := string(m.Context), `{"ip":"198.51.100.4"}`; got != want {
		t.Errorf("context %s, want %s", got, want)
	}
	if m.IP != "198.51.100.4" {
		t.Errorf("ip %q", m.IP)
	}
}

// Keys are matched as sent (the spec is camelCase), after unescaping.
func TestKeyMatching(t *testing.T) {
	t.Parallel()
	m := decode(t, "track", `{"user\u0049d":"u","event":"E","UserId":"other","userid":"other"}`).Messages[0]
	if m.UserID != "u" {
		t.Errorf("userId %q", m.UserID)
	}
	// The last of duplicated keys wins, as in encoding/json.
	m = decode(t, "track", `{"userId":"first","event":"E","userId":"last"}`).Messages[0]
	if m.UserID != "last" {
		t.Errorf("duplicate: %q", m.UserID)
	}
}

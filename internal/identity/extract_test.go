package identity

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/atrium-cdp/atrium/internal/model"
)

func id(typ, value, display string) model.Identifier {
	return model.Identifier{Type: typ, Value: value, Display: display}
}

func TestExtract(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IDTraits = []string{"crm_id"}
	cases := []struct {
		name        string
		msg         model.Message
		want        []model.Identifier
		wantSkipped []string
	}{
		{
			name: "user, anonymous and e-mail, strongest first",
			msg: model.Message{Type: model.Identify, UserID: "u1", AnonymousID: "a1",
				Traits: map[string]any{"email": " JANE.DOE@EXAMPLE.COM "}},
			want: []model.Identifier{id("user_id", "u1", "u1"), id("email", "jane.doe@example.com", "JANE.DOE@EXAMPLE.COM"), id("anonymous_id", "a1", "a1")},
		},
		{
			name: "ids are trimmed for matching, kept for display",
			msg:  model.Message{Type: model.Track, UserID: " u1 ", AnonymousID: "a1\t"},
			want: []model.Identifier{id("user_id", "u1", " u1 "), id("anonymous_id", "a1", "a1\t")},
		},
		{
			name: "context.traits e-mail, once even when traits repeat it",
			msg: model.Message{Type: model.Identify, AnonymousID: "a1", Traits: map[string]any{"email": "x@example.com"},
				ContextTraits: map[string]any{"email": "X@Example.com"}},
			want: []model.Identifier{id("email", "x@example.com", "x@example.com"), id("anonymous_id", "a1", "a1")},
		},
		{
			name: "context.traits alone (track)",
			msg:  model.Message{Type: model.Track, AnonymousID: "a1", ContextTraits: map[string]any{"email": "y@example.com"}},
			want: []model.Identifier{id("email", "y@example.com", "y@example.com"), id("anonymous_id", "a1", "a1")},
		},
		{
			name: "phones: digits with the plus kept; mobile too; too short is no phone",
			msg: model.Message{Type: model.Identify, UserID: "u1", Traits: map[string]any{"phone": "+33 6 12 34 56 78",
				"mobile": json.Number("33698765432")}, ContextTraits: map[string]any{"phone": "12 34"}},
			want: []model.Identifier{id("user_id", "u1", "u1"), id("phone", "+33612345678", "+33 6 12 34 56 78"),
				id("phone", "33698765432", "33698765432")},
		},
		{
			name: "external ids: type names normalised, built-in names cannot be posed as",
			msg: model.Message{Type: model.Track, UserID: "u1", ExternalIDs: []model.ExternalID{
				{ID: "cus_1", Type: "Stripe Customer-ID"}, {ID: "e1", Type: "email"}, {ID: "x", Type: "  "}}},
			want: []model.Identifier{id("user_id", "u1", "u1"), id("stripe_customer_id", "cus_1", "cus_1"), id("ext_email", "e1", "e1")},
		},
		{
			name: "declared id traits, as string or JSON number; other types ignored",
			msg: model.Message{Type: model.Identify, AnonymousID: "a1", Traits: map[string]any{"crm_id": json.Number("4711")},
				ContextTraits: map[string]any{"crm_id": "C-9"}},
			want: []model.Identifier{id("crm_id", "4711", "4711"), id("crm_id", "C-9", "C-9"), id("anonymous_id", "a1", "a1")},
		},
		{
			name: "an id trait that is an object is no id",
			msg:  model.Message{Type: model.Identify, UserID: "u1", Traits: map[string]any{"crm_id": map[string]any{"a": 1.0}, "email": true}},
			want: []model.Identifier{id("user_id", "u1", "u1")},
		},
		{
			name: "alias: previousId is a prior id (typed anonymous until known)",
			msg:  model.Message{Type: model.Alias, UserID: "u2", PreviousID: "a9"},
			want: []model.Identifier{id("user_id", "u2", "u2"), id("anonymous_id", "a9", "a9")},
		},
		{
			name: "malformed e-mail is no identifier",
			msg:  model.Message{Type: model.Identify, UserID: "u1", Traits: map[string]any{"email": "not-an-email"}},
			want: []model.Identifier{id("user_id", "u1", "u1")},
		},
		{
			name:        "placeholders skipped, by type, never the value",
			msg:         model.Message{Type: model.Identify, UserID: "null", AnonymousID: "[object Object]", Traits: map[string]any{"crm_id": "undefined"}},
			want:        nil,
			wantSkipped: []string{"user_id", "anonymous_id", "crm_id"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, skipped := Extract(&c.msg, cfg, SimpleKeyer{})
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ids\n got %v\nwant %v", got, c.want)
			}
			if !reflect.DeepEqual(skipped, c.wantSkipped) {
				t.Errorf("skipped %v, want %v", skipped, c.wantSkipped)
			}
		})
	}
}

func TestPlaceholdersAreBlocked(t *testing.T) {
	cfg := DefaultConfig()
	for _, v := range []string{"undefined", "null", "None", "NaN", "0", "[object Object]", "", "   ", "anonymous",
		" UNDEFINED ", "nil", "-1", "{}", "[]", "false", "true", "unknown", "n/a"} {
		msg := model.Message{Type: model.Track, UserID: v, AnonymousID: v}
		if got, _ := Extract(&msg, cfg, SimpleKeyer{}); len(got) != 0 {
			t.Errorf("%q made identifiers %v", v, got)
		}
	}
	for _, v := range []string{"00", "anon", "nully", "undefined-1", "42"} {
		msg := model.Message{Type: model.Track, AnonymousID: v}
		if got, _ := Extract(&msg, cfg, SimpleKeyer{}); len(got) != 1 {
			t.Errorf("%q is a real id but was skipped", v)
		}
	}
}

func TestSimpleKeyer(t *testing.T) {
	k := SimpleKeyer{}
	emails := []struct {
		in, want string
		ok       bool
	}{
		{" JANE.DOE@EXAMPLE.COM ", "jane.doe@example.com", true},
		{"jane.doe@example.com", "jane.doe@example.com", true},
		{"a@b", "a@b", true},
		{"@example.com", "", false},
		{"jane@", "", false},
		{"jane doe@example.com", "", false},
		{"no-at-sign", "", false},
		{"", "", false},
	}
	for _, c := range emails {
		got, ok := k.EmailKey(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("EmailKey(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
	phones := []struct {
		in, want string
		ok       bool
	}{
		{"+33 6 12 34 56 78", "+33612345678", true},
		{"06.12.34.56.78", "0612345678", true},
		{"(555) 010-9999", "5550109999", true},
		{"12345", "", false},
		{"+1 23 45", "", false},
		{"phone", "", false},
	}
	for _, c := range phones {
		got, ok := k.PhoneKey(c.in, "FR")
		if got != c.want || ok != c.ok {
			t.Errorf("PhoneKey(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"limits": {"email": 2}, "id_traits": ["crm_id"], "set_once_traits": ["first_source"]}`))
	if err != nil {
		t.Fatal(err)
	}
	// Limits given override theirs; the others keep the defaults.
	if c.limit("email") != 2 || c.limit("user_id") != 1 || c.limit("anonymous_id") != 1000 || c.limit("crm_id") != 1 {
		t.Errorf("limits %v external %d", c.Limits, c.ExternalLimit)
	}
	if !reflect.DeepEqual(c.IDTraits, []string{"crm_id"}) || !reflect.DeepEqual(c.SetOnceTraits, []string{"first_source"}) {
		t.Errorf("traits settings %v %v", c.IDTraits, c.SetOnceTraits)
	}
	if c, err := ParseConfig(nil); err != nil || !reflect.DeepEqual(c, DefaultConfig()) {
		t.Errorf("empty settings: %v %+v", err, c)
	}
	for _, bad := range []string{`{"limit": {}}`, `{"limits": {"user_id": 0}}`, `{"external_limit": 0}`, `{"priority": []}`, `[`} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}

func TestRankAndSort(t *testing.T) {
	cfg := DefaultConfig()
	ids := []model.Identifier{id("anonymous_id", "a", "a"), id("crm_id", "c", "c"), id("phone", "p", "p"), id("email", "e", "e"), id("user_id", "u", "u")}
	cfg.SortByPriority(ids)
	var got []string
	for _, i := range ids {
		got = append(got, i.Type)
	}
	if want := []string{"user_id", "email", "phone", "crm_id", "anonymous_id"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	// A priority list without "*" puts external ids after every listed type.
	cfg.Priority = []string{"email", "user_id"}
	if cfg.rank("crm_id") != 2 || cfg.rank("phone") != 3 || cfg.rank("email") != 0 {
		t.Errorf("ranks crm %d phone %d email %d", cfg.rank("crm_id"), cfg.rank("phone"), cfg.rank("email"))
	}
}

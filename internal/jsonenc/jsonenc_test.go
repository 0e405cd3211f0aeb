package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Object must write what json.Marshal writes: stored rows do not depend on
// which path encoded them.
func TestObjectMatchesMarshal(t *testing.T) {
	t.Parallel()
	cases := []map[string]any{
		nil,
		{},
		{"email": "a@b.fr", "prenom": "Jean", "n": json.Number("12345678901234567890"), "f": 1.5, "big": 1e21, "ok": true, "no": false, "nil": nil},
		{"html": "<a&b>", "quote": `say "hi" \ now`, "ctl": "a\tb\n\x01\x7f", "utf8": "Zoë – 東京", "bad": "\xff\xfe", "sep": "a\u2028b"},
		{"clé": "v", "<k>": 1, "nested": map[string]any{"z": 1, "a": []any{"x", json.Number("2"), nil, map[string]any{"k": "v"}}}, "empty": map[string]any{}, "nilmap": map[string]any(nil)},
		{"arr": []any{}, "strs": []string{"a"}, "int": 3, "i64": int64(-4)},
	}
	if _, err := Object(map[string]any{"a": func() {}}); err == nil {
		t.Error("a value json.Marshal refuses must be an error")
	}
	for _, c := range cases {
		want, _ := json.Marshal(c)
		if got, _ := Object(c); !bytes.Equal(got, want) {
			t.Errorf("Object(%v)\n got %s\nwant %s", c, got, want)
		}
	}
}

func FuzzObject(f *testing.F) {
	f.Add("email", "a@b.fr", "x<y")
	f.Fuzz(func(t *testing.T, k, v, w string) {
		c := map[string]any{k: v, v: map[string]any{w: k}}
		want, _ := json.Marshal(c)
		if got, _ := Object(c); !bytes.Equal(got, want) {
			t.Fatalf("got %s want %s", got, want)
		}
	})
}

package activate_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/activate"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Hostile and malformed settings are refused with an error naming the
// field, and nothing is stored.
func TestHostileWebhookSettings(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	d := activate.New(db, activate.Options{})
	ok := func(extra map[string]any) json.RawMessage {
		return webhookSettings("https://hooks.example.com/atrium", extra)
	}
	huge := strings.Repeat("s", 10000)
	cases := []struct {
		name, field string
		raw         json.RawMessage
	}{
		{"ftp URL", "url", ok(map[string]any{"url": "ftp://example.com/x"})},
		{"javascript URL", "url", ok(map[string]any{"url": "javascript:alert(1)"})},
		{"no host", "url", ok(map[string]any{"url": "http:///path"})},
		{"credentials in URL", "url", ok(map[string]any{"url": "https://user:pass@example.com/"})},
		{"missing URL", "url", ok(map[string]any{"url": ""})},
		{"bad port", "url", ok(map[string]any{"url": "http://example.com:99999/"})},
		{"URL wrong type", "url", json.RawMessage(`{"url": 42, "segments": ["seg-1"], "purpose": "none"}`)},
		{"huge secret", "secret", ok(map[string]any{"secret": huge[:300]})},
		{"short secret", "secret", ok(map[string]any{"secret": "short"})},
		{"secret with newline", "secret", ok(map[string]any{"secret": "0123456789abcdef\nX-Evil: 1"})},
		{"negative timeout", "timeout", ok(map[string]any{"timeout": "-1s"})},
		{"zero-ish timeout", "timeout", ok(map[string]any{"timeout": "1ms"})},
		{"huge timeout", "timeout", ok(map[string]any{"timeout": "1h"})},
		{"timeout as a number", "timeout", ok(map[string]any{"timeout": 5})},
		{"timeout not a duration", "timeout", ok(map[string]any{"timeout": "soon"})},
		{"unknown field", "headers", ok(map[string]any{"headers": map[string]string{"a": "b"}})},
		{"segments as a string", "segments", json.RawMessage(`{"url": "https://e.com", "segments": "seg-1", "purpose": "none"}`)},
		{"no segments", "segments", ok(map[string]any{"segments": []string{}})},
		{"unknown segment", "segments[1]", ok(map[string]any{"segments": []string{"seg-1", "nope"}})},
		{"same segment twice", "segments[1]", ok(map[string]any{"segments": []string{"seg-1", "buyers"}})},
		{"space in the URL", "url", ok(map[string]any{"url": "http://h/ x"})},
		{"bad event", "events[0]", ok(map[string]any{"events": []string{"update"}})},
		{"missing purpose", "purpose", json.RawMessage(`{"url": "https://e.com", "segments": ["seg-1"]}`)},
		{"unknown purpose", "purpose", ok(map[string]any{"purpose": "everything"})},
		{"max attempts too high", "max_attempts", ok(map[string]any{"max_attempts": 1000})},
		{"max attempts negative", "max_attempts", ok(map[string]any{"max_attempts": -1})},
		{"max attempts fractional", "max_attempts", ok(map[string]any{"max_attempts": 2.5})},
		{"max age too short", "max_age", ok(map[string]any{"max_age": "1s"})},
		{"in flight too high", "max_in_flight", ok(map[string]any{"max_in_flight": 1000})},
		{"backoff cap below base", "backoff_cap", ok(map[string]any{"backoff_base": "10s", "backoff_cap": "1s"})},
		{"full sync too often", "full_sync_every", ok(map[string]any{"full_sync_every": "1s"})},
		{"too many traits", "traits", ok(map[string]any{"traits": make([]string, 51)})},
		{"empty trait", "traits[0]", ok(map[string]any{"traits": []string{""}})},
		{"oversized document", "settings", ok(map[string]any{"pad": huge + huge})},
		{"not JSON", "settings", json.RawMessage(`{"url": `)},
		{"an array", "settings", json.RawMessage(`[1, 2]`)},
		{"trailing data", "settings", json.RawMessage(`{"url": "https://e.com", "segments": ["seg-1"], "purpose": "none"} {}`)},
		{"empty", "settings", json.RawMessage(``)},
		{"invalid UTF-8 in the URL", "settings", json.RawMessage("{\"url\": \"https://e\xff\xfe.com/\", \"segments\": [\"seg-1\"], \"purpose\": \"none\"}")},
		{"control character in the URL", "url", json.RawMessage(`{"url": "https://e.com/a\u0000b", "segments": ["seg-1"], "purpose": "none"}`)},
		{"replacement character in the URL", "url", ok(map[string]any{"url": "https://e\ufffd.com/"})},
		{"secret as a number", "secret", ok(map[string]any{"secret": 7})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := d.Create(ctx, "dest "+c.name, "webhook", c.raw)
			var se *activate.SettingsError
			if !errors.As(err, &se) {
				t.Fatalf("err %v: want a settings error on %s", err, c.field)
			}
			if se.Field != c.field {
				t.Fatalf("field %q (%v), want %q", se.Field, err, c.field)
			}
		})
	}
	if _, _, err := d.Create(ctx, "x", "carrier-pigeon", ok(nil)); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Fatalf("unknown kind: %v", err)
	}
	for _, name := range []string{"", "two\nlines", strings.Repeat("n", 101), "bad\xffutf8"} {
		if _, _, err := d.Create(ctx, name, "webhook", ok(nil)); err == nil || !strings.Contains(err.Error(), "name") {
			t.Fatalf("name %q: %v", name, err)
		}
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM destinations`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d destinations stored after refusals (%v), want 0", n, err)
	}
}

// Valid settings are normalised (defaults, segment names to ids); the
// secret is generated when left out, shown once, never listed, and kept by
// an update that leaves it out. Names are unique.
func TestWebhookSettingsRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	d := activate.New(db, activate.Options{})
	v, secret, err := d.Create(ctx, "crm", "", json.RawMessage(`{"url": "https://hooks.example.com/a", "segments": ["buyers"], "purpose": "sms"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != 6+64 {
		t.Fatalf("generated secret %q", secret)
	}
	shown, _ := json.Marshal(v)
	if strings.Contains(string(shown), secret) {
		t.Fatalf("the view shows the secret: %s", shown)
	}
	var stored string
	if err := db.SQL().QueryRow(`SELECT settings FROM destinations`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var s activate.WebhookSettings
	if err := json.Unmarshal([]byte(stored), &s); err != nil {
		t.Fatal(err)
	}
	if s.Secret != secret || s.Segments[0] != "seg-1" || strings.Join(s.Events, ",") != "enter,exit" ||
		s.MaxAttempts != activate.DefaultMaxAttempts || s.Timeout != activate.Duration(activate.DefaultTimeout) {
		t.Fatalf("stored settings %s", stored)
	}
	if _, err := d.Update(ctx, "crm", "", json.RawMessage(`{"url": "https://hooks.example.com/b", "segments": ["seg-1"], "purpose": "sms", "timeout": "2s"}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().QueryRow(`SELECT settings FROM destinations`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, secret) || !strings.Contains(stored, `"timeout":"2s"`) || !strings.Contains(stored, "/b") {
		t.Fatalf("after update: %s", stored)
	}
	if _, _, err := d.Create(ctx, "crm", "webhook", webhookSettings("https://e.com", nil)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken name: %v", err)
	}
	if err := d.Delete(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "crm"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

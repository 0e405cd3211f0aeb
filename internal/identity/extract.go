package identity

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"

	"github.com/atrium-cdp/atrium/internal/model"
)

// Keyer turns raw contact values into matching keys. The data-quality
// normalisers plug in here; ok is false for a value that cannot be a key.
type Keyer interface {
	EmailKey(raw string) (key string, ok bool)
	PhoneKey(raw, region string) (key string, ok bool)
}

// SimpleKeyer is the minimal keyer: e-mail trimmed and lower-cased, phone as
// its digits (a leading + kept).
type SimpleKeyer struct{}

// EmailKey implements Keyer.
func (SimpleKeyer) EmailKey(raw string) (string, bool) {
	k := strings.ToLower(strings.TrimSpace(raw))
	at := strings.LastIndexByte(k, '@')
	if at <= 0 || at == len(k)-1 || strings.ContainsAny(k, " \t\r\n") {
		return "", false
	}
	return k, true
}

// PhoneKey implements Keyer.
func (SimpleKeyer) PhoneKey(raw, _ string) (string, bool) {
	var b strings.Builder
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "+") {
		b.WriteByte('+')
	}
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	k := b.String()
	if len(strings.TrimPrefix(k, "+")) < 6 {
		return "", false
	}
	return k, true
}

// Extract lists the identifiers a message carries, strongest first, with
// placeholders and malformed values left out. The second result names the
// placeholder values skipped (their types only, never the values).
func Extract(m *model.Message, cfg Config, keyer Keyer) (ids []model.Identifier, skipped []string) {
	seen := map[string]bool{}
	add := func(idType, display, value string) {
		if cfg.blocked(value) || cfg.blocked(display) {
			skipped = append(skipped, idType)
			return
		}
		id := model.Identifier{Type: idType, Value: value, Display: display}
		if seen[id.Key()] {
			return
		}
		seen[id.Key()] = true
		ids = append(ids, id)
	}
	addRaw := func(idType, raw string) {
		v := strings.TrimSpace(raw)
		add(idType, raw, v)
	}
	if m.UserID != "" {
		addRaw(model.IDUserID, m.UserID)
	}
	if m.Type == model.Alias && m.PreviousID != "" {
		// An alias's previousId is whatever id the sender used before; the
		// writer re-types it as a user id when one with that value exists.
		addRaw(model.IDAnonymousID, m.PreviousID)
	}
	if m.AnonymousID != "" {
		addRaw(model.IDAnonymousID, m.AnonymousID)
	}
	traits := m.Traits
	for _, src := range []map[string]any{traits, m.ContextTraits} {
		if src == nil {
			continue
		}
		if raw, ok := stringTrait(src, "email"); ok {
			if k, ok := keyer.EmailKey(raw); ok {
				add(model.IDEmail, strings.TrimSpace(raw), k)
			}
		}
		for _, name := range []string{"phone", "mobile"} {
			if raw, ok := stringTrait(src, name); ok {
				if k, ok := keyer.PhoneKey(raw, cfg.DefaultRegion); ok {
					add(model.IDPhone, strings.TrimSpace(raw), k)
				}
			}
		}
		for _, name := range cfg.IDTraits {
			if raw, ok := stringTrait(src, name); ok {
				addRaw(ExternalType(name), raw)
			}
		}
	}
	for _, e := range m.ExternalIDs {
		t := ExternalType(e.Type)
		if t == "" {
			continue
		}
		addRaw(t, e.ID)
	}
	cfg.SortByPriority(ids)
	return ids, skipped
}

// stringTrait reads a trait as a string (numbers are formatted, other types refused).
func stringTrait(t map[string]any, key string) (string, bool) {
	switch v := t[key].(type) {
	case string:
		return v, strings.TrimSpace(v) != ""
	case json.Number:
		// The collection decoder keeps numbers as json.Number so that a phone
		// or customer number sent as a JSON number keeps every digit; without
		// this case such identifiers were silently dropped.
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// ExternalType turns a sender's id type into an identifier type name:
// lower case letters, digits and underscores; the built-in names are kept for
// the built-in identifiers, so an external id cannot pose as an e-mail.
func ExternalType(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case r == '_' || r == '-' || r == ' ' || r == '.':
			b.WriteByte('_')
		}
	}
	t := b.String()
	if len(t) > 64 {
		t = t[:64]
	}
	switch t {
	case "", model.IDUserID, model.IDAnonymousID, model.IDEmail, model.IDPhone:
		if t == "" {
			return ""
		}
		return "ext_" + t
	}
	return t
}

package app

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/quality"
	"github.com/atrium-cdp/atrium/internal/quality/rnvp"
)

// qualityKeyer keys e-mails and phones with the data-quality normalisers:
// e-mails by their matching key (gmail dots and +tags folded), phones by
// E.164, so "06.12.34.56.78" and "+33612345678" are one identity.
type qualityKeyer struct{}

func (qualityKeyer) EmailKey(raw string) (string, bool) {
	r := quality.Email(raw)
	if r.Status == quality.StatusInvalid {
		return "", false
	}
	if r.Key != "" {
		return r.Key, true
	}
	return r.Value, r.Value != ""
}

func (qualityKeyer) PhoneKey(raw, region string) (string, bool) {
	r := quality.Phone(raw, region)
	if r.Status == quality.StatusInvalid {
		return "", false
	}
	if r.Key != "" {
		return r.Key, true
	}
	return r.Value, r.Value != ""
}

// traitNames lists, per normalised field, the trait names it is read from,
// in order of preference (Segment's reserved traits first, then common
// variants and French names).
var traitNames = map[string][]string{
	"email":      {"email", "e_mail", "courriel", "mail"},
	"phone":      {"phone", "mobile", "telephone", "tel", "portable"},
	"first_name": {"first_name", "firstName", "firstname", "prenom", "given_name"},
	"last_name":  {"last_name", "lastName", "lastname", "nom", "surname", "family_name"},
	"name":       {"name", "full_name", "fullName", "nom_complet"},
	"civility":   {"title", "civility", "civilite", "salutation", "gender"},
	"country":    {"country", "pays", "country_code"},
	"birthday":   {"birthday", "birthdate", "birth_date", "date_of_birth", "date_naissance"},
}

// Normalizer computes a profile's normalised contact fields from its traits.
// Each field holds the normaliser's result (raw value, normalised value,
// status, reasons); fields the traits do not carry are absent.
func Normalizer(defaultRegion string, now func() time.Time) func(map[string]any) json.RawMessage {
	return func(t map[string]any) json.RawMessage {
		out := map[string]any{}
		country := ""
		if s, ok := firstTrait(t, "country"); ok {
			c := quality.Country(s)
			out["country"] = c
			country = c.Value
		}
		addr, hasAddr := t["address"].(map[string]any)
		if country == "" && hasAddr {
			if s, ok := strTrait(addr, "country"); ok {
				country = quality.Country(s).Value
			}
		}
		region := defaultRegion
		if country != "" {
			region = country
		}
		if s, ok := firstTrait(t, "email"); ok {
			out["email"] = quality.Email(s)
		}
		if s, ok := firstTrait(t, "phone"); ok {
			out["phone"] = quality.Phone(s, region)
		}
		first, hasFirst := firstTrait(t, "first_name")
		last, hasLast := firstTrait(t, "last_name")
		switch {
		case hasFirst || hasLast:
			out["name"] = quality.Name(first, last)
		default:
			if s, ok := firstTrait(t, "name"); ok {
				out["name"] = quality.FullName(s)
			}
		}
		if s, ok := firstTrait(t, "civility"); ok {
			out["civility"] = quality.Civility(s)
		}
		if s, ok := firstTrait(t, "birthday"); ok {
			out["birthday"] = quality.ParseBirthDate(s, now())
		}
		if !hasAddr {
			addr, hasAddr = flatAddress(t)
		}
		if hasAddr {
			if a, ok := addressResult(addr, country); ok {
				out["address"] = a
			}
		}
		if len(out) == 0 {
			return json.RawMessage("{}")
		}
		b, err := json.Marshal(out)
		if err != nil {
			return json.RawMessage("{}")
		}
		return b
	}
}

// addressResult normalises a Segment-spec address trait ({street, city,
// postalCode, state, country}): French addresses through RNVP, others by
// their postal code format.
func addressResult(a map[string]any, country string) (any, bool) {
	street, _ := strTrait(a, "street")
	city, _ := strTrait(a, "city")
	pc, _ := firstOf(a, "postalCode", "postal_code", "zip", "code_postal")
	if street == "" && city == "" && pc == "" {
		return nil, false
	}
	if country == "" || quality.IsFrenchDomestic(country) {
		fields := []string{}
		for _, f := range []string{street, strings.TrimSpace(pc + " " + city)} {
			if strings.TrimSpace(f) != "" {
				fields = append(fields, f)
			}
		}
		return rnvp.Normalize(fields), true
	}
	if pc == "" {
		return nil, false
	}
	return quality.PostalCode(country, pc), true
}

// flatAddress gathers an address typed in flat CRM columns (street number,
// street, complement, postal code, town) into the Segment address shape, in
// the order the fields are usually typed.
func flatAddress(t map[string]any) (map[string]any, bool) {
	street, hasStreet := firstOf(t, "address", "adresse", "street", "address_line1", "address1", "address_1", "rue")
	if !hasStreet {
		return nil, false
	}
	if n, ok := firstOf(t, "street_number", "numero", "house_number"); ok {
		street = n + " " + street
	}
	if c, ok := firstOf(t, "address2", "address_2", "address_line2", "complement", "adresse2", "complement_adresse"); ok {
		street = c + ", " + street
	}
	a := map[string]any{"street": street}
	if pc, ok := firstOf(t, "postal_code", "postcode", "zip", "zipcode", "code_postal", "cp"); ok {
		a["postalCode"] = pc
	}
	if city, ok := firstOf(t, "city", "ville", "town", "locality", "suburb", "commune"); ok {
		a["city"] = city
	}
	return a, true
}

func firstTrait(t map[string]any, field string) (string, bool) {
	return firstOf(t, traitNames[field]...)
}

func firstOf(t map[string]any, names ...string) (string, bool) {
	for _, n := range names {
		if s, ok := strTrait(t, n); ok {
			return s, true
		}
	}
	return "", false
}

func strTrait(t map[string]any, k string) (string, bool) {
	switch v := t[k].(type) {
	case string:
		return v, strings.TrimSpace(v) != ""
	case json.Number:
		return v.String(), true
	case float64:
		b, _ := json.Marshal(v)
		return string(b), true
	}
	return "", false
}

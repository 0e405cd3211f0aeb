package dedupe

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/store"
)

// normalized is the part of profiles.normalized the matcher reads: the
// results of the data-quality normalisers (internal/app/normalize.go).
type normalized struct {
	Email *struct {
		Value, Key, Status string
	} `json:"email"`
	Phone *struct {
		Value, Status string
	} `json:"phone"`
	Name *struct {
		Value, First, Last, Status string
	} `json:"name"`
	Birthday *struct {
		Value, Status string
	} `json:"birthday"`
	// Address is an RNVP result (French addresses: lines, postal code,
	// commune) or a postal-code result (others: value).
	Address *struct {
		Lines      []string `json:"lines"`
		PostalCode string   `json:"postal_code"`
		Locality   string   `json:"locality"`
		Commune    string   `json:"commune"`
		Value      string   `json:"value"`
		Status     string   `json:"status"`
	} `json:"address"`
}

// notExternal are the identifier types never read as the record's external
// id. E-mails and phones are matched through their own fields; anonymous ids
// are per device; and each system issues its own user id, so two different
// user ids are the normal case for one person known to a CRM and a shop, not
// evidence against a match. What remains are the workspace's id traits and
// context external ids (a loyalty or customer number), typed by hand with
// the typos the external-id comparison is built for.
// Types ending in "_customer_id" are the record keys imports give each
// source's rows: two rows of one source have different keys whether or not
// they are one person, and keys of two sources are different types, so they
// say nothing either.
var notExternal = map[string]bool{"user_id": true, "anonymous_id": true, "email": true, "phone": true}

func isExternal(typ string) bool {
	return !notExternal[typ] && !strings.HasSuffix(typ, "_customer_id")
}

// traitNames lists trait names read when a normalised field is missing (a
// profile written before normalisation existed, or a value the normaliser
// found invalid).
var traitNames = map[string][]string{
	"email":      {"email", "e_mail", "courriel", "mail"},
	"phone":      {"phone", "mobile", "telephone", "tel", "portable"},
	"first_name": {"first_name", "firstName", "firstname", "prenom", "given_name"},
	"last_name":  {"last_name", "lastName", "lastname", "nom", "surname", "family_name"},
	"name":       {"name", "full_name", "fullName", "nom_complet"},
	"birthday":   {"birthday", "birthdate", "birth_date", "date_of_birth", "date_naissance"},
	"street":     {"street", "address", "adresse", "address_line1", "address1", "address_1", "rue"},
	"street2":    {"address2", "address_2", "address_line2", "complement", "adresse2", "complement_adresse"},
	"number":     {"street_number", "numero", "house_number"},
	"postal":     {"postalCode", "postal_code", "postcode", "zip", "zipcode", "code_postal", "cp"},
	"city":       {"city", "ville", "town", "locality", "suburb", "commune"},
	"region":     {"state", "region", "province"},
	// A customer, loyalty or national number kept as a plain trait (the
	// names the matcher's CSV reader also knows).
	"external_id": {"external_id", "customer_number", "loyalty_number", "soc_sec_id"},
}

// recordOf builds the matcher's view of one profile: normalised values
// first (E.164 phone, e-mail key, RNVP address lines), raw traits where no
// usable normalised value exists. A field neither holds stays empty, which
// the matcher treats as neutral.
func recordOf(p store.MatchProfile) match.Record {
	rec := match.Record{ID: p.ID}
	var traits map[string]any
	dec := json.NewDecoder(bytes.NewReader(p.Traits))
	dec.UseNumber()
	_ = dec.Decode(&traits) // a profile's traits are a JSON object by construction; a bad one reads as empty
	var n normalized
	_ = json.Unmarshal(p.Normalized, &n)
	addr, _ := traits["address"].(map[string]any)

	if n.Email != nil && n.Email.Status != "invalid" {
		rec.Email = first(n.Email.Key, n.Email.Value)
	}
	if rec.Email == "" {
		rec.Email = strings.ToLower(str(traits, "email"))
	}
	if n.Phone != nil && n.Phone.Status != "invalid" {
		rec.Phone = n.Phone.Value
	}
	if rec.Phone == "" {
		rec.Phone = str(traits, "phone")
	}
	// Split names only when the source split them: the normaliser's split
	// of a single name field is a guess made for persons (an organisation's
	// name comes out as a "first" and a "last" name), while the matcher
	// compares a single field by its words.
	rec.GivenName, rec.Surname = str(traits, "first_name"), str(traits, "last_name")
	switch {
	case rec.GivenName != "" || rec.Surname != "":
		if n.Name != nil && n.Name.Status != "invalid" && (n.Name.First != "" || n.Name.Last != "") {
			rec.GivenName, rec.Surname = n.Name.First, n.Name.Last
		}
	default:
		rec.FullName = str(traits, "name")
	}
	if n.Birthday != nil && n.Birthday.Status != "invalid" && n.Birthday.Value != "" {
		rec.BirthDate = match.ParseDate(n.Birthday.Value)
	}
	if rec.BirthDate.IsZero() {
		rec.BirthDate = match.ParseDate(str(traits, "birthday"))
	}

	if a := n.Address; a != nil && a.Status != "invalid" && len(a.Lines) >= 6 {
		// RNVP: lines 2–5 are recipient complement, building, street and
		// lieu-dit; line 6 is "postcode town".
		for _, l := range a.Lines[1:5] {
			if strings.TrimSpace(l) != "" {
				rec.AddressLines = append(rec.AddressLines, l)
			}
		}
		rec.PostalCode = a.PostalCode
		rec.Locality = first(a.Commune, a.Locality)
	}
	if len(rec.AddressLines) == 0 {
		src := traits
		if addr != nil {
			src = addr
		}
		if s := str(src, "street"); s != "" {
			rec.AddressLines = append(rec.AddressLines, s)
		}
		if s := str(src, "street2"); s != "" {
			rec.AddressLines = append(rec.AddressLines, s)
		}
		rec.StreetNumber = str(src, "number")
	}
	if rec.PostalCode == "" {
		if a := n.Address; a != nil && a.Status != "invalid" && a.Value != "" && len(a.Lines) == 0 {
			rec.PostalCode = a.Value
		} else if addr != nil {
			rec.PostalCode = str(addr, "postal")
		} else {
			rec.PostalCode = str(traits, "postal")
		}
	}
	if rec.Locality == "" {
		if addr != nil {
			rec.Locality = str(addr, "city")
		} else {
			rec.Locality = str(traits, "city")
		}
	}
	if addr != nil {
		rec.Region = str(addr, "region")
	} else {
		rec.Region = str(traits, "region")
	}
	types := make([]string, 0, len(p.Identities))
	for t := range p.Identities {
		if isExternal(t) {
			types = append(types, t)
		}
	}
	if len(types) > 0 {
		slices.Sort(types) // one deterministic choice when a profile has several
		rec.ExternalID = p.Identities[types[0]][0]
	} else {
		rec.ExternalID = str(traits, "external_id")
	}
	return rec
}

// str returns the first non-blank string (or number) among the trait names
// of field.
func str(t map[string]any, field string) string {
	for _, k := range traitNames[field] {
		switch v := t[k].(type) {
		case string:
			if s := strings.TrimSpace(v); s != "" {
				return s
			}
		case json.Number:
			return v.String()
		}
	}
	return ""
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

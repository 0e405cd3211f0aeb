// Package rnvp restructures, normalises and validates postal addresses
// (RNVP: restructuration, normalisation et validation postale) into the
// NF Z10-011 layout: six lines plus a country line for mail abroad.
//
// Input is the list of CRM fields as the user typed them, in order
// (rnvp.md §7 notation "a | b | c"). Normalize cuts the fields into
// components (recipient, complements, street, box, town), routes each to
// its line, renders the strict postal charset (A–Z, 0–9, single spaces, at
// most 38 characters a line), expands informal abbreviations when the full
// label fits and applies the official ones only when a label is too long,
// and validates the postal code and town against La Poste's base officielle
// des codes postaux, which is embedded in the binary.
//
// Invariants, whatever the input: every line has at most 38 characters from
// [A-Z0-9 ]; Status is one of the four quality statuses; every correction
// and every doubt has a reason code; the input is never modified. Normalize
// is safe for concurrent use; the reference base is decoded once, on first
// use.
//
// The rules implemented, their sources and the reason codes are documented
// in docs/quality.md; the worked cases are in testdata/golden.txt.
package rnvp

import "github.com/atrium-cdp/atrium/internal/quality"

// Result is a normalised address.
type Result struct {
	Raw     string         `json:"raw"`
	Lines   [7]string      `json:"lines"` // L1..L7, "" for an empty line
	Status  quality.Status `json:"status"`
	Reasons []string       `json:"reasons,omitempty"`

	// Structured parts, for storage and matching.
	Country    string `json:"country,omitempty"`     // ISO alpha-2 of the destination ("FR" for domestic)
	Territory  string `json:"territory,omitempty"`   // GP, RE, MC… for French territories
	Number     int    `json:"number,omitempty"`      // house number, 1..9999
	Index      string `json:"index,omitempty"`       // BIS, TER, QUATER, QUINQUIES or a letter
	StreetType string `json:"street_type,omitempty"` // full type: AVENUE, RUE…
	Street     string `json:"street,omitempty"`      // full label, type included, unabbreviated
	PostalCode string `json:"postal_code,omitempty"`
	Locality   string `json:"locality,omitempty"` // libellé d'acheminement (line 6 town)
	Commune    string `json:"commune,omitempty"`  // commune name (La Poste spelling)
	INSEE      string `json:"insee,omitempty"`    // INSEE commune code
	Cedex      bool   `json:"cedex,omitempty"`
	Validated  bool   `json:"validated"` // line 6 confirmed by the reference base
}

// Reason codes. Codes marked (fix) make the status corrected, (flag) make
// it suspect; the others are informative.
const (
	ReasonEmpty              = "empty"                     // nothing to read (invalid)
	ReasonTooLong            = quality.ReasonTooLong       // input cut at MaxInput
	ReasonInvalidUTF8        = quality.ReasonInvalidUTF8   // bad bytes replaced
	ReasonControlChars       = quality.ReasonControlChars  // control characters removed
	ReasonCharsDropped       = "unsupported_characters"    // letters with no Latin spelling dropped (flag)
	ReasonNumberRange        = "number_range"              // "12/14" → 12 (fix)
	ReasonIndexSeparated     = "index_separated"           // "22BIS" → "22 B"
	ReasonNumberInvalid      = "number_invalid"            // house number 0 or over 9999 dropped (flag)
	ReasonExpanded           = "abbreviation_expanded"     // "av." → AVENUE: the full label fits
	ReasonLabelAbbreviated   = "label_abbreviated"         // NF Z10-011 abbreviations applied
	ReasonLineAbbreviated    = "line_abbreviated"          // a line 1–3 or 5 shortened
	ReasonLineTruncated      = "line_truncated"            // still too long: cut (flag)
	ReasonComplementMoved    = "complement_moved"          // apartment, building, BP… taken out of another field
	ReasonPostcodePadded     = "postcode_padded"           // 1000 → 01000, confirmed by the base (fix)
	ReasonPostcodeInvalid    = "postcode_invalid"          // not a French code (flag)
	ReasonPostcodeFromINSEE  = "postcode_was_insee"        // an INSEE code typed as postal code (fix)
	ReasonPostcodeGeneral    = "postcode_general"          // 75000, 69000, 13000 (flag)
	ReasonPostcodeUnknown    = "postcode_unknown"          // not in the base (flag)
	ReasonPostcodeMissing    = "postcode_missing"          // (flag)
	ReasonPostcodeFilled     = "postcode_filled"           // from the town or arrondissement (fix)
	ReasonPostcodeAmbiguous  = "postcode_ambiguous"        // the town has several codes (flag)
	ReasonArrondissement     = "arrondissement"            // "Lyon 3e" → 69003 (fix)
	ReasonCommuneCorrected   = "commune_corrected"         // misspelling or exonym fixed (fix)
	ReasonCommuneMismatch    = "postcode_commune_mismatch" // the town exists, not at this code (flag)
	ReasonCommuneUnknown     = "commune_unknown"           // (flag)
	ReasonCommuneAmbiguous   = "commune_ambiguous"         // homonyms, no code to decide (flag)
	ReasonLocalityFilled     = "locality_filled"           // town taken from the code (fix)
	ReasonLocalityAmbiguous  = "locality_ambiguous"        // code shared by several towns, none given (flag)
	ReasonLocalityMissing    = "locality_missing"          // no town at all (invalid)
	ReasonLieuDitUnverified  = "l5_unverified"             // line 5 not in the base
	ReasonCedex              = "cedex"                     // CEDEX code: syntax and département only
	ReasonCedexOfficeUnknown = "cedex_office_unknown"      // (flag)
	ReasonCountryDropped     = "domestic_country_dropped"  // FRANCE or a DROM name not printed
	ReasonForeign            = "foreign_address"           // formatted, not validated against a base
	ReasonForeignPostcode    = "foreign_postcode_invalid"  // (flag)
	ReasonStreetMissing      = "street_missing"            // no line 4 nor box
	ReasonUnplaced           = "unplaced_field"            // a field that fits no line, dropped (flag)
)

// fixReasons and flagReasons drive the status.
var fixReasons = map[string]bool{
	ReasonNumberRange: true, ReasonPostcodePadded: true, ReasonPostcodeFromINSEE: true,
	ReasonPostcodeFilled: true, ReasonArrondissement: true, ReasonCommuneCorrected: true,
	ReasonLocalityFilled: true,
}

var flagReasons = map[string]bool{
	ReasonCharsDropped: true, ReasonNumberInvalid: true, ReasonLineTruncated: true,
	ReasonPostcodeInvalid: true, ReasonPostcodeGeneral: true, ReasonPostcodeUnknown: true,
	ReasonPostcodeMissing: true, ReasonPostcodeAmbiguous: true, ReasonCommuneMismatch: true,
	ReasonCommuneUnknown: true, ReasonCommuneAmbiguous: true, ReasonLocalityAmbiguous: true,
	ReasonCedexOfficeUnknown: true, ReasonForeignPostcode: true, ReasonUnplaced: true,
}

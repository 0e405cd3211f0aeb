package segments

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/store"
)

// Export formats. csv and jsonl carry the chosen fields; meta and google are
// ad-audience files with fixed columns and hashed identifiers
// (docs/segments.md cites each platform's conventions).
const (
	FormatCSV    = "csv"
	FormatJSONL  = "jsonl"
	FormatMeta   = "meta"
	FormatGoogle = "google"
)

// Export limits.
const (
	MaxFields     = 50
	maxFieldBytes = 200
	maxPathPart   = 64
)

// DefaultFields are exported when none are chosen.
var DefaultFields = []string{"id", "email", "phone"}

// ExportOptions choose what an export writes.
type ExportOptions struct {
	Format string
	Fields []string // csv and jsonl; DefaultFields when empty
	// Purpose, when set, keeps only members whose current consent for it
	// is granted. Ad-audience formats default to "advertising".
	Purpose string
}

// ExportResult counts what an export wrote and left out.
type ExportResult struct {
	Segment  string `json:"segment"`
	Format   string `json:"format"`
	Purpose  string `json:"purpose,omitempty"`
	Members  int64  `json:"members"`
	Included int64  `json:"included"`
	// ExcludedConsent are members without a granted consent for Purpose.
	ExcludedConsent int64 `json:"excluded_consent"`
	// ExcludedNoContact are members an ad-audience file cannot use: no
	// valid e-mail and no valid phone.
	ExcludedNoContact int64 `json:"excluded_no_contact"`
}

// field is one parsed export field.
type field struct {
	name string   // as given (the CSV header, the JSON key)
	kind string   // id, traits, normalized, scores, consent
	path []string // under traits or normalized; scores: the name
}

// ParseFields validates a comma-separated field list (see docs/segments.md):
// id, email, phone, consent, traits.PATH, normalized.FIELD[.KEY], scores.NAME.
func ParseFields(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	parts := strings.Split(list, ",")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		out = append(out, strings.TrimSpace(p))
	}
	if _, err := parseFields(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseFields(names []string) ([]field, error) {
	if len(names) == 0 {
		names = DefaultFields
	}
	if len(names) > MaxFields {
		return nil, inputErr("fields", "at most %d fields", MaxFields)
	}
	seen := map[string]bool{}
	out := make([]field, 0, len(names))
	for _, n := range names {
		if n == "" || len(n) > maxFieldBytes || !utf8.ValidString(n) {
			return nil, inputErr("fields", "a field name is 1 to %d bytes of UTF-8", maxFieldBytes)
		}
		if seen[n] {
			return nil, inputErr("fields", "field %q is listed twice", n)
		}
		seen[n] = true
		parts := strings.Split(n, ".")
		for _, p := range parts {
			if p == "" || len(p) > maxPathPart {
				return nil, inputErr("fields", "field %q: each part between dots is 1 to %d bytes", truncate(n, 64), maxPathPart)
			}
		}
		f := field{name: n}
		switch {
		case n == "id" || n == "consent":
			f.kind = n
		case n == "email" || n == "phone":
			f.kind, f.path = "normalized", []string{n, "value"}
		case parts[0] == "traits" && len(parts) > 1:
			f.kind, f.path = "traits", parts[1:]
		case parts[0] == "normalized" && (len(parts) == 2 || len(parts) == 3):
			f.kind, f.path = "normalized", parts[1:]
			if len(parts) == 2 {
				f.path = append(f.path, "value")
			}
		case parts[0] == "scores" && len(parts) == 2:
			f.kind, f.path = "scores", parts[1:]
		default:
			return nil, inputErr("fields", "unknown field %q (want id, email, phone, consent, traits.PATH, normalized.FIELD[.KEY] or scores.NAME)", truncate(n, 64))
		}
		out = append(out, f)
	}
	return out, nil
}

func checkPurpose(p string) error {
	if p == "none" {
		// Destinations use "none" for "no consent check"; an export read as
		// the purpose "none" would silently exclude everyone.
		return inputErr("purpose", `"none" is not a consent purpose: leave the purpose out to export every member (csv and jsonl), or name the purpose the members consented to`)
	}
	if len(p) > 128 {
		return inputErr("purpose", "a purpose is at most 128 bytes")
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return inputErr("purpose", "a purpose is lower-case letters, digits, _ - . (such as email_marketing, sms, advertising)")
		}
	}
	return nil
}

// CheckExport validates export options and finds the segment, without
// reading members: callers that must answer errors before streaming (HTTP)
// call it first.
func (s *Service) CheckExport(ctx context.Context, idOrName string, o ExportOptions) error {
	_, _, _, err := s.prepareExport(ctx, idOrName, o)
	return err
}

func (s *Service) prepareExport(ctx context.Context, idOrName string, o ExportOptions) (store.SegmentRow, ExportOptions, []field, error) {
	var r store.SegmentRow
	if o.Format == "" {
		o.Format = FormatCSV
	}
	var fields []field
	var err error
	switch o.Format {
	case FormatCSV, FormatJSONL:
		if fields, err = parseFields(o.Fields); err != nil {
			return r, o, nil, err
		}
	case FormatMeta, FormatGoogle:
		if len(o.Fields) > 0 {
			return r, o, nil, inputErr("fields", "ad-audience files have fixed columns; fields apply to csv and jsonl")
		}
		if o.Purpose == "" {
			o.Purpose = "advertising"
		}
	default:
		return r, o, nil, inputErr("format", "unknown format %q (want csv, jsonl, meta or google)", truncate(o.Format, 32))
	}
	if err := checkPurpose(o.Purpose); err != nil {
		return r, o, nil, err
	}
	r, err = s.find(ctx, idOrName)
	return r, o, fields, err
}

// Export streams the current members of a segment to w. Members are read in
// one consistent snapshot, ordered by profile id.
func (s *Service) Export(ctx context.Context, idOrName string, o ExportOptions, w io.Writer) (ExportResult, error) {
	r, o, fields, err := s.prepareExport(ctx, idOrName, o)
	if err != nil {
		return ExportResult{}, err
	}
	res := ExportResult{Segment: r.Name, Format: o.Format, Purpose: o.Purpose}
	var scores []string
	for _, f := range fields {
		if f.kind == "scores" {
			scores = append(scores, f.path[0])
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	out := newRowWriter(o.Format, bw, fields)
	if err := out.header(); err != nil {
		return res, err
	}
	err = s.st.EachMember(ctx, r.ID, scores, o.Purpose, func(m store.MemberRecord) error {
		res.Members++
		if o.Purpose != "" && m.Consent != "granted" {
			res.ExcludedConsent++
			return nil
		}
		ok, err := out.row(m)
		if err != nil {
			return err
		}
		if !ok {
			res.ExcludedNoContact++
			return nil
		}
		res.Included++
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := out.flush(); err != nil {
		return res, err
	}
	return res, bw.Flush()
}

// rowWriter writes one format.
type rowWriter struct {
	format string
	w      *bufio.Writer
	csv    *csv.Writer
	fields []field
}

func newRowWriter(format string, w *bufio.Writer, fields []field) *rowWriter {
	rw := &rowWriter{format: format, w: w, fields: fields}
	if format != FormatJSONL {
		rw.csv = csv.NewWriter(w)
	}
	return rw
}

// Column headers of the ad-audience files.
var (
	metaHeader   = []string{"EMAIL", "PHONE", "FN", "LN", "CT", "ZIP", "COUNTRY"}
	googleHeader = []string{"Email", "Phone", "First Name", "Last Name", "Country", "Zip"}
)

func (rw *rowWriter) header() error {
	switch rw.format {
	case FormatCSV:
		h := make([]string, len(rw.fields))
		for i, f := range rw.fields {
			h[i] = f.name
		}
		return rw.csv.Write(h)
	case FormatMeta:
		return rw.csv.Write(metaHeader)
	case FormatGoogle:
		return rw.csv.Write(googleHeader)
	}
	return nil
}

// row writes one member; false when an ad-audience file cannot use it.
func (rw *rowWriter) row(m store.MemberRecord) (bool, error) {
	switch rw.format {
	case FormatMeta, FormatGoogle:
		c := contactOf(m)
		if c.email == "" && c.phone == "" {
			return false, nil
		}
		if rw.format == FormatMeta {
			return true, rw.csv.Write(metaRow(c))
		}
		return true, rw.csv.Write(googleRow(c))
	}
	var traits, norm map[string]any
	vals := make([]any, len(rw.fields))
	for i, f := range rw.fields {
		switch f.kind {
		case "id":
			vals[i] = m.ProfileID
		case "consent":
			vals[i] = m.Consent
		case "traits":
			if traits == nil {
				traits = decodeObject(m.Traits)
			}
			vals[i] = at(traits, f.path)
		case "normalized":
			if norm == nil {
				norm = decodeObject(m.Normalized)
			}
			vals[i] = at(norm, f.path)
		case "scores":
			if raw, ok := m.Scores[f.path[0]]; ok {
				var v any
				d := json.NewDecoder(strings.NewReader(string(raw)))
				d.UseNumber()
				if d.Decode(&v) == nil {
					vals[i] = v
				}
			}
		}
	}
	if rw.format == FormatJSONL {
		obj := make(map[string]any, len(vals))
		for i, f := range rw.fields {
			obj[f.name] = vals[i]
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return false, fmt.Errorf("encode member: %w", err)
		}
		b = append(b, '\n')
		_, err = rw.w.Write(b)
		return true, err
	}
	rec := make([]string, len(vals))
	for i, v := range vals {
		rec[i] = cell(v)
	}
	return true, rw.csv.Write(rec)
}

func (rw *rowWriter) flush() error {
	if rw.csv != nil {
		rw.csv.Flush()
		return rw.csv.Error()
	}
	return nil
}

func decodeObject(raw json.RawMessage) map[string]any {
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if d.Decode(&m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// at follows path into nested objects; nil when absent.
func at(m map[string]any, path []string) any {
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[p]
	}
	return cur
}

// cell renders a value in a CSV cell: strings as they are, other values in
// JSON. A cell a spreadsheet would run as a formula (=, @, a tab or carriage
// return first, or + or - not followed by a number) gets a leading
// apostrophe, so a hostile trait cannot execute in the reader's spreadsheet.
func cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if _, err := strconv.ParseFloat(strings.ReplaceAll(s[1:], " ", ""), 64); err != nil {
			return "'" + s
		}
	}
	return s
}

// contact is what an ad-audience row is made of, normalised by the
// workspace's quality normalisers (profiles.normalized) where it has them.
type contact struct {
	email, phone, first, last, city, zip, country string
}

func contactOf(m store.MemberRecord) contact {
	n := decodeObject(m.Normalized)
	t := decodeObject(m.Traits)
	str := func(v any) string { s, _ := v.(string); return strings.TrimSpace(s) }
	usable := func(field string) string {
		st := str(at(n, []string{field, "status"}))
		if st == "invalid" {
			return ""
		}
		return str(at(n, []string{field, "value"}))
	}
	c := contact{email: usable("email"), phone: usable("phone"), country: usable("country")}
	// Without a country trait, the country of the normalised postal address,
	// else the region of the phone number.
	if c.country == "" && str(at(n, []string{"address", "status"})) != "invalid" {
		c.country = str(at(n, []string{"address", "country"}))
	}
	if c.country == "" && c.phone != "" {
		c.country = str(at(n, []string{"phone", "region"}))
	}
	c.first, c.last = str(at(n, []string{"name", "first"})), str(at(n, []string{"name", "last"}))
	if c.first == "" {
		c.first = firstString(t, "first_name", "firstName", "firstname", "prenom")
	}
	if c.last == "" {
		c.last = firstString(t, "last_name", "lastName", "lastname", "nom")
	}
	addr, _ := t["address"].(map[string]any)
	c.city = firstString(t, "city", "ville")
	c.zip = firstString(t, "postal_code", "zip", "zipcode", "postcode", "code_postal")
	if addr != nil {
		if c.city == "" {
			c.city = firstString(addr, "city")
		}
		if c.zip == "" {
			c.zip = firstString(addr, "postalCode", "postal_code", "zip")
		}
	}
	return c
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := m[k].(type) {
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

// hash is the lower-case hex SHA-256 of s ("" stays "").
func hash(s string) string {
	if s == "" {
		return ""
	}
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// lettersOnly lower-cases s and keeps letters (any script) and digits: the
// "lowercase, no punctuation, no spaces" rule of Meta's name and city keys.
func lettersOnly(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// metaRow follows Meta's customer-list normalisation: e-mail trimmed and
// lower-cased; phone digits only with the country code (E.164 without +);
// names and city lower-cased without punctuation or spaces; zip lower-cased
// without spaces; country as the lower-case ISO 3166 alpha-2 code; every
// column SHA-256 hashed.
func metaRow(c contact) []string {
	zip := strings.ToLower(strings.Join(strings.Fields(c.zip), ""))
	return []string{
		hash(strings.ToLower(c.email)), hash(strings.TrimPrefix(c.phone, "+")),
		hash(lettersOnly(c.first)), hash(lettersOnly(c.last)), hash(lettersOnly(c.city)),
		hash(zip), hash(strings.ToLower(c.country)),
	}
}

// googleRow follows Google Customer Match's hashed-file conventions: e-mail
// and names trimmed and lower-cased, phone in E.164 with its +, each SHA-256
// hashed; Country (ISO alpha-2) and Zip are sent in clear.
func googleRow(c contact) []string {
	return []string{
		hash(strings.ToLower(c.email)), hash(c.phone),
		hash(strings.ToLower(strings.TrimSpace(c.first))), hash(strings.ToLower(strings.TrimSpace(c.last))),
		strings.ToLower(c.country), c.zip,
	}
}

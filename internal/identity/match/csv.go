package match

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
)

// Field is a Record field a CSV column can fill.
type Field string

// Fields a column can map to. Several columns may map to FieldAddress (one
// line each, in column order) or to FieldFullName (joined with a space).
const (
	FieldID           Field = "id"
	FieldGivenName    Field = "given_name"
	FieldSurname      Field = "surname"
	FieldFullName     Field = "full_name"
	FieldBirthDate    Field = "birth_date"
	FieldStreetNumber Field = "street_number"
	FieldAddress      Field = "address"
	FieldLocality     Field = "locality"
	FieldPostalCode   Field = "postal_code"
	FieldRegion       Field = "region"
	FieldPhone        Field = "phone"
	FieldEmail        Field = "email"
	FieldExternalID   Field = "external_id"
	FieldIgnore       Field = "ignore"
)

// Mapping says which CSV column fills which field. Header matching ignores
// case and surrounding spaces. The YAML form is
//
//	columns:
//	  rec_id: id
//	  address_1: address
//	  address_2: address
//	entity: rec_id
//	entity_regex: '^rec-(\d+)-'
type Mapping struct {
	// Columns maps headers to fields; when empty, GuessMapping fills it.
	Columns map[string]Field `json:"columns,omitempty" yaml:"columns"`
	// Entity names the column holding the truth, for evaluation only. It
	// may also be mapped in Columns: FEBRL's rec_id is the id and, through
	// EntityRegex, the entity.
	Entity string `json:"entity,omitempty" yaml:"entity"`
	// EntityRegex, when set, derives the entity from the Entity column: its
	// first capture group (the whole match without a group); a value that
	// does not match is an entity of its own.
	EntityRegex string `json:"entity_regex,omitempty" yaml:"entity_regex"`
}

// ParseMapping reads a YAML mapping and checks its field names.
func ParseMapping(data []byte) (Mapping, error) {
	var m Mapping
	if err := yaml.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("mapping: %w", err)
	}
	for col, f := range m.Columns {
		if _, ok := knownFields[f]; !ok {
			return m, fmt.Errorf("mapping: column %q: unknown field %q", col, f)
		}
	}
	return m, nil
}

var knownFields = map[Field]bool{
	FieldID: true, FieldGivenName: true, FieldSurname: true, FieldFullName: true,
	FieldBirthDate: true, FieldStreetNumber: true, FieldAddress: true, FieldLocality: true,
	FieldPostalCode: true, FieldRegion: true, FieldPhone: true, FieldEmail: true,
	FieldExternalID: true, FieldIgnore: true,
}

// headerSynonyms guesses fields from common header names (FEBRL, the
// Chicago file, usual CRM exports, French exports).
var headerSynonyms = map[string]Field{
	"rec_id": FieldID, "id": FieldID, "record_id": FieldID, "unique_id": FieldID, "profile_id": FieldID,
	"given_name": FieldGivenName, "first_name": FieldGivenName, "firstname": FieldGivenName, "prenom": FieldGivenName, "prénom": FieldGivenName,
	"forename": FieldGivenName, "given": FieldGivenName, "fname": FieldGivenName,
	"surname": FieldSurname, "last_name": FieldSurname, "lastname": FieldSurname, "family_name": FieldSurname, "nom": FieldSurname,
	"lname": FieldSurname, "nom_de_famille": FieldSurname,
	"full_name": FieldFullName, "name": FieldFullName, "site name": FieldFullName, "company": FieldFullName, "raison sociale": FieldFullName,
	"date_of_birth": FieldBirthDate, "dob": FieldBirthDate, "birth_date": FieldBirthDate, "birthdate": FieldBirthDate, "date_naissance": FieldBirthDate,
	"date_of_birth_iso": FieldBirthDate, "birthday": FieldBirthDate,
	"street_number": FieldStreetNumber, "house_number": FieldStreetNumber, "numero": FieldStreetNumber,
	"address": FieldAddress, "address_1": FieldAddress, "address_2": FieldAddress, "address1": FieldAddress, "address2": FieldAddress,
	"street": FieldAddress, "adresse": FieldAddress,
	"suburb": FieldLocality, "city": FieldLocality, "locality": FieldLocality, "commune": FieldLocality, "ville": FieldLocality, "town": FieldLocality,
	"suburb_name": FieldLocality,
	"postcode":    FieldPostalCode, "postal_code": FieldPostalCode, "zip": FieldPostalCode, "zipcode": FieldPostalCode, "code_postal": FieldPostalCode,
	"zip_code": FieldPostalCode, "post_code": FieldPostalCode,
	"state": FieldRegion, "region": FieldRegion, "province": FieldRegion,
	"phone": FieldPhone, "telephone": FieldPhone, "phone_number": FieldPhone, "mobile": FieldPhone, "tel": FieldPhone,
	"email": FieldEmail, "e-mail": FieldEmail, "email address": FieldEmail, "email_address": FieldEmail,
	"soc_sec_id": FieldExternalID, "customer_id": FieldExternalID, "external_id": FieldExternalID, "customer_number": FieldExternalID,
}

// GuessMapping maps the headers it recognises and ignores the rest.
func GuessMapping(header []string) Mapping {
	m := Mapping{Columns: map[string]Field{}}
	for _, h := range header {
		if f, ok := headerSynonyms[normHeader(h)]; ok {
			m.Columns[h] = f
		}
	}
	return m
}

func normHeader(h string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
}

// ReadCSV reads records from a CSV with a header row. Without Columns it
// guesses them from the header (GuessMapping). When the mapping names an
// Entity column it also returns each record's entity (nil otherwise).
// Leading spaces after commas are skipped (FEBRL writes them), quotes are
// lenient and rows may be short. A record without an id gets its 1-based
// row number.
func ReadCSV(r io.Reader, m Mapping) ([]Record, []string, error) {
	var entityOf func(string) string
	if m.EntityRegex != "" {
		re, err := regexp.Compile(m.EntityRegex)
		if err != nil {
			return nil, nil, fmt.Errorf("entity regex: %w", err)
		}
		entityOf = func(v string) string { return entityByRegex(re, v) }
	}
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		_, _ = br.Discard(3) // a spreadsheet's byte-order mark is not part of the first header
	}
	cr := csv.NewReader(br)
	cr.TrimLeadingSpace = true
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("csv: no header")
		}
		return nil, nil, fmt.Errorf("csv header: %w", err)
	}
	header = append([]string(nil), header...)
	if len(m.Columns) == 0 {
		m.Columns = GuessMapping(header).Columns
	}
	byHeader := map[string]Field{}
	for col, f := range m.Columns {
		byHeader[normHeader(col)] = f
	}
	fields := make([]Field, len(header))
	entityCol := -1
	for i, h := range header {
		fields[i] = byHeader[normHeader(h)]
		if m.Entity != "" && normHeader(h) == normHeader(m.Entity) {
			entityCol = i
		}
	}
	for col, f := range m.Columns {
		if !hasHeader(header, col) {
			return nil, nil, fmt.Errorf("csv: mapped column %q (%s) not in header", col, f)
		}
	}
	if m.Entity != "" && entityCol < 0 {
		return nil, nil, fmt.Errorf("csv: entity column %q not in header", m.Entity)
	}
	var recs []Record
	var entities []string
	for row := 1; ; row++ {
		vals, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("csv row %d: %w", row, err)
		}
		var rec Record
		var entity string
		for i, v := range vals {
			if i >= len(fields) {
				break
			}
			v = strings.TrimSpace(v)
			if i == entityCol {
				entity = v
			}
			if v == "" {
				continue
			}
			switch fields[i] {
			case FieldID:
				rec.ID = v
			case FieldGivenName:
				rec.GivenName = v
			case FieldSurname:
				rec.Surname = v
			case FieldFullName:
				rec.FullName = strings.TrimSpace(rec.FullName + " " + v)
			case FieldBirthDate:
				rec.BirthDate = ParseDate(v)
			case FieldStreetNumber:
				rec.StreetNumber = v
			case FieldAddress:
				rec.AddressLines = append(rec.AddressLines, v)
			case FieldLocality:
				rec.Locality = v
			case FieldPostalCode:
				rec.PostalCode = v
			case FieldRegion:
				rec.Region = v
			case FieldPhone:
				rec.Phone = v
			case FieldEmail:
				rec.Email = v
			case FieldExternalID:
				rec.ExternalID = v
			}
		}
		if rec.ID == "" {
			rec.ID = fmt.Sprint(row)
		}
		recs = append(recs, rec)
		if entityCol >= 0 {
			if entityOf != nil {
				entity = entityOf(entity)
			}
			entities = append(entities, entity)
		}
	}
	return recs, entities, nil
}

func hasHeader(header []string, col string) bool {
	for _, h := range header {
		if normHeader(h) == normHeader(col) {
			return true
		}
	}
	return false
}

// FEBRLEntityRegex derives the entity from a FEBRL rec_id: "rec-12-org" and
// "rec-12-dup-0" are entity "12".
const FEBRLEntityRegex = `^rec-(\d+)-`

// EntityFromID returns a truth function that applies expr to the record ID
// and takes its first capture group (the whole match when it has none). An
// ID that does not match is its own entity.
func EntityFromID(expr string) (func(Record) string, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("entity regex: %w", err)
	}
	return func(r Record) string { return entityByRegex(re, r.ID) }, nil
}

func entityByRegex(re *regexp.Regexp, v string) string {
	m := re.FindStringSubmatch(v)
	switch {
	case m == nil:
		return "\x00" + v // its own entity: no real value starts with NUL
	case len(m) > 1:
		return m[1]
	}
	return m[0]
}

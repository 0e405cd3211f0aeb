package imports

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"golang.org/x/text/unicode/norm"
)

// Kinds of import.
const (
	KindContacts   = "contacts"
	KindOrders     = "orders"
	KindOrderItems = "order_items"
	KindProducts   = "products"
	KindConsents   = "consents"
	KindEvents     = "events"
)

// Kinds lists every kind, in the order the docs present them.
var Kinds = []string{KindContacts, KindOrders, KindOrderItems, KindProducts, KindConsents, KindEvents}

// Mapping says how a file's columns become the unified model. It is what
// --mapping FILE.yaml holds and what --print-mapping prints.
type Mapping struct {
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// DateFormat resolves day/month dates in every date column (DD/MM/YYYY or MM/DD/YYYY).
	DateFormat string `yaml:"date_format,omitempty" json:"date_format,omitempty"`
	// CancelPrefix marks cancellation orders by an order id prefix (UCI Online Retail: "C").
	CancelPrefix string `yaml:"cancel_prefix,omitempty" json:"cancel_prefix,omitempty"`
	// CustomerIDType is the identifier type of the file's customer ids
	// (default: <source>_customer_id, shared by every import of that source).
	CustomerIDType string `yaml:"customer_id_type,omitempty" json:"customer_id_type,omitempty"`
	// Currency applies to orders and products without a currency column.
	Currency string  `yaml:"currency,omitempty" json:"currency,omitempty"`
	Fields   []Field `yaml:"fields" json:"fields"`
}

// Field maps one target field from one or more columns or a constant, with
// transforms applied in this order: concatenation, trim, value map, case,
// split; then typed parsing (decimal comma, multiply, date format).
type Field struct {
	Field     string            `yaml:"field" json:"field"`
	Column    string            `yaml:"column,omitempty" json:"column,omitempty"`
	Columns   []string          `yaml:"columns,omitempty" json:"columns,omitempty"`
	Separator string            `yaml:"separator,omitempty" json:"separator,omitempty"`
	Constant  string            `yaml:"constant,omitempty" json:"constant,omitempty"`
	Type      string            `yaml:"type,omitempty" json:"type,omitempty"` // string, number, date, bool
	NoTrim    bool              `yaml:"no_trim,omitempty" json:"no_trim,omitempty"`
	Case      string            `yaml:"case,omitempty" json:"case,omitempty"` // lower, upper, title
	Map       map[string]string `yaml:"map,omitempty" json:"map,omitempty"`
	Split     string            `yaml:"split,omitempty" json:"split,omitempty"` // full_name: first_last, last_first
	DateFmt   string            `yaml:"date_format,omitempty" json:"date_format,omitempty"`
	Decimal   string            `yaml:"decimal,omitempty" json:"decimal,omitempty"` // comma, point
	Multiply  float64           `yaml:"multiply,omitempty" json:"multiply,omitempty"`
	Skip      bool              `yaml:"skip,omitempty" json:"skip,omitempty"`
}

// ParseMapping reads a YAML mapping and checks it.
func ParseMapping(b []byte) (*Mapping, error) {
	var m Mapping
	if err := yaml.UnmarshalWithOptions(b, &m, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	for i, f := range m.Fields {
		if f.Field == "" && !f.Skip {
			return nil, fmt.Errorf("mapping: fields[%d] has no field name", i)
		}
		if f.Column == "" && len(f.Columns) == 0 && f.Constant == "" {
			return nil, fmt.Errorf("mapping: field %q needs column, columns or constant", f.Field)
		}
		switch f.Type {
		case "", "string", "number", "date", "bool":
		default:
			return nil, fmt.Errorf("mapping: field %q: type must be string, number, date or bool", f.Field)
		}
		switch f.Case {
		case "", "lower", "upper", "title":
		default:
			return nil, fmt.Errorf("mapping: field %q: case must be lower, upper or title", f.Field)
		}
		switch f.Split {
		case "", "first_last", "last_first":
		default:
			return nil, fmt.Errorf("mapping: field %q: split must be first_last or last_first", f.Field)
		}
		if _, err := ParseDateOrder(f.DateFmt); err != nil {
			return nil, fmt.Errorf("mapping: field %q: %w", f.Field, err)
		}
	}
	if _, err := ParseDateOrder(m.DateFormat); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return &m, nil
}

// YAML renders the mapping for --print-mapping.
func (m *Mapping) YAML() string {
	b, _ := yaml.MarshalWithOptions(m, yaml.IndentSequence(true))
	return string(b)
}

// fieldTypes are the typed target fields per kind; any other field name is a
// free trait, attribute or property (string unless the mapping types it).
var fieldTypes = map[string]map[string]string{
	KindContacts: {"external_id": "string", "user_id": "string", "email": "string", "phone": "string", "mobile": "string",
		"first_name": "string", "last_name": "string", "full_name": "string", "title": "string", "address": "string",
		"address2": "string", "postal_code": "string", "city": "string", "region": "string", "country": "string",
		"birthdate": "date", "company": "string", "created_at": "date"},
	KindOrders: {"order_id": "string", "customer_id": "string", "email": "string", "phone": "string", "ordered_at": "date",
		"status": "string", "currency": "string", "total": "number", "subtotal": "number", "tax": "number", "shipping": "number",
		"discount": "number", "line_no": "number", "product_id": "string", "product_name": "string", "category": "string",
		"quantity": "number", "unit_price": "number", "amount": "number", "line_status": "string"},
	KindProducts: {"product_id": "string", "name": "string", "category": "string", "brand": "string", "price": "number", "currency": "string"},
	KindConsents: {"external_id": "string", "customer_id": "string", "email": "string", "phone": "string", "purpose": "string",
		"status": "string", "channel": "string", "occurred_at": "date", "text_version": "string"},
	KindEvents: {"event": "string", "timestamp": "date", "user_id": "string", "anonymous_id": "string", "email": "string",
		"phone": "string", "customer_id": "string", "message_id": "string"},
}

// typesOf returns the typed fields of a kind (order_items shares orders').
func typesOf(kind string) map[string]string {
	if kind == KindOrderItems {
		kind = KindOrders
	}
	return fieldTypes[kind]
}

// synonyms are normalised column names recognised without a mapping, per
// target field; contacts' identity columns are shared by every kind.
var synonyms = map[string]map[string][]string{
	KindContacts: {
		"external_id": {"id", "customer_id", "customerid", "client_id", "id_client", "numero_client", "num_client", "code_client",
			"contact_id", "crm_id", "rec_id", "record_id", "customer_number", "no_client", "ref_client", "reference_client",
			"n_client", "n_du_client", "numero_de_client", "n_de_client"},
		"email":       {"email", "e_mail", "mail", "courriel", "adresse_email", "adresse_mail", "adresse_e_mail", "email_address", "e_mail_address", "email_adresse"},
		"phone":       {"telephone", "tel", "phone", "phone_number", "numero_de_telephone", "numero_telephone", "telephone_fixe", "fixe", "tel_fixe"},
		"mobile":      {"mobile", "portable", "cell", "cellphone", "mobile_phone", "tel_portable", "telephone_portable", "tel_mobile", "gsm"},
		"first_name":  {"prenom", "first_name", "firstname", "given_name", "forename"},
		"last_name":   {"nom", "last_name", "lastname", "surname", "family_name", "nom_de_famille"},
		"full_name":   {"nom_complet", "full_name", "fullname", "name", "nom_prenom", "customer_name", "contact_name", "prenom_nom"},
		"title":       {"civilite", "title", "salutation", "civ"},
		"address":     {"adresse", "address", "address_1", "address1", "adresse1", "adresse_1", "street", "rue", "adresse_postale", "street_address"},
		"address2":    {"address_2", "address2", "adresse2", "adresse_2", "complement_adresse", "complement", "complement_d_adresse"},
		"postal_code": {"code_postal", "cp", "zip", "zip_code", "zipcode", "postcode", "postal_code", "code_postale"},
		"city":        {"ville", "city", "commune", "town", "localite", "suburb"},
		"region":      {"region", "state", "departement", "province"},
		"country":     {"pays", "country", "country_code", "code_pays"},
		"birthdate":   {"date_naissance", "date_de_naissance", "birthdate", "birth_date", "dob", "date_of_birth", "birthday", "naissance", "ne_le"},
		"company":     {"societe", "company", "entreprise", "raison_sociale", "organisation", "organization"},
		"user_id":     {"user_id", "userid"},
	},
	KindOrders: {
		"order_id": {"order_id", "orderid", "invoiceno", "invoice_no", "invoice_number", "invoice", "order_number", "order_no", "commande",
			"id_commande", "numero_commande", "num_commande", "no_commande", "reference_commande", "order_reference", "facture", "numero_facture",
			"n_commande", "n_de_commande", "numero_de_commande", "n_facture", "n_de_facture", "numero_de_facture", "no_facture"},
		"customer_id": {"customer_id", "customerid", "client_id", "id_client", "customer", "code_client", "numero_client", "num_client", "client",
			"no_client", "n_client", "n_du_client", "n_de_client", "numero_de_client", "ref_client", "reference_client"},
		"email": {"email", "e_mail", "mail", "courriel", "customer_email", "email_client"},
		"phone": {"telephone", "tel", "phone", "portable", "mobile"},
		"ordered_at": {"order_date", "invoicedate", "invoice_date", "date", "date_commande", "date_de_commande", "ordered_at", "created_at",
			"date_facture", "purchase_date", "date_achat"},
		"status":       {"status", "statut", "etat", "order_status", "statut_commande"},
		"currency":     {"currency", "devise", "monnaie"},
		"total":        {"total", "total_paid", "montant_total", "total_ttc", "amount_total", "grand_total", "order_total", "total_paye", "montant_ttc", "revenue", "sales", "order_value", "chiffre_affaires"},
		"subtotal":     {"subtotal", "sub_total", "total_ht", "sous_total", "montant_ht"},
		"tax":          {"tax", "tva", "vat", "taxes", "montant_tva"},
		"shipping":     {"shipping", "frais_de_port", "frais_port", "livraison", "shipping_cost", "port"},
		"discount":     {"discount", "remise", "reduction", "discount_amount"},
		"line_no":      {"line", "line_no", "line_number", "ligne", "num_ligne"},
		"product_id":   {"stockcode", "stock_code", "sku", "product_id", "product_code", "ref_produit", "reference_produit", "code_article", "article", "ean", "product_reference"},
		"product_name": {"description", "product_name", "produit", "libelle", "designation", "product", "nom_produit", "item_name"},
		"category":     {"category", "categorie", "product_category"},
		"quantity":     {"quantity", "qty", "quantite", "qte", "qt"},
		"unit_price":   {"unitprice", "unit_price", "prix_unitaire", "price", "prix", "pu", "prix_unitaire_ttc", "item_price"},
		"amount":       {"line_total", "amount", "montant_ligne", "total_ligne", "montant", "line_amount"},
	},
	KindProducts: {
		"product_id": {"product_id", "sku", "id", "reference", "ref", "stockcode", "stock_code", "product_code", "code_article", "ean"},
		"name":       {"name", "nom", "libelle", "designation", "description", "product_name", "titre", "title"},
		"category":   {"category", "categorie", "rayon", "famille"},
		"brand":      {"brand", "marque", "fabricant", "manufacturer"},
		"price":      {"price", "prix", "unit_price", "unitprice", "prix_ttc", "prix_unitaire"},
		"currency":   {"currency", "devise"},
	},
	KindConsents: {
		"external_id":  {"id", "customer_id", "customerid", "client_id", "id_client", "code_client", "numero_client", "contact_id"},
		"email":        {"email", "e_mail", "mail", "courriel", "adresse_email"},
		"phone":        {"telephone", "tel", "phone", "portable", "mobile"},
		"purpose":      {"purpose", "finalite", "consent", "consentement", "type", "consent_type", "type_consentement"},
		"status":       {"status", "statut", "granted", "optin", "opt_in", "accepte", "value", "valeur", "choix", "consent_status"},
		"channel":      {"channel", "canal"},
		"occurred_at":  {"date", "occurred_at", "consented_at", "date_consentement", "timestamp", "created_at", "date_de_consentement"},
		"text_version": {"text_version", "version", "version_texte", "wording_version"},
	},
	KindEvents: {
		"event":        {"event", "event_name", "evenement", "action", "name"},
		"timestamp":    {"timestamp", "date", "occurred_at", "time", "created_at", "datetime", "event_time"},
		"user_id":      {"user_id", "userid"},
		"anonymous_id": {"anonymous_id", "anonymousid", "visitor_id", "cookie_id"},
		"email":        {"email", "e_mail", "mail", "courriel"},
		"phone":        {"telephone", "tel", "phone", "mobile", "portable"},
		"customer_id":  {"customer_id", "customerid", "client_id", "id_client", "code_client"},
		"message_id":   {"message_id", "messageid", "event_id"},
	},
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// NormName folds a column name for matching: lower case, accents removed,
// runs of other characters turned into one underscore.
func NormName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(strings.TrimSpace(s))) {
		if r >= 0x300 && r <= 0x36f {
			continue // combining accent
		}
		b.WriteRune(r)
	}
	return strings.Trim(nonAlnum.ReplaceAllString(b.String(), "_"), "_")
}

// knownColumn reports whether a column name is a synonym of some field of
// some kind.
func knownColumn(name string) bool {
	n := NormName(name)
	for _, fields := range synonyms {
		for _, names := range fields {
			for _, x := range names {
				if x == n {
					return true
				}
			}
		}
	}
	return false
}

// Infer builds a mapping for a header: recognised columns map to their
// fields, the others to free fields named after them (traits of contacts,
// attributes of orders and products, properties of events).
func Infer(kind string, header []string) *Mapping {
	m := &Mapping{Kind: kind}
	syn := synonyms[kind]
	if kind == KindOrderItems {
		syn = synonyms[KindOrders]
	}
	lookup := map[string]string{}
	for field, names := range syn {
		for _, n := range names {
			lookup[n] = field
		}
	}
	used := map[string]bool{}
	for _, h := range header {
		n := NormName(h)
		f := Field{Column: h}
		if field, ok := lookup[n]; ok && !used[field] {
			used[field] = true
			f.Field = field
			if field == "full_name" {
				f.Split = "first_last"
				if n == "nom_prenom" {
					f.Split = "last_first"
				}
			}
		} else {
			f.Field = n
			if f.Field == "" {
				f.Field = "column"
			}
			if _, typed := typesOf(kind)[f.Field]; typed || used[f.Field] {
				f.Field += "_col"
			}
			// Two columns whose names normalise alike ("Note", "note").
			for base, k := f.Field, 2; used[f.Field]; k++ {
				f.Field = base + "_" + strconv.Itoa(k)
			}
			used[f.Field] = true
		}
		m.Fields = append(m.Fields, f)
	}
	return m
}

// personal reports whether a field holds personal data, so report values are masked.
func personal(kind, field string) bool {
	switch field {
	case "country", "status", "purpose", "channel", "event", "title", "currency", "ordered_at", "total", "subtotal", "tax",
		"shipping", "discount", "quantity", "unit_price", "amount", "product_id", "product_name", "category", "line_no",
		"order_id", "text_version", "price", "name", "brand", "line_status":
		return field == "name" && kind != KindProducts
	}
	// Unknown columns of people-centred files may hold anything personal.
	return true
}

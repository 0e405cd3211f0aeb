package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// source is what conversions need to know about the import's source.
type source struct {
	id, name string
	custType string // identifier type of customer ids
	now      time.Time
}

// CustomerIDType is the identifier type a source's customer ids get by default.
func CustomerIDType(sourceName string) string {
	return identity.ExternalType(sourceName + "_customer_id")
}

func digest(parts ...any) string {
	b, _ := json.Marshal(parts)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// validEmail is the shape check an imported e-mail must pass.
func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-3 && strings.Count(s, "@") == 1 && strings.Contains(s[at:], ".") &&
		!strings.ContainsAny(s, " \t\r\n,;<>") && !strings.HasSuffix(s, ".")
}

// reason is a row-level rejection.
type reason struct{ column, value, why string }

// contact turns a contact row into an identify message. The message id is a
// digest of the source, the external id and the row's values; a real import
// replaces it with one unique to the import and row, after comparing the row
// with its record's last written version (contactState, runMessages).
func contact(v map[string]value, s source) (model.Message, *reason) {
	m := model.Message{Type: model.Identify, SourceID: s.id, Timestamp: s.now, ReceivedAt: s.now}
	ext := str(v, "external_id")
	m.UserID = str(v, "user_id")
	traits := map[string]any{}
	for k, x := range v {
		switch k {
		case "external_id", "user_id":
			continue
		}
		traits[k] = jsonable(x)
	}
	if e := str(v, "email"); e != "" && !validEmail(e) {
		return m, &reason{"email", e, "not a valid e-mail address"}
	}
	if ext == "" && m.UserID == "" && str(v, "email") == "" && !phoneLike(str(v, "phone")) && !phoneLike(str(v, "mobile")) {
		return m, &reason{"", "", "no identifier: a contact needs an external id, a user id, an e-mail or a phone"}
	}
	if ext != "" {
		m.ExternalIDs = []model.ExternalID{{ID: ext, Type: s.custType, Collection: "users"}}
	}
	if len(traits) > 0 {
		m.Traits = traits
	}
	m.MessageID = "import-" + digest("contact", s.custType, ext, m.UserID, traits)
	return m, nil
}

// contactState is the import_state key of a contact (a digest of its
// external id, else its user id, e-mail or phone: no personal value is
// stored) and its fingerprint (the source, ids and traits).
func contactState(m model.Message, s source) (key, hash string) {
	var k []string
	switch t := m.Traits; {
	case len(m.ExternalIDs) > 0:
		k = []string{"external_id", m.ExternalIDs[0].Type, m.ExternalIDs[0].ID}
	case m.UserID != "":
		k = []string{"user_id", m.UserID}
	case t["email"] != nil:
		k = []string{"email", strings.ToLower(strings.TrimSpace(asText(t["email"])))}
	default:
		k = []string{"phone", digitsOf(asText(t["phone"])) + "/" + digitsOf(asText(t["mobile"]))}
	}
	// contact's message id is already the digest of the row's content.
	return digest(k), strings.TrimPrefix(m.MessageID, "import-")
}

func asText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// saveState records the state of contacts just written (keys, hashes and
// msgs in parallel): the last version of a key when it appears more than
// once, with the profile it resolved to.
func (im *Importer) saveState(ctx context.Context, s source, keys, hashes []string, msgs []model.Message) error {
	if len(keys) == 0 {
		return nil
	}
	last := map[string]int{}
	var order []string
	for i, k := range keys {
		if _, seen := last[k]; !seen {
			order = append(order, k)
		}
		last[k] = i
	}
	hs, ps := make([]string, len(order)), make([]string, len(order))
	err := im.W.Exclusive(ctx, func(_ context.Context, l ingest.Lookup) error {
		for j, k := range order {
			i := last[k]
			hs[j] = hashes[i]
			if i >= len(msgs) {
				continue
			}
			m := &msgs[i]
			if len(m.ExternalIDs) > 0 { // the common case, without normalising e-mails and phones again
				x := m.ExternalIDs[0]
				ps[j] = l.ProfileFor([]model.Identifier{{Type: x.Type, Value: strings.TrimSpace(x.ID)}})
			}
			if ps[j] == "" {
				ps[j] = l.ProfileFor(l.Identifiers(m))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record import state: %w", err)
	}
	return im.St.SaveImportState(ctx, s.id, KindContacts, order, hs, ps, s.now)
}

func phoneLike(s string) bool {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n >= 6
}

// consent turns a consent row into an explicit consent event.
func consent(v map[string]value, s source) (model.Message, *reason) {
	m := model.Message{Type: model.Track, SourceID: s.id, Timestamp: s.now, ReceivedAt: s.now}
	purpose := strings.ToLower(str(v, "purpose"))
	if purpose == "" {
		return m, &reason{"purpose", "", "a consent needs a purpose (newsletter, sms, profiling...)"}
	}
	var status model.ConsentStatus
	raw := strings.ToLower(str(v, "status"))
	switch raw {
	case "withdrawn", "retire", "retiré", "withdraw", "unsubscribed", "desinscrit", "désinscrit", "revoked", "revoque", "révoqué":
		status = model.ConsentWithdrawn
	case "":
		return m, &reason{"status", "", "a consent needs a status (granted, denied, withdrawn, oui/non...)"}
	default:
		b, err := ParseBool(raw)
		if err != nil {
			return m, &reason{"status", raw, "not a consent status (granted, denied, withdrawn, oui/non, yes/no, 1/0)"}
		}
		status = model.ConsentDenied
		if b {
			status = model.ConsentGranted
		}
	}
	// A row without a date is dated by its import, but its message id does
	// not depend on that date: re-importing it changes nothing.
	var dated any
	if t, ok := tm(v, "occurred_at"); ok {
		m.Timestamp, dated = t, t
	}
	ext := str(v, "external_id")
	if ext == "" {
		ext = str(v, "customer_id")
	}
	ctxTraits := map[string]any{}
	if e := str(v, "email"); e != "" {
		if !validEmail(e) {
			return m, &reason{"email", e, "not a valid e-mail address"}
		}
		ctxTraits["email"] = e
	}
	if p := str(v, "phone"); p != "" {
		ctxTraits["phone"] = p
	}
	if ext == "" && len(ctxTraits) == 0 {
		return m, &reason{"", "", "no identifier: a consent needs a customer id, an e-mail or a phone"}
	}
	if ext != "" {
		m.ExternalIDs = []model.ExternalID{{ID: ext, Type: s.custType, Collection: "users"}}
	}
	if len(ctxTraits) > 0 {
		m.ContextTraits = ctxTraits
	}
	m.Event = map[model.ConsentStatus]string{model.ConsentGranted: "Consent Granted", model.ConsentDenied: "Consent Denied",
		model.ConsentWithdrawn: "Consent Withdrawn"}[status]
	props := map[string]any{"purpose": purpose}
	if c := str(v, "channel"); c != "" {
		props["channel"] = strings.ToLower(c)
	}
	if tv := str(v, "text_version"); tv != "" {
		props["text_version"] = tv
	}
	m.Properties, _ = json.Marshal(props)
	m.MessageID = "import-" + digest("consent", s.custType, ext, ctxTraits, props, string(status), dated)
	return m, nil
}

// event turns an event row into a track message; other columns are its properties.
func event(v map[string]value, s source, line int) (model.Message, *reason) {
	m := model.Message{Type: model.Track, SourceID: s.id, Timestamp: s.now, ReceivedAt: s.now}
	m.Event = str(v, "event")
	if m.Event == "" {
		return m, &reason{"event", "", "an event needs a name"}
	}
	t, ok := tm(v, "timestamp")
	if !ok {
		return m, &reason{"timestamp", "", "an event needs a timestamp"}
	}
	m.Timestamp, m.OriginalTimestamp = t, t
	m.UserID, m.AnonymousID = str(v, "user_id"), str(v, "anonymous_id")
	ctxTraits := map[string]any{}
	if e := str(v, "email"); e != "" {
		ctxTraits["email"] = e
	}
	if p := str(v, "phone"); p != "" {
		ctxTraits["phone"] = p
	}
	if len(ctxTraits) > 0 {
		m.ContextTraits = ctxTraits
		m.Context, _ = json.Marshal(map[string]any{"traits": ctxTraits})
	}
	if c := str(v, "customer_id"); c != "" {
		m.ExternalIDs = []model.ExternalID{{ID: c, Type: s.custType, Collection: "users"}}
	}
	if m.UserID == "" && m.AnonymousID == "" && len(ctxTraits) == 0 && len(m.ExternalIDs) == 0 {
		return m, &reason{"", "", "no identifier: an event needs a user id, an anonymous id, a customer id, an e-mail or a phone"}
	}
	props := map[string]any{}
	for k, x := range v {
		if _, typed := fieldTypes[KindEvents][k]; !typed {
			props[k] = jsonable(x)
		}
	}
	m.Properties, _ = json.Marshal(props)
	m.MessageID = str(v, "message_id")
	if m.MessageID == "" {
		m.MessageID = "import-" + digest("event", m.Event, t, m.UserID, m.AnonymousID, ctxTraits, m.ExternalIDs, props)
	}
	return m, nil
}

// Order statuses that do not count as revenue.
var nonRevenue = map[string]bool{"cancelled": true, "refunded": true, "returned": true}

// NormStatus maps the order statuses shops write to Atrium's.
func NormStatus(s string) string {
	n := NormName(s)
	switch n {
	case "", "complete", "completed", "paid", "payee", "paye", "livre", "livree", "delivered", "shipped", "expediee", "expedie",
		"termine", "terminee", "valide", "validee", "ok", "closed", "invoiced", "facture", "facturee":
		return "completed"
	case "cancelled", "canceled", "cancel", "annule", "annulee", "annulation", "void", "voided":
		return "cancelled"
	case "refunded", "refund", "rembourse", "remboursee", "remboursement", "avoir", "credit_note":
		return "refunded"
	case "returned", "return", "retour", "retourne", "retournee":
		return "returned"
	case "pending", "en_attente", "attente", "processing", "en_cours", "new", "nouvelle":
		return "pending"
	}
	return n
}

// orderAcc gathers one order's header and lines across the file.
type orderAcc struct {
	row       store.OrderRow
	firstLine int
	lines     []int // rows that made a line
	rows      []int // every row of the order
	total     *float64
	hasDate   bool
	email     string
	phone     string
	attrs     map[string]any // first value of each extra column

	statusGiven bool
	prevProfile string // order_items: the profile the stored order had
}

// completeFrom fills what an order_items file does not say from the stored
// order: date, customer, status, currency, amounts, attributes. The stored
// total is kept as given when the stored order had no lines (a header-only
// import) or when it differs from its stored lines; otherwise the new lines
// make the total.
func (a *orderAcc) completeFrom(h store.OrderRow) {
	o := &a.row
	if !a.hasDate {
		o.OrderedAt, a.hasDate = h.OrderedAt, true
	}
	if o.CustomerKey == "" {
		o.CustomerKey = h.CustomerKey
	}
	if !a.statusGiven && o.Status == "completed" {
		o.Status = h.Status
	}
	if o.Currency == "" {
		o.Currency = h.Currency
	}
	for _, p := range []struct{ dst, src **float64 }{{&o.Subtotal, &h.Subtotal}, {&o.Tax, &h.Tax}, {&o.Shipping, &h.Shipping}, {&o.Discount, &h.Discount}} {
		if *p.dst == nil {
			*p.dst = *p.src
		}
	}
	given := (len(h.Items) == 0 && h.Total != 0) || math.Abs(h.Total-h.LinesTotal) > 0.01
	if a.total == nil && given {
		t := h.Total
		a.total = &t
	}
	if len(a.attrs) == 0 && len(h.Attributes) > 2 {
		_ = json.Unmarshal(h.Attributes, &a.attrs)
	}
	a.prevProfile = h.ProfileID
}

// addOrderRow folds one row into its order.
func addOrderRow(accs map[string]*orderAcc, order *[]string, v map[string]value, line int, p *plan, s source) *reason {
	id := str(v, "order_id")
	if id == "" {
		id = "row-" + itoa(line)
	}
	a := accs[id]
	if a == nil {
		a = &orderAcc{firstLine: line, row: store.OrderRow{SourceID: s.id, OrderID: id, Status: "completed"}}
		accs[id] = a
		*order = append(*order, id)
	}
	a.rows = append(a.rows, line)
	o := &a.row
	if t, ok := tm(v, "ordered_at"); ok && !a.hasDate {
		o.OrderedAt, a.hasDate = t, true
	}
	if c := str(v, "customer_id"); c != "" && o.CustomerKey == "" {
		o.CustomerKey = c
	}
	if e := str(v, "email"); e != "" && a.email == "" {
		if !validEmail(strings.ToLower(e)) {
			return &reason{"email", e, "not a valid e-mail address"}
		}
		a.email = strings.ToLower(e)
	}
	if ph := str(v, "phone"); ph != "" && a.phone == "" {
		a.phone = ph
	}
	if st := str(v, "status"); st != "" {
		o.Status = p.status(st)
		a.statusGiven = true
	}
	if p.m.CancelPrefix != "" && strings.HasPrefix(id, p.m.CancelPrefix) {
		o.Status = "cancelled"
	}
	if c := str(v, "currency"); c != "" {
		o.Currency = strings.ToUpper(c)
	} else if o.Currency == "" {
		o.Currency = strings.ToUpper(p.m.Currency)
	}
	if f, ok := num(v, "total"); ok && a.total == nil {
		a.total = &f
	}
	for _, x := range [...]struct {
		k   string
		dst **float64
	}{{"subtotal", &o.Subtotal}, {"tax", &o.Tax}, {"shipping", &o.Shipping}, {"discount", &o.Discount}} {
		if f, ok := num(v, x.k); ok && *x.dst == nil {
			*x.dst = &f
		}
	}
	q, hasQ := num(v, "quantity")
	up, hasUP := num(v, "unit_price")
	amt, hasAmt := num(v, "amount")
	if hasQ || hasUP || hasAmt || str(v, "product_id") != "" || str(v, "product_name") != "" {
		if !hasQ {
			q = 1
		}
		if !hasAmt {
			amt = round6(q * up)
		}
		it := store.OrderItemRow{LineNo: len(o.Items) + 1, ProductID: str(v, "product_id"), Name: str(v, "product_name"),
			Category: str(v, "category"), Quantity: q, Amount: amt, Status: o.Status}
		if n, ok := num(v, "line_no"); ok {
			it.LineNo = int(n)
		}
		if ls := str(v, "line_status"); ls != "" {
			it.Status = p.status(ls)
		}
		if hasUP {
			it.UnitPrice = &up
		}
		o.Items = append(o.Items, it)
		a.lines = append(a.lines, line)
	}
	for k, x := range v {
		if _, typed := fieldTypes[KindOrders][k]; !typed {
			if a.attrs == nil {
				a.attrs = map[string]any{}
			}
			if _, had := a.attrs[k]; !had {
				a.attrs[k] = jsonable(x)
			}
		}
	}
	return nil
}

// finishOrder computes the total, stamps line statuses and the fingerprint.
// It returns a warning when a given total disagrees with the lines.
func finishOrder(a *orderAcc) (warn string) {
	o := &a.row
	if len(a.attrs) > 0 {
		o.Attributes, _ = json.Marshal(a.attrs)
	}
	sum := 0.0
	for i := range o.Items {
		if o.Items[i].Status == "completed" {
			o.Items[i].Status = o.Status
		}
		sum += o.Items[i].Amount
	}
	sum = round6(sum)
	switch {
	case a.total != nil:
		o.Total = *a.total
		if len(o.Items) > 0 && math.Abs(o.Total-sum) > 0.01 {
			warn = "the order total " + ftoa(o.Total) + " disagrees with the sum of its lines " + ftoa(sum) +
				" (the total given is kept)"
		}
	default:
		o.Total = sum
	}
	o.RowHash = orderDigest(a)
	return warn
}

// product turns a product row into a catalogue entry.
func product(v map[string]value, s source, currency string) (store.ProductRow, *reason) {
	p := store.ProductRow{SourceID: s.id, ProductID: str(v, "product_id"), Name: str(v, "name"), Category: str(v, "category"),
		Brand: str(v, "brand"), Currency: strings.ToUpper(str(v, "currency"))}
	if p.ProductID == "" {
		return p, &reason{"product_id", "", "a product needs an id (sku, reference...)"}
	}
	if p.Currency == "" {
		p.Currency = strings.ToUpper(currency)
	}
	if f, ok := num(v, "price"); ok {
		p.Price = &f
	}
	attrs := map[string]any{}
	for k, x := range v {
		if _, typed := fieldTypes[KindProducts][k]; !typed {
			attrs[k] = jsonable(x)
		}
	}
	if len(attrs) > 0 {
		p.Attributes, _ = json.Marshal(attrs)
	}
	p.RowHash = digest(p.Name, p.Category, p.Brand, p.Price, p.Currency, string(p.Attributes))
	return p, nil
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

func itoa(i int) string { return strconv.Itoa(i) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// orderDigest fingerprints an order with its lines (what a re-import
// compares), without the cost of encoding it as JSON.
func orderDigest(a *orderAcc) string {
	o := &a.row
	b := make([]byte, 0, 256+64*len(o.Items))
	str := func(s string) { b = append(append(b, s...), 0) }
	f := func(x float64) { b = append(strconv.AppendFloat(b, x, 'g', -1, 64), 0) }
	pf := func(x *float64) {
		if x == nil {
			b = append(b, '-', 0)
		} else {
			f(*x)
		}
	}
	str(o.CustomerKey)
	str(a.email)
	str(a.phone)
	str(o.Status)
	str(o.Currency)
	f(o.Total)
	pf(o.Subtotal)
	pf(o.Tax)
	pf(o.Shipping)
	pf(o.Discount)
	b = append(strconv.AppendInt(b, o.OrderedAt.UnixMicro(), 10), 0)
	str(string(o.Attributes))
	for _, it := range o.Items {
		b = append(strconv.AppendInt(b, int64(it.LineNo), 10), 0)
		str(it.ProductID)
		str(it.Name)
		str(it.Category)
		f(it.Quantity)
		pf(it.UnitPrice)
		f(it.Amount)
		str(it.Status)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

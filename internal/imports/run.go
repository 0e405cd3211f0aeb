package imports

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Writer is the ingest writer: every profile-changing write goes through it.
type Writer interface {
	SubmitDetails(ctx context.Context, msgs []model.Message) ([]ingest.Detail, error)
	Exclusive(ctx context.Context, fn func(ctx context.Context, l ingest.Lookup) error) error
}

// Store writes orders and products (called inside Writer.Exclusive).
type Store interface {
	OrderHashes(ctx context.Context, sourceID string) (map[string]string, error)
	OrderHeaders(ctx context.Context, sourceID string) (map[string]store.OrderRow, error)
	ApplyOrders(ctx context.Context, sourceID string, orders []store.OrderRow, replace []string, now time.Time) error
	ProductHashes(ctx context.Context, sourceID string) (map[string]string, error)
	ApplyProducts(ctx context.Context, sourceID string, products []store.ProductRow, replace []string, now time.Time) error
	UpdateOrderHeaders(ctx context.Context, sourceID string, orders []store.OrderRow, now time.Time) error
	ImportState(ctx context.Context, sourceID, kind string) (map[string]string, error)
	SaveImportState(ctx context.Context, sourceID, kind string, keys, hashes, profiles []string, at time.Time) error
}

// Request is one import to run.
type Request struct {
	Kind       string
	SourceID   string
	SourceName string
	FileName   string
	Read       ReadOptions
	DateFormat string   // overrides the mapping's
	Mapping    *Mapping // nil: inferred from the header
	DryRun     bool
}

// Importer runs imports. Chunk is the number of records per transaction.
type Importer struct {
	W     Writer
	St    Store
	Now   func() time.Time
	Chunk int
	// Progress, when set, receives a copy of the report after each chunk.
	Progress func(Report)
}

// Prepare reads the file and settles the mapping (the given one, or one
// inferred from the header); the CLI's --print-mapping stops here.
func Prepare(data []byte, req Request) (*Table, *Mapping, error) {
	if !ValidKind(req.Kind) {
		return nil, nil, fmt.Errorf("unknown kind %q (want one of %s)", req.Kind, strings.Join(Kinds, ", "))
	}
	t, err := Read(data, req.FileName, req.Read)
	if err != nil {
		return nil, nil, err
	}
	m := req.Mapping
	if m == nil {
		m = Infer(req.Kind, t.Header)
		if req.Kind == KindOrders || req.Kind == KindOrderItems {
			m.CancelPrefix = inferCancelPrefix(t, m)
		}
	}
	return t, m, nil
}

// ValidKind reports whether k is a kind of import.
func ValidKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// inferCancelPrefix recognises order ids where a letter prefix marks
// cancellations (UCI Online Retail's C536379 next to 536379).
func inferCancelPrefix(t *Table, m *Mapping) string {
	col := -1
	for _, f := range m.Fields {
		if f.Field == "order_id" {
			for i, h := range t.Header {
				if h == f.Column {
					col = i
				}
			}
		}
	}
	if col < 0 {
		return ""
	}
	plain, prefixed := 0, 0
	for _, r := range t.Rows {
		v := strings.TrimSpace(r.Cells[col])
		switch {
		case allDigits(v):
			plain++
		case len(v) > 1 && (v[0] == 'C' || v[0] == 'c') && allDigits(v[1:]):
			prefixed++
		}
	}
	if plain > 0 && prefixed > 0 && plain+prefixed == len(t.Rows) {
		return "C"
	}
	return ""
}

// Run imports data and fills rep (which it also hands to Progress). Contacts,
// consents and events are written in chunks through the ingest writer;
// orders and products in chunks, each chunk in one transaction. Every chunk is
// idempotent (deterministic message ids, upserts by fingerprint), so a run
// that failed half-way is completed by running the same import again.
func (im *Importer) Run(ctx context.Context, req Request, data []byte, rep *Report) error {
	if im.Now == nil {
		im.Now = time.Now
	}
	if im.Chunk <= 0 {
		im.Chunk = 10000
	}
	start := time.Now()
	rep.Kind, rep.Source, rep.File, rep.DryRun = req.Kind, req.SourceName, req.FileName, req.DryRun
	if rep.Rejects == nil {
		rep.Rejects = []Reject{}
	}
	t, m, err := Prepare(data, req)
	if err != nil {
		return err
	}
	rep.Format, rep.Encoding, rep.Delimiter, rep.Sheet = t.Format, t.Encoding, t.Delimiter, t.Sheet
	if rep.Delimiter == "\t" {
		rep.Delimiter = "tab"
	}
	rep.RowsRead = len(t.Rows) + len(t.Rejects)
	if t.TitleLines > 0 {
		rep.warn(Reject{Row: 1, Reason: fmt.Sprintf("%d title line(s) above the header skipped", t.TitleLines)})
	}
	for _, r := range t.Rejects {
		rep.reject(r)
	}
	p, err := bind(req.Kind, m, t, req.DateFormat)
	if err != nil {
		return err
	}
	for f, o := range p.orders {
		if o == DateUnknown {
			continue
		}
		if rep.DateOrders == nil {
			rep.DateOrders = map[string]string{}
		}
		rep.DateOrders[f] = o.String()
	}
	custType := m.CustomerIDType
	if custType == "" {
		custType = CustomerIDType(req.SourceName)
	}
	s := source{id: req.SourceID, name: req.SourceName, custType: custType, now: im.Now().UTC()}
	progress := func() {
		if el := time.Since(start).Seconds(); el > 0 {
			rep.RowsPerSec = float64(rep.Processed) / el
		}
		if im.Progress != nil {
			im.Progress(*rep)
		}
	}
	// A reason names a target field; the report names the file's column.
	rejectRow := func(line int, r *reason) {
		val := r.value
		if val != "" && personal(req.Kind, r.column) {
			val = Mask(val)
		}
		rep.reject(Reject{Row: line, Column: p.columnOf(r.column), Value: val, Reason: r.why})
	}
	rowVals := func(r Row) (map[string]value, bool) {
		v, fe := p.rowValues(r)
		if fe != nil {
			rejectRow(r.Line, &reason{fe.field, fe.raw, fe.reason})
			return nil, false
		}
		return v, true
	}
	switch req.Kind {
	case KindContacts, KindConsents, KindEvents:
		err = im.runMessages(ctx, req, t, p, s, rep, rowVals, rejectRow, progress)
	case KindOrders, KindOrderItems:
		err = im.runOrders(ctx, req, t, p, s, rep, rowVals, rejectRow, progress)
	case KindProducts:
		err = im.runProducts(ctx, req, t, p, s, rep, rowVals, rejectRow, progress)
	}
	if el := time.Since(start).Seconds(); el > 0 {
		rep.RowsPerSec = float64(rep.Processed) / el
	}
	return err
}

type rowFn func(Row) (map[string]value, bool)
type rejectFn func(int, *reason)

func (im *Importer) runMessages(ctx context.Context, req Request, t *Table, p *plan, s source, rep *Report, rowVals rowFn, rejectRow rejectFn, progress func()) error {
	// One chunk is written while the next is read and converted: the
	// writer is one goroutine, and SubmitDetails does the pure part of
	// its work (trait encoding, normalisation) on ours. The report stays
	// what a chunk-by-chunk run gives: a chunk's outcomes are counted, and
	// progress reported, as of the rows read when it was sent, and a failed
	// chunk rewinds the report to that point.
	type sent struct {
		done         chan struct{}
		out          []ingest.Detail
		lines        []int // the file row of each message
		err          error
		at           reportMark
		keys, hashes []string        // contacts: the records' state once written
		msgs         []model.Message // contacts: the messages of keys, in order
	}
	// Contacts: a row is unchanged when its fingerprint is its record's
	// last written one (import_state), not when its content was ever
	// imported: a value changed and changed back is written both times.
	var state map[string]string
	if req.Kind == KindContacts && !req.DryRun {
		var err error
		if state, err = im.St.ImportState(ctx, s.id, KindContacts); err != nil {
			return err
		}
	}
	var keys, hashes []string
	var lines []int
	var pending *sent
	wait := func() error {
		if pending == nil {
			return nil
		}
		c := pending
		pending = nil
		<-c.done
		now := rep.mark()
		rep.rewind(c.at)
		if c.err != nil {
			return fmt.Errorf("write %s: %w", req.Kind, c.err)
		}
		for i, d := range c.out {
			switch d.Outcome {
			case ingest.OutcomeDuplicate:
				rep.Unchanged++
			case ingest.OutcomeCreated:
				rep.Created++
			default:
				rep.Updated++
			}
			if len(d.Refused) > 0 && i < len(c.lines) {
				rep.warn(Reject{Row: c.lines[i], Column: strings.Join(d.Refused, ", "), Reason: "imported, but its " +
					strings.Join(d.Refused, " and ") + " was not linked to the profile: another profile holds it, or the profile " +
					"already has its limit of that kind (identity rules; the audit log has an identity_link_refused entry)"})
			}
		}
		progress()
		rep.rewind(now)
		return nil
	}
	// saves records the state of written contact chunks, one at a time and
	// in order, off the path of the next chunk's write; finish waits for it.
	saves := make(chan *sent, 2)
	var saveErr error
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		for c := range saves {
			if saveErr == nil {
				saveErr = im.saveState(ctx, s, c.keys, c.hashes, c.msgs)
			}
		}
	}()
	finished := false
	finish := func() error {
		if finished {
			return nil
		}
		finished = true
		err := wait()
		close(saves)
		<-saved
		if err == nil && saveErr != nil {
			err = fmt.Errorf("write %s: %w", req.Kind, saveErr)
		}
		return err
	}
	msgs := make([]model.Message, 0, im.Chunk)
	flush := func() error {
		if err := wait(); err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		rep.Records += len(msgs)
		if req.DryRun {
			msgs = msgs[:0]
			return nil
		}
		c := &sent{done: make(chan struct{}), at: rep.mark(), keys: keys, hashes: hashes, lines: lines}
		if keys != nil {
			c.msgs = msgs
		}
		pending = c
		go func(msgs []model.Message) {
			defer close(c.done)
			c.out, c.err = im.W.SubmitDetails(ctx, msgs)
			if c.err == nil && c.keys != nil {
				// The chunk's state is saved beside the next chunk's
				// write, in chunk order (see saves).
				saves <- c
			}
		}(msgs)
		msgs = make([]model.Message, 0, im.Chunk)
		keys, hashes, lines = nil, nil, nil
		return nil
	}
	// Whatever way the loop ends, the chunk in flight is waited for: it
	// still uses the messages, and its outcome belongs in the report.
	defer func() { _ = finish() }()
	for i, r := range t.Rows {
		t.Rows[i] = Row{} // let the cells go once converted (a million rows weigh hundreds of MB)
		rep.Processed++
		v, ok := rowVals(r)
		if !ok {
			continue
		}
		var m model.Message
		var why *reason
		switch req.Kind {
		case KindContacts:
			m, why = contact(v, s)
		case KindConsents:
			m, why = consent(v, s)
		default:
			m, why = event(v, s, r.Line)
		}
		if why != nil {
			rejectRow(r.Line, why)
			continue
		}
		if state != nil {
			key, h := contactState(m, s)
			if state[key] == h {
				rep.Records++
				rep.Unchanged++
				continue
			}
			state[key] = h
			keys, hashes = append(keys, key), append(hashes, h)
			// Unique to this import and row: never taken for an earlier
			// write of the same content (see state above).
			m.MessageID = "import-" + h + "-" + strconv.FormatInt(s.now.UnixNano(), 36) + "-" + strconv.Itoa(r.Line)
		}
		msgs, lines = append(msgs, m), append(lines, r.Line)
		if len(msgs) >= im.Chunk {
			if err := flush(); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			if werr := wait(); werr != nil {
				return werr
			}
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return finish()
}

func (im *Importer) runProducts(ctx context.Context, req Request, t *Table, p *plan, s source, rep *Report, rowVals rowFn, rejectRow rejectFn, progress func()) error {
	byID := map[string]store.ProductRow{}
	firstRow := map[string]int{}
	var order []string
	for _, r := range t.Rows {
		v, ok := rowVals(r)
		if !ok {
			continue
		}
		pr, why := product(v, s, p.m.Currency)
		if why != nil {
			rejectRow(r.Line, why)
			continue
		}
		if prev, dup := byID[pr.ProductID]; !dup {
			order = append(order, pr.ProductID)
			firstRow[pr.ProductID] = r.Line
		} else if prev.RowHash != pr.RowHash {
			rep.warn(Reject{Row: r.Line, Column: p.columnOf("product_id"), Value: pr.ProductID,
				Reason: "product " + pr.ProductID + " already appears on row " + itoa(firstRow[pr.ProductID]) + " with other values: this later row wins"})
		}
		byID[pr.ProductID] = pr // the last row of a product wins
	}
	rep.Records = len(order)
	rep.Processed = len(t.Rows)
	if req.DryRun {
		return nil
	}
	have, err := im.St.ProductHashes(ctx, s.id)
	if err != nil {
		return err
	}
	for start := 0; start < len(order); start += im.Chunk {
		chunk := order[start:min(start+im.Chunk, len(order))]
		var write []store.ProductRow
		var replace []string
		for _, id := range chunk {
			pr := byID[id]
			old, existed := have[id]
			switch {
			case existed && old == pr.RowHash:
				rep.Unchanged++
				continue
			case existed:
				rep.Updated++
				replace = append(replace, id)
			default:
				rep.Created++
			}
			write = append(write, pr)
		}
		if len(write) > 0 {
			if err := im.W.Exclusive(ctx, func(ctx context.Context, _ ingest.Lookup) error {
				return im.St.ApplyProducts(ctx, s.id, write, replace, s.now)
			}); err != nil {
				return fmt.Errorf("write products: %w", err)
			}
		}
		progress()
	}
	return nil
}

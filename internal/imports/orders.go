package imports

// Orders and order lines: rows grouped into orders, their customers resolved
// through the writer, and each chunk of orders written in one transaction.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

func (im *Importer) runOrders(ctx context.Context, req Request, t *Table, p *plan, s source, rep *Report, rowVals rowFn, rejectRow rejectFn, progress func()) error {
	accs := map[string]*orderAcc{}
	var ids []string
	// An order with a rejected row is left out whole: storing the rest
	// would store a different order (fewer lines, another total).
	bad := map[string]int{}    // order id → its first rejected row
	rejected := map[int]bool{} // rows already rejected
	for i, r := range t.Rows {
		t.Rows[i] = Row{}
		v, ok := rowVals(r)
		if !ok {
			rejected[r.Line] = true
			if id := p.valueOf(r, "order_id"); id != "" && bad[id] == 0 {
				bad[id] = r.Line
			}
			continue
		}
		if why := addOrderRow(accs, &ids, v, r.Line, p, s); why != nil {
			rejectRow(r.Line, why)
			rejected[r.Line] = true
			id := str(v, "order_id")
			if id == "" {
				id = "row-" + itoa(r.Line)
			}
			if bad[id] == 0 {
				bad[id] = r.Line
			}
		}
	}
	if len(bad) > 0 {
		kept := ids[:0]
		for _, id := range ids {
			line, isBad := bad[id]
			if !isBad {
				kept = append(kept, id)
				continue
			}
			for _, l := range accs[id].rows {
				if !rejected[l] {
					rejectRow(l, &reason{"order_id", id, "order " + id + " is left out whole: its row " + itoa(line) +
						" was rejected (a partial order is never stored)"})
				}
			}
			delete(accs, id)
		}
		ids = kept
	}
	// order_items: lines complete the orders already stored.
	if req.Kind == KindOrderItems && !req.DryRun {
		heads, err := im.St.OrderHeaders(ctx, s.id)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if h, ok := heads[id]; ok {
				accs[id].completeFrom(h)
			}
		}
	}
	// An order without a date cannot be placed in time: its rows are rejected.
	kept := ids[:0]
	for _, id := range ids {
		a := accs[id]
		if !a.hasDate {
			for _, l := range a.rows {
				why := "order " + id + " has no date (map a date column to ordered_at)"
				if req.Kind == KindOrderItems {
					why = "order " + id + " is not known in this source and its lines have no date: import its header first (orders) or map ordered_at"
				}
				rejectRow(l, &reason{"ordered_at", "", why})
			}
			delete(accs, id)
			continue
		}
		if w := finishOrder(a); w != "" {
			rep.warn(Reject{Row: a.firstLine, Column: "total", Value: ftoa(a.row.Total), Reason: w})
		}
		kept = append(kept, id)
	}
	ids = kept
	custs := map[string]bool{}
	for _, id := range ids {
		a := accs[id]
		rep.Lines += len(a.row.Items)
		if !nonRevenue[a.row.Status] {
			rep.Revenue += a.row.Total
		}
		switch {
		case a.row.CustomerKey != "" || a.email != "" || a.phone != "":
			custs[a.row.CustomerKey+"\x00"+a.email+"\x00"+a.phone] = true
		case a.prevProfile != "":
			// Lines of a stored order whose customer the line file does not
			// name: the order's profile is its customer.
			custs["\x00\x00\x00"+a.prevProfile] = true
		default:
			rep.GuestOrders++
		}
	}
	rep.Revenue = round6(rep.Revenue)
	rep.Customers = countCustomers(custs, nil)
	rep.Records = len(ids)
	if req.DryRun {
		rep.Processed = len(t.Rows)
		return nil
	}
	// Customers first, through identity resolution, so that orders attach
	// to their profiles (creating one for a customer seen for the first
	// time). Customers the identity graph already knows by every key the
	// order gives need no message.
	known := map[string]bool{} // the graph knows the customer by every key
	guest := map[string]bool{} // every key is a placeholder ("0", "guest"...)
	var msgs []model.Message
	if err := im.W.Exclusive(ctx, func(_ context.Context, l ingest.Lookup) error {
		for _, id := range ids {
			a := accs[id]
			k := a.row.CustomerKey + "\x00" + a.email + "\x00" + a.phone
			if (a.row.CustomerKey == "" && a.email == "" && a.phone == "") || known[k] || guest[k] {
				continue
			}
			m := customerMessage(a, s)
			if len(l.Identifiers(&m)) == 0 {
				guest[k] = true
				continue
			}
			all := true
			for _, x := range keys(l, s, a) {
				if l.ProfileFor([]model.Identifier{x}) == "" {
					all = false
					break
				}
			}
			if all {
				known[k] = true
				continue
			}
			known[k] = true // one message per customer
			msgs = append(msgs, m)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("resolve customers: %w", err)
	}
	for start := 0; start < len(msgs); start += im.Chunk {
		if _, err := im.W.SubmitDetails(ctx, msgs[start:min(start+im.Chunk, len(msgs))]); err != nil {
			return fmt.Errorf("write customers: %w", err)
		}
	}
	rep.Customers = countCustomers(custs, guest)
	for _, id := range ids {
		a := accs[id]
		if guest[a.row.CustomerKey+"\x00"+a.email+"\x00"+a.phone] {
			rep.GuestOrders++
			rep.warn(Reject{Row: a.firstLine, Column: p.columnOf("customer_id"), Reason: "the customer key is a placeholder value the identity rules ignore: kept as a guest order"})
		}
	}
	have, err := im.St.OrderHashes(ctx, s.id)
	if err != nil {
		return err
	}
	// An orders file without line columns, over orders whose lines came
	// from an order_items file: the lines are kept and the header compared
	// field by field (its fingerprint never covered those lines).
	var withLines map[string]store.OrderRow
	if req.Kind == KindOrders && !p.hasAny(lineFields...) {
		heads, err := im.St.OrderHeaders(ctx, s.id)
		if err != nil {
			return err
		}
		withLines = map[string]store.OrderRow{}
		for id, h := range heads {
			if len(h.Items) > 0 {
				withLines[id] = h
			}
		}
	}
	linesPerChunk := im.Chunk * 4
	for start := 0; start < len(ids); {
		end, n := start, 0
		for end < len(ids) && (end-start < im.Chunk) && n < linesPerChunk {
			n += len(accs[ids[end]].row.Items) + 1
			end++
		}
		chunk := ids[start:end]
		start = end
		var write, headers []store.OrderRow
		var replace []string
		for _, id := range chunk {
			a := accs[id]
			if h, ok := withLines[id]; ok {
				if a.total == nil {
					a.row.Total = h.Total // the file says none: the stored one stands
				}
				if sameHeader(&a.row, &h) {
					rep.Unchanged++
				} else {
					rep.Updated++
					headers = append(headers, a.row)
				}
				continue
			}
			old, existed := have[id]
			switch {
			case existed && old == a.row.RowHash:
				rep.Unchanged++
				continue
			case existed:
				rep.Updated++
				replace = append(replace, id)
			default:
				rep.Created++
			}
			write = append(write, a.row)
		}
		if len(write)+len(headers) > 0 {
			err := im.W.Exclusive(ctx, func(ctx context.Context, l ingest.Lookup) error {
				for _, rows := range [][]store.OrderRow{write, headers} {
					for i := range rows {
						a := accs[rows[i].OrderID]
						rows[i].ProfileID = l.ProfileFor(keys(l, s, a))
						if rows[i].ProfileID == "" {
							rows[i].ProfileID = withLines[rows[i].OrderID].ProfileID
						}
						if rows[i].ProfileID == "" {
							rows[i].ProfileID = a.prevProfile
						}
					}
				}
				if len(headers) > 0 {
					if err := im.St.UpdateOrderHeaders(ctx, s.id, headers, s.now); err != nil {
						return err
					}
				}
				if len(write) == 0 {
					return nil
				}
				return im.St.ApplyOrders(ctx, s.id, write, replace, s.now)
			})
			if err != nil {
				return fmt.Errorf("write orders: %w", err)
			}
		}
		for _, id := range chunk {
			rep.Processed += max(1, len(accs[id].row.Items))
		}
		progress()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	rep.Processed = len(t.Rows)
	return nil
}

// lineFields are the fields that make an orders file carry lines.
var lineFields = []string{"product_id", "product_name", "quantity", "unit_price", "amount", "category", "line_no", "line_status"}

// sameHeader reports whether an order read from a file without lines has
// the stored header h.
func sameHeader(o, h *store.OrderRow) bool {
	f := func(x *float64) float64 {
		if x == nil {
			return math.NaN()
		}
		return *x
	}
	eqF := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || math.Abs(f(a)-f(b)) < 0.005) }
	var ao, ah any
	_ = json.Unmarshal(o.Attributes, &ao)
	_ = json.Unmarshal(h.Attributes, &ah)
	if m, ok := ao.(map[string]any); ok && len(m) == 0 {
		ao = nil
	}
	if m, ok := ah.(map[string]any); ok && len(m) == 0 {
		ah = nil
	}
	return o.Status == h.Status && o.CustomerKey == h.CustomerKey && o.Currency == h.Currency &&
		math.Abs(o.Total-h.Total) < 0.005 && o.OrderedAt.Equal(h.OrderedAt) && eqF(o.Subtotal, h.Subtotal) &&
		eqF(o.Tax, h.Tax) && eqF(o.Shipping, h.Shipping) && eqF(o.Discount, h.Discount) && reflect.DeepEqual(ao, ah)
}

// countCustomers counts the people behind the orders' customer keys (each
// "customer id\x00e-mail\x00phone", or "\x00\x00\x00profile" for lines of
// a stored order): keys sharing a customer id, an e-mail or a phone are one
// customer (K9 with k9@, K9 alone and k9@ alone are one).
// Keys in skip (placeholders) are left out.
func countCustomers(keys, skip map[string]bool) int {
	parent := map[string]string{}
	var find func(x string) string
	find = func(x string) string {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	owner := map[string]string{} // "0"+id, "1"+email, "2"+phone → a key holding it
	for k := range keys {
		if skip[k] {
			continue
		}
		parent[k] = k
	}
	for k := range parent {
		for i, part := range strings.SplitN(k, "\x00", 4) {
			if part == "" {
				continue
			}
			tag := strconv.Itoa(i) + part
			if o, ok := owner[tag]; ok {
				parent[find(k)] = find(o)
			} else {
				owner[tag] = k
			}
		}
	}
	n := 0
	for k := range parent {
		if find(k) == k {
			n++
		}
	}
	return n
}

// customerMessage is the identify that makes an order's customer known.
func customerMessage(a *orderAcc, s source) model.Message {
	m := model.Message{Type: model.Identify, SourceID: s.id, Timestamp: s.now, ReceivedAt: s.now}
	traits := map[string]any{}
	if a.email != "" {
		traits["email"] = a.email
	}
	if a.phone != "" {
		traits["phone"] = a.phone
	}
	if len(traits) > 0 {
		m.Traits = traits
	}
	if a.row.CustomerKey != "" {
		m.ExternalIDs = []model.ExternalID{{ID: a.row.CustomerKey, Type: s.custType, Collection: "users"}}
	}
	m.MessageID = "import-" + digest("order-customer", s.custType, a.row.CustomerKey, traits)
	return m
}

// keys lists the identifiers an order's customer is known by, strongest first.
func keys(l ingest.Lookup, s source, a *orderAcc) []model.Identifier {
	var ids []model.Identifier
	if a.row.CustomerKey != "" {
		ids = append(ids, model.Identifier{Type: s.custType, Value: strings.TrimSpace(a.row.CustomerKey)})
	}
	if a.email != "" {
		if k, ok := l.EmailKey(a.email); ok {
			ids = append(ids, model.Identifier{Type: model.IDEmail, Value: k})
		}
	}
	if a.phone != "" {
		if k, ok := l.PhoneKey(a.phone); ok {
			ids = append(ids, model.Identifier{Type: model.IDPhone, Value: k})
		}
	}
	return ids
}

package imports_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
)

// flaky fails its failAt-th call of either method (orders, whose calls
// come one at a time), or its failSubmit-th SubmitDetails (contacts, whose
// state is recorded through Exclusive beside the next write).
type flaky struct {
	imports.Writer
	mu                  sync.Mutex
	calls, failAt       int
	submits, failSubmit int
}

var errCrash = errors.New("crash")

func (f *flaky) SubmitDetails(ctx context.Context, msgs []model.Message) ([]ingest.Detail, error) {
	f.mu.Lock()
	f.calls++
	f.submits++
	crash := f.calls == f.failAt || f.submits == f.failSubmit
	f.mu.Unlock()
	if crash {
		return nil, errCrash
	}
	return f.Writer.SubmitDetails(ctx, msgs)
}

func (f *flaky) Exclusive(ctx context.Context, fn func(ctx context.Context, l ingest.Lookup) error) error {
	f.mu.Lock()
	f.calls++
	crash := f.calls == f.failAt
	f.mu.Unlock()
	if crash {
		return errCrash
	}
	return f.Writer.Exclusive(ctx, fn)
}

// An import that fails half-way leaves whole chunks behind; running it
// again completes it, and the workspace ends as after one clean run.
func TestFailedImportResumes(t *testing.T) {
	var contacts, orders strings.Builder
	contacts.WriteString("id;email\n")
	orders.WriteString("order_id;date;customer_id;total\n")
	for i := 0; i < 2500; i++ {
		fmt.Fprintf(&contacts, "%d;p%d@example.fr\n", i, i)
		fmt.Fprintf(&orders, "O%d;2024-01-02;%d;%d,50\n", i, i, i)
	}
	s := newWS(t)
	run := func(w imports.Writer, kind, data string) (imports.Report, error) {
		im := &imports.Importer{W: w, St: s.db, Now: time.Now, Chunk: 1000}
		var rep imports.Report
		err := im.Run(context.Background(), imports.Request{Kind: kind, SourceID: "src-1", SourceName: "crm", FileName: "f.csv"}, []byte(data), &rep)
		return rep, err
	}
	// Contacts: the second chunk's write crashes.
	if _, err := run(&flaky{Writer: s.w, failSubmit: 2}, imports.KindContacts, contacts.String()); !errors.Is(err, errCrash) {
		t.Fatalf("want the injected crash, got %v", err)
	}
	if got := s.int(`SELECT count(*) FROM profiles`); got != 1000 {
		t.Errorf("after the crash: %d profiles, want the first whole chunk (1000)", got)
	}
	rep, err := run(s.w, imports.KindContacts, contacts.String())
	if err != nil || rep.Unchanged != 1000 || rep.Created != 1500 {
		t.Fatalf("re-run: %+v %v", rep, err)
	}
	// Orders: call 1 finds the customers the graph knows (all but "0", a
	// placeholder the identity rules ignore, so a guest order), then orders
	// are written in chunks of 1000: the crash hits the second.
	if _, err := run(&flaky{Writer: s.w, failAt: 3}, imports.KindOrders, orders.String()); !errors.Is(err, errCrash) {
		t.Fatalf("want the injected crash, got %v", err)
	}
	if got := s.int(`SELECT count(*) FROM orders`); got != 1000 {
		t.Errorf("after the crash: %d orders, want 1000", got)
	}
	rep, err = run(s.w, imports.KindOrders, orders.String())
	if err != nil || rep.Unchanged != 1000 || rep.Created != 1500 || rep.GuestOrders != 1 || len(rep.Warnings) != 1 {
		t.Fatalf("re-run: %+v %v", rep, err)
	}
	if got := s.int(`SELECT count(*) FROM profiles`); got != 2500 {
		t.Errorf("%d profiles, want 2500", got)
	}
	if got := s.int(`SELECT count(*) FROM orders WHERE profile_id IS NOT NULL`); got != 2499 {
		t.Errorf("%d attached orders, want 2499 (customer 0 is a placeholder)", got)
	}
	if got := s.int(`SELECT count(*) FROM orders`); got != 2500 {
		t.Errorf("%d orders, want 2500", got)
	}
}

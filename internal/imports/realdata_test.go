package imports_test

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/imports"
)

func near(a, b float64) bool { return math.Abs(a-b) < 0.005 }

// UCI Online Retail: invoice lines become orders with lines; invoices with a
// C prefix are cancellations; lines without a customer are guest orders.
func TestOnlineRetailOrders(t *testing.T) {
	const file = "testdata/online_retail_sample_20k.csv"
	o := oracle(t)
	src := `(SELECT * FROM read_csv('` + file + `', all_varchar = true))`
	wantLines := scalar[int](t, o, `SELECT count(*) FROM `+src)
	wantOrders := scalar[int](t, o, `SELECT count(DISTINCT InvoiceNo) FROM `+src)
	wantCustomers := scalar[int](t, o, `SELECT count(DISTINCT CustomerID) FROM `+src+` WHERE CustomerID <> 'NA'`)
	wantGuest := scalar[int](t, o, `SELECT count(DISTINCT InvoiceNo) FROM `+src+` WHERE CustomerID = 'NA'`)
	wantCancelled := scalar[int](t, o, `SELECT count(DISTINCT InvoiceNo) FROM `+src+` WHERE InvoiceNo LIKE 'C%'`)
	wantRevenue := scalar[float64](t, o, `SELECT sum(CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE)) FROM `+src+` WHERE InvoiceNo NOT LIKE 'C%'`)
	t.Logf("oracle: lines %d orders %d customers %d guest %d cancelled %d revenue %.2f", wantLines, wantOrders, wantCustomers, wantGuest, wantCancelled, wantRevenue)

	s := newWS(t)
	rep := s.run(imports.KindOrders, "online_retail_sample_20k.csv", nil, imports.Request{SourceName: "eshop"})
	if rep.Rejected != 0 {
		t.Errorf("rejected %d: %+v", rep.Rejected, rep.Rejects[:min(5, len(rep.Rejects))])
	}
	if rep.RowsRead != wantLines || rep.Lines != wantLines || rep.Records != wantOrders || rep.Created != wantOrders {
		t.Errorf("report rows %d lines %d orders %d created %d, want %d lines and %d orders", rep.RowsRead, rep.Lines, rep.Records, rep.Created, wantLines, wantOrders)
	}
	if rep.GuestOrders != wantGuest || rep.Customers != wantCustomers || !near(rep.Revenue, wantRevenue) {
		t.Errorf("report guest %d customers %d revenue %.4f, want %d, %d, %.4f", rep.GuestOrders, rep.Customers, rep.Revenue, wantGuest, wantCustomers, wantRevenue)
	}
	if got := s.int(`SELECT count(*) FROM orders`); got != wantOrders {
		t.Errorf("orders %d, want %d", got, wantOrders)
	}
	if got := s.int(`SELECT count(*) FROM order_items`); got != wantLines {
		t.Errorf("order lines %d, want %d", got, wantLines)
	}
	if got := s.int(`SELECT count(*) FROM orders WHERE profile_id IS NULL`); got != wantGuest {
		t.Errorf("guest orders %d, want %d", got, wantGuest)
	}
	if got := s.int(`SELECT count(DISTINCT profile_id) FROM orders`); got != wantCustomers {
		t.Errorf("customers with orders %d, want %d", got, wantCustomers)
	}
	if got := s.int(`SELECT count(*) FROM profiles`); got != wantCustomers {
		t.Errorf("profiles %d, want %d", got, wantCustomers)
	}
	if got := s.int(`SELECT count(*) FROM orders WHERE status = 'cancelled'`); got != wantCancelled {
		t.Errorf("cancelled orders %d, want %d", got, wantCancelled)
	}
	if got := s.float(`SELECT sum(total) FROM orders WHERE status NOT IN ('cancelled', 'refunded', 'returned')`); !near(got, wantRevenue) {
		t.Errorf("revenue %.4f, want %.4f", got, wantRevenue)
	}

	// Importing the same file again changes nothing.
	again := s.run(imports.KindOrders, "online_retail_sample_20k.csv", nil, imports.Request{SourceName: "eshop"})
	if again.Unchanged != wantOrders || again.Created != 0 || again.Updated != 0 {
		t.Errorf("re-import: created %d updated %d unchanged %d, want all %d unchanged", again.Created, again.Updated, again.Unchanged, wantOrders)
	}
	if got := s.int(`SELECT count(*) FROM order_items`); got != wantLines {
		t.Errorf("order lines after re-import %d, want %d", got, wantLines)
	}
	if got := s.int(`SELECT count(*) FROM profiles`); got != wantCustomers {
		t.Errorf("profiles after re-import %d, want %d", got, wantCustomers)
	}
}

// CDNOW: one row per purchase (customer, date, number of CDs, dollars), no
// order id; a mapping names the columns.
func TestCDNOWOrders(t *testing.T) {
	const file = "testdata/cdnow_master.csv"
	o := oracle(t)
	src := `read_csv('` + file + `', all_varchar = true)`
	wantRows := scalar[int](t, o, `SELECT count(*) FROM `+src)
	wantCustomers := scalar[int](t, o, `SELECT count(DISTINCT customer_id) FROM `+src)
	wantRevenue := scalar[float64](t, o, `SELECT sum(CAST(dollar_value AS DOUBLE)) FROM `+src)
	wantCDs := scalar[float64](t, o, `SELECT sum(CAST(number_of_cds AS DOUBLE)) FROM `+src)
	t.Logf("oracle: rows %d customers %d revenue %.2f cds %.0f", wantRows, wantCustomers, wantRevenue, wantCDs)

	mb, err := os.ReadFile("testdata/cdnow.mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := imports.ParseMapping(mb)
	if err != nil {
		t.Fatal(err)
	}
	s := newWS(t)
	rep := s.run(imports.KindOrders, "cdnow_master.csv", nil, imports.Request{SourceName: "cdnow", Mapping: m})
	if rep.Rejected != 0 || rep.Records != wantRows || rep.Customers != wantCustomers || !near(rep.Revenue, wantRevenue) {
		t.Errorf("report: rejected %d orders %d customers %d revenue %.4f; want 0, %d, %d, %.4f", rep.Rejected, rep.Records, rep.Customers, rep.Revenue, wantRows, wantCustomers, wantRevenue)
	}
	if got := s.int(`SELECT count(*) FROM orders`); got != wantRows {
		t.Errorf("orders %d, want %d", got, wantRows)
	}
	if got := s.int(`SELECT count(*) FROM profiles`); got != wantCustomers {
		t.Errorf("profiles %d, want %d", got, wantCustomers)
	}
	if got := s.float(`SELECT sum(total) FROM orders`); !near(got, wantRevenue) {
		t.Errorf("revenue %.4f, want %.4f", got, wantRevenue)
	}
	if got := s.float(`SELECT sum(quantity) FROM order_items`); got != wantCDs {
		t.Errorf("CDs %.0f, want %.0f", got, wantCDs)
	}
	if got := s.int(`SELECT count(*) FROM orders WHERE currency = 'USD' AND profile_id IS NOT NULL`); got != wantRows {
		t.Errorf("attached USD orders %d, want %d", got, wantRows)
	}
}

// FEBRL 1-3 as CRM contacts: every record becomes a profile keyed by its
// rec_id (no e-mail or phone to merge on), with a YYYYMMDD birth date.
func TestFEBRLContacts(t *testing.T) {
	for _, f := range []string{"febrl1.csv", "febrl2.csv", "febrl3.csv"} {
		t.Run(f, func(t *testing.T) {
			o := oracle(t)
			// FEBRL writes ", " between fields; trim like a reader with "skip initial space".
			src := `(SELECT trim(date_of_birth) AS dob FROM read_csv('testdata/` + f + `', all_varchar = true, normalize_names = true))`
			wantRows := scalar[int](t, o, `SELECT count(*) FROM `+src)
			wantBadDOB := scalar[int](t, o, `SELECT count(*) FROM `+src+` WHERE dob IS NOT NULL AND dob <> '' AND try_strptime(dob, '%Y%m%d') IS NULL`)
			t.Logf("oracle: rows %d invalid birth dates %d", wantRows, wantBadDOB)

			s := newWS(t)
			rep := s.run(imports.KindContacts, f, nil, imports.Request{SourceName: "crm"})
			if rep.RowsRead != wantRows || rep.Rejected != wantBadDOB || rep.Created != wantRows-wantBadDOB {
				t.Errorf("read %d rejected %d created %d; want %d, %d, %d", rep.RowsRead, rep.Rejected, rep.Created, wantRows, wantBadDOB, wantRows-wantBadDOB)
			}
			for _, r := range rep.Rejects {
				if r.Column != "date_of_birth" || r.Row < 2 {
					t.Errorf("reject %+v", r)
				}
			}
			if got := s.int(`SELECT count(*) FROM profiles`); got != wantRows-wantBadDOB {
				t.Errorf("profiles %d, want %d", got, wantRows-wantBadDOB)
			}
			if got := s.int(`SELECT count(*) FROM identities WHERE type = 'crm_customer_id'`); got != wantRows-wantBadDOB {
				t.Errorf("crm ids %d, want %d", got, wantRows-wantBadDOB)
			}
			again := s.run(imports.KindContacts, f, nil, imports.Request{SourceName: "crm"})
			if again.Unchanged != wantRows-wantBadDOB || again.Created+again.Updated != 0 {
				t.Errorf("re-import: %+v", again)
			}
		})
	}
}

// The dedupe Chicago file as a messy CRM export: quoted newlines inside
// fields, dates shifted into the e-mail column, phones shared by duplicates.
func TestChicagoMessyCRM(t *testing.T) {
	const file = "testdata/csv_example_messy_input.csv"
	o := oracle(t)
	src := `read_csv('` + file + `', all_varchar = true, quote = '"', escape = '"', header = true)`
	wantRows := scalar[int](t, o, `SELECT count(*) FROM `+src)
	wantBadEmail := scalar[int](t, o, `SELECT count(*) FROM `+src+` WHERE trim("Email Address") <> ''
		AND NOT regexp_matches(trim("Email Address"), '^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$')`)
	t.Logf("oracle: rows %d invalid e-mails %d", wantRows, wantBadEmail)

	s := newWS(t)
	rep := s.run(imports.KindContacts, "csv_example_messy_input.csv", nil, imports.Request{SourceName: "chicago"})
	if rep.RowsRead != wantRows || rep.Rejected != wantBadEmail {
		t.Errorf("read %d rejected %d; want %d and %d", rep.RowsRead, rep.Rejected, wantRows, wantBadEmail)
	}
	if rep.Created+rep.Updated+rep.Unchanged+rep.Rejected != rep.RowsRead {
		t.Errorf("rows unaccounted for: %+v", rep)
	}
	for _, r := range rep.Rejects {
		if r.Column != "Email Address" || r.Reason != "not a valid e-mail address" || !strings.Contains(r.Value, "9") {
			t.Errorf("reject %+v", r)
			break
		}
	}
	// Each imported record's id is either linked to a profile or, when the
	// record's phone resolved to a profile holding another id of the source
	// (one per profile, the default guard-rail), refused and audited.
	ids := s.int(`SELECT count(*) FROM identities WHERE type = 'chicago_customer_id'`)
	refused := s.int(`SELECT count(*) FROM audit_log WHERE action = 'identity_link_refused' AND details LIKE '%chicago_customer_id%'`)
	// Id "0" is one of the identity rules' placeholder values: ignored, audited.
	placeholders := s.int(`SELECT count(*) FROM audit_log WHERE action = 'placeholder_identifier_ignored' AND details LIKE '%chicago_customer_id%'`)
	t.Logf("ids linked %d, refused %d, placeholders %d, created %d, updated %d", ids, refused, placeholders, rep.Created, rep.Updated)
	if ids+refused+placeholders != wantRows-wantBadEmail {
		t.Errorf("ids %d + refused %d + placeholders %d, want %d", ids, refused, placeholders, wantRows-wantBadEmail)
	}
	// Records sharing a phone number resolve to one profile.
	if p := s.int(`SELECT count(*) FROM profiles WHERE merged_into IS NULL`); p >= wantRows-wantBadEmail {
		t.Errorf("%d live profiles: shared phones merged nothing", p)
	}
}

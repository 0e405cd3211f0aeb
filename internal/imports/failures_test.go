package imports_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/model"
)

// trait reads one trait of the profile holding an identifier.
func (s *ws) trait(idType, value, key string) string {
	s.t.Helper()
	var v *string
	err := s.q(`SELECT json_extract_string(p.traits, '$.' || ?) FROM identities i JOIN profiles p ON p.id = i.profile_id
		WHERE i.type = ? AND i.value = ?`, key, idType, value).Scan(&v)
	if err != nil {
		s.t.Fatalf("trait %s of %s=%s: %v", key, idType, value, err)
	}
	if v == nil {
		return ""
	}
	return *v
}

// Every failure kind listed under "Imports" in failure-kinds.md.
func TestFailureKinds(t *testing.T) {
	t.Run("byte-order mark glued to the first header", func(t *testing.T) {
		s := newWS(t)
		rep := s.run(imports.KindContacts, "bom.csv", []byte("\xEF\xBB\xBFemail,prenom\nbom@example.fr,Zoé\n"), imports.Request{})
		if rep.Created != 1 || rep.Encoding != "utf-8-bom" {
			t.Fatalf("report %+v", rep)
		}
		if got := s.trait("email", "bom@example.fr", "first_name"); got != "Zoé" {
			t.Errorf("first_name %q", got)
		}
	})
	t.Run("windows-1252 French file", func(t *testing.T) {
		s := newWS(t)
		data := []byte("courriel;pr\xe9nom;nom\nhelene@example.fr;H\xe9l\xe8ne;Lef\xe8vre\n")
		rep := s.run(imports.KindContacts, "cp1252.csv", data, imports.Request{})
		if rep.Encoding != "windows-1252" || rep.Created != 1 {
			t.Fatalf("report %+v", rep)
		}
		if got := s.trait("email", "helene@example.fr", "first_name"); got != "Hélène" {
			t.Errorf("first_name %q", got)
		}
		if got := s.trait("email", "helene@example.fr", "last_name"); got != "Lefèvre" {
			t.Errorf("last_name %q", got)
		}
	})
	t.Run("UTF-16 with BOM", func(t *testing.T) {
		s := newWS(t)
		text := "email\tprenom\nutf16@example.fr\tAnaïs\n"
		data := []byte{0xff, 0xfe}
		for _, r := range text {
			data = append(data, byte(r), byte(r>>8))
		}
		rep := s.run(imports.KindContacts, "u16.txt", data, imports.Request{})
		if rep.Encoding != "utf-16le" || rep.Delimiter != "tab" || rep.Created != 1 {
			t.Fatalf("report %+v", rep)
		}
		if got := s.trait("email", "utf16@example.fr", "first_name"); got != "Anaïs" {
			t.Errorf("first_name %q", got)
		}
	})
	t.Run("semicolon CSV", func(t *testing.T) {
		s := newWS(t)
		rep := s.run(imports.KindContacts, "semi.csv", []byte("id;email;ville\n1;a@example.fr;Lyon\n2;b@example.fr;Paris, 15e\n"), imports.Request{})
		if rep.Delimiter != ";" || rep.Created != 2 {
			t.Fatalf("report %+v", rep)
		}
		if got := s.trait("email", "b@example.fr", "city"); got != "Paris, 15e" {
			t.Errorf("city %q", got)
		}
	})
	t.Run("day-first proven by 15/04/1991", func(t *testing.T) {
		s := newWS(t)
		data := "email;date_naissance\nd1@example.fr;03/04/1991\nd2@example.fr;15/04/1991\n"
		rep := s.run(imports.KindContacts, "dates.csv", []byte(data), imports.Request{})
		if rep.Created != 2 || rep.DateOrders["birthdate"] != "day-first" {
			t.Fatalf("report %+v", rep)
		}
		if got := s.trait("email", "d1@example.fr", "birthdate"); got != "1991-04-03" {
			t.Errorf("03/04/1991 read as %s, want 3 April", got)
		}
	})
	t.Run("ambiguous dates need a format and say so", func(t *testing.T) {
		s := newWS(t)
		data := []byte("email;date_naissance\na1@example.fr;03/04/1991\na2@example.fr;05/06/1990\na3@example.fr;07/07/1990\n")
		rep := s.run(imports.KindContacts, "ambiguous.csv", data, imports.Request{SourceName: "amb"})
		if rep.Rejected != 2 || rep.Created != 1 {
			t.Fatalf("report %+v", rep)
		}
		r := rep.Rejects[0]
		if r.Row != 2 || r.Column != "date_naissance" || !strings.Contains(r.Reason, "--date-format") || r.Value != "09/99/9999" {
			t.Errorf("reject %+v", r)
		}
		rep = s.run(imports.KindContacts, "ambiguous.csv", data, imports.Request{SourceName: "amb", DateFormat: "MM/DD/YYYY"})
		if rep.Rejected != 0 || rep.Created != 2 || rep.Unchanged != 1 {
			t.Fatalf("with --date-format: %+v", rep)
		}
		if got := s.trait("email", "a1@example.fr", "birthdate"); got != "1991-03-04" {
			t.Errorf("month-first 03/04/1991 read as %s", got)
		}
	})
	t.Run("newlines inside quoted fields", func(t *testing.T) {
		s := newWS(t)
		data := "id,email,adresse\n1,q@example.fr,\"12 rue des Lilas\nBâtiment B\"\n2,r@example.fr,\"3 \"\"bis\"\" place\"\n"
		rep := s.run(imports.KindContacts, "quoted.csv", []byte(data), imports.Request{})
		if rep.RowsRead != 2 || rep.Created != 2 {
			t.Fatalf("report %+v", rep)
		}
		if got := s.trait("email", "q@example.fr", "address"); got != "12 rue des Lilas\nBâtiment B" {
			t.Errorf("address %q", got)
		}
		if got := s.trait("email", "r@example.fr", "address"); got != `3 "bis" place` {
			t.Errorf("address %q", got)
		}
	})
	t.Run("Excel serial dates", func(t *testing.T) {
		s := newWS(t)
		rep := s.run(imports.KindContacts, "serial.csv", []byte("email,birthdate\nx@example.fr,33348\n"), imports.Request{})
		if rep.Created != 1 {
			t.Fatalf("report %+v", rep)
		}
		// Serial 33348 is 20/04/1991 in Excel (epoch 1899-12-30, checked with Python's datetime).
		if got := s.trait("email", "x@example.fr", "birthdate"); got != "1991-04-20" {
			t.Errorf("birthdate %s", got)
		}
	})
	t.Run("decimal commas", func(t *testing.T) {
		s := newWS(t)
		data := "commande;date;email;total;prix_unitaire;quantite\nA1;15/04/2024;c@example.fr;\"1 012,50\";\"1 012,50\";1\nA2;16/04/2024;c@example.fr;12,5;6,25;2\n"
		rep := s.run(imports.KindOrders, "fr.csv", []byte(data), imports.Request{})
		if rep.Rejected != 0 || rep.Created != 2 || !near(rep.Revenue, 1025) || len(rep.Warnings) != 0 {
			t.Fatalf("report %+v", rep)
		}
		if got := s.float(`SELECT total FROM orders WHERE order_id = 'A1'`); got != 1012.5 {
			t.Errorf("total %v", got)
		}
	})
	t.Run("spaces around e-mails", func(t *testing.T) {
		s := newWS(t)
		rep := s.run(imports.KindContacts, "sp.csv", []byte("email,prenom\n  Spaces@Example.fr  ,Léa\n"), imports.Request{})
		if rep.Created != 1 {
			t.Fatalf("report %+v", rep)
		}
		// Found by its matching key; the trait keeps the value as typed, only
		// the CSV padding is trimmed (normalisation lives beside it).
		if got := s.trait("email", "spaces@example.fr", "email"); got != "Spaces@Example.fr" {
			t.Errorf("email trait %q", got)
		}
	})
	t.Run("a value changed and changed back is written both times", func(t *testing.T) {
		s := newWS(t)
		a := "id;email;code_postal\n1;a@example.fr;25000\n"
		b := "id;email;code_postal\n1;a@example.fr;25001\n"
		for i, c := range []struct {
			file                string
			created, upd, unchg int
			zip                 string
		}{{a, 1, 0, 0, "25000"}, {b, 0, 1, 0, "25001"}, {a, 0, 1, 0, "25000"}, {a, 0, 0, 1, "25000"}} {
			rep := s.run(imports.KindContacts, "crm.csv", []byte(c.file), imports.Request{SourceName: "crm"})
			if rep.Created != c.created || rep.Updated != c.upd || rep.Unchanged != c.unchg {
				t.Errorf("import %d: created %d updated %d unchanged %d, want %d %d %d", i+1, rep.Created, rep.Updated,
					rep.Unchanged, c.created, c.upd, c.unchg)
			}
			if got := s.trait("crm_customer_id", "1", "postal_code"); got != c.zip {
				t.Errorf("import %d: postal code %q, want %s", i+1, got, c.zip)
			}
		}
		// Inside one file the rows of a record apply in order: the last wins,
		// even when it repeats an earlier one.
		rep := s.run(imports.KindContacts, "crm.csv", []byte("id;email;ville\n7;w@example.fr;Lyon\n7;w@example.fr;Paris\n7;w@example.fr;Lyon\n"),
			imports.Request{SourceName: "crm"})
		if rep.Rejected != 0 || rep.Records != 3 {
			t.Errorf("repeated record: %+v", rep)
		}
		if got := s.trait("crm_customer_id", "7", "city"); got != "Lyon" {
			t.Errorf("city %q after Lyon, Paris, Lyon; want Lyon", got)
		}
		// A state row per version written (record 1 three times, record 7
		// once: its three rows were one chunk), each tied to its profile
		// (erasure removes them), holding no personal value.
		if got := s.int(`SELECT count(*) FROM import_state s JOIN identities i ON i.profile_id = s.profile_id
			WHERE i.type = 'crm_customer_id' AND i.value IN ('1', '7')`); got != 4 {
			t.Errorf("%d import_state rows tied to the two records' profiles, want 4", got)
		}
		if got := s.int(`SELECT count(DISTINCT record_key) FROM import_state`); got != 2 {
			t.Errorf("%d records in import_state, want 2", got)
		}
		if got := s.int(`SELECT count(*) FROM import_state WHERE record_key LIKE '%example%' OR row_hash LIKE '%example%'`); got != 0 {
			t.Errorf("%d import_state rows hold an e-mail in clear", got)
		}
	})
	t.Run("an order with a rejected row is left out whole", func(t *testing.T) {
		s := newWS(t)
		f := "order_id,order_date,customer_id,email,total,sku,qty,unit_price\n" +
			"B1,2024-05-01,K1,k1@example.fr,30,P1,1,10\n" +
			"B1,2024-05-01,K1,k1@example.fr,30,P2,deux,10\n" + // a quantity that is not a number
			"B3,2024-05-03,K4,not-an-email,10,P1,1,10\n" + // its only row: a broken e-mail
			"B2,2024-05-02,K2,k2@example.fr,10,P1,1,10\n"
		rep := s.run(imports.KindOrders, "o.csv", []byte(f), imports.Request{SourceName: "shop"})
		if rep.Created != 1 || rep.Rejected != 3 || rep.Records != 1 {
			t.Errorf("created %d rejected %d records %d, want 1, 3 (both rows of B1 and the row of B3), 1", rep.Created,
				rep.Rejected, rep.Records)
		}
		if got := s.int(`SELECT count(*) FROM orders`); got != 1 {
			t.Errorf("%d orders stored, want only B2", got)
		}
		if got := s.int(`SELECT count(*) FROM order_items`); got != 1 {
			t.Errorf("%d lines stored, want B2's one", got)
		}
		var whole bool
		for _, r := range rep.Rejects {
			if r.Row == 2 && strings.Contains(r.Reason, "left out whole: its row 3") {
				whole = true
			}
		}
		if !whole {
			t.Errorf("row 2 (B1's valid line) is not reported as left out with its order: %+v", rep.Rejects)
		}
	})
	t.Run("export quirks: trailing delimiter, CR line ends, N° columns, a year for a date", func(t *testing.T) {
		s := newWS(t)
		// An ERP header ending with the delimiter is still a header.
		rep := s.run(imports.KindOrders, "erp.csv", []byte("order_id;order_date;customer_id;total;\nA1;2024-01-02;K1;10;\nA2;2024-01-03;K2;20;\n"),
			imports.Request{SourceName: "erp"})
		if rep.Created != 2 || rep.Rejected != 0 {
			t.Errorf("trailing delimiter: created %d rejected %d %+v", rep.Created, rep.Rejected, rep.Rejects)
		}
		// Lines ended by CR alone.
		rep = s.run(imports.KindContacts, "mac.csv", []byte("id,email,first_name\rK1,k1@example.com,Kim\rK2,k2@example.com,Lou\r"),
			imports.Request{SourceName: "mac"})
		if rep.RowsRead != 2 || rep.Created != 2 {
			t.Errorf("CR line ends: read %d created %d %+v", rep.RowsRead, rep.Created, rep.Rejects)
		}
		// "N° commande" is the order id: two lines, one order.
		rep = s.run(imports.KindOrders, "fr.csv", []byte("N° commande;date;N° client;sku;quantite;prix\n77;2024-01-02;K1;A;1;10\n77;2024-01-02;K1;B;2;5\n"),
			imports.Request{SourceName: "fr"})
		if rep.Records != 1 || rep.Lines != 2 {
			t.Errorf("N° commande: %d orders, %d lines; want 1 order of 2 lines", rep.Records, rep.Lines)
		}
		// A UTF-8 file with one row pasted from a Windows-1252 export: each
		// line is read in its own encoding, and the report says so.
		mixed := append([]byte("id;email;prenom\n1;h@example.fr;Hélène\n2;c@example.fr;Chlo"), 0xe9) // é in Windows-1252
		mixed = append(mixed, "\n"...)
		rep = s.run(imports.KindContacts, "mixed.csv", mixed, imports.Request{SourceName: "mixed"})
		if rep.Created != 2 || !strings.Contains(rep.Encoding, "1 line(s) in windows-1252") {
			t.Errorf("mixed encodings: created %d, encoding %q", rep.Created, rep.Encoding)
		}
		if got := s.trait("mixed_customer_id", "1", "first_name"); got != "Hélène" {
			t.Errorf("the UTF-8 row's name %q, want Hélène", got)
		}
		if got := s.trait("mixed_customer_id", "2", "first_name"); got != "Chloé" {
			t.Errorf("the Windows-1252 row's name %q, want Chloé", got)
		}
		// Title lines above the header are skipped and said; row numbers stay
		// the file's.
		rep = s.run(imports.KindContacts, "titled.csv", []byte("Export clients actifs, CRM\nDate : 12/03/2024\n\nid;email;ville\n"+
			"1;t1@example.fr;Lyon\n2;t2@example.fr;Nice\n3;broken;Paris\n"), imports.Request{SourceName: "titled"})
		if rep.Created != 2 || rep.Rejected != 1 || len(rep.Rejects) != 1 || rep.Rejects[0].Row != 7 ||
			len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Reason, "2 title line(s)") {
			t.Errorf("title lines: created %d, rejects %+v, warnings %+v", rep.Created, rep.Rejects, rep.Warnings)
		}
		// Title lines padded with delimiters, as Excel saves them.
		rep = s.run(imports.KindContacts, "xl.csv", []byte("Export clients;;;\r\nDate 04/12/2024;;;\r\nCode client;Email;Prénom;Ville\r\n"+
			"E1;e1@example.com;Eva;Lyon\r\nE2;e2@example.com;Ugo;Nice\r\n"), imports.Request{SourceName: "xl"})
		if rep.Created != 2 || rep.Rejected != 0 || len(rep.Warnings) != 1 {
			t.Errorf("padded title lines: created %d, rejects %+v, warnings %+v", rep.Created, rep.Rejects, rep.Warnings)
		}
		// A stray NUL byte rejects its row, not the file.
		rep = s.run(imports.KindContacts, "nul.csv", []byte("id;email;ville\n1;n1@example.fr;Ly\x00on\n2;n2@example.fr;Nice\n"),
			imports.Request{SourceName: "nul"})
		if rep.Created != 1 || rep.Rejected != 1 || len(rep.Rejects) != 1 || rep.Rejects[0].Row != 2 ||
			!strings.Contains(rep.Rejects[0].Reason, "field 3 holds a NUL byte") || rep.Rejects[0].Column != "ville" {
			t.Errorf("a NUL in a cell: created %d, rejects %+v", rep.Created, rep.Rejects)
		}
		// Columns whose names differ only in case stay two fields.
		rep = s.run(imports.KindContacts, "case.csv", []byte("id;email;Note;note\n1;k@example.fr;a;b\n"), imports.Request{SourceName: "case"})
		if rep.Created != 1 || s.trait("case_customer_id", "1", "note") != "a" || s.trait("case_customer_id", "1", "note_col") != "b" {
			t.Errorf("Note and note: %+v", rep)
		}
		// A mapping for another kind, or sending two columns to one field, is refused.
		for _, c := range []struct{ yaml, want string }{
			{"kind: orders\nfields:\n  - field: email\n    column: a\n", "the mapping is for orders, and this is an import of contacts"},
			{"kind: contacts\nfields:\n  - field: email\n    column: a\n  - field: email\n    column: b\n", `two columns to email ("a" and "b")`},
		} {
			m, err := imports.ParseMapping([]byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.jobs.Run(context.Background(), imports.Request{Kind: imports.KindContacts, SourceName: "m", FileName: "m.csv",
				Mapping: m}, []byte("a;b\nx@example.fr;y@example.fr\n"), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("mapping %q: %v, want %q", c.yaml, err, c.want)
			}
		}
		// A column mixing both orders names a row of each, masked when personal.
		_, err := s.jobs.Run(context.Background(), imports.Request{Kind: imports.KindContacts, SourceName: "mx", FileName: "mx.csv"},
			[]byte("id;email;date_naissance\n1;a@example.fr;15/04/1991\n2;b@example.fr;01/01/1990\n3;c@example.fr;04/25/1991\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "row 2: 19/99/9999") || !strings.Contains(err.Error(), "row 4: 09/99/9999") {
			t.Errorf("mixed date orders: %v", err)
		}
		// A year alone is not taken for an Excel serial date (1991 would be 1905-06-13).
		rep = s.run(imports.KindContacts, "y.csv", []byte("id;email;date_naissance\n1;a@example.fr;1991\n2;b@example.fr;15/04/1991\n"),
			imports.Request{SourceName: "y"})
		if rep.Created != 1 || rep.Rejected != 1 || len(rep.Rejects) != 1 || !strings.Contains(rep.Rejects[0].Reason, "looks like a year") {
			t.Errorf("a year for a birthdate: created %d, rejects %+v", rep.Created, rep.Rejects)
		}
	})
	t.Run("a customer id the identity rules do not link is reported", func(t *testing.T) {
		s := newWS(t)
		// Two CRM customers sharing one e-mail: the e-mail joins W2 to W1's
		// profile, which already has its customer id, so W2 is not linked.
		rep := s.run(imports.KindContacts, "crm.csv", []byte("id;email;ville\nW1;w1@example.com;Lyon\nW2;w1@example.com;Nice\n"),
			imports.Request{SourceName: "crm"})
		if rep.Created != 1 || rep.Updated != 1 || len(rep.Warnings) != 1 || rep.Warnings[0].Row != 3 ||
			!strings.Contains(rep.Warnings[0].Reason, "not linked") || !strings.Contains(rep.Warnings[0].Column, "crm_customer_id") {
			t.Errorf("created %d updated %d warnings %+v", rep.Created, rep.Updated, rep.Warnings)
		}
	})
	t.Run("a headers-only orders file re-imported keeps the lines order_items added", func(t *testing.T) {
		s := newWS(t)
		heads := "order_id,customer_id,email,order_date,status\nH1,K1,k1@example.fr,2024-03-01,paid\nH2,K2,k2@example.fr,2024-03-02,paid\n"
		lines := "order_id,sku,qty,price\nH1,A,1,10\nH1,B,1,15.5\nH2,A,2,10\n"
		s.run(imports.KindOrders, "oh.csv", []byte(heads), imports.Request{SourceName: "erp"})
		s.run(imports.KindOrderItems, "oi.csv", []byte(lines), imports.Request{SourceName: "erp"})
		// An order known by its e-mail only: its lines' file names no
		// customer, and the order's profile is its customer, not a guest.
		s.run(imports.KindOrders, "oh2.csv", []byte("order_id,email,order_date\nH3,new@example.fr,2024-03-03\n"), imports.Request{SourceName: "erp"})
		items := s.run(imports.KindOrderItems, "oi2.csv", []byte("order_id,sku,qty,price\nH3,A,1,10\n"), imports.Request{SourceName: "erp"})
		if items.Customers != 1 || items.GuestOrders != 0 {
			t.Errorf("lines of an order known by e-mail: %d customers, %d guest orders; want 1, 0", items.Customers, items.GuestOrders)
		}
		again := s.run(imports.KindOrders, "oh.csv", []byte(heads), imports.Request{SourceName: "erp"})
		if again.Unchanged != 2 || again.Updated+again.Created != 0 {
			t.Errorf("headers again: %+v", again)
		}
		if got := s.int(`SELECT count(*) FROM order_items WHERE order_id IN ('H1', 'H2')`); got != 3 {
			t.Errorf("%d lines after the headers came again, want 3", got)
		}
		if got := s.float(`SELECT total FROM orders WHERE order_id = 'H1'`); got != 25.5 {
			t.Errorf("H1 total %v, want 25.5 from its lines", got)
		}
		edited := s.run(imports.KindOrders, "oh.csv", []byte(strings.Replace(heads, "H2,K2,k2@example.fr,2024-03-02,paid", "H2,K2,k2@example.fr,2024-03-02,refunded", 1)),
			imports.Request{SourceName: "erp"})
		if edited.Updated != 1 || edited.Unchanged != 1 {
			t.Errorf("one header edited: %+v", edited)
		}
		if got := s.int(`SELECT count(*) FROM order_items WHERE order_id = 'H2'`); got != 1 {
			t.Errorf("H2 has %d lines after its header changed, want 1", got)
		}
		if got := s.int(`SELECT count(*) FROM orders WHERE order_id = 'H2' AND status = 'refunded'`); got != 1 {
			t.Errorf("H2's new status was not stored")
		}
	})
	t.Run("customers are counted as people, not as key combinations", func(t *testing.T) {
		s := newWS(t)
		rep := s.run(imports.KindOrders, "o.csv", []byte("order_id;date;customer_id;email;total\n"+
			"O1;2024-01-02;K9;k9@example.fr;10\nO2;2024-01-03;K9;;10\nO3;2024-01-04;;k9@example.fr;10\nO4;2024-01-05;K8;;10\n"),
			imports.Request{SourceName: "shop"})
		if rep.Customers != 2 {
			t.Errorf("%d customers, want 2 (K9 with its e-mail, and K8)", rep.Customers)
		}
	})
	t.Run("imports without a source share customer ids", func(t *testing.T) {
		s := newWS(t)
		run := func(kind, data string) imports.Report {
			rep, err := s.jobs.Run(context.Background(), imports.Request{Kind: kind, FileName: "f.csv"}, []byte(data), nil)
			if err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			return rep
		}
		run(imports.KindContacts, "id;email\nC003;c3@example.fr\n")
		run(imports.KindOrders, "order_id;date;customer_id;total\nO1;2024-01-02;C003;10\n")
		items := run(imports.KindOrderItems, "order_id;sku;qty;price\nO1;A;2;5\n")
		if items.Rejected != 0 {
			t.Errorf("order lines without a source did not find their order: %+v", items.Rejects)
		}
		if got := s.int(`SELECT count(*) FROM profiles`); got != 1 {
			t.Errorf("%d profiles, want the contact's only (the order joined it by customer id)", got)
		}
		if got := s.int(`SELECT count(*) FROM orders o JOIN identities i ON i.profile_id = o.profile_id AND i.value = 'c3@example.fr'`); got != 1 {
			t.Errorf("the order is not on the contact's profile")
		}
	})
	t.Run("a consent row without a date is imported once", func(t *testing.T) {
		s := newWS(t)
		f := []byte("id_client,finalite,optin\nC005,email_marketing,1\n")
		first := s.run(imports.KindConsents, "c.csv", f, imports.Request{SourceName: "crm"})
		again := s.run(imports.KindConsents, "c.csv", f, imports.Request{SourceName: "crm"})
		if first.Created+first.Updated != 1 || again.Unchanged != 1 || again.Created+again.Updated != 0 {
			t.Errorf("first %+v, again %+v", first, again)
		}
		if got := s.int(`SELECT count(*) FROM consents`); got != 1 {
			t.Errorf("%d consent ledger rows after importing one row twice, want 1", got)
		}
	})
	t.Run("re-importing updates, never duplicates", func(t *testing.T) {
		s := newWS(t)
		v1 := "id;email;ville\n1;a@example.fr;Lyon\n2;b@example.fr;Paris\n"
		v2 := "id;email;ville\n1;a@example.fr;Lyon\n2;b@example.fr;Marseille\n3;c@example.fr;Nice\n"
		s.run(imports.KindContacts, "crm.csv", []byte(v1), imports.Request{SourceName: "crm"})
		same := s.run(imports.KindContacts, "crm.csv", []byte(v1), imports.Request{SourceName: "crm"})
		if same.Unchanged != 2 || same.Created+same.Updated != 0 {
			t.Errorf("same file: %+v", same)
		}
		edited := s.run(imports.KindContacts, "crm.csv", []byte(v2), imports.Request{SourceName: "crm"})
		if edited.Unchanged != 1 || edited.Updated != 1 || edited.Created != 1 {
			t.Errorf("edited file: created %d updated %d unchanged %d", edited.Created, edited.Updated, edited.Unchanged)
		}
		if got := s.int(`SELECT count(*) FROM profiles`); got != 3 {
			t.Errorf("profiles %d, want 3", got)
		}
		if got := s.trait("crm_customer_id", "2", "city"); got != "Marseille" {
			t.Errorf("city %q", got)
		}
		// Orders: an edited order is replaced, lines included.
		o1 := "order_id,date,customer_id,sku,qty,price\nO1,2024-01-02,1,A,1,10\nO1,2024-01-02,1,B,2,5\nO2,2024-01-03,2,A,1,10\n"
		o2 := "order_id,date,customer_id,sku,qty,price\nO1,2024-01-02,1,A,1,10\nO2,2024-01-03,2,A,3,10\n"
		s.run(imports.KindOrders, "o.csv", []byte(o1), imports.Request{SourceName: "crm"})
		r := s.run(imports.KindOrders, "o.csv", []byte(o1), imports.Request{SourceName: "crm"})
		if r.Unchanged != 2 {
			t.Errorf("orders same file: %+v", r)
		}
		r = s.run(imports.KindOrders, "o.csv", []byte(o2), imports.Request{SourceName: "crm"})
		if r.Updated != 2 || r.Unchanged != 0 {
			t.Errorf("orders edited: %+v", r)
		}
		if got := s.int(`SELECT count(*) FROM order_items`); got != 2 {
			t.Errorf("lines %d, want 2", got)
		}
		if got := s.float(`SELECT sum(total) FROM orders`); got != 40 {
			t.Errorf("total %v, want 40", got)
		}
		// Orders attached to the contacts imported earlier by customer id.
		if got := s.int(`SELECT count(*) FROM orders o JOIN identities i ON i.profile_id = o.profile_id AND i.type = 'crm_customer_id' AND i.value = o.customer_key`); got != 2 {
			t.Errorf("orders attached by customer id %d, want 2", got)
		}
		if got := s.int(`SELECT count(*) FROM profiles`); got != 3 {
			t.Errorf("profiles after orders %d, want 3", got)
		}
	})
}

// An imported contact whose e-mail a tracked visitor gave joins that
// visitor's profile; orders attach by e-mail; rejects mask personal values.
func TestContactJoinsTrackedVisitor(t *testing.T) {
	s := newWS(t)
	now := time.Now().UTC()
	src := s.run(imports.KindContacts, "seed.csv", []byte("id,email\n0,seed@example.fr\n"), imports.Request{SourceName: "web"})
	_ = src
	var webID string
	if err := s.q(`SELECT id FROM sources WHERE name = 'web'`).Scan(&webID); err != nil {
		t.Fatal(err)
	}
	_, err := s.w.Submit(context.Background(), []model.Message{{Type: model.Identify, SourceID: webID, MessageID: "m1",
		AnonymousID: "anon-1", Traits: map[string]any{"email": "visitor@example.fr"}, Timestamp: now, ReceivedAt: now}})
	if err != nil {
		t.Fatal(err)
	}
	rep := s.run(imports.KindContacts, "crm.csv", []byte("id;email;prenom\n77;Visitor@Example.fr ;Inès\n78;broken@;Bob\n"), imports.Request{SourceName: "crm"})
	if rep.Updated != 1 || rep.Created != 0 || rep.Rejected != 1 {
		t.Fatalf("report %+v", rep)
	}
	if r := rep.Rejects[0]; r.Row != 3 || r.Column != "email" || r.Value != "bxxxxx@" || strings.Contains(r.Value, "broken") {
		t.Errorf("reject %+v", r)
	}
	if got := s.trait("anonymous_id", "anon-1", "first_name"); got != "Inès" {
		t.Errorf("visitor's profile first_name %q", got)
	}
	if got := s.int(`SELECT count(DISTINCT profile_id) FROM identities WHERE (type = 'anonymous_id' AND value = 'anon-1') OR (type = 'crm_customer_id' AND value = '77')`); got != 1 {
		t.Errorf("visitor and CRM contact on %d profiles, want 1", got)
	}
	// An order by e-mail only attaches to the same profile; one with no key is a guest order.
	r := s.run(imports.KindOrders, "o.csv", []byte("order_id,order_date,email,total\nW1,2024-02-01T10:00:00+01:00,visitor@example.fr,30\nW2,2024-02-02,,12\n"), imports.Request{SourceName: "shop"})
	if r.Created != 2 || r.GuestOrders != 1 {
		t.Fatalf("orders %+v", r)
	}
	if got := s.int(`SELECT count(*) FROM orders o JOIN identities i ON i.profile_id = o.profile_id WHERE i.type = 'anonymous_id' AND i.value = 'anon-1'`); got != 1 {
		t.Errorf("order attached to the visitor: %d", got)
	}
	var at time.Time
	if err := s.q(`SELECT ordered_at FROM orders WHERE order_id = 'W1'`).Scan(&at); err != nil || !at.Equal(time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("ordered_at %v (%v), want 09:00 UTC", at, err)
	}
}

// Cancellations and refunds are statuses excluded from revenue; a total
// that disagrees with its lines is reported; a missing total is computed.
func TestOrderStatusesAndTotals(t *testing.T) {
	s := newWS(t)
	data := "order_id;date;status;total;sku;qty;price\n" +
		"1;2024-01-01;payée;;A;2;10\n" +
		"2;2024-01-01;Annulée;15;A;1;15\n" +
		"3;2024-01-02;remboursée;7;A;1;7\n" +
		"4;2024-01-02;;99;A;1;10\n"
	rep := s.run(imports.KindOrders, "st.csv", []byte(data), imports.Request{})
	if rep.Created != 4 || rep.GuestOrders != 4 || !near(rep.Revenue, 20+99) {
		t.Fatalf("report %+v", rep)
	}
	if len(rep.Warnings) != 1 || rep.Warnings[0].Row != 5 || !strings.Contains(rep.Warnings[0].Reason, "disagrees") {
		t.Errorf("warnings %+v", rep.Warnings)
	}
	for id, want := range map[string]string{"1": "completed", "2": "cancelled", "3": "refunded", "4": "completed"} {
		var st string
		if err := s.q(`SELECT status FROM orders WHERE order_id = ?`, id).Scan(&st); err != nil || st != want {
			t.Errorf("order %s status %q (%v), want %s", id, st, err, want)
		}
	}
	if got := s.float(`SELECT total FROM orders WHERE order_id = '1'`); got != 20 {
		t.Errorf("computed total %v", got)
	}
}

func TestJSONLAndXLSX(t *testing.T) {
	s := newWS(t)
	rep := s.run(imports.KindEvents, "ev.jsonl", []byte(`{"event":"Order Completed","timestamp":"2024-03-01T12:00:00Z","email":"j@example.fr","revenue":12.5}
{"event":"Signed Up","timestamp":"2024-03-01T12:05:00Z","user_id":"u1"}
not json
`), imports.Request{})
	if rep.Format != "jsonl" || rep.Created+rep.Updated != 2 || rep.Rejected != 1 || rep.Rejects[0].Row != 3 {
		t.Fatalf("jsonl report %+v", rep)
	}
	if got := s.int(`SELECT count(*) FROM events WHERE type = 'track'`); got != 2 {
		t.Errorf("events %d", got)
	}

	f := excelize.NewFile()
	f.NewSheet("Clients")
	rows := [][]any{{"Civilité", "Nom Prénom", "E-mail", "Né le", "Newsletter"}, {"Mme", "DUPONT Marie-Claire", "mc@example.fr", 33348, "O"}}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Clients", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	m, err := imports.ParseMapping([]byte(`
kind: contacts
fields:
  - {field: title, column: Civilité}
  - {field: full_name, column: Nom Prénom, split: last_first}
  - {field: email, column: E-mail, case: lower}
  - {field: birthdate, column: Né le}
  - {field: newsletter, column: Newsletter, type: bool, map: {O: oui, N: non}}
  - {field: country, constant: FR}
`))
	if err != nil {
		t.Fatal(err)
	}
	rep = s.run(imports.KindContacts, "crm.xlsx", buf.Bytes(), imports.Request{Read: imports.ReadOptions{Sheet: "clients"}, Mapping: m})
	if rep.Format != "xlsx" || rep.Sheet != "Clients" || rep.Created != 1 {
		t.Fatalf("xlsx report %+v", rep)
	}
	for k, want := range map[string]string{"first_name": "Marie-Claire", "last_name": "DUPONT", "birthdate": "1991-04-20", "newsletter": "true", "country": "FR"} {
		if got := s.trait("email", "mc@example.fr", k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// Headers and lines in separate files: order_items completes the stored orders.
func TestOrderItemsSeparately(t *testing.T) {
	s := newWS(t)
	heads := "commande;date;id_client;statut;total;frais_de_port\nA1;15/04/2024;7;payée;30;5\nA2;16/04/2024;8;annulée;12;0\n"
	rep := s.run(imports.KindOrders, "heads.csv", []byte(heads), imports.Request{SourceName: "shop"})
	if rep.Created != 2 || rep.Lines != 0 {
		t.Fatalf("headers %+v", rep)
	}
	items := "commande;sku;qte;prix\nA1;X;1;10\nA1;Y;3;5\nA2;X;1;12\nA9;Z;1;1\n"
	rep = s.run(imports.KindOrderItems, "items.csv", []byte(items), imports.Request{SourceName: "shop"})
	if rep.Updated != 2 || rep.Lines != 3 || rep.Rejected != 1 || rep.Rejects[0].Row != 5 || !strings.Contains(rep.Rejects[0].Reason, "import its header first") {
		t.Fatalf("items %+v", rep)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Reason, "disagrees") {
		t.Errorf("A1's total 30 vs lines 25 should be reported: %+v", rep.Warnings)
	}
	var total, ship float64
	var status, cust string
	var hasProfile bool
	if err := s.q(`SELECT total, shipping, status, customer_key, profile_id IS NOT NULL FROM orders WHERE order_id = 'A1'`).Scan(&total, &ship, &status, &cust, &hasProfile); err != nil {
		t.Fatal(err)
	}
	if total != 30 || ship != 5 || status != "completed" || cust != "7" || !hasProfile {
		t.Errorf("A1: total %v shipping %v status %s customer %s profile %v", total, ship, status, cust, hasProfile)
	}
	if got := s.int(`SELECT count(*) FROM order_items WHERE order_id = 'A2' AND status = 'cancelled'`); got != 1 {
		t.Errorf("A2 lines cancelled: %d", got)
	}
	again := s.run(imports.KindOrderItems, "items.csv", []byte(items), imports.Request{SourceName: "shop"})
	if again.Unchanged != 2 || again.Updated != 0 {
		t.Errorf("items again %+v", again)
	}
}

func TestConsentsAndProducts(t *testing.T) {
	s := newWS(t)
	data := "email;finalite;statut;canal;date\nc@example.fr;newsletter;oui;email;15/04/2024 10:00\nc@example.fr;sms;non;sms;15/04/2024\nd@example.fr;newsletter;retiré;;16/04/2024\ne@example.fr;;oui;;16/04/2024\n"
	rep := s.run(imports.KindConsents, "consents.csv", []byte(data), imports.Request{SourceName: "crm"})
	if rep.Records != 3 || rep.Rejected != 1 || rep.Rejects[0].Column != "finalite" {
		t.Fatalf("consents %+v", rep)
	}
	if got := s.int(`SELECT count(*) FROM consents`); got != 3 {
		t.Errorf("ledger rows %d, want 3", got)
	}
	var st string
	var at time.Time
	if err := s.q(`SELECT c.status, c.occurred_at FROM consents c JOIN identities i ON i.profile_id = c.profile_id
		WHERE i.type = 'email' AND i.value = 'c@example.fr' AND c.purpose = 'newsletter'`).Scan(&st, &at); err != nil || st != "granted" || !at.Equal(time.Date(2024, 4, 15, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("newsletter consent %s at %v (%v)", st, at, err)
	}
	again := s.run(imports.KindConsents, "consents.csv", []byte(data), imports.Request{SourceName: "crm"})
	if again.Unchanged != 3 || s.int(`SELECT count(*) FROM consents`) != 3 {
		t.Errorf("consents again %+v", again)
	}

	prods := "sku;libelle;marque;prix;couleur\nA;Coussin lin;Maison;12,50;bleu\nB;Plaid;Maison;39,90;gris\n"
	rep = s.run(imports.KindProducts, "p.csv", []byte(prods), imports.Request{SourceName: "shop"})
	if rep.Created != 2 {
		t.Fatalf("products %+v", rep)
	}
	rep = s.run(imports.KindProducts, "p.csv", []byte(strings.Replace(prods, "39,90", "35,00", 1)), imports.Request{SourceName: "shop"})
	if rep.Unchanged != 1 || rep.Updated != 1 {
		t.Errorf("products again %+v", rep)
	}
	if got := s.float(`SELECT price FROM products WHERE product_id = 'B'`); got != 35 {
		t.Errorf("price %v", got)
	}
	if got := s.int(`SELECT count(*) FROM products WHERE json_extract_string(attributes, '$.couleur') = 'bleu'`); got != 1 {
		t.Errorf("attributes: %d", got)
	}
	// A product repeated with other values: the last row wins, and says so.
	rep = s.run(imports.KindProducts, "dup.csv", []byte("sku;libelle;prix\nZ;Lampe;10\nZ;Lampe;12\nZ;Lampe;12\n"), imports.Request{SourceName: "shop2"})
	if rep.Created != 1 || len(rep.Warnings) != 1 || rep.Warnings[0].Row != 3 || !strings.Contains(rep.Warnings[0].Reason, "row 2") {
		t.Errorf("repeated product: created %d warnings %+v", rep.Created, rep.Warnings)
	}
	if got := s.float(`SELECT price FROM products WHERE product_id = 'Z'`); got != 12 {
		t.Errorf("repeated product's price %v, want the last row's 12", got)
	}
}

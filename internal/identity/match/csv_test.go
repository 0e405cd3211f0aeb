package match

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCSVFEBRL(t *testing.T) {
	t.Parallel()
	in := "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\n" +
		"rec-223-org, , waller, 6, tullaroop street, willaroo, st james, 4011, wa, 19081209, 6988048\n" +
		"rec-10-dup-0, kayla, harrington, , maltby circuit, , coolaroo, 0465, nsw, , 9004242\n"
	recs, ents, err := ReadCSV(strings.NewReader(in), Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if ents != nil {
		t.Errorf("entities without an entity column: %v", ents)
	}
	want := Record{ID: "rec-223-org", Surname: "waller", StreetNumber: "6", AddressLines: []string{"tullaroop street", "willaroo"},
		Locality: "st james", PostalCode: "4011", Region: "wa", BirthDate: Date{1908, 12, 9}, ExternalID: "6988048"}
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	if got := recs[0]; got.ID != want.ID || got.Surname != want.Surname || got.GivenName != "" ||
		strings.Join(got.AddressLines, "|") != "tullaroop street|willaroo" || got.PostalCode != want.PostalCode ||
		got.BirthDate != want.BirthDate || got.ExternalID != want.ExternalID || got.Locality != want.Locality {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if recs[1].PostalCode != "0465" || !recs[1].BirthDate.IsZero() || len(recs[1].AddressLines) != 1 {
		t.Errorf("leading zero, blank date or blank line lost: %+v", recs[1])
	}
	truth, err := EntityFromID(FEBRLEntityRegex)
	if err != nil {
		t.Fatal(err)
	}
	if truth(recs[0]) != "223" || truth(Record{ID: "rec-223-dup-4"}) != "223" || truth(Record{ID: "x"}) == truth(Record{ID: "y"}) {
		t.Error("entity regex")
	}
}

func TestReadCSVQuotedMultiline(t *testing.T) {
	t.Parallel()
	in := "\ufeff\"True Id\",\"Id\",\"Site name\",\"Address\",\"Zip\",\"Phone\"\n" +
		"27,1958,\"Chicago Commons\nAssociation St Catherine's\",\"27 Washington Oak Park IL 60302\",,3865286\n"
	m := Mapping{Columns: map[string]Field{"Id": FieldID, "Site name": FieldFullName,
		"Address": FieldAddress, "Zip": FieldPostalCode, "Phone": FieldPhone}, Entity: "True Id"}
	recs, ents, err := ReadCSV(strings.NewReader(in), m)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ID != "1958" || ents[0] != "27" || !strings.Contains(recs[0].FullName, "\n") || recs[0].Phone != "3865286" {
		t.Errorf("got %+v %v", recs, ents)
	}
}

func TestReadCSVErrors(t *testing.T) {
	t.Parallel()
	if _, _, err := ReadCSV(strings.NewReader(""), Mapping{}); err == nil {
		t.Error("empty input accepted")
	}
	m := Mapping{Columns: map[string]Field{"nope": FieldSurname}}
	if _, _, err := ReadCSV(strings.NewReader("a,b\n1,2\n"), m); err == nil {
		t.Error("mapping to a missing column accepted")
	}
	if _, err := EntityFromID("("); err == nil {
		t.Error("bad regex accepted")
	}
	if _, _, err := ReadCSV(strings.NewReader("a\n1\n"), Mapping{EntityRegex: "("}); err == nil {
		t.Error("bad entity regex accepted")
	}
	if _, _, err := ReadCSV(strings.NewReader("a\n1\n"), Mapping{Entity: "truth"}); err == nil {
		t.Error("missing entity column accepted")
	}
}

func TestParseMapping(t *testing.T) {
	t.Parallel()
	m, err := ParseMapping([]byte("columns:\n  rec_id: id\n  address_1: address\n  address_2: address\nentity: rec_id\nentity_regex: '^rec-(\\d+)-'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Columns["address_2"] != FieldAddress || m.Columns["rec_id"] != FieldID || m.Entity != "rec_id" || m.EntityRegex != `^rec-(\d+)-` {
		t.Errorf("got %+v", m)
	}
	if _, err := ParseMapping([]byte("columns:\n  x: shoe_size\n")); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestGuessMapping(t *testing.T) {
	t.Parallel()
	m := GuessMapping([]string{"Id", "Site name", "Address", "Zip", "Phone", "Fax", "Email Address"})
	want := map[string]Field{"Id": FieldID, "Site name": FieldFullName, "Address": FieldAddress, "Zip": FieldPostalCode,
		"Phone": FieldPhone, "Email Address": FieldEmail}
	for k, v := range want {
		if m.Columns[k] != v {
			t.Errorf("%s -> %q, want %q", k, m.Columns[k], v)
		}
	}
	if _, ok := m.Columns["Fax"]; ok {
		t.Error("fax mapped")
	}
}

// FuzzReadCSV feeds arbitrary bytes to the reader: it must return records or
// an error, never panic, and every record it returns must be matchable.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("rec_id, given_name, surname\nrec-1-org, a, b\n"))
	f.Add([]byte("\"Id\",\"Site name\"\n1,\"x\ny\"\n"))
	f.Add([]byte("a,b\n\"unterminated\n"))
	f.Add([]byte("date_of_birth,phone\n99999999,+1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, ents, err := ReadCSV(strings.NewReader(string(data)), Mapping{})
		if err != nil {
			return
		}
		if ents != nil && len(ents) != len(recs) {
			t.Fatalf("%d entities for %d records", len(ents), len(recs))
		}
		for _, r := range recs {
			if r.ID == "" {
				t.Fatal("record without id")
			}
			p := prepare(&r)
			compareAll(Comparisons(), &p, &p)
		}
	})
}

// The FEBRL way of `atrium dedupe evaluate`: rec_id is both the id and,
// through the regex, the entity; the rest of the columns are guessed.
func TestEvaluateCSVFEBRL(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("testdata", "febrl1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := DefaultConfig()
	cfg.USamplePairs = 100_000
	m, err := EvaluateCSV(context.Background(), cfg, f, Mapping{Entity: "rec_id", EntityRegex: FEBRLEntityRegex})
	if err != nil {
		t.Fatal(err)
	}
	if m.Records != 1000 || m.TruePairs != 500 || m.F1 < 0.95 || m.CandidatePairs == 0 || m.Seconds <= 0 {
		t.Errorf("got %+v", m)
	}
	if _, err := EvaluateCSV(context.Background(), cfg, strings.NewReader("a\n1\n"), Mapping{}); err == nil {
		t.Error("no entity column accepted")
	}
}

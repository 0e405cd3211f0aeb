package cli

import (
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/identity/match"
)

// The file the scratch workspace imports never holds the truth: FEBRL's
// rec_id is both the record id and (through the regex) the entity.
func TestContactsFileHidesTheEntity(t *testing.T) {
	in := "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\n" +
		"rec-12-org, jane, doe, 4, main street, flat 2, kew, 3101, vic, 19800503, 1234567\n" +
		"rec-12-dup-0, jane, do, 4, main st, , kew, 3101, vic, 19800503, 1234576\n" +
		"odd, x, y, , , , , , , , \n"
	out, truth, err := contactsFile([]byte(in), match.Mapping{Entity: "rec_id", EntityRegex: match.FEBRLEntityRegex})
	if err != nil {
		t.Fatal(err)
	}
	want := "customer_id,atrium_eval_row,first_name,last_name,street_number,address,address2,city,postal_code,region,birthdate,loyalty_number\n" +
		"row-1,1,jane,doe,4,main street,flat 2,kew,3101,vic,19800503,1234567\n" +
		"row-2,2,jane,do,4,main st,,kew,3101,vic,19800503,1234576\n" +
		"row-3,3,x,y,,,,,,,,\n"
	if string(out) != want {
		t.Errorf("contacts file:\n%s\nwant:\n%s", out, want)
	}
	if strings.Contains(string(out), "rec-") {
		t.Error("the entity column reached the workspace")
	}
	if len(truth) != 3 || truth[0] != "12" || truth[1] != "12" || truth[2] != "" {
		t.Errorf("truth %q", truth)
	}
	for name, c := range map[string]struct {
		in string
		m  match.Mapping
	}{
		"empty file":       {"", match.Mapping{Entity: "rec_id"}},
		"no entity column": {"a,b\n1,2\n", match.Mapping{Entity: "rec_id"}},
		"bad regex":        {in, match.Mapping{Entity: "rec_id", EntityRegex: "("}},
	} {
		if _, _, err := contactsFile([]byte(c.in), c.m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

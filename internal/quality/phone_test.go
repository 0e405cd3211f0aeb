package quality

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestPhone(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, region      string
		value, typ, reg string
		status          Status
		reasons         []string
	}{
		// rnvp.md §4.1: every way people type a French number.
		{"06 12 34 56 78", "FR", "+33612345678", PhoneMobile, "FR", StatusValid, nil},
		{"06.12.34.56.78", "", "+33612345678", PhoneMobile, "FR", StatusValid, nil},
		{"06-12-34-56-78", "FR", "+33612345678", PhoneMobile, "FR", StatusValid, nil},
		{"0612345678", "FR", "+33612345678", PhoneMobile, "FR", StatusValid, nil},
		{"+33 6 12 34 56 78", "FR", "+33612345678", PhoneMobile, "FR", StatusValid, nil},
		{"+33 (0)1 42 68 53 00", "FR", "+33142685300", PhoneFixed, "FR", StatusValid, nil},
		{"+33 01 42 68 53 00", "FR", "+33142685300", PhoneFixed, "FR", StatusCorrected, []string{"trunk_zero_removed"}},
		{"0033 1 42 68 53 00", "FR", "+33142685300", PhoneFixed, "FR", StatusValid, nil},
		{"33142685300", "FR", "+33142685300", PhoneFixed, "FR", StatusCorrected, []string{"missing_plus"}},
		{"612345678", "FR", "+33612345678", PhoneMobile, "FR", StatusSuspect, []string{"missing_trunk_zero"}},
		{"07 56 12 34 56", "FR", "+33756123456", PhoneMobile, "FR", StatusValid, nil},
		{"09 72 12 34 56", "FR", "+33972123456", PhoneVoIP, "FR", StatusValid, nil},
		{"08 00 12 34 56", "FR", "+33800123456", PhoneTollFree, "FR", StatusValid, nil},
		{"01 42 68 53 00 poste 214", "FR", "+33142685300", PhoneFixed, "FR", StatusValid, []string{"extension"}},
		{"01 42 68 53 00 ext. 214", "FR", "+33142685300", PhoneFixed, "FR", StatusValid, []string{"extension"}},
		{"Tél. : 01 42 68 53 00", "FR", "+33142685300", PhoneFixed, "FR", StatusValid, []string{"unwrapped"}},
		// Overseas numbers in the 10-digit form go to their own codes (§4.1 table).
		{"0590 12 34 56", "FR", "+590590123456", PhoneFixed, "GP", StatusValid, nil},
		{"0692 12 34 56", "FR", "+262692123456", PhoneMobile, "RE", StatusValid, nil},
		{"0690 12 34 56", "FR", "+590690123456", PhoneMobile, "GP", StatusValid, nil},
		{"0694 20 12 34", "FR", "+594694201234", PhoneMobile, "GF", StatusValid, nil},
		{"0696 12 34 56", "FR", "+596696123456", PhoneMobile, "MQ", StatusValid, nil},
		{"0639 20 12 34", "FR", "+262639201234", PhoneMobile, "YT", StatusValid, nil},
		{"0508 41 23 45", "FR", "+508412345", PhoneFixed, "PM", StatusValid, nil},
		{"0262 26 12 34", "RE", "+262262261234", PhoneFixed, "RE", StatusValid, nil},
		// "+33 692…" is a common mistake: re-homed and flagged.
		{"+33 692 12 34 56", "FR", "+262692123456", PhoneMobile, "RE", StatusCorrected, []string{"overseas_rehomed"}},
		{"+33 590 12 34 56", "FR", "+590590123456", PhoneFixed, "GP", StatusCorrected, []string{"overseas_rehomed"}},
		// A metropolitan number on an overseas profile stays +33.
		{"06 12 34 56 78", "RE", "+33612345678", PhoneMobile, "FR", StatusValid, nil},
		// Foreign numbers through the library.
		{"+44 20 7946 0958", "FR", "+442079460958", PhoneFixed, "GB", StatusValid, nil},
		{"+1 650 253 0000", "FR", "+16502530000", PhoneFixedOrMobile, "US", StatusValid, nil},
		{"030 123456", "DE", "+4930123456", PhoneFixed, "DE", StatusValid, nil},
		{"+41 44 668 18 00", "", "+41446681800", PhoneFixed, "CH", StatusValid, nil},
		// Doubts.
		{"06 00 00 00 00", "FR", "+33600000000", PhoneMobile, "FR", StatusSuspect, []string{"placeholder"}},
		{"06 12 34 56 78 / 01 42 68 53 00", "FR", "+33612345678", PhoneMobile, "FR", StatusSuspect, []string{"multiple_numbers"}},
		// Failures (§4.1 rule 4: short codes and fewer than 9 digits).
		{"", "FR", "", "", "", StatusInvalid, []string{"empty"}},
		{"3615", "FR", "", "", "", StatusInvalid, nil},
		{"06 12 34", "FR", "", "", "", StatusInvalid, nil},
		{"06 12 34 56 78 90 12", "FR", "", "", "", StatusInvalid, nil},
		{"abc", "FR", "", "", "", StatusInvalid, []string{"not_a_number"}},
		{"+999 123 456 789", "FR", "", "", "", StatusInvalid, nil},
		{"+33 6 12", "FR", "", "", "", StatusInvalid, []string{"too_short"}},
		{"\x00\x01", "FR", "", "", "", StatusInvalid, nil},
	}
	for _, c := range cases {
		got := Phone(c.in, c.region)
		if got.Value != c.value || (c.typ != "" && got.Type != c.typ) || got.Region != c.reg ||
			(c.status != "" && got.Status != c.status) {
			t.Errorf("Phone(%q, %q) = %q %s %s %s %v; want %q %s %s %s",
				c.in, c.region, got.Value, got.Type, got.Region, got.Status, got.Reasons, c.value, c.typ, c.reg, c.status)
		}
		if got.Value != "" && got.Key != got.Value {
			t.Errorf("Phone(%q) key %q != value %q", c.in, got.Key, got.Value)
		}
		for _, r := range c.reasons {
			if !slices.Contains(got.Reasons, r) {
				t.Errorf("Phone(%q) reasons %v lack %q", c.in, got.Reasons, r)
			}
		}
	}
}

// TestPhoneMatchesLibrary holds the compiled fast path to nyaruka/
// phonenumbers: for random metropolitan French numbers, E.164, type and
// validity must be the library's.
func TestPhoneMatchesLibrary(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 5000; i++ {
		nsn := strconv.Itoa(1 + rng.IntN(9))
		for len(nsn) < 9 {
			nsn += strconv.Itoa(rng.IntN(10))
		}
		if target, _ := overseasTarget(nsn); target != 0 {
			continue // re-homing is ours, not the library's
		}
		in := "0" + nsn
		got := Phone(in, "FR")
		num, err := phonenumbers.Parse(in, "FR")
		if err != nil {
			t.Fatalf("library cannot parse %s: %v", in, err)
		}
		wantType := libType(phonenumbers.GetNumberType(num))
		if !phonenumbers.IsValidNumber(num) {
			wantType = PhoneUnknown
		}
		if got.Value != phonenumbers.Format(num, phonenumbers.E164) || got.Type != wantType {
			t.Errorf("%s: got %s %s, library %s %s", in, got.Value, got.Type, phonenumbers.Format(num, phonenumbers.E164), wantType)
		}
	}
}

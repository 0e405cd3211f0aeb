package quality

import (
	"regexp"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Phone number types, as stored in PhoneResult.Type.
const (
	PhoneFixed         = "fixed"
	PhoneMobile        = "mobile"
	PhoneFixedOrMobile = "fixed_or_mobile"
	PhoneTollFree      = "toll_free"
	PhonePremium       = "premium"
	PhoneSharedCost    = "shared_cost"
	PhoneVoIP          = "voip"
	PhonePersonal      = "personal"
	PhonePager         = "pager"
	PhoneUAN           = "uan"
	PhoneVoicemail     = "voicemail"
	PhoneUnknown       = "unknown"
)

// The French numbering family: metropolitan France and the overseas
// territories that share its 10-digit national format (rnvp.md §4.1).
var frenchFamily = map[string]bool{
	"FR": true, "GP": true, "BL": true, "MF": true, "GF": true, "MQ": true,
	"RE": true, "YT": true, "PM": true,
}

var frenchFamilyCodes = map[int]bool{33: true, 590: true, 594: true, 596: true, 262: true, 508: true}

// numberDesc is one compiled libphonenumber pattern with its lengths.
type numberDesc struct {
	lengths []int32
	re      *regexp.Regexp
}

func (d *numberDesc) match(nsn string) bool {
	if d == nil {
		return false
	}
	if len(d.lengths) > 0 {
		ok := false
		for _, l := range d.lengths {
			if int(l) == len(nsn) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return d.re.MatchString(nsn)
}

// regionMeta is the part of a region's libphonenumber metadata that
// classification needs, with its patterns compiled once.
//
// nyaruka/phonenumbers re-assembles and looks up each pattern on every call
// (25 µs to parse and classify a number); the ingest budget is a few µs per
// phone. The patterns come from the library at run time, so they never drift
// from its version, and typeOf mirrors its getNumberTypeHelper exactly: a
// differential test holds the two together.
type regionMeta struct {
	id            string
	countryCode   int
	general       *numberDesc
	types         []typedDesc // in the library's order of precedence
	fixed, mobile *numberDesc
	sameFixedMob  bool
}

type typedDesc struct {
	name string
	desc *numberDesc
}

var (
	metaOnce sync.Once
	metaByID map[string]*regionMeta
)

// phoneMeta returns the compiled metadata of the French family regions (the
// fast path); other regions go through the library itself.
func phoneMeta(region string) *regionMeta {
	metaOnce.Do(func() {
		metaByID = map[string]*regionMeta{}
		coll, err := phonenumbers.MetadataCollection()
		if err != nil {
			panic("quality: phone metadata: " + err.Error())
		}
		for _, m := range coll.GetMetadata() {
			if !frenchFamily[m.GetId()] {
				continue
			}
			metaByID[m.GetId()] = &regionMeta{
				id:          m.GetId(),
				countryCode: int(m.GetCountryCode()),
				general:     compileDesc(m.GetGeneralDesc()),
				types: []typedDesc{
					{PhonePremium, compileDesc(m.GetPremiumRate())},
					{PhoneTollFree, compileDesc(m.GetTollFree())},
					{PhoneSharedCost, compileDesc(m.GetSharedCost())},
					{PhoneVoIP, compileDesc(m.GetVoip())},
					{PhonePersonal, compileDesc(m.GetPersonalNumber())},
					{PhonePager, compileDesc(m.GetPager())},
					{PhoneUAN, compileDesc(m.GetUan())},
					{PhoneVoicemail, compileDesc(m.GetVoicemail())},
				},
				fixed:        compileDesc(m.GetFixedLine()),
				mobile:       compileDesc(m.GetMobile()),
				sameFixedMob: m.GetSameMobileAndFixedLinePattern(),
			}
		}
	})
	return metaByID[region]
}

func compileDesc(d *phonenumbers.PhoneNumberDesc) *numberDesc {
	if d == nil {
		return nil
	}
	p := d.GetNationalNumberPattern()
	if p == "" || p == "NA" {
		return nil
	}
	return &numberDesc{lengths: d.GetPossibleLength(), re: regexp.MustCompile("^(?:" + p + ")$")}
}

// typeOf classifies a national significant number; "unknown" means invalid
// for the region.
func (m *regionMeta) typeOf(nsn string) string {
	if !m.general.match(nsn) {
		return PhoneUnknown
	}
	for _, t := range m.types {
		if t.desc.match(nsn) {
			return t.name
		}
	}
	if m.fixed.match(nsn) {
		if m.sameFixedMob || m.mobile.match(nsn) {
			return PhoneFixedOrMobile
		}
		return PhoneFixed
	}
	if !m.sameFixedMob && m.mobile.match(nsn) {
		return PhoneMobile
	}
	return PhoneUnknown
}

// possible reports whether the length fits the region at all.
func (m *regionMeta) possible(nsn string) bool {
	for _, l := range m.general.lengths {
		if int(l) == len(nsn) {
			return true
		}
	}
	return len(m.general.lengths) == 0
}

// libType converts the library's enum.
func libType(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE:
		return PhoneFixed
	case phonenumbers.MOBILE:
		return PhoneMobile
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return PhoneFixedOrMobile
	case phonenumbers.TOLL_FREE:
		return PhoneTollFree
	case phonenumbers.PREMIUM_RATE:
		return PhonePremium
	case phonenumbers.SHARED_COST:
		return PhoneSharedCost
	case phonenumbers.VOIP:
		return PhoneVoIP
	case phonenumbers.PERSONAL_NUMBER:
		return PhonePersonal
	case phonenumbers.PAGER:
		return PhonePager
	case phonenumbers.UAN:
		return PhoneUAN
	case phonenumbers.VOICEMAIL:
		return PhoneVoicemail
	}
	return PhoneUnknown
}

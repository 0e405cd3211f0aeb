package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Generate makes n FEBRL-like person records of which about dupRate are
// duplicates of another record, with the truth: entities[i] names record i's
// entity. Duplicates carry one to three corruptions: typos, nicknames,
// swapped name fields, missing values, swapped day and month, a moved
// address, a reformatted or mistyped phone, a changed e-mail domain. Names,
// streets and localities are drawn from Zipf-like distributions so that
// blocks and term frequencies look like real data: a few very common
// surnames, a long tail of rare ones. The same arguments give the same
// records.
func Generate(n int, dupRate float64, seed int64) (records []Record, entities []string) {
	if n <= 0 {
		return nil, nil
	}
	dupRate = clamp(dupRate, 0, 0.9)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5EED))
	g := newGenerator(rng, n)
	nDup := int(math.Round(float64(n) * dupRate))
	nOrig := n - nDup
	records = make([]Record, 0, n)
	entities = make([]string, 0, n)
	for i := 0; i < nOrig; i++ {
		records = append(records, g.person())
		entities = append(entities, "e"+strconv.Itoa(i))
	}
	for i := 0; i < nDup; i++ {
		o := rng.IntN(nOrig)
		records = append(records, g.corrupt(records[o]))
		entities = append(entities, entities[o])
	}
	rng.Shuffle(len(records), func(i, j int) {
		records[i], records[j] = records[j], records[i]
		entities[i], entities[j] = entities[j], entities[i]
	})
	for i := range records {
		records[i].ID = fmt.Sprintf("gen-%d", i)
	}
	return records, entities
}

var givenPool = strings.Fields(`james john robert michael william david richard joseph thomas charles
christopher daniel matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george
timothy ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott
brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry tyler aaron jose adam
nathan henry douglas zachary peter kyle noah ethan jeremy walter christian keith roger terry austin sean
gerald carl harold dylan arthur lawrence jordan jesse bryan billy bruce gabriel joe logan albert willie
alan eugene russell vincent philip bobby johnny bradley liam lucas oliver mason elijah hugo louis jules
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty sandra margaret
ashley kimberly emily donna michelle carol amanda melissa deborah stephanie dorothy rebecca sharon laura
cynthia amy kathleen angela shirley brenda emma anna pamela nicole samantha katherine christine helen
debra rachel carolyn janet maria catherine heather diane olivia julie joyce victoria ruby kelly christina
lauren joan evelyn judith andrea hannah megan cheryl jacqueline martha madison teresa gloria sara janice
ann kathryn abigail sophia frances jean alice judy isabella julia grace amber denise danielle marilyn
beverly charlotte natalie theresa diana brittany doris kayla alexis lori marie chloe camille manon lea
ella mia zoe isabelle madeline eleanor`)

var syllables = strings.Fields(`ab al an ar ba be bo bra ca cha co cor da de di do dun el en er fa fe
fi fo ga ge gi go gra ha he hi ho hu ja jo ka ke ki ko la le li lo lu ma me mi mo mu na ne ni no nu
pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo wa we wi wo ya yo za ze zi zo
ton son ley man ford wood berg stein ski vic ard ell ing ott ey`)

var streetTypes = strings.Fields("street street street road road avenue place crescent circuit court drive lane close parade way")
var propertyTypes = strings.Fields("lodge farm house villa park gardens court manor retirement village")
var states = strings.Fields("nsw nsw nsw vic vic vic qld qld wa sa tas act nt")
var emailDomains = strings.Fields("gmail.com gmail.com gmail.com outlook.com yahoo.com hotmail.com icloud.com bigpond.com")

type locality struct {
	name, postcode, state string
}

type generator struct {
	rng        *rand.Rand
	surnames   []string
	streets    []string
	localities []locality
	zGiven     *rand.Zipf
	zSurname   *rand.Zipf
	zStreet    *rand.Zipf
	zLocality  *rand.Zipf
}

func newGenerator(rng *rand.Rand, n int) *generator {
	g := &generator{rng: rng}
	// Pool sizes grow with n so that a million records look like a country,
	// not like five thousand records repeated.
	nSur := max(2000, n/20)
	nStreet := max(1000, n/50)
	nLoc := max(500, n/300)
	g.surnames = g.words(nSur, 2, 3)
	g.streets = g.words(nStreet, 2, 3)
	seenPC := map[string]bool{}
	for _, name := range g.words(nLoc, 2, 4) {
		pc := ""
		for pc == "" || seenPC[pc] {
			pc = fmt.Sprintf("%04d", 200+rng.IntN(9800))
		}
		seenPC[pc] = true
		if rng.IntN(5) == 0 {
			name += " " + g.word(1, 2) // two-word suburbs: "tin can bay"
		}
		g.localities = append(g.localities, locality{name, pc, states[rng.IntN(len(states))]})
	}
	g.zGiven = rand.NewZipf(rng, 1.1, 8, uint64(len(givenPool)-1))
	g.zSurname = rand.NewZipf(rng, 1.05, 20, uint64(len(g.surnames)-1))
	g.zStreet = rand.NewZipf(rng, 1.05, 20, uint64(len(g.streets)-1))
	g.zLocality = rand.NewZipf(rng, 1.1, 10, uint64(len(g.localities)-1))
	return g
}

func (g *generator) word(minSyl, maxSyl int) string {
	var b strings.Builder
	for s := minSyl + g.rng.IntN(maxSyl-minSyl+1); s > 0; s-- {
		b.WriteString(syllables[g.rng.IntN(len(syllables))])
	}
	return b.String()
}

// words makes n distinct words.
func (g *generator) words(n, minSyl, maxSyl int) []string {
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		w := g.word(minSyl, maxSyl)
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func (g *generator) person() Record {
	rng := g.rng
	var r Record
	r.GivenName = givenPool[g.zGiven.Uint64()]
	r.Surname = g.surnames[g.zSurname.Uint64()]
	r.BirthDate = Date{Year: 1925 + rng.IntN(85), Month: 1 + rng.IntN(12), Day: 1 + rng.IntN(28)}
	g.address(&r)
	if rng.Float64() < 0.7 {
		r.Phone = fmt.Sprintf("+614%08d", rng.IntN(100_000_000))
	}
	if rng.Float64() < 0.5 {
		r.Email = fmt.Sprintf("%s.%s%d@%s", r.GivenName, r.Surname, rng.IntN(100), emailDomains[rng.IntN(len(emailDomains))])
	}
	if rng.Float64() < 0.3 {
		r.ExternalID = fmt.Sprintf("C%07d", rng.IntN(10_000_000))
	}
	// Missing values in originals too, as in FEBRL.
	for _, f := range []*string{&r.GivenName, &r.Surname, &r.StreetNumber, &r.Locality, &r.Region} {
		if rng.Float64() < 0.02 {
			*f = ""
		}
	}
	if rng.Float64() < 0.03 {
		r.BirthDate = Date{}
	}
	return r
}

func (g *generator) address(r *Record) {
	rng := g.rng
	r.StreetNumber = strconv.Itoa(1 + int(math.Abs(rng.NormFloat64())*60))
	r.AddressLines = []string{g.streets[g.zStreet.Uint64()] + " " + streetTypes[rng.IntN(len(streetTypes))]}
	if rng.Float64() < 0.35 {
		r.AddressLines = append(r.AddressLines, g.word(2, 3)+" "+propertyTypes[rng.IntN(len(propertyTypes))])
	}
	loc := g.localities[g.zLocality.Uint64()]
	r.Locality, r.PostalCode, r.Region = loc.name, loc.postcode, loc.state
}

// corrupt copies an original and applies one to three corruptions.
func (g *generator) corrupt(o Record) Record {
	rng := g.rng
	r := o
	r.AddressLines = append([]string(nil), o.AddressLines...)
	k := 1
	switch x := rng.Float64(); {
	case x < 0.3:
		k = 3
	case x < 0.65:
		k = 2
	}
	for ; k > 0; k-- {
		switch rng.IntN(14) {
		case 0, 1:
			r.GivenName = g.typo(r.GivenName)
		case 2, 3:
			r.Surname = g.typo(r.Surname)
		case 4:
			r.GivenName = g.nickname(r.GivenName)
		case 5:
			r.GivenName, r.Surname = r.Surname, r.GivenName
		case 6:
			g.blank(&r)
		case 7:
			d := r.BirthDate
			switch {
			case d.Day <= 12 && rng.IntN(2) == 0:
				d.Day, d.Month = d.Month, d.Day
			case rng.IntN(2) == 0 && d.Year > 0:
				d.Year += 1 - 2*rng.IntN(2)
			default:
				d.Day = 1 + rng.IntN(28)
			}
			r.BirthDate = d
		case 8:
			g.address(&r) // moved
		case 9:
			if len(r.AddressLines) > 0 {
				r.AddressLines[0] = g.typo(r.AddressLines[0])
			}
		case 10:
			r.Locality = g.typo(r.Locality)
		case 11:
			if r.Phone != "" {
				if rng.IntN(2) == 0 {
					r.Phone = "0" + r.Phone[3:] // national format
				} else {
					r.Phone = g.typo(r.Phone)
				}
			}
		case 12:
			if at := strings.IndexByte(r.Email, '@'); at > 0 {
				r.Email = r.Email[:at+1] + emailDomains[rng.IntN(len(emailDomains))]
			}
		case 13:
			r.PostalCode = g.typo(r.PostalCode)
		}
	}
	return r
}

func (g *generator) blank(r *Record) {
	switch g.rng.IntN(7) {
	case 0:
		r.GivenName = ""
	case 1:
		r.Surname = ""
	case 2:
		r.BirthDate = Date{}
	case 3:
		r.StreetNumber = ""
	case 4:
		r.Phone = ""
	case 5:
		r.Email = ""
	case 6:
		r.Locality = ""
	}
}

func (g *generator) nickname(given string) string {
	m := nicknameIndex[given]
	if m == 0 {
		return g.typo(given)
	}
	for grp, line := range nicknameGroups {
		if m&(1<<uint(grp)) != 0 {
			names := strings.Fields(line)
			return names[g.rng.IntN(len(names))]
		}
	}
	return given
}

// typo applies one keyboard-style edit: insert, delete, substitute or swap
// adjacent characters.
func (g *generator) typo(s string) string {
	if len(s) < 2 {
		return s
	}
	rng := g.rng
	b := []byte(s)
	i := rng.IntN(len(b) - 1)
	c := byte('a' + rng.IntN(26))
	if b[i] >= '0' && b[i] <= '9' {
		c = byte('0' + rng.IntN(10))
	}
	switch rng.IntN(4) {
	case 0:
		b = append(b[:i], append([]byte{c}, b[i:]...)...)
	case 1:
		b = append(b[:i], b[i+1:]...)
	case 2:
		b[i] = c
	default:
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}

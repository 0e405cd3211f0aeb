package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/atrium-cdp/atrium/internal/bench"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/atrium-cdp/atrium/internal/quality"
	"github.com/atrium-cdp/atrium/internal/quality/rnvp"
)

// runBenchQuality implements "atrium bench quality": it generates n
// realistic French contacts (seeded, so every run normalises the same
// rows), then times, on all cores, (1) a bare pass over the rows doing only
// strings.ToUpper+TrimSpace — the engine limit of this machine for touching
// the same bytes —, (2) e-mail + phone + name normalisation, (3) RNVP with
// validation against the embedded La Poste base. Rates are reported with
// their ratio to the bare pass.
func runBenchQuality(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench quality", flag.ContinueOnError)
	fs.SetOutput(stdout)
	n := fs.Int("n", 1_000_000, "contacts to generate and normalise")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel workers (default: all cores)")
	seed := fs.Uint64("seed", 1, "generator seed")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("bench quality: %w", err)
	}
	if *n <= 0 || *workers <= 0 {
		return fmt.Errorf("bench quality: --n and --workers must be positive")
	}

	// Warm the lazily loaded tables outside the timings.
	quality.Email("a@gmail.com")
	quality.Phone("0612345678", "FR")
	rnvp.Normalize([]string{"1 rue X", "75001 Paris"})

	genStart := time.Now()
	rows := benchGenerate(*n, *seed)
	genTime := time.Since(genStart)

	rep := benchQualityReport{
		Contacts: *n, Workers: *workers, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
		Seed: *seed, GenerateSeconds: genTime.Seconds(),
	}
	var sink atomic.Int64
	base, err := benchParallel(ctx, rows, *workers, func(c *benchContact, _ *benchCounts) {
		l := 0
		for _, s := range [...]string{c.email, c.phone, c.first, c.last, c.civility, c.fullName} {
			l += len(strings.ToUpper(strings.TrimSpace(s)))
		}
		for _, f := range c.address {
			l += len(strings.ToUpper(strings.TrimSpace(f)))
		}
		sink.Add(int64(l))
	})
	if err != nil {
		return err
	}
	rep.BaselineRowsPerSec = float64(*n) / base.elapsed.Seconds()

	contact, err := benchParallel(ctx, rows, *workers, func(c *benchContact, k *benchCounts) {
		e := quality.Email(c.email)
		p := quality.Phone(c.phone, "FR")
		var nm quality.NameResult
		if c.fullName != "" {
			nm = quality.FullName(c.fullName)
		} else {
			nm = quality.Name(c.first, c.last)
		}
		cv := quality.Civility(c.civility)
		k.add("email", e.Status)
		k.add("phone", p.Status)
		k.add("name", nm.Status)
		k.add("civility", cv.Status)
	})
	if err != nil {
		return err
	}
	rep.ContactRowsPerSec = float64(*n) / contact.elapsed.Seconds()
	rep.ContactRatio = rep.ContactRowsPerSec / rep.BaselineRowsPerSec

	addr, err := benchParallel(ctx, rows, *workers, func(c *benchContact, k *benchCounts) {
		r := rnvp.Normalize(c.address)
		k.add("address", r.Status)
	})
	if err != nil {
		return err
	}
	rep.AddressesPerSec = float64(*n) / addr.elapsed.Seconds()
	rep.AddressRatio = rep.AddressesPerSec / rep.BaselineRowsPerSec
	rep.Statuses = contact.counts.merge(addr.counts)
	rep.PeakRSSMiB = bench.PeakRSSMB()
	rep.BaselineSink = sink.Load()

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "atrium bench quality: %d contacts, %d workers (GOMAXPROCS %d, %d CPUs), seed %d\n",
		rep.Contacts, rep.Workers, rep.GOMAXPROCS, rep.NumCPU, rep.Seed)
	fmt.Fprintf(stdout, "  generate                 %8.2f s\n", rep.GenerateSeconds)
	fmt.Fprintf(stdout, "  baseline (ToUpper+Trim)  %12.0f rows/s\n", rep.BaselineRowsPerSec)
	fmt.Fprintf(stdout, "  e-mail + phone + name    %12.0f rows/s   (%.3f of baseline)\n", rep.ContactRowsPerSec, rep.ContactRatio)
	fmt.Fprintf(stdout, "  RNVP with validation     %12.0f addresses/s (%.3f of baseline)\n", rep.AddressesPerSec, rep.AddressRatio)
	fmt.Fprintf(stdout, "  peak RSS                 %8.0f MiB\n", rep.PeakRSSMiB)
	for _, kind := range []string{"email", "phone", "name", "civility", "address"} {
		s := rep.Statuses[kind]
		fmt.Fprintf(stdout, "  %-9s valid %7d  corrected %7d  suspect %7d  invalid %7d\n", kind,
			s[quality.StatusValid], s[quality.StatusCorrected], s[quality.StatusSuspect], s[quality.StatusInvalid])
	}
	return nil
}

type benchQualityReport struct {
	Contacts           int                                 `json:"contacts"`
	Workers            int                                 `json:"workers"`
	GOMAXPROCS         int                                 `json:"gomaxprocs"`
	NumCPU             int                                 `json:"num_cpu"`
	Seed               uint64                              `json:"seed"`
	GenerateSeconds    float64                             `json:"generate_seconds"`
	BaselineRowsPerSec float64                             `json:"baseline_rows_per_sec"`
	ContactRowsPerSec  float64                             `json:"email_phone_name_rows_per_sec"`
	ContactRatio       float64                             `json:"email_phone_name_ratio_to_baseline"`
	AddressesPerSec    float64                             `json:"rnvp_addresses_per_sec"`
	AddressRatio       float64                             `json:"rnvp_ratio_to_baseline"`
	PeakRSSMiB         float64                             `json:"peak_rss_mib"`
	Statuses           map[string]map[quality.Status]int64 `json:"statuses"`
	BaselineSink       int64                               `json:"-"`
}

// benchCounts counts statuses per normaliser, one per worker (no sharing).
type benchCounts map[string]map[quality.Status]int64

func (k benchCounts) add(kind string, s quality.Status) {
	m := k[kind]
	if m == nil {
		m = map[quality.Status]int64{}
		k[kind] = m
	}
	m[s]++
}

func (k benchCounts) merge(o benchCounts) map[string]map[quality.Status]int64 {
	out := map[string]map[quality.Status]int64{}
	for _, src := range []benchCounts{k, o} {
		for kind, m := range src {
			if out[kind] == nil {
				out[kind] = map[quality.Status]int64{}
			}
			for s, v := range m {
				out[kind][s] += v
			}
		}
	}
	return out
}

type benchPass struct {
	elapsed time.Duration
	counts  benchCounts
}

// benchParallel runs fn over rows split into contiguous shares, one
// goroutine per worker, and times the whole pass.
func benchParallel(ctx context.Context, rows []benchContact, workers int, fn func(*benchContact, *benchCounts)) (benchPass, error) {
	var wg sync.WaitGroup
	counts := make([]benchCounts, workers)
	start := time.Now()
	per := (len(rows) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, len(rows))
		counts[w] = benchCounts{}
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func(part []benchContact, k *benchCounts) {
			defer wg.Done()
			for i := range part {
				if i&4095 == 0 && ctx.Err() != nil {
					return
				}
				fn(&part[i], k)
			}
		}(rows[lo:hi], &counts[w])
	}
	wg.Wait()
	p := benchPass{elapsed: time.Since(start), counts: benchCounts{}}
	if err := ctx.Err(); err != nil {
		return p, fmt.Errorf("bench quality: %w", err)
	}
	for _, c := range counts {
		p.counts = benchCounts(p.counts.merge(c))
	}
	return p, nil
}

// benchContact is one generated contact, as a French SME's files hold it.
type benchContact struct {
	email, phone          string
	civility, first, last string
	fullName              string // set for a quarter of the rows: one "Nom Prénom" field
	address               []string
}

var (
	benchFirst = []string{"Jean", "Marie", "Pierre", "Sophie", "Jean-Pierre", "Marie-Thérèse", "Nicolas",
		"Isabelle", "Éric", "Hélène", "François", "Céline", "Stéphane", "Nathalie", "Philippe", "Camille",
		"Léa", "Hugo", "Chloé", "Louis", "Émilie", "Thomas", "Anaïs", "Mathieu", "Élodie", "Julien", "Zoé"}
	benchLast = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
		"Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
		"Vincent", "Fournier", "de La Fontaine", "Le Goff", "Du Bellay", "McDonald", "O'Neill", "d'Estaing",
		"Giscard d'Estaing", "Müller", "Lemaître", "Benoît"}
	benchCivilities = []string{"M.", "Mme", "Mlle", "Monsieur", "Madame", "MR", "MME", "Mr", "M et Mme", "Dr", ""}
	benchDomains    = []string{"gmail.com", "gmail.com", "gmail.com", "orange.fr", "orange.fr", "hotmail.fr",
		"free.fr", "wanadoo.fr", "yahoo.fr", "laposte.net", "sfr.fr", "outlook.fr", "icloud.com",
		"hotmail.com", "live.fr", "textiles-lyonnais.fr", "cabinet-martin.fr", "mairie-exemple.fr"}
	benchTypos   = []string{"gmial.com", "gmail.con", "hotmial.fr", "orange.fe", "wanadoo.com", "yahoo.fe", "gmai.com"}
	benchStreets = []string{"de la République", "Victor Hugo", "Jean Jaurès", "du Général de Gaulle",
		"Pasteur", "de la Gare", "des Écoles", "Gambetta", "de l'Église", "du Maréchal Foch", "Voltaire",
		"Émile Zola", "de la Paix", "des Lilas", "du 8 Mai 1945", "Saint-Exupéry", "du Moulin", "Nationale",
		"du Maréchal Jean-Marie de Lattre de Tassigny", "du Président Franklin Roosevelt",
		"du Général Leclerc", "Notre-Dame", "du Docteur Albert Schweitzer", "des Sœurs de Saint-Vincent-de-Paul"}
	benchTypes = []string{"rue", "rue", "rue", "r.", "avenue", "av.", "av", "boulevard", "bd", "chemin",
		"ch.", "impasse", "imp.", "allée", "place", "pl.", "route", "rte", "square", "quai"}
	benchComplements = []string{"appt 12", "Bât. B", "Résidence Les Pins", "3e étage", "Esc. 2",
		"Entrée A", "chez M. Durand", "Apt 4", "Bâtiment C, appt 31"}
)

// benchGenerate builds n contacts from a PCG seeded by seed. Towns come
// from La Poste's base; every mess of rnvp.md shows up at a realistic rate:
// capitals, accents lost, typos, abbreviations, missing leading zeros,
// complements in the street field, phones typed every way.
func benchGenerate(n int, seed uint64) []benchContact {
	towns := rnvp.Towns()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rows := make([]benchContact, n)
	for i := range rows {
		c := &rows[i]
		first, last := benchFirst[rng.IntN(len(benchFirst))], benchLast[rng.IntN(len(benchLast))]
		c.civility = benchCivilities[rng.IntN(len(benchCivilities))]
		switch rng.IntN(10) {
		case 0, 1, 2: // capitals, as exported by old CRMs
			c.first, c.last = strings.ToUpper(first), strings.ToUpper(last)
		case 3:
			c.first, c.last = strings.ToLower(first), strings.ToLower(last)
		default:
			c.first, c.last = first, last
		}
		if rng.IntN(4) == 0 {
			c.fullName = strings.ToUpper(last) + " " + first
			if rng.IntN(2) == 0 {
				c.fullName = c.civility + " " + first + " " + strings.ToUpper(last)
			}
		}
		c.email = benchEmail(rng, first, last)
		c.phone = benchPhone(rng)
		c.address = benchAddress(rng, towns, c.civility, first, last)
	}
	return rows
}

var benchStrip = strings.NewReplacer(" ", "", "'", "")

func benchASCII(s string) string {
	f, _ := quality.Fold(s)
	return strings.ToLower(benchStrip.Replace(f))
}

func benchEmail(rng *rand.Rand, first, last string) string {
	local := benchASCII(first) + "." + benchASCII(last)
	switch rng.IntN(20) {
	case 0:
		local = "contact"
	case 1:
		local += "+promo"
	case 2:
		local = benchASCII(first)[:1] + benchASCII(last) + strconv.Itoa(rng.IntN(100))
	}
	domain := benchDomains[rng.IntN(len(benchDomains))]
	switch r := rng.IntN(100); {
	case r < 3:
		domain = benchTypos[rng.IntN(len(benchTypos))]
	case r < 4:
		domain = "yopmail.com"
	}
	e := local + "@" + domain
	switch rng.IntN(20) {
	case 0:
		e = strings.ToUpper(e[:1]) + e[1:len(local)] + "@" + strings.ToUpper(domain[:1]) + domain[1:]
	case 1:
		e = " " + e + " "
	case 2:
		e = strings.ReplaceAll(e, "@", " @ ")
	case 3:
		e = "mailto:" + e
	}
	return e
}

func benchPhone(rng *rand.Rand) string {
	var d [10]byte
	d[0] = '0'
	switch r := rng.IntN(100); {
	case r < 55:
		d[1] = byte('6' + rng.IntN(2))
	case r < 97:
		d[1] = byte('1' + rng.IntN(5))
	default:
		d[1] = '9'
	}
	for i := 2; i < 10; i++ {
		d[i] = byte('0' + rng.IntN(10))
	}
	if d[1] == '7' && d[2] < '3' {
		d[2] = '5'
	}
	s := string(d[:])
	if rng.IntN(50) == 0 {
		s = "0690" + s[4:] // Guadeloupe mobile
	}
	pairs := s[0:2] + " " + s[2:4] + " " + s[4:6] + " " + s[6:8] + " " + s[8:10]
	switch rng.IntN(12) {
	case 0:
		return s
	case 1:
		return strings.ReplaceAll(pairs, " ", ".")
	case 2:
		return "+33 " + s[1:2] + " " + pairs[3:]
	case 3:
		return "+33 (0)" + s[1:2] + " " + pairs[3:]
	case 4:
		return "0033" + s[1:]
	case 5:
		return s[1:] // the 0 lost by a spreadsheet
	case 6:
		return strings.ReplaceAll(pairs, " ", "-")
	case 7:
		return pairs + " poste 21" + strconv.Itoa(rng.IntN(10))
	default:
		return pairs
	}
}

// benchTitle writes a La Poste upper-case label the way people type it:
// "BOURG EN BRESSE" → "Bourg-en-Bresse", sometimes with "Saint" spelled out.
func benchTitle(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		switch w {
		case "st":
			w = "saint"
		case "ste":
			w = "sainte"
		}
		if i == 0 || len(w) > 3 {
			r := []rune(w)
			r[0] = unicode.ToUpper(r[0])
			w = string(r)
		}
		words[i] = w
	}
	return strings.Join(words, "-")
}

func benchTypo(rng *rand.Rand, s string) string {
	if len(s) < 6 {
		return s
	}
	i := 1 + rng.IntN(len(s)-2)
	if rng.IntN(2) == 0 {
		return s[:i] + s[i+1:]
	}
	return s[:i] + s[i+1:i+2] + s[i:i+1] + s[i+2:]
}

func benchAddress(rng *rand.Rand, towns []rnvp.Town, civility, first, last string) []string {
	t := towns[rng.IntN(len(towns))]
	var fields []string
	if rng.IntN(3) == 0 {
		fields = append(fields, strings.TrimSpace(civility+" "+first+" "+last))
	}
	if rng.IntN(7) == 0 {
		fields = append(fields, benchComplements[rng.IntN(len(benchComplements))])
	}
	num := strconv.Itoa(1 + rng.IntN(180))
	switch rng.IntN(25) {
	case 0:
		num += " bis"
	case 1:
		num += "B"
	case 2:
		num += "/" + strconv.Itoa(2+rng.IntN(4)+mustAtoi(num))
	}
	street := num + " " + benchTypes[rng.IntN(len(benchTypes))] + " " + benchStreets[rng.IntN(len(benchStreets))]
	if rng.IntN(12) == 0 {
		street += " " + benchComplements[rng.IntN(len(benchComplements))]
	}
	if rng.IntN(30) == 0 {
		street = "BP " + strconv.Itoa(100+rng.IntN(900)) + " " + street
	}
	if rng.IntN(5) == 0 {
		street = strings.ToUpper(street)
	}
	fields = append(fields, street)
	if t.Line5 != "" && rng.IntN(2) == 0 {
		fields = append(fields, benchTitle(t.Line5))
	}
	town := benchTitle(t.Locality)
	if rng.IntN(30) == 0 {
		town = benchTypo(rng, town)
	}
	if rng.IntN(5) == 0 {
		town = strings.ToUpper(town)
	}
	cp := t.PostalCode
	if cp[0] == '0' && rng.IntN(3) == 0 {
		cp = cp[1:] // the leading zero lost in a spreadsheet
	}
	if rng.IntN(2) == 0 {
		fields = append(fields, cp+" "+town)
	} else {
		fields = append(fields, cp, town)
	}
	return fields
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

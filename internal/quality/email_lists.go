package quality

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/csv"
	"io"
	"sort"
	"strings"
	"sync"
)

//go:embed data/disposable_domains.txt.gz data/disposable_wildcard_domains.txt.gz data/free_email_domains.txt.gz data/email_domain_typos.csv
var emailData embed.FS

// domainLists holds the e-mail reference lists. Membership lists are kept as
// sorted slices searched by binary search: a map of 120,000 domains would
// cost several times the memory for no measurable gain at our call rates.
type domainLists struct {
	disposable []string
	wildcard   []string // any sub-domain of these is disposable
	free       []string
	typos      map[string]string // typo domain → suggested domain
}

var (
	listsOnce sync.Once
	lists     *domainLists
)

// emailLists decodes the embedded lists on first use. The data is part of
// the binary, so a decoding failure is a build defect: it panics.
func emailLists() *domainLists {
	listsOnce.Do(func() {
		l := &domainLists{
			disposable: readSortedList("data/disposable_domains.txt.gz"),
			wildcard:   readSortedList("data/disposable_wildcard_domains.txt.gz"),
			free:       readSortedList("data/free_email_domains.txt.gz"),
			typos:      map[string]string{},
		}
		f, err := emailData.Open("data/email_domain_typos.csv")
		if err != nil {
			panic("quality: embedded typo list: " + err.Error())
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			panic("quality: embedded typo list: " + err.Error())
		}
		for _, row := range rows[1:] {
			// Ambiguous typos appear twice; the first (the .com or the
			// international variant) wins, consistently.
			if _, ok := l.typos[row[0]]; !ok {
				l.typos[row[0]] = row[1]
			}
		}
		for typo, fix := range frenchTypos {
			l.typos[typo] = fix
		}
		lists = l
	})
	return lists
}

func readSortedList(name string) []string {
	f, err := emailData.Open(name)
	if err != nil {
		panic("quality: embedded list " + name + ": " + err.Error())
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		panic("quality: embedded list " + name + ": " + err.Error())
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		panic("quality: embedded list " + name + ": " + err.Error())
	}
	// One string backs every entry: slicing it costs no copy.
	text := string(bytes.TrimSpace(raw))
	out := strings.Split(text, "\n")
	if !sort.StringsAreSorted(out) {
		sort.Strings(out)
	}
	return out
}

func inSorted(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}

// frenchTypos are the French-market typos of rnvp.md §5.2 (compiled there
// from public validators); the embedded inputEx list only has three French
// groups.
var frenchTypos = map[string]string{
	"gmial.com": "gmail.com", "gmal.com": "gmail.com", "gmai.com": "gmail.com",
	"gamil.com": "gmail.com", "gnail.com": "gmail.com", "gmaill.com": "gmail.com",
	"gmail.con": "gmail.com", "gmail.co": "gmail.com", "gmail.cm": "gmail.com",
	"gmail.fr":   "gmail.com",
	"hotmial.fr": "hotmail.fr", "hotmal.fr": "hotmail.fr", "hotmai.fr": "hotmail.fr",
	"homail.fr": "hotmail.fr", "hotmail.f": "hotmail.fr",
	"hotmial.com": "hotmail.com", "hotmal.com": "hotmail.com", "hotamil.com": "hotmail.com",
	"outlok.fr": "outlook.fr", "outlook.f": "outlook.fr",
	"icloud.fr": "icloud.com", "iclod.com": "icloud.com", "icoud.com": "icloud.com",
	"orage.fr": "orange.fr", "ornage.fr": "orange.fr", "oragne.fr": "orange.fr",
	"orang.fr": "orange.fr", "orange.fe": "orange.fr", "orange.com": "orange.fr",
	"wanado.fr": "wanadoo.fr", "wannadoo.fr": "wanadoo.fr", "wanadoo.com": "wanadoo.fr",
	"wanadou.fr": "wanadoo.fr",
	"fre.fr":     "free.fr", "freee.fr": "free.fr", "free.com": "free.fr",
	"sfr.com": "sfr.fr", "srf.fr": "sfr.fr", "sfr.fe": "sfr.fr",
	"lapost.net": "laposte.net", "laposte.ne": "laposte.net",
	"yaho.fr": "yahoo.fr", "yahou.fr": "yahoo.fr", "yahooo.fr": "yahoo.fr",
	"numericable.fe": "numericable.fr", "bbox.fe": "bbox.fr", "neuf.fe": "neuf.fr",
}

// commonDomains are the consumer domains most used by French contacts; a
// domain within edit distance 2 of one of them (and not itself a known
// provider) gets a suggestion.
var commonDomains = []string{
	"gmail.com", "hotmail.fr", "hotmail.com", "yahoo.fr", "yahoo.com", "orange.fr",
	"wanadoo.fr", "free.fr", "sfr.fr", "laposte.net", "outlook.fr", "outlook.com",
	"live.fr", "live.com", "icloud.com", "msn.com", "neuf.fr", "bbox.fr", "aol.com",
	"gmx.fr", "me.com", "numericable.fr", "club-internet.fr", "aliceadsl.fr",
	"voila.fr", "protonmail.com", "proton.me", "googlemail.com", "aol.fr", "yandex.com",
}

// realDomains are domains that look like typos of common ones but are real
// and in use (rnvp.md §5.2 traps): never suggest anything for them.
var realDomains = map[string]bool{
	"laposte.fr": true, "mail.com": true, "msn.fr": true, "live.fr": true,
	"live.com": true, "free.fr": true, "sfr.fr": true, "neuf.fr": true, "me.com": true,
	"mac.com": true, "gmx.fr": true, "gmx.de": true, "gmx.com": true, "aol.fr": true,
	"orange.fr": true, "yahoo.com": true, "yahoo.fr": true, "hotmail.fr": true,
	"hotmail.com": true, "outlook.com": true, "outlook.fr": true, "gmail.com": true,
	"ymail.com": true, "email.com": true, "voila.fr": true,
}

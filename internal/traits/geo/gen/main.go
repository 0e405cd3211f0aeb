// Command gen builds data/admin.tsv.gz, the compact table of French
// administrative units package geo embeds, from the INSEE COG CSV files of
// shared/data/fr_admin (docs/geo.md, data/README.md):
//
//	go run ./internal/traits/geo/gen -admin ../shared/data/fr_admin -out internal/traits/geo/data/admin.tsv.gz
//
// One line per unit, tab-separated, kinds first so the loader can resolve
// parents in one pass:
//
//	R code name                 région
//	D code name region          département
//	C code name departement     commune (commune-actuelle)
//	A code name commune         arrondissement municipal (Paris, Lyon, Marseille)
//	L code commune              former or delegated/associated code → current commune
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	admin := flag.String("admin", "", "folder with communes.csv, departements.csv, regions.csv")
	out := flag.String("out", "", "output .tsv.gz")
	flag.Parse()
	if *admin == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gen -admin DIR -out FILE.tsv.gz")
		os.Exit(2)
	}
	if err := run(*admin, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func read(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		m := map[string]string{}
		for i, h := range head {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
}

func clean(s string) string {
	if strings.ContainsAny(s, "\t\n\r") {
		panic("tab or newline in " + s)
	}
	return s
}

func run(admin, out string) error {
	regions, err := read(filepath.Join(admin, "regions.csv"))
	if err != nil {
		return err
	}
	depts, err := read(filepath.Join(admin, "departements.csv"))
	if err != nil {
		return err
	}
	communes, err := read(filepath.Join(admin, "communes.csv"))
	if err != nil {
		return err
	}
	var lines []string
	for _, r := range regions {
		lines = append(lines, "R\t"+clean(r["code"])+"\t"+clean(r["nom"]))
	}
	for _, d := range depts {
		lines = append(lines, "D\t"+clean(d["code"])+"\t"+clean(d["nom"])+"\t"+clean(d["region"]))
	}
	known := map[string]bool{}
	var arr, links []string
	for _, c := range communes {
		code := c["code"]
		switch c["type"] {
		case "commune-actuelle":
			known[code] = true
			lines = append(lines, "C\t"+clean(code)+"\t"+clean(c["nom"])+"\t"+clean(c["departement"]))
		case "arrondissement-municipal":
			known[code] = true
			arr = append(arr, "A\t"+clean(code)+"\t"+clean(c["nom"])+"\t"+clean(c["commune"]))
		}
	}
	seen := map[string]bool{}
	link := func(code, to string) {
		if code == "" || to == "" || known[code] || seen[code] || code == to {
			return
		}
		seen[code] = true
		links = append(links, "L\t"+clean(code)+"\t"+clean(to))
	}
	for _, c := range communes {
		switch c["type"] {
		case "commune-deleguee", "commune-associee":
			link(c["code"], c["chefLieu"])
		}
	}
	for _, c := range communes {
		if c["type"] == "commune-actuelle" && c["anciensCodes"] != "" {
			for _, old := range strings.Split(c["anciensCodes"], "|") {
				link(old, c["code"])
			}
		}
	}
	sort.Strings(links)
	lines = append(append(lines, arr...), links...)

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(zw)
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("%d lines\n", len(lines))
	return nil
}

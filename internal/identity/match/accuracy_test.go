package match

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The accuracy goals of issue 5, with the one default configuration.
var accuracyGoals = []struct {
	name   string
	minF1  float64
	loader func(t testing.TB) ([]Record, func(Record) string)
}{
	{"febrl1", 0.95, febrl("febrl1.csv")},
	{"febrl2", 0.95, febrl("febrl2.csv")},
	{"febrl3", 0.95, febrl("febrl3.csv")},
	{"chicago", 0.90, chicago},
}

func febrl(file string) func(t testing.TB) ([]Record, func(Record) string) {
	return func(t testing.TB) ([]Record, func(Record) string) {
		f, err := os.Open(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, _, err := ReadCSV(f, Mapping{})
		if err != nil {
			t.Fatal(err)
		}
		truth, err := EntityFromID(FEBRLEntityRegex)
		if err != nil {
			t.Fatal(err)
		}
		return recs, truth
	}
}

// chicago reads the labelled Chicago file; the truth column is read into a
// side table the matcher never sees.
func chicago(t testing.TB) ([]Record, func(Record) string) {
	f, err := os.Open(filepath.Join("testdata", "chicago_early_childhood.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := Mapping{Columns: map[string]Field{
		"Id": FieldID, "Site name": FieldFullName, "Address": FieldAddress,
		"Zip": FieldPostalCode, "Phone": FieldPhone, "Email Address": FieldEmail,
	}, Entity: "True Id"}
	recs, entities, err := ReadCSV(f, m)
	if err != nil {
		t.Fatal(err)
	}
	byID := make(map[string]string, len(recs))
	for i, r := range recs {
		byID[r.ID] = entities[i]
	}
	return recs, func(r Record) string { return byID[r.ID] }
}

func TestAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("accuracy runs the full model on four datasets")
	}
	for _, g := range accuracyGoals {
		t.Run(g.name, func(t *testing.T) {
			recs, truth := g.loader(t)
			m := Evaluate(recs, truth)
			js, _ := json.Marshal(m)
			t.Logf("%s", js)
			if m.F1 < g.minF1 {
				t.Errorf("F1 %.4f < %.2f (precision %.4f, recall %.4f)", m.F1, g.minF1, m.Precision, m.Recall)
			}
		})
	}
}

// TestFEBRLTruePairs checks the truth derived from rec_id against the pair
// files, which were generated independently.
func TestFEBRLTruePairs(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"febrl1", "febrl2", "febrl3"} {
		recs, truth := febrl(n + ".csv")(t)
		groups := map[string][]string{}
		for _, r := range recs {
			groups[truth(r)] = append(groups[truth(r)], r.ID)
		}
		var ours []string
		for _, ids := range groups {
			sort.Strings(ids)
			for i := range ids {
				for j := i + 1; j < len(ids); j++ {
					ours = append(ours, ids[i]+","+ids[j])
				}
			}
		}
		sort.Strings(ours)
		f, err := os.Open(filepath.Join("testdata", n+"_true_pairs.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var theirs []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && line != "rec_id_1,rec_id_2" {
				theirs = append(theirs, line)
			}
		}
		f.Close()
		sort.Strings(theirs)
		if len(ours) != len(theirs) {
			t.Fatalf("%s: %d pairs from rec_id, %d in the file", n, len(ours), len(theirs))
		}
		for i := range ours {
			if ours[i] != theirs[i] {
				t.Fatalf("%s: pair %d: %s from rec_id, %s in the file", n, i, ours[i], theirs[i])
			}
		}
	}
}

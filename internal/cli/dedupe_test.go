package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// The evaluate command reads FEBRL as it is: rec-12-org and rec-12-dup-0 are
// one person. FEBRL 1 has 500 true pairs (febrl1_true_pairs.csv lists them).
func TestDedupeEvaluateFEBRL(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"dedupe", "evaluate", "../identity/match/testdata/febrl1.csv",
		"--entity-column", "rec_id", "--entity-regex", `^rec-(\d+)-`, "--json"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var m struct {
		Records   int     `json:"records"`
		TruePairs int64   `json:"true_pairs"`
		F1        float64 `json:"f1"`
	}
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Records != 1000 || m.TruePairs != 500 || m.F1 < 0.95 {
		t.Errorf("got %+v, want 1000 records, 500 true pairs, F1 >= 0.95", m)
	}
	// Without the entity column the command refuses with a usage error.
	if code := Run(context.Background(), []string{"dedupe", "evaluate", "x.csv"}, strings.NewReader(""), &out, &errb); code != 2 {
		t.Errorf("missing --entity-column: exit %d, want 2", code)
	}
}

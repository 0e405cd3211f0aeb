package cli

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"
)

// The CDNOW sample of Fader, Hardie & Lee (2,357 customers), imported as
// orders and fitted with the calibration ending 1997-09-30, gives the
// published parameters: BG/NBD r 0.243, α 4.414, a 0.793, b 2.426
// (log-likelihood −9582.4); Gamma-Gamma p 6.25, q 3.74, v 15.44.
func TestScoresModelCLVOnImportedCDNOW(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, out, stderr := runCLI(t, "import", "orders", "../traits/clv/testdata/cdnow_sample.csv",
		"--mapping", "../imports/testdata/cdnow.mapping.yaml", "--source", "cdnow", "--data", data); code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr := runCLI(t, "scores", "model", "clv", "--until", "1997-09-30", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("scores: %d %s", code, stderr)
	}
	var rep struct {
		Customers int `json:"customers"`
		Models    []struct {
			Model         string             `json:"model"`
			Parameters    map[string]float64 `json:"parameters"`
			LogLikelihood float64            `json:"log_likelihood"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Customers != 2357 {
		t.Errorf("customers %d, want 2357", rep.Customers)
	}
	published := map[string]map[string]float64{
		"bg_nbd":      {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
		"gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44},
	}
	for _, m := range rep.Models {
		for k, want := range published[m.Model] {
			if got := m.Parameters[k]; math.Abs(got-want)/want > 0.01 {
				t.Errorf("%s %s = %.4f, published %.4f (more than 1%% apart)", m.Model, k, got, want)
			}
		}
		if m.Model == "bg_nbd" && math.Abs(m.LogLikelihood-(-9582.4)) > 0.5 {
			t.Errorf("BG/NBD log-likelihood %.2f, published -9582.4", m.LogLikelihood)
		}
		delete(published, m.Model)
	}
	if len(published) != 0 {
		t.Errorf("models missing from the report: %v", published)
	}
}

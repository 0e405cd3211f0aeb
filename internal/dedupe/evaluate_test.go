package dedupe_test

import (
	"testing"

	"github.com/atrium-cdp/atrium/internal/dedupe"
)

// Five records, truth {0,1,2} {3,4}; predicted {0,1} {2,3} and 4 lost
// (empty label). True pairs: 3 + 1 = 4. Predicted pairs: 1 + 1 = 2, of
// which 0-1 is true: precision 1/2, recall 1/4, F1 = 2·(1/8)/(3/4) = 1/3.
func TestScorePairs(t *testing.T) {
	t.Parallel()
	m := dedupe.ScorePairs([]string{"p", "p", "q", "q", ""}, []string{"a", "a", "a", "b", "b"})
	if m.TruePairs != 4 || m.PredictedPairs != 2 || m.TruePositives != 1 || m.Entities != 2 || m.Records != 5 {
		t.Fatalf("%+v", m)
	}
	if m.Precision != 0.5 || m.Recall != 0.25 || m.F1 < 1.0/3-1e-12 || m.F1 > 1.0/3+1e-12 {
		t.Errorf("P %v R %v F1 %v, want 0.5, 0.25, 1/3", m.Precision, m.Recall, m.F1)
	}
	// Empty truth labels are singletons, never each other's duplicates.
	m = dedupe.ScorePairs([]string{"p", "p"}, []string{"", ""})
	if m.TruePairs != 0 || m.PredictedPairs != 1 || m.TruePositives != 0 || m.Entities != 2 {
		t.Errorf("empty truths: %+v", m)
	}
}

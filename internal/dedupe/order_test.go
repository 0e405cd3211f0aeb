package dedupe_test

import (
	"context"
	"testing"

	"github.com/atrium-cdp/atrium/internal/dedupe"
)

// Whatever order the people arrive in, Jean's pair merges and Marie stays
// apart (the model is fitted on a population, not on three profiles).
func TestRunIndependentOfArrivalOrder(t *testing.T) {
	t.Parallel()
	people := []map[string]any{jeanCRM, jeanShop, marie}
	for _, perm := range [][]int{{0, 1, 2}, {2, 0, 1}, {2, 1, 0}, {1, 2, 0}} {
		ws := newWorkspace(t)
		ws.background(60)
		ids := make([]string, 3)
		for day, i := range perm {
			ids[i] = ws.identify([]string{"crm-1", "shop-1", "crm-2"}[i], day+1, people[i])
		}
		rep, err := ws.svc.Run(context.Background(), dedupe.RunOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Merges) != 1 {
			t.Errorf("order %v: %d merges %+v", perm, len(rep.Merges), rep.Merges)
			continue
		}
		got := map[string]bool{rep.Merges[0].SurvivorID: true, rep.Merges[0].MergedID: true}
		if !got[ids[0]] || !got[ids[1]] {
			t.Errorf("order %v: merged %v, want Jean's two profiles", perm, got)
		}
	}
}

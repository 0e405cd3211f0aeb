package dedupe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store"
)

// RunOptions say how a run acts.
type RunOptions struct {
	// DryRun computes everything and writes nothing.
	DryRun bool
	// Actor is recorded on the merges the run makes ("dedupe" when empty).
	Actor string
}

// MergeItem is a merge a run made (or, dry, would make): MergedID into
// SurvivorID, justified by the pair Explanation names (two profiles of the
// groups the merge joins).
type MergeItem struct {
	SurvivorID  string            `json:"survivor_id"`
	MergedID    string            `json:"merged_id"`
	Probability float64           `json:"probability"`
	MergeID     string            `json:"merge_id,omitempty"`
	Explanation match.Explanation `json:"explanation"`
}

// ReviewItem is a pair a run put (or would put) in the review queue.
type ReviewItem struct {
	ReviewID    string            `json:"review_id,omitempty"`
	New         bool              `json:"new"`
	ProfileA    string            `json:"profile_a"`
	ProfileB    string            `json:"profile_b"`
	Probability float64           `json:"probability"`
	Explanation match.Explanation `json:"explanation"`
}

// Report is what a run found and did.
type Report struct {
	DryRun                  bool    `json:"dry_run"`
	Profiles                int     `json:"profiles"`
	CandidatePairs          int64   `json:"candidate_pairs"`
	EstimatedBlockingRecall float64 `json:"estimated_blocking_recall"`
	// Clusters are the groups of live profiles the run merged (or would).
	Clusters [][]string   `json:"clusters"`
	Merges   []MergeItem  `json:"merges"`
	Reviews  []ReviewItem `json:"reviews"`
	// SkippedRejected and SkippedUndone count pairs left alone because a
	// reviewer rejected them or a person undid their merge.
	SkippedRejected int     `json:"skipped_rejected"`
	SkippedUndone   int     `json:"skipped_undone"`
	Seconds         float64 `json:"seconds"`
	// Note says why a run did nothing ("" otherwise).
	Note string `json:"note,omitempty"`
}

// MinProfiles is the fewest live profiles a run fits a model on.
const MinProfiles = 20

const (
	reasonRejected = "rejected"
	reasonUndone   = "undone"
)

// Run matches the workspace's live profiles and acts on the result: merges
// above the auto-merge threshold, reviews between the thresholds. Merges are
// made one by one, each in its own audited transaction: when one fails the
// run stops and the report lists what was done before.
func (s *Service) Run(ctx context.Context, opt RunOptions) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	rep := Report{DryRun: opt.DryRun, Clusters: [][]string{}, Merges: []MergeItem{}, Reviews: []ReviewItem{}}
	actor := opt.Actor
	if actor == "" {
		actor = "dedupe"
	}
	profiles, err := s.st.MatchProfiles(ctx)
	if err != nil {
		return rep, err
	}
	rep.Profiles = len(profiles)
	if len(profiles) < MinProfiles {
		// EM and the random u sample need a population: on a handful of
		// profiles the fitted model depends on the order the profiles are
		// read in and can swing either way. Doing nothing is the safe answer.
		rep.Note = fmt.Sprintf("too few live profiles to fit the model (%d, need %d): nothing done", len(profiles), MinProfiles)
		rep.Seconds = time.Since(start).Seconds()
		return rep, nil
	}
	recs := make([]match.Record, len(profiles))
	for i, p := range profiles {
		recs[i] = recordOf(p)
	}
	res, err := match.Run(ctx, s.cfg, recs)
	if err != nil {
		return rep, fmt.Errorf("match: %w", err)
	}
	rep.CandidatePairs, rep.EstimatedBlockingRecall = res.CandidatePairs, res.EstimatedBlockingRecall
	blocked, err := s.blockedPairs(ctx)
	if err != nil {
		return rep, err
	}

	plan := planMerges(res, profiles, blocked, &rep)
	for _, m := range plan {
		item := MergeItem{SurvivorID: profiles[m.into].ID, MergedID: profiles[m.from].ID,
			Probability: m.edge.Probability(), Explanation: res.Explain(int(m.edge.A), int(m.edge.B))}
		if !opt.DryRun {
			rec, err := s.merge(ctx, item.SurvivorID, item.MergedID, actor, item.Explanation)
			if err != nil {
				return rep, err
			}
			item.MergeID, item.SurvivorID, item.MergedID = rec.ID, rec.SurvivorID, rec.MergedID
		}
		rep.Merges = append(rep.Merges, item)
	}
	for _, g := range plan.groups() {
		ids := make([]string, len(g))
		for i, x := range g {
			ids[i] = profiles[x].ID
		}
		rep.Clusters = append(rep.Clusters, ids)
	}

	group := plan.groupOf(len(profiles))
	for _, p := range res.Review {
		a, b := int(p.A), int(p.B)
		if group[a] == group[b] {
			continue // merged together by this run
		}
		if why := blocked[pairKey(profiles[a].ID, profiles[b].ID)]; why != "" {
			rep.count(why)
			continue
		}
		ra, rb := profiles[a].ID, profiles[b].ID
		if ra > rb {
			ra, rb = rb, ra
		}
		item := ReviewItem{ProfileA: ra, ProfileB: rb, Probability: p.Probability(), Explanation: res.Explain(a, b), New: true}
		if !opt.DryRun {
			now := s.now().UTC()
			id, isNew, err := s.st.ProposeReview(ctx, store.DedupeReview{ID: s.newID(), ProfileA: ra, ProfileB: rb,
				Probability: item.Probability, Weight: p.Weight, Explanation: explanationJSON(item.Explanation),
				CreatedAt: now, UpdatedAt: now})
			if err != nil {
				return rep, err
			}
			item.ReviewID, item.New = id, isNew
		}
		rep.Reviews = append(rep.Reviews, item)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func (r *Report) count(why string) {
	if why == reasonRejected {
		r.SkippedRejected++
	} else {
		r.SkippedUndone++
	}
}

// merge merges two live profiles through the writer. When a profile is no
// longer live (ingest merged it meanwhile), the pair is resolved to the
// current survivors and tried once more; already one profile is no error.
func (s *Service) merge(ctx context.Context, a, b, actor string, e match.Explanation) (mergeResult, error) {
	note := ingest.MergeNote{Rule: Rule, Evidence: explanationJSON(e)}
	rec, err := s.mg.MergeNoted(ctx, a, b, actor, note)
	if errors.Is(err, store.ErrNotFound) {
		sa, err1 := s.st.Survivor(ctx, a)
		sb, err2 := s.st.Survivor(ctx, b)
		if err1 != nil || err2 != nil {
			return mergeResult{}, fmt.Errorf("merge %s and %s: %w", a, b, errors.Join(err1, err2))
		}
		if sa == sb {
			return mergeResult{SurvivorID: sa, MergedID: b}, nil
		}
		rec, err = s.mg.MergeNoted(ctx, sa, sb, actor, note)
	}
	if err != nil {
		return mergeResult{}, fmt.Errorf("merge %s and %s: %w", a, b, err)
	}
	return mergeResult{ID: rec.ID, SurvivorID: rec.SurvivorID, MergedID: rec.MergedID}, nil
}

type mergeResult struct{ ID, SurvivorID, MergedID string }

// blockedPairs maps the live survivors of every rejected pair and every
// undone merge to the reason the pair must be left alone.
func (s *Service) blockedPairs(ctx context.Context) (map[[2]string]string, error) {
	links, err := s.st.MergeLinks(ctx)
	if err != nil {
		return nil, err
	}
	resolve := func(id string) string {
		for i := 0; i < 64; i++ { // the store caps merge chains the same way
			next, ok := links[id]
			if !ok {
				return id
			}
			id = next
		}
		return id
	}
	out := map[[2]string]string{}
	for _, src := range []struct {
		why  string
		read func(context.Context) ([]store.ProfilePair, error)
	}{{reasonUndone, s.st.UndonePairs}, {reasonRejected, s.st.RejectedPairs}} {
		pairs, err := src.read(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range pairs {
			if a, b := resolve(p.A), resolve(p.B); a != b {
				out[pairKey(a, b)] = src.why
			}
		}
	}
	return out, nil
}

func pairKey(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// plannedMerge joins the group of record from into the group of record
// into; edge is the strongest pair between the two groups.
type plannedMerge struct {
	into, from int
	edge       match.ScoredPair
}

type mergePlan []plannedMerge

// planMerges turns the auto-merge clusters into merges. Inside a cluster the
// strong pairs are taken strongest first (Kruskal); a pair joins two groups
// unless a blocked pair (rejected, or undone by a person) would end up inside
// one profile. Each merge keeps the oldest profile of the two groups as the
// survivor, so the profile people have known longest keeps its id.
func planMerges(res *match.Result, profiles []store.MatchProfile, blocked map[[2]string]string, rep *Report) mergePlan {
	cid := res.ClusterIDs()
	mergeW := logit2(res.Config.AutoMergeThreshold)
	edges := make([][]match.ScoredPair, len(res.Clusters))
	for _, p := range res.Pairs {
		if c := cid[p.A]; c >= 0 && c == cid[p.B] && p.Weight >= mergeW {
			edges[c] = append(edges[c], p)
		}
	}
	older := func(x, y int) bool {
		px, py := profiles[x], profiles[y]
		if !px.CreatedAt.Equal(py.CreatedAt) {
			return px.CreatedAt.Before(py.CreatedAt)
		}
		return px.ID < py.ID
	}
	var plan mergePlan
	for c, members := range res.Clusters {
		es := edges[c]
		slices.SortStableFunc(es, func(x, y match.ScoredPair) int {
			switch {
			case x.Weight > y.Weight:
				return -1
			case x.Weight < y.Weight:
				return 1
			}
			return 0
		})
		groups := map[int][]int{} // survivor -> members
		owner := map[int]int{}
		for _, m := range members {
			groups[m] = []int{m}
			owner[m] = m
		}
		for _, e := range es {
			ga, gb := owner[int(e.A)], owner[int(e.B)]
			if ga == gb {
				continue
			}
			if why := crossBlocked(groups[ga], groups[gb], profiles, blocked); why != "" {
				rep.count(why)
				continue
			}
			into, from := ga, gb
			if older(gb, ga) {
				into, from = gb, ga
			}
			for _, m := range groups[from] {
				owner[m] = into
			}
			groups[into] = append(groups[into], groups[from]...)
			delete(groups, from)
			plan = append(plan, plannedMerge{into: into, from: from, edge: e})
		}
	}
	return plan
}

func crossBlocked(ga, gb []int, profiles []store.MatchProfile, blocked map[[2]string]string) string {
	if len(blocked) == 0 {
		return ""
	}
	for _, a := range ga {
		for _, b := range gb {
			if why := blocked[pairKey(profiles[a].ID, profiles[b].ID)]; why != "" {
				return why
			}
		}
	}
	return ""
}

// groupOf returns, per record, the record its group was merged into (itself
// when it was merged with nothing).
func (p mergePlan) groupOf(n int) []int {
	g := make([]int, n)
	for i := range g {
		g[i] = i
	}
	find := func(x int) int {
		for g[x] != x {
			x = g[x]
		}
		return x
	}
	for _, m := range p {
		g[find(m.from)] = find(m.into)
	}
	for i := range g {
		g[i] = find(i)
	}
	return g
}

// groups lists the merged groups (two records or more), survivor first.
func (p mergePlan) groups() [][]int {
	if len(p) == 0 {
		return nil
	}
	n := 0
	for _, m := range p {
		n = max(n, m.into+1, m.from+1)
	}
	g := p.groupOf(n)
	by := map[int][]int{}
	for i, r := range g {
		if r != i {
			by[r] = append(by[r], i)
		}
	}
	roots := make([]int, 0, len(by))
	for r := range by {
		roots = append(roots, r)
	}
	slices.Sort(roots)
	out := make([][]int, 0, len(roots))
	for _, r := range roots {
		out = append(out, append([]int{r}, by[r]...))
	}
	return out
}

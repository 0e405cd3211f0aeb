package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/web"
)

// dedupeRun matches the workspace's live profiles: merges the sure pairs,
// queues the doubtful ones for review (with --dry-run: says what it would do).
func dedupeRun(ctx context.Context, e *env, args []string) error {
	var dry bool
	return withTarget(ctx, e, "dedupe", args, func(_ *common, fs *flagSetT) {
		fs.BoolVar(&dry, "dry-run", false, "compute and print, change nothing")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 0 {
			return usagef("usage: atrium dedupe [--dry-run] [--json]")
		}
		var rep dedupe.Report
		var err error
		switch {
		case t.server != nil:
			err = t.server.do(ctx, "POST", "/api/v1/dedupe/run", nil, map[string]bool{"dry_run": dry}, &rep)
		case dry:
			rep, err = dedupe.New(t.db, nil, uuid.NewString, time.Now).Run(ctx, dedupe.RunOptions{DryRun: true})
		default:
			err = t.withWriter(ctx, func(w *ingest.Writer) error {
				var rerr error
				rep, rerr = dedupe.New(t.db, w, uuid.NewString, time.Now).Run(ctx, dedupe.RunOptions{Actor: "cli"})
				return rerr
			})
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, rep)
		}
		printReport(e.stdout, rep)
		return nil
	})
}

func printReport(w io.Writer, rep dedupe.Report) {
	verb, rverb := "merged", "queued for review"
	if rep.DryRun {
		verb, rverb = "would merge", "would queue for review"
	}
	fmt.Fprintf(w, "profiles %d, candidate pairs %d (estimated blocking recall %.4f), %.1f s\n",
		rep.Profiles, rep.CandidatePairs, rep.EstimatedBlockingRecall, rep.Seconds)
	if rep.Note != "" {
		fmt.Fprintln(w, rep.Note)
	}
	fmt.Fprintf(w, "clusters %d; %s %d pair(s); %s %d pair(s); left alone: %d rejected, %d undone by a person\n",
		len(rep.Clusters), verb, len(rep.Merges), rverb, len(rep.Reviews), rep.SkippedRejected, rep.SkippedUndone)
	for _, m := range rep.Merges {
		fmt.Fprintf(w, "\nmerge %s into %s  p=%.6f", m.MergedID, m.SurvivorID, m.Probability)
		if m.MergeID != "" {
			fmt.Fprintf(w, "  (merge %s)", m.MergeID)
		}
		fmt.Fprintln(w)
		printExplanation(w, m.Explanation)
	}
	for _, r := range rep.Reviews {
		id := r.ReviewID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(w, "\nreview %s  %s / %s  p=%.6f\n", id, r.ProfileA, r.ProfileB, r.Probability)
		printExplanation(w, r.Explanation)
	}
}

// printExplanation prints one line per field that weighed (missing fields
// weigh 0 and are left out), then the total.
func printExplanation(w io.Writer, x match.Explanation) {
	fmt.Fprintf(w, "  %-14s %-48s %+7.2f\n", "prior", "", x.PriorWeight)
	for _, c := range x.Contributions {
		if c.Level == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-14s %-48s %+7.2f\n", c.Comparison, c.LevelName, c.Weight)
	}
	fmt.Fprintf(w, "  %-14s %-48s %+7.2f -> probability %.6f\n", "total", "", x.Weight, x.Probability)
}

// dedupeReview lists or decides the review queue.
func dedupeReview(ctx context.Context, e *env, args []string) error {
	var status string
	var limit int
	return withTarget(ctx, e, "dedupe review", args, func(_ *common, fs *flagSetT) {
		fs.StringVar(&status, "status", "open", "list: open, accepted, rejected or all")
		fs.IntVar(&limit, "limit", 100, "list: at most this many (1 to 1000)")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) == 0 {
			pos = []string{"list"}
		}
		switch {
		case pos[0] == "list" && len(pos) == 1:
			return reviewList(ctx, e, t, c, status, limit)
		case (pos[0] == "accept" || pos[0] == "reject") && len(pos) == 2:
			return reviewDecide(ctx, e, t, c, pos[0] == "accept", pos[1])
		}
		return usagef("usage: atrium dedupe review [list [--status S] [--limit N] | accept REVIEW_ID | reject REVIEW_ID] [--json]")
	})
}

func reviewList(ctx context.Context, e *env, t *target, c *common, status string, limit int) error {
	var list []store.DedupeReview
	if t.server != nil {
		var out struct {
			Reviews []store.DedupeReview `json:"reviews"`
		}
		q := url.Values{"status": {status}, "limit": {strconv.Itoa(limit)}}
		if err := t.server.do(ctx, "GET", "/api/v1/dedupe/reviews", q, nil, &out); err != nil {
			return err
		}
		list = out.Reviews
	} else {
		if status == "all" {
			status = ""
		}
		var err error
		list, err = dedupe.New(t.db, nil, uuid.NewString, time.Now).Reviews(ctx, status, limit)
		if err != nil {
			return asUsage(err)
		}
	}
	if c.json {
		return printJSON(e.stdout, map[string]any{"reviews": list})
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no reviews")
	}
	for _, r := range list {
		fmt.Fprintf(e.stdout, "%s  %-8s p=%.6f  %s / %s  %s\n", r.ID, r.Status, r.Probability, r.ProfileA, r.ProfileB,
			r.CreatedAt.Format("2006-01-02 15:04:05"))
	}
	return nil
}

func reviewDecide(ctx context.Context, e *env, t *target, c *common, accept bool, id string) error {
	verb := "reject"
	if accept {
		verb = "accept"
	}
	var out web.ReviewDecision
	var err error
	switch {
	case t.server != nil:
		err = t.server.do(ctx, "POST", "/api/v1/dedupe/reviews/"+url.PathEscape(id)+"/"+verb, nil, nil, &out)
	case accept:
		err = t.withWriter(ctx, func(w *ingest.Writer) error {
			var aerr error
			out.Review, out.Merge, aerr = dedupe.New(t.db, w, uuid.NewString, time.Now).Accept(ctx, id, "cli")
			return aerr
		})
	default:
		out.Review, err = dedupe.New(t.db, nil, uuid.NewString, time.Now).Reject(ctx, id, "cli")
	}
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "review %s %s by %s\n", out.Review.ID, out.Review.Status, out.Review.DecidedBy)
	if out.Merge != nil {
		fmt.Fprintf(e.stdout, "merge %s: %s <- %s (undo: atrium profiles unmerge %s)\n", out.Merge.ID, out.Merge.SurvivorID, out.Merge.MergedID, out.Merge.ID)
	}
	return nil
}

// dedupeGolden prints a profile's golden record with each value's lineage.
func dedupeGolden(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "dedupe golden", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium dedupe golden PROFILE_ID [--json]")
		}
		var g dedupe.Golden
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "GET", "/api/v1/profiles/"+url.PathEscape(pos[0])+"/golden", nil, nil, &g)
		} else {
			g, err = dedupe.New(t.db, nil, uuid.NewString, time.Now).Golden(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, g)
		}
		fmt.Fprintf(e.stdout, "profile %s (%d member profile(s))\n", g.ProfileID, len(g.Members))
		for _, f := range dedupe.GoldenFields {
			v, ok := g.Fields[f]
			if !ok {
				continue
			}
			fmt.Fprintf(e.stdout, "  %-10s %v\n             from %s (source %s) at %s, rule %s, %d candidate(s)\n", f, v.Value, v.ProfileID,
				v.Source, v.At.Format(time.RFC3339), v.Rule, v.Candidates)
		}
		return nil
	})
}

// dedupeSurvivorship reads or replaces the workspace's survivorship rules.
func dedupeSurvivorship(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "dedupe survivorship", args, nil, func(t *target, c *common, pos []string) error {
		var sv dedupe.Survivorship
		var err error
		switch {
		case len(pos) == 1 && pos[0] == "get":
			if t.server != nil {
				err = t.server.do(ctx, "GET", "/api/v1/settings/survivorship", nil, nil, &sv)
			} else {
				sv, err = dedupe.New(t.db, nil, uuid.NewString, time.Now).Survivorship(ctx)
			}
		case len(pos) == 2 && pos[0] == "set":
			var raw []byte
			if pos[1] == "-" {
				raw, err = io.ReadAll(io.LimitReader(e.stdin, dedupe.MaxSurvivorshipBytes+1))
			} else {
				raw, err = os.ReadFile(pos[1])
			}
			if err != nil {
				return err
			}
			// Validated here too, so that the server and the file path
			// give the same message.
			if _, perr := dedupe.ParseSurvivorship(raw); perr != nil {
				return perr
			}
			if t.server != nil {
				err = t.server.do(ctx, "PUT", "/api/v1/settings/survivorship", nil, json.RawMessage(raw), &sv)
			} else {
				sv, err = dedupe.New(t.db, nil, uuid.NewString, time.Now).PutSurvivorship(ctx, raw)
			}
		default:
			return usagef("usage: atrium dedupe survivorship get | set FILE.json (or - for stdin)")
		}
		if err != nil {
			return err
		}
		return printJSON(e.stdout, sv)
	})
}

// asUsage turns the service's input errors into usage errors (exit 2).
func asUsage(err error) error {
	if ie, ok := err.(*dedupe.InputError); ok {
		return usagef("%s", ie.Msg)
	}
	return err
}

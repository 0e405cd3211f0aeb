package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/web"
)

func runProfiles(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "profiles", args, map[string]func(context.Context, *env, []string) error{
		"get":     profilesGet,
		"lookup":  profilesLookup,
		"events":  profilesEvents,
		"merges":  profilesMerges,
		"merge":   profilesMerge,
		"unmerge": profilesUnmerge,
	})
}

// withTarget parses the common flags, opens the workspace and runs fn.
func withTarget(ctx context.Context, e *env, name string, args []string, extra func(*common, *flagSetT), fn func(t *target, c *common, pos []string) error) error {
	var c common
	fs := c.flags(name, e)
	if extra != nil {
		extra(&c, fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	t, err := open(ctx, e, c.data)
	if err != nil {
		return err
	}
	defer t.Close()
	return fn(t, &c, pos)
}

func profilesGet(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "profiles get", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium profiles get PROFILE_ID [--json]")
		}
		var p web.ProfileJSON
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "GET", "/api/v1/profiles/"+url.PathEscape(pos[0]), nil, nil, &p)
		} else {
			p, err = web.LoadProfile(ctx, t.db, pos[0])
		}
		if err != nil {
			return err
		}
		return printProfile(e, c, p)
	})
}

func profilesLookup(ctx context.Context, e *env, args []string) error {
	var by = map[string]*string{}
	for _, k := range []string{"email", "phone", "user-id", "anonymous-id"} {
		by[k] = new(string)
	}
	var extType, extValue string
	return withTarget(ctx, e, "profiles lookup", args, func(_ *common, fs *flagSetT) {
		for k, p := range by {
			fs.StringVar(p, k, "", "find the profile with this "+k)
		}
		fs.StringVar(&extType, "type", "", "an external id type (with --value)")
		fs.StringVar(&extValue, "value", "", "the external id value (with --type)")
	}, func(t *target, c *common, _ []string) error {
		idType, value := "", ""
		n := 0
		for k, p := range by {
			if *p != "" {
				idType, value = strings.ReplaceAll(k, "-", "_"), *p
				n++
			}
		}
		if extType != "" || extValue != "" {
			idType, value = extType, extValue
			n++
		}
		if n != 1 {
			return usagef("give exactly one of --email, --phone, --user-id, --anonymous-id or --type with --value")
		}
		var p web.ProfileJSON
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "GET", "/api/v1/profiles/lookup", url.Values{idType: {value}}, nil, &p)
		} else {
			var cfg identity.Config
			cfg, err = app.LoadIdentityConfig(ctx, t.db)
			if err != nil {
				return err
			}
			var pid string
			pid, err = web.LookupProfileID(ctx, t.db, app.Keyer(), cfg.DefaultRegion, idType, value)
			if err == nil {
				p, err = web.LoadProfile(ctx, t.db, pid)
			}
		}
		if err != nil {
			return err
		}
		return printProfile(e, c, p)
	})
}

func printProfile(e *env, c *common, p web.ProfileJSON) error {
	if c.json {
		return printJSON(e.stdout, p)
	}
	w := e.stdout
	fmt.Fprintf(w, "profile %s", p.ID)
	if p.Merged {
		fmt.Fprintf(w, " (asked for %s, which was merged into it)", p.RequestedID)
	}
	fmt.Fprintf(w, "\n  identified: %v\n  created: %s  updated: %s\n  identities:\n", p.Identified, p.CreatedAt.Format("2006-01-02 15:04:05"), p.UpdatedAt.Format("2006-01-02 15:04:05"))
	for _, i := range p.Identities {
		fmt.Fprintf(w, "    %-13s %s\n", i.Type, i.Display)
	}
	fmt.Fprintf(w, "  traits: %s\n", string(p.Traits))
	for _, s := range p.Consents {
		fmt.Fprintf(w, "  consent %s: %s (%s)\n", s.Purpose, s.Status, s.At.Format("2006-01-02 15:04:05"))
	}
	if len(p.MergedProfileIDs) > 0 {
		fmt.Fprintf(w, "  merged profiles: %s\n", strings.Join(p.MergedProfileIDs, ", "))
	}
	return nil
}

func profilesEvents(ctx context.Context, e *env, args []string) error {
	limit := 50
	return withTarget(ctx, e, "profiles events", args, func(_ *common, fs *flagSetT) {
		fs.IntVar(&limit, "limit", 50, "events to list (1-1000), newest first")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium profiles events PROFILE_ID [--limit N] [--json]")
		}
		if limit < 1 || limit > 1000 {
			return usagef("--limit must be from 1 to 1000")
		}
		var evs []store.EventView
		if t.server != nil {
			var page struct {
				Events []store.EventView `json:"events"`
			}
			if err := t.server.do(ctx, "GET", "/api/v1/profiles/"+url.PathEscape(pos[0])+"/events", url.Values{"limit": {strconv.Itoa(limit)}}, nil, &page); err != nil {
				return err
			}
			evs = page.Events
		} else {
			surv, err := t.db.Survivor(ctx, pos[0])
			if err != nil {
				return err
			}
			if evs, err = t.db.ProfileEvents(ctx, surv, limit, nil); err != nil {
				return err
			}
		}
		if c.json {
			return printJSON(e.stdout, map[string]any{"events": evs})
		}
		for _, ev := range evs {
			what := ev.Event
			if what == "" {
				what = ev.Name
			}
			fmt.Fprintf(e.stdout, "%s  %-8s %-30s %s\n", ev.Timestamp.Format("2006-01-02 15:04:05"), ev.Type, what, ev.MessageID)
		}
		return nil
	})
}

func profilesMerges(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "profiles merges", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium profiles merges PROFILE_ID [--json]")
		}
		var ms []model.Merge
		if t.server != nil {
			var out struct {
				Merges []model.Merge `json:"merges"`
			}
			if err := t.server.do(ctx, "GET", "/api/v1/profiles/"+url.PathEscape(pos[0])+"/merges", nil, nil, &out); err != nil {
				return err
			}
			ms = out.Merges
		} else {
			surv, err := t.db.Survivor(ctx, pos[0])
			if err != nil {
				return err
			}
			if ms, err = t.db.ProfileMerges(ctx, surv); err != nil {
				return err
			}
		}
		return printMerges(e, c, ms)
	})
}

func printMerges(e *env, c *common, ms []model.Merge) error {
	if c.json {
		return printJSON(e.stdout, map[string]any{"merges": ms})
	}
	for _, m := range ms {
		state := "active"
		if m.UndoneAt != nil {
			state = "undone " + m.UndoneAt.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(e.stdout, "%s  %s  %s <- %s  rule=%s by %s  [%s]\n  evidence: %s\n", m.ID, m.CreatedAt.Format("2006-01-02 15:04:05"),
			m.SurvivorID, m.MergedID, m.Rule, m.Actor, state, string(m.Evidence))
	}
	return nil
}

func profilesMerge(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "profiles merge", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 2 {
			return usagef("usage: atrium profiles merge SURVIVOR_ID OTHER_ID [--json]")
		}
		var m model.Merge
		if t.server != nil {
			if err := t.server.do(ctx, "POST", "/api/v1/profiles/"+url.PathEscape(pos[0])+"/merge", nil, map[string]string{"profile_id": pos[1]}, &m); err != nil {
				return err
			}
		} else {
			a, err := t.db.Survivor(ctx, pos[0])
			if err != nil {
				return err
			}
			b, err := t.db.Survivor(ctx, pos[1])
			if err != nil {
				return err
			}
			if a == b {
				return fmt.Errorf("the two profiles are already one (%s)", a)
			}
			if err := t.withWriter(ctx, func(w *ingest.Writer) error {
				m, err = w.Merge(ctx, a, b, "cli")
				return err
			}); err != nil {
				return err
			}
		}
		return printMerges(e, c, []model.Merge{m})
	})
}

func profilesUnmerge(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "profiles unmerge", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium profiles unmerge MERGE_ID [--json]  (merge ids: atrium profiles merges PROFILE_ID)")
		}
		var m model.Merge
		if t.server != nil {
			if err := t.server.do(ctx, "POST", "/api/v1/merges/"+url.PathEscape(pos[0])+"/undo", nil, nil, &m); err != nil {
				return err
			}
		} else {
			if err := t.withWriter(ctx, func(w *ingest.Writer) error {
				var err error
				m, err = w.Unmerge(ctx, pos[0], "cli")
				return err
			}); err != nil {
				return err
			}
		}
		return printMerges(e, c, []model.Merge{m})
	})
}

package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"time"

	"github.com/atrium-cdp/atrium/internal/traits/computed"
)

// scoresTraits dispatches "atrium scores traits <apply|list|show|delete>":
// computed trait definitions (docs/computed-traits.md).
func scoresTraits(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "scores traits", args, map[string]func(context.Context, *env, []string) error{
		"apply":  traitsApply,
		"list":   traitsList,
		"show":   traitsShow,
		"delete": traitsDelete,
	})
}

// traitsApply validates a YAML file of definitions, then stores them and
// computes their values in one transaction (through the server when one
// holds the workspace: PUT /api/v1/computed-traits).
func traitsApply(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "scores traits apply", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium scores traits apply FILE.yaml [--json]")
		}
		data, err := readTraitsFile(pos[0], computed.MaxFileBytes)
		if err != nil {
			return err
		}
		defs, err := computed.ParseYAML(data)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		var counts map[string]int64
		if t.server != nil {
			var out struct {
				Profiles map[string]int64 `json:"profiles"`
			}
			if err := t.server.do(ctx, "PUT", "/api/v1/computed-traits", nil, computed.File{ComputedTraits: defs}, &out); err != nil {
				return err
			}
			counts = out.Profiles
		} else if counts, err = computed.NewService(t.db, time.Now).Save(ctx, defs); err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, map[string]any{"applied": len(defs), "profiles": counts})
		}
		fmt.Fprintf(e.stdout, "applied %d computed traits from %s\n", len(defs), pos[0])
		for _, d := range defs {
			fmt.Fprintf(e.stdout, "  %-30s %d profiles\n", d.Name, counts[d.Name])
		}
		return nil
	})
}

// readTraitsFile reads a file, refusing one larger than limit bytes before
// reading it whole.
func readTraitsFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes: split the definitions into several files", path, limit)
	}
	return data, nil
}

func traitsList(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "scores traits list", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 0 {
			return usagef("usage: atrium scores traits list [--json]")
		}
		var list []computed.Stored
		var err error
		if t.server != nil {
			var out struct {
				ComputedTraits []computed.Stored `json:"computed_traits"`
			}
			err = t.server.do(ctx, "GET", "/api/v1/computed-traits", nil, nil, &out)
			list = out.ComputedTraits
		} else {
			list, err = t.db.ComputedTraits(ctx)
		}
		if err != nil {
			return err
		}
		if list == nil {
			list = []computed.Stored{}
		}
		if c.json {
			return printJSON(e.stdout, map[string]any{"computed_traits": list})
		}
		if len(list) == 0 {
			fmt.Fprintln(e.stdout, "no computed traits (define some with: atrium scores traits apply FILE.yaml)")
			return nil
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Definition.Name < list[j].Definition.Name })
		for _, s := range list {
			d := s.Definition
			refreshed := "never"
			if s.RefreshedAt != nil {
				refreshed = s.RefreshedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(e.stdout, "%-30s %-14s over %-6s %8d profiles  refreshed %s\n", d.Name, d.Aggregate, d.Over, s.Profiles, refreshed)
		}
		return nil
	})
}

func traitsShow(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "scores traits show", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium scores traits show NAME [--json]")
		}
		var s computed.Stored
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "GET", "/api/v1/computed-traits/"+url.PathEscape(pos[0]), nil, nil, &s)
		} else {
			s, err = t.db.ComputedTrait(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		return printJSON(e.stdout, s)
	})
}

func traitsDelete(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "scores traits delete", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium scores traits delete NAME")
		}
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "DELETE", "/api/v1/computed-traits/"+url.PathEscape(pos[0]), nil, nil, nil)
		} else {
			err = computed.NewService(t.db, time.Now).Delete(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted computed trait %s and its values\n", pos[0])
		return nil
	})
}

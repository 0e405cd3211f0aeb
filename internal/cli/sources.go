package cli

import (
	"context"
	"fmt"
	"net/url"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store"
)

func runSources(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "sources", args, map[string]func(context.Context, *env, []string) error{
		"create": sourcesCreate,
		"list":   sourcesList,
		"revoke": sourcesRevoke,
	})
}

func sourcesCreate(ctx context.Context, e *env, args []string) error {
	kind := "other"
	return withTarget(ctx, e, "sources create", args, func(_ *common, fs *flagSetT) {
		fs.StringVar(&kind, "kind", kind, "website, server, mobile, file, crm, erp, eshop or other")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium sources create NAME [--kind KIND] [--json]")
		}
		var src store.Source
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "POST", "/api/v1/sources", nil, map[string]string{"name": pos[0], "kind": kind}, &src)
		} else {
			src, err = app.NewWorkspace(t.db).CreateSource(ctx, pos[0], kind)
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, src)
		}
		fmt.Fprintf(e.stdout, "source %s (%s) created\n  write key: %s\n", src.Name, src.ID, src.WriteKey)
		return nil
	})
}

func sourcesList(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "sources list", args, nil, func(t *target, c *common, _ []string) error {
		var list []store.Source
		if t.server != nil {
			var out struct {
				Sources []store.Source `json:"sources"`
			}
			if err := t.server.do(ctx, "GET", "/api/v1/sources", nil, nil, &out); err != nil {
				return err
			}
			list = out.Sources
		} else {
			var err error
			if list, err = t.db.Sources(ctx); err != nil {
				return err
			}
		}
		if c.json {
			return printJSON(e.stdout, map[string]any{"sources": list})
		}
		for _, s := range list {
			state := "active"
			if s.RevokedAt != nil {
				state = "revoked"
			}
			fmt.Fprintf(e.stdout, "%s  %-20s %-8s %-8s %s\n", s.ID, s.Name, s.Kind, state, s.WriteKey)
		}
		return nil
	})
}

func sourcesRevoke(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "sources revoke", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium sources revoke ID_OR_NAME")
		}
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "DELETE", "/api/v1/sources/"+url.PathEscape(pos[0]), nil, nil, nil)
		} else {
			err = app.NewWorkspace(t.db).RevokeSource(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, map[string]string{"revoked": pos[0]})
		}
		fmt.Fprintf(e.stdout, "source %s revoked: its write key no longer works\n", pos[0])
		return nil
	})
}

func runTokens(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "tokens", args, map[string]func(context.Context, *env, []string) error{
		"create": tokensCreate,
		"list":   tokensList,
		"revoke": tokensRevoke,
	})
}

func tokensCreate(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "tokens create", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium tokens create NAME [--json]")
		}
		var out struct {
			Token  store.Token `json:"token"`
			Secret string      `json:"secret"`
		}
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "POST", "/api/v1/tokens", nil, map[string]string{"name": pos[0]}, &out)
		} else {
			out.Token, out.Secret, err = app.NewWorkspace(t.db).CreateToken(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, out)
		}
		fmt.Fprintf(e.stdout, "token %s (%s) created\n  secret (shown once): %s\n", out.Token.Name, out.Token.ID, out.Secret)
		return nil
	})
}

func tokensList(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "tokens list", args, nil, func(t *target, c *common, _ []string) error {
		var list []store.Token
		if t.server != nil {
			var out struct {
				Tokens []store.Token `json:"tokens"`
			}
			if err := t.server.do(ctx, "GET", "/api/v1/tokens", nil, nil, &out); err != nil {
				return err
			}
			list = out.Tokens
		} else {
			var err error
			if list, err = t.db.Tokens(ctx); err != nil {
				return err
			}
		}
		if c.json {
			return printJSON(e.stdout, map[string]any{"tokens": list})
		}
		for _, tk := range list {
			state := "active"
			if tk.RevokedAt != nil {
				state = "revoked"
			}
			fmt.Fprintf(e.stdout, "%s  %-20s %-6s %s\n", tk.ID, tk.Name, tk.Role, state)
		}
		return nil
	})
}

func tokensRevoke(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "tokens revoke", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium tokens revoke TOKEN_ID")
		}
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(pos[0]), nil, nil, nil)
		} else {
			err = app.NewWorkspace(t.db).RevokeToken(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, map[string]string{"revoked": pos[0]})
		}
		fmt.Fprintf(e.stdout, "token %s revoked\n", pos[0])
		return nil
	})
}

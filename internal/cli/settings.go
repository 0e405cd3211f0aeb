package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/store"
)

// runSettings reads or replaces the workspace's identity rules:
// "atrium settings get identity", "atrium settings set identity FILE|-".
func runSettings(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "settings", args, map[string]func(context.Context, *env, []string) error{
		"get": settingsGet,
		"set": settingsSet,
	})
}

func settingsGet(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "settings get", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 || pos[0] != "identity" {
			return usagef("usage: atrium settings get identity")
		}
		var cfg identity.Config
		if t.server != nil {
			if err := t.server.do(ctx, "GET", "/api/v1/settings/identity", nil, nil, &cfg); err != nil {
				return err
			}
		} else {
			raw, err := t.db.Setting(ctx, "identity")
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if cfg, err = identity.ParseConfig([]byte(raw)); err != nil {
				return err
			}
		}
		return printJSON(e.stdout, cfg)
	})
}

func settingsSet(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "settings set", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 2 || pos[0] != "identity" {
			return usagef("usage: atrium settings set identity FILE.json   (or - for stdin)")
		}
		var raw []byte
		var err error
		if pos[1] == "-" {
			raw, err = io.ReadAll(io.LimitReader(e.stdin, 64<<10))
		} else {
			raw, err = os.ReadFile(pos[1])
		}
		if err != nil {
			return err
		}
		cfg, err := identity.ParseConfig(raw)
		if err != nil {
			return err
		}
		if t.server != nil {
			err = t.server.do(ctx, "PUT", "/api/v1/settings/identity", nil, cfg, &cfg)
		} else {
			norm, _ := json.Marshal(cfg)
			err = t.db.PutSetting(ctx, "identity", string(norm), time.Now())
		}
		if err != nil {
			return err
		}
		return printJSON(e.stdout, cfg)
	})
}

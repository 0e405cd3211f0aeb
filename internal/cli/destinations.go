package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/atrium-cdp/atrium/internal/activate"
)

func runDestinations(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "destinations", args, map[string]func(context.Context, *env, []string) error{
		"create":     destinationsCreate,
		"list":       destinationsList,
		"show":       destinationsShow,
		"delete":     destinationsDelete,
		"deliveries": destinationsDeliveries,
		"replay":     destinationsReplay,
		"test":       destinationsTest,
		"sync":       destinationsSync,
	})
}

// dispatcher is activation over a directly opened workspace: settings,
// listings and replays work; queued rows go out when a server runs.
func dispatcher(t *target) *activate.Dispatcher {
	return activate.New(t.db, activate.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// destList is a repeatable or comma-separated flag.
type destList []string

func (l *destList) String() string { return strings.Join(*l, ",") }
func (l *destList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func destinationsCreate(ctx context.Context, e *env, args []string) error {
	var kind, settingsFile, hookURL, secret, purpose, timeout, fullSync, maxAge string
	var segs, events, traits destList
	var maxAttempts int
	return withTarget(ctx, e, "destinations create", args, func(_ *common, fs *flagSetT) {
		fs.StringVar(&kind, "kind", "webhook", "destination kind ("+strings.Join(activate.Kinds(), ", ")+")")
		fs.StringVar(&settingsFile, "settings", "", "read the settings JSON from this file ('-': standard input) instead of the flags below")
		fs.StringVar(&hookURL, "url", "", "webhook: the http(s) address deliveries are posted to")
		fs.StringVar(&secret, "secret", "", "webhook: signing secret, 16 to 256 bytes (default: generated and printed once)")
		fs.StringVar(&purpose, "purpose", "", "consent purpose members need: email_marketing, sms, advertising or none")
		fs.Var(&segs, "segment", "segment id or name (repeatable)")
		fs.Var(&events, "events", "enter, exit or both (default both)")
		fs.Var(&traits, "traits", "profile traits copied into each payload (comma-separated)")
		fs.StringVar(&timeout, "timeout", "", "webhook: time allowed per attempt (default 10s)")
		fs.StringVar(&fullSync, "full-sync-every", "", "send every current member on this schedule, e.g. 24h")
		fs.IntVar(&maxAttempts, "max-attempts", 0, "attempts before a delivery is dead (default 25)")
		fs.StringVar(&maxAge, "max-age", "", "age after which a delivery is dead (default 72h)")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium destinations create NAME --url URL --segment SEGMENT --purpose PURPOSE [flags] (or --settings FILE)")
		}
		var settings json.RawMessage
		if settingsFile != "" {
			b, err := readSettingsFile(e, settingsFile)
			if err != nil {
				return err
			}
			settings = b
		} else {
			m := map[string]any{"url": hookURL, "segments": []string(segs), "purpose": purpose}
			for k, v := range map[string]string{"secret": secret, "timeout": timeout, "full_sync_every": fullSync, "max_age": maxAge} {
				if v != "" {
					m[k] = v
				}
			}
			if len(events) > 0 {
				m["events"] = []string(events)
			}
			if len(traits) > 0 {
				m["traits"] = []string(traits)
			}
			if maxAttempts != 0 {
				m["max_attempts"] = maxAttempts
			}
			settings, _ = json.Marshal(m)
		}
		var out struct {
			Destination activate.DestinationView `json:"destination"`
			Secret      string                   `json:"secret"`
		}
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "POST", "/api/v1/destinations", nil, map[string]any{"name": pos[0], "kind": kind, "settings": settings}, &out)
		} else {
			out.Destination, out.Secret, err = dispatcher(t).Create(ctx, pos[0], kind, settings)
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, out)
		}
		fmt.Fprintf(e.stdout, "destination %s (%s) created\n  signing secret (shown once): %s\n", out.Destination.Name, out.Destination.ID, out.Secret)
		return nil
	})
}

func destinationsList(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "destinations list", args, nil, func(t *target, c *common, _ []string) error {
		var list []activate.DestinationView
		if t.server != nil {
			var out struct {
				Destinations []activate.DestinationView `json:"destinations"`
			}
			if err := t.server.do(ctx, "GET", "/api/v1/destinations", nil, nil, &out); err != nil {
				return err
			}
			list = out.Destinations
		} else {
			var err error
			if list, err = dispatcher(t).List(ctx); err != nil {
				return err
			}
		}
		if c.json {
			return printJSON(e.stdout, map[string]any{"destinations": list})
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tKIND\tURL\tPENDING\tDELIVERED\tDEAD\tEXCLUDED")
		for _, d := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", d.ID, d.Name, d.Kind, settingString(d.Settings, "url"),
				d.Deliveries[activate.StatusPending], d.Deliveries[activate.StatusDelivered], d.Deliveries[activate.StatusDead], d.Deliveries[activate.StatusExcluded])
		}
		return tw.Flush()
	})
}

// settingString reads one string setting from a view's settings, whichever
// way they arrived (a struct directly, a JSON object from the server).
func settingString(settings any, key string) string {
	b, _ := json.Marshal(settings)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	s, _ := m[key].(string)
	return s
}

func destinationsShow(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "destinations show", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium destinations show ID_OR_NAME [--json]")
		}
		var v activate.DestinationView
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "GET", "/api/v1/destinations/"+url.PathEscape(pos[0]), nil, nil, &v)
		} else {
			v, err = dispatcher(t).Get(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, v)
		}
		fmt.Fprintf(e.stdout, "%s (%s), kind %s, created %s\n", v.Name, v.ID, v.Kind, v.CreatedAt.Format("2006-01-02 15:04:05Z"))
		if v.LastFullSyncAt != nil {
			fmt.Fprintf(e.stdout, "last full sync: %s\n", v.LastFullSyncAt.Format("2006-01-02 15:04:05Z"))
		}
		fmt.Fprintf(e.stdout, "deliveries: %d pending, %d delivered, %d dead, %d excluded\nsettings:\n",
			v.Deliveries[activate.StatusPending], v.Deliveries[activate.StatusDelivered], v.Deliveries[activate.StatusDead], v.Deliveries[activate.StatusExcluded])
		return printJSON(e.stdout, v.Settings)
	})
}

func destinationsDelete(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "destinations delete", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium destinations delete ID_OR_NAME")
		}
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "DELETE", "/api/v1/destinations/"+url.PathEscape(pos[0]), nil, nil, nil)
		} else {
			err = dispatcher(t).Delete(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "destination %s deleted with its deliveries\n", pos[0])
		return nil
	})
}

func destinationsDeliveries(ctx context.Context, e *env, args []string) error {
	var status string
	var limit int
	return withTarget(ctx, e, "destinations deliveries", args, func(_ *common, fs *flagSetT) {
		fs.StringVar(&status, "status", "", "only pending, delivered, dead or excluded")
		fs.IntVar(&limit, "limit", 100, "at most this many, newest first (1 to 1000)")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium destinations deliveries ID_OR_NAME [--status STATUS] [--limit N] [--json]")
		}
		if limit < 1 || limit > 1000 {
			return usagef("--limit %d: want 1 to 1000", limit)
		}
		var list []activate.DeliveryRow
		var err error
		if t.server != nil {
			var out struct {
				Deliveries []activate.DeliveryRow `json:"deliveries"`
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if status != "" {
				q.Set("status", status)
			}
			err = t.server.do(ctx, "GET", "/api/v1/destinations/"+url.PathEscape(pos[0])+"/deliveries", q, nil, &out)
			list = out.Deliveries
		} else {
			list, err = dispatcher(t).Deliveries(ctx, pos[0], activate.Status(status), limit)
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, map[string]any{"deliveries": list})
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tPROFILE\tSTATUS\tATTEMPTS\tCREATED\tREASON")
		for _, d := range list {
			reason := d.LastError
			if d.Status == activate.StatusExcluded {
				reason = d.ConsentReason
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Kind, d.ProfileID, d.Status, d.Attempts, d.CreatedAt.Format("2006-01-02 15:04:05Z"), reason)
		}
		return tw.Flush()
	})
}

func destinationsReplay(ctx context.Context, e *env, args []string) error {
	var deliveryID string
	var all bool
	return withTarget(ctx, e, "destinations replay", args, func(_ *common, fs *flagSetT) {
		fs.StringVar(&deliveryID, "delivery", "", "replay this dead delivery")
		fs.BoolVar(&all, "all", false, "replay every dead delivery of the destination")
	}, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 || (deliveryID == "") == !all {
			return usagef("usage: atrium destinations replay ID_OR_NAME (--delivery ID | --all)")
		}
		var n int
		var err error
		if t.server != nil {
			var out struct {
				Replayed int `json:"replayed"`
			}
			err = t.server.do(ctx, "POST", "/api/v1/destinations/"+url.PathEscape(pos[0])+"/replay", nil, map[string]string{"delivery_id": deliveryID}, &out)
			n = out.Replayed
		} else {
			n, err = dispatcher(t).Replay(ctx, pos[0], deliveryID)
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, map[string]int{"replayed": n})
		}
		fmt.Fprintf(e.stdout, "%d dead deliveries back in the queue (same idempotency keys)\n", n)
		if t.server == nil && n > 0 {
			fmt.Fprintln(e.stderr, "atrium: no server is running; they go out when one starts")
		}
		return nil
	})
}

func destinationsTest(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "destinations test", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium destinations test ID_OR_NAME [--json]")
		}
		var res activate.TestResult
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "POST", "/api/v1/destinations/"+url.PathEscape(pos[0])+"/test", nil, nil, &res)
		} else {
			res, err = dispatcher(t).TestSend(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, res)
		}
		if !res.OK {
			return fmt.Errorf("test delivery failed after %d ms: %s", res.DurationMS, res.Error)
		}
		fmt.Fprintf(e.stdout, "test delivery accepted: HTTP %d in %d ms\n", res.Status, res.DurationMS)
		return nil
	})
}

func destinationsSync(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "destinations sync", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium destinations sync ID_OR_NAME [--json]")
		}
		var n activate.Counts
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "POST", "/api/v1/destinations/"+url.PathEscape(pos[0])+"/sync", nil, nil, &n)
		} else {
			n, err = dispatcher(t).FullSync(ctx, pos[0])
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, n)
		}
		fmt.Fprintf(e.stdout, "full sync queued: %d members included, %d excluded (no consent for the purpose), %d already queued\n", n.Included, n.Excluded, n.Duplicates)
		return nil
	})
}

// readSettingsFile reads a settings document from a file or stdin ("-"),
// refusing more than the 16 KB the settings may hold (plus room to say so).
func readSettingsFile(e *env, path string) ([]byte, error) {
	var rd io.Reader = e.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usagef("--settings: %v", err)
		}
		defer f.Close()
		rd = f
	}
	const limit = 16 << 10
	b, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > limit {
		return nil, usagef("--settings %s: over %d bytes", path, limit)
	}
	return b, nil
}

package activate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/store"
)

// DestinationView is a destination as the API and CLI show it: settings
// without secrets, and its deliveries counted by status.
type DestinationView struct {
	ID             string         `json:"id"`
	Kind           string         `json:"kind"`
	Name           string         `json:"name"`
	Settings       any            `json:"settings"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	LastFullSyncAt *time.Time     `json:"last_full_sync_at,omitempty"`
	Deliveries     map[Status]int `json:"deliveries"`
}

// Create validates and stores a new destination and starts its worker when
// running. It returns the destination and its signing secret, shown once.
func (d *Dispatcher) Create(ctx context.Context, name, kind string, settings json.RawMessage) (DestinationView, string, error) {
	if err := checkName(name); err != nil {
		return DestinationView{}, "", err
	}
	if kind == "" {
		kind = "webhook"
	}
	t, norm, err := d.configure(ctx, kind, settings, nil)
	if err != nil {
		return DestinationView{}, "", err
	}
	defer t.Close()
	now := d.o.Clock.Now()
	row := DestinationRow{ID: d.o.NewID(), Kind: kind, Name: name, Settings: norm, CreatedAt: now, UpdatedAt: now}
	if err := d.st.CreateDestination(ctx, row); err != nil {
		return DestinationView{}, "", err
	}
	if err := d.reload(ctx); err != nil {
		return DestinationView{}, "", err
	}
	return d.view(ctx, row, t), secretOf(norm), nil
}

// Update replaces a destination's settings (a missing secret keeps the
// stored one) and, when name is not empty, its name. The worker restarts
// with the new settings; queued rows keep their payloads and keys.
func (d *Dispatcher) Update(ctx context.Context, idOrName, name string, settings json.RawMessage) (DestinationView, error) {
	row, err := d.st.Destination(ctx, idOrName)
	if err != nil {
		return DestinationView{}, err
	}
	if name != "" {
		if err := checkName(name); err != nil {
			return DestinationView{}, err
		}
		row.Name = name
	}
	if len(settings) == 0 {
		settings = row.Settings
	}
	t, norm, err := d.configure(ctx, row.Kind, settings, row.Settings)
	if err != nil {
		return DestinationView{}, err
	}
	defer t.Close()
	row.Settings, row.UpdatedAt = norm, d.o.Clock.Now()
	if err := d.st.UpdateDestination(ctx, row); err != nil {
		return DestinationView{}, err
	}
	if err := d.reload(ctx); err != nil {
		return DestinationView{}, err
	}
	return d.view(ctx, row, t), nil
}

// Delete stops a destination's worker and removes it with its deliveries.
func (d *Dispatcher) Delete(ctx context.Context, idOrName string) error {
	row, err := d.st.Destination(ctx, idOrName)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if w := d.workers[row.ID]; w != nil {
		w.stop()
		delete(d.workers, row.ID)
	}
	d.mu.Unlock()
	if err := d.st.DeleteDestination(ctx, row.ID); err != nil {
		return err
	}
	return d.reload(ctx)
}

// List returns every destination.
func (d *Dispatcher) List(ctx context.Context) ([]DestinationView, error) {
	rows, err := d.st.Destinations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DestinationView, 0, len(rows))
	for _, r := range rows {
		v, err := d.Get(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Get returns one destination (store.ErrNotFound).
func (d *Dispatcher) Get(ctx context.Context, idOrName string) (DestinationView, error) {
	row, t, err := d.configuredFor(ctx, idOrName)
	if err != nil {
		return DestinationView{}, err
	}
	defer t.Close()
	return d.view(ctx, row, t), nil
}

// Deliveries lists a destination's deliveries, newest first.
func (d *Dispatcher) Deliveries(ctx context.Context, idOrName string, status Status, limit int) ([]DeliveryRow, error) {
	row, err := d.st.Destination(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	if status != "" && !validStatus(status) {
		return nil, &SettingsError{"status", fmt.Sprintf("%q: want one of pending, delivered, dead, excluded", status)}
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return d.st.Deliveries(ctx, DeliveryFilter{DestinationID: row.ID, Status: status, Limit: limit})
}

// Replay puts a dead delivery (or, with deliveryID empty, every dead
// delivery of the destination) back in the queue with its key and payload
// unchanged, attempts reset and its age counted from now.
func (d *Dispatcher) Replay(ctx context.Context, idOrName, deliveryID string) (int, error) {
	row, err := d.st.Destination(ctx, idOrName)
	if err != nil {
		return 0, err
	}
	n, err := d.st.Replay(ctx, row.ID, deliveryID, d.o.Clock.Now())
	if err != nil {
		return 0, err
	}
	d.wake(row.ID)
	return n, nil
}

// TestResult is what a test send got back.
type TestResult struct {
	OK         bool   `json:"ok"`
	Status     int    `json:"http_status,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// TestSend posts one "destination.test" payload to the destination now,
// outside the queue, and reports the answer. Nothing is stored.
func (d *Dispatcher) TestSend(ctx context.Context, idOrName string) (TestResult, error) {
	row, t, err := d.configuredFor(ctx, idOrName)
	if err != nil {
		return TestResult{}, err
	}
	defer t.Close()
	now := d.o.Clock.Now()
	id := d.o.NewID()
	body, _ := json.Marshal(map[string]any{"type": "destination.test", "destination": map[string]string{"id": row.ID, "name": row.Name},
		"occurred_at": now, "delivery_id": id, "idempotency_key": "test-" + id})
	start := time.Now()
	out := t.Deliver(ctx, Attempt{DeliveryID: id, Key: "test-" + id, Body: body, At: now})
	return TestResult{OK: out.OK, Status: out.Status, Error: out.Err, DurationMS: time.Since(start).Milliseconds()}, nil
}

// configure validates settings with the kind's plugin and resolves segment
// names to ids.
func (d *Dispatcher) configure(ctx context.Context, kind string, raw, prev json.RawMessage) (Target, []byte, error) {
	p, err := pluginFor(kind)
	if err != nil {
		return nil, nil, err
	}
	t, norm, err := p.Configure(raw, prev)
	if err != nil {
		return nil, nil, err
	}
	refs := t.Routing().Segments
	ids := make([]string, len(refs))
	changed := false
	for i, ref := range refs {
		seg, err := d.st.SegmentByID(ctx, ref)
		if errors.Is(err, store.ErrNotFound) {
			seg, err = d.st.SegmentByName(ctx, ref)
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Close()
			return nil, nil, &SettingsError{fmt.Sprintf("segments[%d]", i), fmt.Sprintf("no segment has the id or name %q", ref)}
		}
		if err != nil {
			t.Close()
			return nil, nil, err
		}
		ids[i] = seg.ID
		changed = changed || ids[i] != ref
		for j := range i {
			if ids[j] == seg.ID {
				t.Close()
				return nil, nil, &SettingsError{fmt.Sprintf("segments[%d]", i), fmt.Sprintf("%q names the same segment as segments[%d]", ref, j)}
			}
		}
	}
	if !changed {
		return t, norm, nil
	}
	t.Close()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(norm, &m); err != nil {
		return nil, nil, fmt.Errorf("patch settings: %w", err)
	}
	m["segments"], _ = json.Marshal(ids)
	patched, _ := json.Marshal(m)
	return p.Configure(patched, nil)
}

// configuredFor loads one destination and a target for it; the caller closes it.
func (d *Dispatcher) configuredFor(ctx context.Context, idOrName string) (DestinationRow, Target, error) {
	row, err := d.st.Destination(ctx, idOrName)
	if err != nil {
		return DestinationRow{}, nil, err
	}
	p, err := pluginFor(row.Kind)
	if err != nil {
		return row, nil, err
	}
	t, _, err := p.Configure(row.Settings, row.Settings)
	if err != nil {
		return row, nil, fmt.Errorf("stored settings of destination %s: %w", row.ID, err)
	}
	return row, t, nil
}

func (d *Dispatcher) view(ctx context.Context, row DestinationRow, t Target) DestinationView {
	v := DestinationView{ID: row.ID, Kind: row.Kind, Name: row.Name, Settings: t.Redacted(), CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
	if !row.LastFullSyncAt.IsZero() {
		at := row.LastFullSyncAt
		v.LastFullSyncAt = &at
	}
	counts, err := d.st.DeliveryCounts(ctx, row.ID)
	if err != nil {
		d.o.Logger.Error("count deliveries", "destination", row.ID, "err", err)
		counts = map[Status]int{}
	}
	v.Deliveries = counts
	return v
}

func checkName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > 100 || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\r\n\t") {
		return &SettingsError{"name", "a destination needs a name of 1 to 100 characters on one line"}
	}
	return nil
}

func validStatus(s Status) bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

func secretOf(norm []byte) string {
	var s struct {
		Secret string `json:"secret"`
	}
	_ = json.Unmarshal(norm, &s)
	return s.Secret
}

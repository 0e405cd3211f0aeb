package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Settings reads the workspace settings the API exposes.
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
}

// IdentityRules applies new identity rules to the running writer.
type IdentityRules interface {
	SetConfig(ctx context.Context, cfg identity.Config) error
}

// getIdentitySettings answers the identity rules in force (defaults filled in).
func (a *api) getIdentitySettings(w http.ResponseWriter, r *http.Request) error {
	raw, err := a.d.Settings.Setting(r.Context(), "identity")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cfg, err := identity.ParseConfig([]byte(raw))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cfg)
	return nil
}

// putIdentitySettings validates and stores new identity rules, and applies
// them to the running writer.
func (a *api) putIdentitySettings(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
	if err != nil {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "settings must be under 64 KB"}
	}
	cfg, err := identity.ParseConfig(body)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_settings", Message: err.Error()}
	}
	norm, _ := json.Marshal(cfg)
	if err := a.d.PutSetting(r.Context(), "identity", string(norm)); err != nil {
		return err
	}
	if err := a.d.Rules.SetConfig(r.Context(), cfg); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cfg)
	return nil
}

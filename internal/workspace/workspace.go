// Package workspace manages what a workspace is configured with: its sources
// (with their public write keys), its secret API tokens and its settings. It
// also answers the collection API's write-key checks from a cache that every
// change through this package refreshes.
package workspace

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/store"
)

// Store is what the service needs from the storage engine.
type Store interface {
	CreateSource(ctx context.Context, s store.Source) error
	Sources(ctx context.Context) ([]store.Source, error)
	RevokeSource(ctx context.Context, idOrName string, at time.Time) error
	CreateToken(ctx context.Context, t store.Token, hash string) error
	Tokens(ctx context.Context) ([]store.Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// Service manages sources and tokens. Safe for concurrent use.
type Service struct {
	st        Store
	now       func() time.Time
	hashToken func(string) string
	newToken  func() string

	mu    sync.RWMutex
	byKey map[string]store.Source
	// loadedAt bounds how stale the cache may get when another process
	// changed sources (it reloads after cacheTTL).
	loadedAt time.Time
}

const cacheTTL = 5 * time.Second

// New returns a service. hashToken and newToken come from the web package's
// token scheme (kept there so the scheme lives in one place).
func New(st Store, now func() time.Time, newToken func() string, hashToken func(string) string) *Service {
	return &Service{st: st, now: now, newToken: newToken, hashToken: hashToken}
}

// Kinds of source.
var sourceKinds = map[string]bool{"website": true, "server": true, "mobile": true, "file": true, "crm": true, "erp": true, "eshop": true, "other": true}

// CreateSource adds a source with a fresh write key.
func (s *Service) CreateSource(ctx context.Context, name, kind string) (store.Source, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || !utf8.ValidString(name) {
		return store.Source{}, &InputError{Field: "name", Msg: "a source needs a name of 1 to 100 characters"}
	}
	if kind == "" {
		kind = "other"
	}
	if !sourceKinds[kind] {
		return store.Source{}, &InputError{Field: "kind", Msg: "kind must be one of website, server, mobile, file, crm, erp, eshop, other"}
	}
	src := store.Source{ID: uuid.NewString(), Name: name, Kind: kind, WriteKey: newWriteKey(), CreatedAt: s.now().UTC()}
	if err := s.st.CreateSource(ctx, src); err != nil {
		return store.Source{}, err
	}
	s.invalidate()
	return src, nil
}

// Sources lists every source.
func (s *Service) Sources(ctx context.Context) ([]store.Source, error) { return s.st.Sources(ctx) }

// RevokeSource revokes a source (by id or name); its write key stops working at once.
func (s *Service) RevokeSource(ctx context.Context, idOrName string) error {
	if err := s.st.RevokeSource(ctx, idOrName, s.now()); err != nil {
		return err
	}
	s.invalidate()
	return nil
}

// CreateToken makes an API token; the secret is returned once and only its
// hash is stored.
func (s *Service) CreateToken(ctx context.Context, name string) (store.Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || !utf8.ValidString(name) {
		return store.Token{}, "", &InputError{Field: "name", Msg: "a token needs a name of 1 to 100 characters"}
	}
	secret := s.newToken()
	t := store.Token{ID: uuid.NewString(), Name: name, Role: "admin", CreatedAt: s.now().UTC()}
	if err := s.st.CreateToken(ctx, t, s.hashToken(secret)); err != nil {
		return store.Token{}, "", err
	}
	return t, secret, nil
}

// Tokens lists token metadata.
func (s *Service) Tokens(ctx context.Context) ([]store.Token, error) { return s.st.Tokens(ctx) }

// RevokeToken revokes a token. The last active token cannot be revoked:
// the API would then be closed to everyone (store.ErrConflict).
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	toks, err := s.st.Tokens(ctx)
	if err != nil {
		return err
	}
	active, found := 0, false
	for _, t := range toks {
		if t.RevokedAt == nil {
			active++
			found = found || t.ID == id
		}
	}
	if found && active == 1 {
		return fmt.Errorf("token %s is the last active API token; create another one before revoking it: %w", id, store.ErrConflict)
	}
	return s.st.RevokeToken(ctx, id, s.now())
}

// SourceByWriteKey returns the live source with that write key, or
// store.ErrNotFound.
func (s *Service) SourceByWriteKey(ctx context.Context, key string) (store.Source, error) {
	s.mu.RLock()
	src, ok := s.byKey[key]
	fresh := s.byKey != nil && s.now().Sub(s.loadedAt) < cacheTTL
	s.mu.RUnlock()
	if !fresh {
		if err := s.reload(ctx); err != nil {
			return store.Source{}, err
		}
		s.mu.RLock()
		src, ok = s.byKey[key]
		s.mu.RUnlock()
	}
	if !ok {
		return store.Source{}, store.ErrNotFound
	}
	return src, nil
}

func (s *Service) reload(ctx context.Context) error {
	list, err := s.st.Sources(ctx)
	if err != nil {
		return fmt.Errorf("load sources: %w", err)
	}
	m := make(map[string]store.Source, len(list))
	for _, src := range list {
		if src.RevokedAt == nil {
			m[src.WriteKey] = src
		}
	}
	s.mu.Lock()
	s.byKey, s.loadedAt = m, s.now()
	s.mu.Unlock()
	return nil
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.byKey = nil
	s.mu.Unlock()
}

// InputError is a refused input value.
type InputError struct{ Field, Msg string }

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// newWriteKey returns a public write key: 24 random bytes, URL-safe.
func newWriteKey() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return "wk_" + base64.RawURLEncoding.EncodeToString(b[:])
}

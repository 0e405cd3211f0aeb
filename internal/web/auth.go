package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/atrium-cdp/atrium/internal/store"
)

// TokenStore finds API tokens by their hash.
type TokenStore interface {
	TokenByHash(ctx context.Context, hash string) (store.Token, error)
}

// Auth checks secret API tokens (Authorization: Bearer). Write keys are never
// accepted here.
type Auth struct {
	tokens    TokenStore
	localHash string // the serving process's own token for the CLI, "" if none
}

// NewAuth returns an authenticator; localToken, when not empty, is accepted
// as an admin token for this process's lifetime only.
func NewAuth(tokens TokenStore, localToken string) *Auth {
	a := &Auth{tokens: tokens}
	if localToken != "" {
		a.localHash = HashToken(localToken)
	}
	return a
}

// NewToken returns a fresh secret token: 256 random bits, printable.
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return "atr_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is how tokens are stored: hex SHA-256 (the token is random, so a
// slow hash adds nothing).
func HashToken(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// Require wraps h so it runs only for a valid token with the permission.
func (a *Auth) Require(_ Permission, h http.Handler, api *api) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="atrium api"`)
			api.fail(w, r, &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
				Message: "send an API token as \"Authorization: Bearer <token>\" (write keys are not accepted here)"})
			return
		}
		hash := HashToken(tok)
		if a.localHash != "" && subtle.ConstantTimeCompare([]byte(hash), []byte(a.localHash)) == 1 {
			h.ServeHTTP(w, r)
			return
		}
		if _, err := a.tokens.TokenByHash(r.Context(), hash); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				api.fail(w, r, &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Message: "the API token is unknown or revoked"})
				return
			}
			api.fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

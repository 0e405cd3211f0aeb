package web

import "net/http"

func (a *api) listSources(w http.ResponseWriter, r *http.Request) error {
	list, err := a.d.Admin.Sources(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": list})
	return nil
}

func (a *api) createSource(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	src, err := a.d.Admin.CreateSource(r.Context(), body.Name, body.Kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, src)
	return nil
}

func (a *api) revokeSource(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Admin.RevokeSource(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": r.PathValue("id")})
	return nil
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request) error {
	list, err := a.d.Admin.Tokens(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": list})
	return nil
}

func (a *api) createToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	t, secret, err := a.d.Admin.CreateToken(r.Context(), body.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret})
	return nil
}

func (a *api) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Admin.RevokeToken(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": r.PathValue("id")})
	return nil
}

package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/atrium-cdp/atrium/internal/activate"
)

// Destinations manages activation destinations and their delivery queue
// (package activate's Dispatcher).
type Destinations interface {
	List(ctx context.Context) ([]activate.DestinationView, error)
	Get(ctx context.Context, idOrName string) (activate.DestinationView, error)
	Create(ctx context.Context, name, kind string, settings json.RawMessage) (activate.DestinationView, string, error)
	Update(ctx context.Context, idOrName, name string, settings json.RawMessage) (activate.DestinationView, error)
	Delete(ctx context.Context, idOrName string) error
	Deliveries(ctx context.Context, idOrName string, status activate.Status, limit int) ([]activate.DeliveryRow, error)
	Replay(ctx context.Context, idOrName, deliveryID string) (int, error)
	TestSend(ctx context.Context, idOrName string) (activate.TestResult, error)
	FullSync(ctx context.Context, idOrName string) (activate.Counts, error)
}

// destinations returns the service, or a 503 when the server runs without it.
func (a *api) destinations() (Destinations, error) {
	if a.d.Destinations == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "destinations are not enabled"}
	}
	return a.d.Destinations, nil
}

// destinationError turns a rejected setting into a 400 naming the field.
func destinationError(err error) error {
	var se *activate.SettingsError
	if errors.As(err, &se) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_settings", Message: se.Error()}
	}
	return err
}

func (a *api) listDestinations(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.destinations()
	if err != nil {
		return err
	}
	list, err := ds.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"destinations": list, "kinds": activate.Kinds()})
	return nil
}

// destinationBody is what create and update accept.
type destinationBody struct {
	Name     string          `json:"name"`
	Kind     string          `json:"kind"`
	Settings json.RawMessage `json:"settings"`
}

func (a *api) createDestination(w http.ResponseWriter, r *http.Request) error {
	a.createMu.Lock() // against a concurrent delete of a segment it routes
	defer a.createMu.Unlock()
	ds, err := a.destinations()
	if err != nil {
		return err
	}
	var body destinationBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if len(body.Settings) == 0 {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_settings", Message: "settings: required (a JSON object)"}
	}
	v, secret, err := ds.Create(r.Context(), body.Name, body.Kind, body.Settings)
	if err != nil {
		return destinationError(err)
	}
	// The secret is shown once, here; listings only show its last characters.
	writeJSON(w, http.StatusCreated, map[string]any{"destination": v, "secret": secret})
	return nil
}

func (a *api) getDestination(w http.ResponseWriter, r *http.Request) error {
	return answerDestination(a, w, r, Destinations.Get)
}

func (a *api) updateDestination(w http.ResponseWriter, r *http.Request) error {
	a.createMu.Lock() // against a concurrent delete of a segment it routes
	defer a.createMu.Unlock()
	ds, err := a.destinations()
	if err != nil {
		return err
	}
	var body destinationBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Kind != "" {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_settings", Message: "kind: a destination's kind cannot change (create another)"}
	}
	v, err := ds.Update(r.Context(), r.PathValue("id"), body.Name, body.Settings)
	if err != nil {
		return destinationError(err)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) deleteDestination(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.destinations()
	if err != nil {
		return err
	}
	if err := ds.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": r.PathValue("id")})
	return nil
}

// destinationDeliveries lists deliveries, newest first: ?status=pending|
// delivered|dead|excluded and ?limit=1..1000 (default 100).
func (a *api) destinationDeliveries(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.destinations()
	if err != nil {
		return err
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_limit", Message: "limit must be a whole number from 1 to 1000"}
		}
		limit = n
	}
	list, err := ds.Deliveries(r.Context(), r.PathValue("id"), activate.Status(r.URL.Query().Get("status")), limit)
	if err != nil {
		return destinationError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	return nil
}

// replayDeliveries puts dead deliveries back in the queue: the one named by
// delivery_id, or every dead delivery of the destination when it is absent.
func (a *api) replayDeliveries(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.destinations()
	if err != nil {
		return err
	}
	var body struct {
		DeliveryID string `json:"delivery_id"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(r, &body); err != nil {
			return err
		}
	}
	n, err := ds.Replay(r.Context(), r.PathValue("id"), body.DeliveryID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"replayed": n})
	return nil
}

func (a *api) testDestination(w http.ResponseWriter, r *http.Request) error {
	return answerDestination(a, w, r, Destinations.TestSend)
}

func (a *api) syncDestination(w http.ResponseWriter, r *http.Request) error {
	return answerDestination(a, w, r, Destinations.FullSync)
}

// answerDestination answers 200 with what fn gives for the destination named
// in the path (read, test send, full sync).
func answerDestination[T any](a *api, w http.ResponseWriter, r *http.Request, fn func(Destinations, context.Context, string) (T, error)) error {
	ds, err := a.destinations()
	if err != nil {
		return err
	}
	v, err := fn(ds, r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

package duckdb_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/atrium-cdp/atrium/internal/quality/rnvp"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// Profiles placed from their normalised address (RNVP's output, as the
// writer stores it) or from raw traits; foreign, unplaceable and merged
// profiles get nothing; a second run replaces the first.
func TestRefreshGeo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	norm := func(fields ...string) string {
		b, err := json.Marshal(map[string]any{"address": rnvp.Normalize(fields)})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	profiles := []struct{ id, merged, traits, normalized string }{
		{"addr-lyon", "", `{"address": {"street": "10 rue de la République"}}`, norm("10 rue Servient", "69003 Lyon")},
		{"flat-bastia", "", `{"zip": "20200", "ville": "Bastia"}`, `{}`},
		{"number-zip", "", `{"postal_code": 97100}`, `{}`},
		{"shared", "", `{"code_postal": "01090"}`, `{}`},
		{"cedex", "", `{"address": {"postalCode": "69441", "city": "LYON CEDEX 03"}}`, `{}`},
		{"insee", "", `{"code_insee": "2A004"}`, `{}`},
		{"foreign", "", `{"postal_code": "69003", "country": "Germany"}`, `{"country": {"value": "DE"}}`},
		{"foreign-address", "", `{"address": {"postalCode": "10115", "city": "Berlin", "country": "Deutschland"}}`, `{}`},
		{"french-address", "", `{"address": {"postalCode": "20000", "country": "France"}}`, `{}`},
		{"unknown", "", `{"postal_code": "99999"}`, `{}`},
		{"nothing", "", `{"email": "a@example.com"}`, `{}`},
		{"merged", "insee", `{"postal_code": "75001"}`, `{}`},
	}
	for _, p := range profiles {
		var merged any
		if p.merged != "" {
			merged = p.merged
		}
		if _, err := db.SQL().Exec(`INSERT INTO profiles (id, merged_into, traits, normalized, created_at, updated_at) VALUES (?, ?, ?, ?, now(), now())`,
			p.id, merged, p.traits, p.normalized); err != nil {
			t.Fatal(err)
		}
	}
	// A stale row from an earlier run, for a profile that no longer places.
	if _, err := db.SQL().Exec(`INSERT INTO profile_scores VALUES ('unknown', 'geo_commune', '"Nowhere"', now())`); err != nil {
		t.Fatal(err)
	}
	res, err := db.RefreshGeo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res != (duckdb.GeoRefresh{Profiles: 7, Communes: 6, Ambiguous: 1, Departement: 0, Foreign: 2}) {
		t.Errorf("refresh %+v", res)
	}
	got := map[string]map[string]string{}
	rows, err := db.SQL().Query(`SELECT profile_id, name, value FROM profile_scores`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, name, value string
		if err := rows.Scan(&id, &name, &value); err != nil {
			t.Fatal(err)
		}
		if got[id] == nil {
			got[id] = map[string]string{}
		}
		got[id][name] = value
	}
	rows.Close()
	want := map[string]map[string]string{
		"addr-lyon": {"geo_status": `"commune"`, "geo_postal_code": `"69003"`, "geo_insee": `"69123"`, "geo_commune": `"Lyon"`,
			"geo_arrondissement_insee": `"69383"`, "geo_arrondissement": `"Lyon 3e Arrondissement"`, "geo_departement": `"69"`,
			"geo_departement_name": `"Rhône"`, "geo_region": `"84"`, "geo_region_name": `"Auvergne-Rhône-Alpes"`},
		"flat-bastia": {"geo_status": `"commune"`, "geo_postal_code": `"20200"`, "geo_insee": `"2B033"`, "geo_commune": `"Bastia"`,
			"geo_departement": `"2B"`, "geo_departement_name": `"Haute-Corse"`, "geo_region": `"94"`, "geo_region_name": `"Corse"`},
		"number-zip": {"geo_status": `"commune"`, "geo_postal_code": `"97100"`, "geo_insee": `"97105"`, "geo_commune": `"Basse-Terre"`,
			"geo_departement": `"971"`, "geo_departement_name": `"Guadeloupe"`, "geo_region": `"01"`, "geo_region_name": `"Guadeloupe"`},
		"shared": {"geo_status": `"ambiguous"`, "geo_postal_code": `"01090"`, "geo_departement": `"01"`, "geo_departement_name": `"Ain"`,
			"geo_region": `"84"`, "geo_region_name": `"Auvergne-Rhône-Alpes"`, "geo_candidates": `["01165","01169","01183","01225","01258","01263"]`},
		"cedex": {"geo_status": `"commune"`, "geo_postal_code": `"69441"`, "geo_insee": `"69123"`, "geo_commune": `"Lyon"`,
			"geo_departement": `"69"`, "geo_departement_name": `"Rhône"`, "geo_region": `"84"`, "geo_region_name": `"Auvergne-Rhône-Alpes"`},
		"french-address": {"geo_status": `"commune"`, "geo_postal_code": `"20000"`, "geo_insee": `"2A004"`, "geo_commune": `"Ajaccio"`,
			"geo_departement": `"2A"`, "geo_departement_name": `"Corse-du-Sud"`, "geo_region": `"94"`, "geo_region_name": `"Corse"`},
		"insee": {"geo_status": `"commune"`, "geo_insee": `"2A004"`, "geo_commune": `"Ajaccio"`,
			"geo_departement": `"2A"`, "geo_departement_name": `"Corse-du-Sud"`, "geo_region": `"94"`, "geo_region_name": `"Corse"`},
	}
	for id, w := range want {
		for k, v := range w {
			if got[id][k] != v {
				t.Errorf("%s %s = %s, want %s", id, k, got[id][k], v)
			}
		}
		if len(got[id]) != len(w) {
			t.Errorf("%s: %d rows, want %d: %v", id, len(got[id]), len(w), got[id])
		}
	}
	for id := range got {
		if want[id] == nil {
			t.Errorf("%s placed: %v", id, got[id])
		}
	}
	for id, vals := range got {
		for k, v := range vals {
			if !json.Valid([]byte(v)) {
				t.Errorf("%s %s: invalid JSON %s", id, k, v)
			}
		}
	}
	// Idempotent: the same rows again.
	again, err := db.RefreshGeo(ctx)
	if err != nil || again != res {
		t.Fatalf("second run %+v %v", again, err)
	}
}

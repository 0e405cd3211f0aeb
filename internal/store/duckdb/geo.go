package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/quality"
	"github.com/atrium-cdp/atrium/internal/traits/geo"
)

// GeoPrefix starts the name of every geographic score RefreshGeo writes
// into profile_scores (docs/geo.md): geo_status, geo_postal_code, geo_insee,
// geo_commune, geo_arrondissement_insee, geo_arrondissement,
// geo_departement, geo_departement_name, geo_region, geo_region_name and,
// for an ambiguous postal code, geo_candidates.
const GeoPrefix = "geo_"

// geoInputsSQL reads, for every live profile whose JSON is valid, what may
// place it: the normalised address (RNVP's postal code, INSEE code and
// commune, from profiles.normalized) and the raw traits under their usual
// names (flat CRM columns and the Segment address object), and the country
// both give. Trait names follow app's normaliser (traitNames, flatAddress).
const geoInputsSQL = `
SELECT id,
       coalesce(normalized->>'$.country.value', normalized->>'$.address.country', traits->>'$.address.country',
                traits->>'$.country', traits->>'$.pays', traits->>'$.country_code', '') AS country,
       coalesce(normalized->>'$.address.insee', traits->>'$.insee', traits->>'$.code_insee', traits->>'$.insee_code',
                traits->>'$.code_commune', '') AS insee,
       coalesce(normalized->>'$.address.postal_code', traits->>'$.postal_code', traits->>'$.postalCode', traits->>'$.postcode',
                traits->>'$.zip', traits->>'$.zipcode', traits->>'$.code_postal', traits->>'$.cp',
                traits->>'$.address.postalCode', traits->>'$.address.postal_code', traits->>'$.address.zip',
                traits->>'$.address.code_postal', '') AS postal_code,
       coalesce(normalized->>'$.address.commune', normalized->>'$.address.locality', traits->>'$.city', traits->>'$.ville',
                traits->>'$.commune', traits->>'$.town', traits->>'$.locality', traits->>'$.address.city', '') AS city
FROM profiles
WHERE merged_into IS NULL AND json_valid(traits) AND json_valid(normalized)`

// GeoRefresh reports what RefreshGeo did.
type GeoRefresh struct {
	Profiles    int `json:"profiles"`    // profiles placed (any status)
	Communes    int `json:"communes"`    // … down to the commune
	Ambiguous   int `json:"ambiguous"`   // … a shared postal code, commune omitted
	Departement int `json:"departement"` // … département only (CEDEX, unlisted code)
	Foreign     int `json:"foreign"`     // profiles left out: their country is not France
}

// Counts is the number of profiles placed, for `atrium scores run`'s
// summary.
func (g GeoRefresh) Counts() map[string]int64 { return map[string]int64{"geo": int64(g.Profiles)} }

// RefreshGeo places every live profile with a French postal or INSEE code
// (docs/geo.md) and replaces all geo_ scores in one transaction, stamped
// now. A profile whose country is not France (or a French territory) is not
// placed; one that can no longer be placed loses its geo_ rows.
func (d *DB) RefreshGeo(ctx context.Context) (GeoRefresh, error) {
	ref, err := geo.Default()
	if err != nil {
		return GeoRefresh{}, err
	}
	rows, err := d.sql.QueryContext(ctx, geoInputsSQL)
	if err != nil {
		return GeoRefresh{}, fmt.Errorf("read geo inputs: %w", err)
	}
	var res GeoRefresh
	var out []scoreRow
	for rows.Next() {
		var id, country, insee, cp, city string
		if err := rows.Scan(&id, &country, &insee, &cp, &city); err != nil {
			rows.Close()
			return GeoRefresh{}, fmt.Errorf("read geo inputs: %w", err)
		}
		if insee == "" && cp == "" {
			continue
		}
		if country != "" && !quality.IsFrenchDomestic(country) && !quality.IsFrenchDomestic(quality.Country(country).Value) {
			res.Foreign++
			continue
		}
		p, ok := ref.Resolve(geo.Input{PostalCode: cp, City: city, INSEE: insee})
		if !ok {
			continue
		}
		res.Profiles++
		switch p.Status {
		case geo.StatusCommune:
			res.Communes++
		case geo.StatusAmbiguous:
			res.Ambiguous++
		case geo.StatusDepartement:
			res.Departement++
		}
		out = appendGeoRows(out, id, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return GeoRefresh{}, fmt.Errorf("read geo inputs: %w", err)
	}
	now := time.Now().UTC()
	err = d.inTx(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `DELETE FROM profile_scores WHERE starts_with(name, ?)`, GeoPrefix); err != nil {
			return fmt.Errorf("clear geo scores: %w", err)
		}
		if len(out) == 0 {
			return nil
		}
		return appendRows(conn, "profile_scores", len(out), func(i int) []driver.Value {
			r := out[i]
			return []driver.Value{r.profile, r.name, r.value, now}
		})
	})
	if err != nil {
		return GeoRefresh{}, err
	}
	return res, nil
}

// appendGeoRows lays a place out as geo_ rows with JSON string values;
// empty fields are not written.
func appendGeoRows(out []scoreRow, id string, p geo.Place) []scoreRow {
	for _, f := range [...]struct{ name, value string }{
		{"status", string(p.Status)}, {"postal_code", p.PostalCode}, {"insee", p.INSEE}, {"commune", p.Commune},
		{"arrondissement_insee", p.ArrondissementINSEE}, {"arrondissement", p.Arrondissement},
		{"departement", p.Departement}, {"departement_name", p.DepartementName},
		{"region", p.Region}, {"region_name", p.RegionName},
	} {
		if f.value != "" {
			out = append(out, scoreRow{id, GeoPrefix + f.name, jsonString(f.value)})
		}
	}
	if len(p.Candidates) > 0 {
		q := make([]string, len(p.Candidates))
		for i, c := range p.Candidates {
			q[i] = jsonString(c)
		}
		out = append(out, scoreRow{id, GeoPrefix + "candidates", "[" + strings.Join(q, ",") + "]"})
	}
	return out
}

// jsonString is s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

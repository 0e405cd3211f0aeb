package app_test

// Product recommendations through the real router: orders imported by the
// imports API, a merge through the API, the model built on the file, then
// GET /api/v1/profiles/{id}/recommendations.

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/recommend"
)

// The basket set of the store's tests, as shop invoices:
//
//	101: A, B, C   102: A   107: B (then merged into 102)   103: B, C
//	104: A, D      105: D; its cancellation C9 of C must not count
//
// Buyers: A {101,102,104} B {101,102,103} C {101,103} D {104,105}, so
// B–C = 2/√6, A–C = 1/√6 and 102 (A, B) gets C at 3/√6 because of B,
// then D, the only popular product left (all time: A, B, C, D).
const recommendCSV = `"InvoiceNo","StockCode","Description","Quantity","InvoiceDate","UnitPrice","CustomerID","Country"
"1","A","APPLE",1,"2011-01-10 10:00:00",1.5,101,"France"
"1","B","BANANA",1,"2011-01-10 10:00:00",1.5,101,"France"
"1","C","CHERRY",1,"2011-01-10 10:00:00",1.5,101,"France"
"2","A","APPLE",1,"2011-01-11 10:00:00",1.5,102,"France"
"3","B","BANANA",1,"2011-01-12 10:00:00",1.5,107,"France"
"4","B","BANANA",1,"2011-01-13 10:00:00",1.5,103,"France"
"4","C","CHERRY",2,"2011-01-13 10:00:00",1.5,103,"France"
"5","A","APPLE",1,"2011-01-14 10:00:00",1.5,104,"France"
"6","D","DATE",1,"2011-01-15 10:00:00",1.5,104,"France"
"7","D","DATE",1,"2011-01-16 10:00:00",1.5,105,"France"
"C9","C","CHERRY",-1,"2011-01-17 10:00:00",1.5,105,"France"
`

type recoAnswer struct {
	ProfileID       string           `json:"profile_id"`
	RequestedID     string           `json:"requested_id"`
	Merged          bool             `json:"merged"`
	Model           *json.RawMessage `json:"model"`
	Recommendations []struct {
		Rank      int     `json:"rank"`
		ProductID string  `json:"product_id"`
		Name      string  `json:"name"`
		Score     float64 `json:"score"`
		Fallback  bool    `json:"fallback"`
		Because   string  `json:"because_product_id"`
		Reason    string  `json:"reason"`
	} `json:"recommendations"`
}

func (a recoAnswer) products() string {
	var ps []string
	for _, r := range a.Recommendations {
		ps = append(ps, r.ProductID)
	}
	return strings.Join(ps, ",")
}

func TestRecommendationsAPI(t *testing.T) {
	s := startServer(t, "")
	status, raw := s.upload(map[string]string{"kind": "orders", "source": "shop"}, "invoices.csv", []byte(recommendCSV))
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", status, raw)
	}
	var started struct{ ID string }
	_ = json.Unmarshal(raw, &started)
	if r := s.waitImport(started.ID); r.Status != "done" || r.Rejected != 0 {
		t.Fatalf("import %+v", r)
	}
	p102, p107 := s.lookup("shop_customer_id", "102").ID, s.lookup("shop_customer_id", "107").ID
	s.apiJSON("POST", "/api/v1/profiles/"+p102+"/merge", M{"profile_id": p107}, http.StatusOK, nil)
	s.batch(M{"type": "identify", "userId": "newcomer", "messageId": "n1", "traits": M{"plan": "free"}})
	newcomer := s.lookup("user_id", "newcomer").ID

	get := func(id, query string) recoAnswer {
		t.Helper()
		var a recoAnswer
		s.apiJSON("GET", "/api/v1/profiles/"+url.PathEscape(id)+"/recommendations"+query, nil, http.StatusOK, &a)
		return a
	}
	// Before the first build: 200, no model, an empty list.
	if a := get(p102, ""); a.Model != nil || a.Recommendations == nil || len(a.Recommendations) != 0 {
		t.Errorf("before a build: %+v", a)
	}

	s.withDB(func(db *duckdb.DB) {
		if _, err := db.BuildRecommendModel(context.Background(), time.Date(2012, 1, 1, 0, 0, 0, 0, time.UTC),
			recommend.Options{Neighbours: 2, WindowDays: 3650, MinTogether: 1}); err != nil {
			t.Fatal(err)
		}
	})
	s.start()

	a := get(p102, "")
	if a.ProfileID != p102 || a.Merged || a.Model == nil || a.products() != "C,D" {
		t.Fatalf("102: %+v", a)
	}
	c := a.Recommendations[0]
	if math.Abs(c.Score-3/math.Sqrt(6)) > 1e-9 || c.Fallback || c.Because != "B" || c.Reason != "bought with B" || c.Name != "CHERRY" || c.Rank != 1 {
		t.Errorf("102 first: %+v", c)
	}
	if d := a.Recommendations[1]; !d.Fallback || d.Rank != 2 || !strings.HasPrefix(d.Reason, "popular: bought by 2 customers") {
		t.Errorf("102 second: %+v", d)
	}
	// The merged-away id answers for its survivor and says so.
	if m := get(p107, ""); m.ProfileID != p102 || !m.Merged || m.RequestedID != p107 || m.products() != "C,D" {
		t.Errorf("merged id: %+v", m)
	}
	// A profile that bought nothing gets the popular products, all fallback.
	n := get(newcomer, "?limit=3")
	if n.products() != "A,B,C" {
		t.Errorf("newcomer: %+v", n)
	}
	for _, r := range n.Recommendations {
		if !r.Fallback {
			t.Errorf("newcomer: %+v is not a fallback", r)
		}
	}
	// 105's cancelled C is not a purchase: C may be recommended to it.
	if a := get(s.lookup("shop_customer_id", "105").ID, "?limit=100"); !strings.Contains(a.products(), "C") || strings.Contains(a.products(), "D") {
		t.Errorf("105: %s", a.products())
	}

	base := "/api/v1/profiles/" + p102 + "/recommendations"
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=-1", "?limit=abc", "?limit=1.5", "?limit=", "?limit=1&limit=2",
		"?limit=99999999999999999999", "?limit=%00"} {
		s.apiError("GET", base+q, nil, http.StatusBadRequest, "invalid_limit")
	}
	s.apiError("GET", "/api/v1/profiles/no-such-profile/recommendations", nil, http.StatusNotFound, "not_found")
	s.apiError("GET", "/api/v1/profiles/x'%20OR%20'1'='1/recommendations", nil, http.StatusBadRequest, "invalid_id")
	s.apiError("GET", "/api/v1/profiles/x';DROP%20TABLE%20reco_items;--/recommendations", nil, http.StatusBadRequest, "invalid_id")
	s.apiError("GET", "/api/v1/profiles/x'--/recommendations", nil, http.StatusNotFound, "not_found")
	s.apiError("GET", "/api/v1/profiles/a%2Fb/recommendations", nil, http.StatusBadRequest, "invalid_id")
	s.apiError("GET", "/api/v1/profiles/"+strings.Repeat("x", 65)+"/recommendations", nil, http.StatusBadRequest, "invalid_id")
	s.apiError("GET", "/api/v1/profiles/%C3%A9t%C3%A9/recommendations", nil, http.StatusNotFound, "not_found")
	s.apiError("GET", "/api/v1/profiles/%C3%A9t%C3%A9%FF/recommendations", nil, http.StatusBadRequest, "invalid_id")
	s.apiError("POST", base, nil, http.StatusMethodNotAllowed, "method_not_allowed")
	status, raw = s.do("GET", base, nil, nil)
	checkError(t, "no token", status, raw, http.StatusUnauthorized, "unauthorized")
	// The hostile ids changed nothing.
	if a := get(p102, "?limit=1"); a.products() != "C" {
		t.Errorf("after hostile ids: %+v", a)
	}
}

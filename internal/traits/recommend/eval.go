package recommend

// Case is one evaluated customer of an offline evaluation: what was
// recommended from the history before the split, in rank order, and the
// products the customer bought after the split that it had not bought
// before (the relevant set).
type Case struct {
	ProfileID   string
	Recommended []string
	Relevant    []string
}

// Metrics are the ranking metrics of one method over the evaluated
// customers, at K:
//
//	hit rate@K  = customers with at least one of the first K recommended in their relevant set / customers
//	precision@K = mean over customers of |first K ∩ relevant| / K
//	recall@K    = mean over customers of |first K ∩ relevant| / |relevant|
//
// Customers whose relevant set is empty are not counted (they have nothing
// new to find); the caller leaves them out and reports how many.
type Metrics struct {
	Customers int     `json:"customers"`
	Hits      int     `json:"hits"`
	HitRate   float64 `json:"hit_rate"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// Evaluate computes Metrics at k over cases. A recommendation list longer
// than k is cut to its first k; a product listed twice counts once.
func Evaluate(cases []Case, k int) Metrics {
	var m Metrics
	var precision, recall float64
	for _, c := range cases {
		if len(c.Relevant) == 0 {
			continue
		}
		relevant := make(map[string]bool, len(c.Relevant))
		for _, p := range c.Relevant {
			relevant[p] = true
		}
		found := 0
		seen := map[string]bool{}
		for i, p := range c.Recommended {
			if i >= k {
				break
			}
			if relevant[p] && !seen[p] {
				found++
			}
			seen[p] = true
		}
		m.Customers++
		if found > 0 {
			m.Hits++
		}
		precision += float64(found) / float64(k)
		recall += float64(found) / float64(len(relevant))
	}
	if m.Customers > 0 {
		n := float64(m.Customers)
		m.HitRate, m.Precision, m.Recall = float64(m.Hits)/n, precision/n, recall/n
	}
	return m
}

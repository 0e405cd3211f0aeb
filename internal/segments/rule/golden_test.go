package rule

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the compiler's output")

// goldenCases cover every construct; testdata/NAME.golden holds the rule,
// the SQL and the arguments. Review a diff of these files like code.
var goldenCases = []struct {
	name, rule string
	only       bool
}{
	{"trait_string", `trait.city = "Lyon"`, false},
	{"trait_number", `trait.age >= 18`, false},
	{"trait_bool", `trait.vip != true`, false},
	{"trait_date", `trait.signup = 2026-03-29 or trait.signup > 2026-10-25`, false},
	{"trait_contains", `trait.tags contains "vip" and trait.zip starts with "69"`, false},
	{"trait_in", `trait.city in ["Lyon", "Paris"] and trait.age not in [1, 2]`, false},
	{"trait_exists", `trait.a.b exists and trait."odd key" not exists`, false},
	{"normalized", `normalized.email.status = "valid"`, false},
	{"score", `score.revenue > 500 and score.rfm_segment = "Champions"`, false},
	{"rfm", `rfm in ["Champions", "Loyal"]`, false},
	{"identity", `has email and has identity "crm_id"`, false},
	{"consent", `consent email_marketing`, false},
	{"event_ever", `did event "Signed Up"`, false},
	{"event_count", `did event "Order Completed" at least 2 times in last 90 days`, false},
	{"event_count_zero", `did event "Order Completed" fewer than 2 times in last 12 hours`, false},
	{"event_sum", `did event "Order Completed" where properties.plan = "pro" with sum properties.revenue > 100 between 2026-01-01 and 2026-01-31`, false},
	{"event_avg_min", `did event "A" with avg properties.x >= 1 since 2026-01-01 or did event "B" with min properties.y < 0 before 2026-01-01`, false},
	{"did_not", `did not event "Email Opened" in last 30 days`, false},
	{"orders", `order count >= 2 in last 365 days and order revenue > 500`, false},
	{"orders_zero", `order revenue < 10`, false},
	{"bought", `bought product "SKU-1" or bought category "Garden" in last 30 days`, false},
	{"segment", `in segment "VIP"`, false},
	{"not_or", `not (has email or has phone)`, false},
	{"brief_example", `trait.city = "Lyon" and did event "Order Completed" at least 2 times in last 90 days
		and not did event "Email Opened" in last 30 days and consent email_marketing`, false},
	{"brief_example_only", `trait.city = "Lyon" and did event "Order Completed" at least 2 times in last 90 days
		and not did event "Email Opened" in last 30 days and consent email_marketing`, true},
	{"only_all_kinds", `has email or score.x = 1 or rfm = "Lost" or in segment "VIP" or bought category "C" or order count = 0 or trait.x exists`, true},
}

func goldenEnv(only bool) Env {
	paris, _ := time.LoadLocation("Europe/Paris")
	return Env{
		Now:       time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC),
		Location:  paris,
		SegmentID: func(name string) (string, error) { return "seg-" + strings.ToLower(name), nil },
		Only:      only,
	}
}

func renderGolden(rule string, q Query) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- rule\n%s\n-- sql\n%s\n-- args\n", rule, q.SQL)
	for i, a := range q.Args {
		if tm, ok := a.(time.Time); ok {
			a = tm.Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "$%d = %#v\n", i+1, a)
	}
	return b.String()
}

// boundGoldenCases are compiled with Env.Only and these candidates bound
// one by one (Env.Candidates).
var boundGoldenCases = []struct {
	name, rule string
	cands      []string
}{
	{"brief_example_bound", `trait.city = "Lyon" and did event "Order Completed" at least 2 times in last 90 days
		and not did event "Email Opened" in last 30 days and consent email_marketing`, []string{"p1", "p2"}},
	{"only_all_kinds_bound_one", `has email or score.x = 1 or rfm = "Lost" or in segment "VIP" or bought category "C" or order count = 0 or trait.x exists`,
		[]string{"p1"}},
}

func TestGolden(t *testing.T) {
	type goldenCase struct {
		name, rule string
		env        Env
	}
	var cases []goldenCase
	for _, c := range goldenCases {
		cases = append(cases, goldenCase{c.name, c.rule, goldenEnv(c.only)})
	}
	for _, c := range boundGoldenCases {
		env := goldenEnv(true)
		env.Candidates = c.cands
		cases = append(cases, goldenCase{c.name, c.rule, env})
	}
	for _, c := range cases {
		q, err := Compile(mustParse(t, c.rule), c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := renderGolden(Format(mustParse(t, c.rule)), q)
		path := filepath.Join("testdata", c.name+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to create)", c.name, err)
		}
		if got != string(want) {
			t.Errorf("%s: compiled SQL differs from %s (go test -run TestGolden -update, then review the diff)\n%s", c.name, path, got)
		}
	}
}

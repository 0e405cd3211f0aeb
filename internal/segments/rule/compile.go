package rule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Env is what a compilation depends on besides the rule.
type Env struct {
	// Now is the evaluation instant: "in last N days" means
	// timestamp > Now − N×24h.
	Now time.Time
	// Location is the workspace time zone (nil = UTC): "between 2026-01-01
	// and 2026-01-31" means [2026-01-01 00:00 local, 2026-02-01 00:00 local).
	Location *time.Location
	// SegmentID maps a referenced segment name to its id; membership of
	// another segment compiles to its open rows in segment_memberships.
	SegmentID func(name string) (string, error)
	// Only makes the query take one extra trailing parameter, a VARCHAR[]
	// of live profile ids: the result is then the full result ∩ that list,
	// with the filter pushed into every base set.
	Only bool
	// Candidates (with Only) are the ids the trailing parameter will bind,
	// when the caller knows them: if there are at most MaxBoundCandidates,
	// each is also bound as a parameter of its own, and every table is read
	// through a constant IN list of them (much cheaper in DuckDB than a
	// semi-join against the list; see compiler.from). The result is the
	// same either way.
	Candidates []string
}

// MaxBoundCandidates bounds the candidates bound one by one (Env.Candidates);
// larger sets are filtered through the list parameter alone.
const MaxBoundCandidates = 256

// Query is parameterised DuckDB SQL: $1 … $n bind Args in order (and, when
// Env.Only, $n+1 binds the candidate ids).
type Query struct {
	SQL  string
	Args []any
}

// ErrInvalid wraps the errors Compile returns for an AST that fails the
// checks Parse and ParseJSON apply (a hand-built AST).
var ErrInvalid = errors.New("invalid rule")

// Compile returns SQL selecting one column, profile_id, each live profile
// (profiles.merged_into IS NULL) that matches e exactly once. Data recorded
// on merged-away profiles counts for the live profile at the end of their
// merged_into chain. Each condition is a set of profile ids computed from
// one table (GROUP BY / DISTINCT, then mapped through the merges), and the
// boolean structure is INTERSECT / UNION / EXCEPT of those sets.
func Compile(e Expr, env Env) (Query, error) {
	if err := validate(e, 0, new(int)); err != nil {
		return Query{}, err
	}
	if env.Location == nil {
		env.Location = time.UTC
	}
	if env.Now.IsZero() {
		return Query{}, fmt.Errorf("compile rule: %w: Env.Now is not set", ErrInvalid)
	}
	c := &compiler{env: env}
	if env.Only && len(env.Candidates) > 0 && len(env.Candidates) <= MaxBoundCandidates {
		seen := map[string]bool{}
		var ph []string
		for _, id := range env.Candidates {
			if !seen[id] {
				seen[id] = true
				ph = append(ph, c.arg(id))
			}
		}
		c.inline = strings.Join(ph, ", ")
	}
	root, live, err := c.expr(e)
	if err != nil {
		return Query{}, err
	}
	var b strings.Builder
	b.WriteString("WITH RECURSIVE\n")
	if c.merged || env.Only {
		b.WriteString(mergedCTE)
	}
	if env.Only {
		b.WriteString(strings.ReplaceAll(candidatesCTE, "$CANDIDATES", "$"+strconv.Itoa(len(c.args)+1)))
		if c.inline != "" {
			b.WriteString(candMergedCTE) // instead of cand_ids
			b.WriteString("live AS (\n\tSELECT id AS profile_id FROM profiles WHERE merged_into IS NULL AND id IN (" + c.inline + "))")
		} else {
			b.WriteString(candIDsCTE)
			b.WriteString(liveOnlyCTE)
		}
	} else {
		b.WriteString(liveCTE)
	}
	for _, cte := range c.ctes {
		b.WriteString(",\n")
		b.WriteString(cte)
	}
	b.WriteString("\nSELECT profile_id FROM " + root)
	if !live {
		// Ids from other tables may name profiles that do not exist.
		b.WriteString(" INTERSECT SELECT profile_id FROM live")
	}
	return Query{SQL: b.String(), Args: c.args}, nil
}

// validate re-runs the parser's checks on a whole tree, so a hand-built
// AST is held to the same rules.
func validate(e Expr, depth int, n *int) error {
	if depth > MaxDepth {
		return fmt.Errorf("compile rule: %w: more than %d levels of nesting", ErrInvalid, MaxDepth)
	}
	if pr := checkNode(e); pr != nil {
		return fmt.Errorf("compile rule: %w: %v", ErrInvalid, pr)
	}
	switch x := e.(type) {
	case *And:
		for _, a := range x.Args {
			if err := validate(a, depth+1, n); err != nil {
				return err
			}
		}
	case *Or:
		for _, a := range x.Args {
			if err := validate(a, depth+1, n); err != nil {
				return err
			}
		}
	case *Not:
		return validate(x.Arg, depth+1, n)
	default:
		if *n++; *n > MaxConditions {
			return fmt.Errorf("compile rule: %w: more than %d conditions", ErrInvalid, MaxConditions)
		}
	}
	return nil
}

type compiler struct {
	env    Env
	args   []any
	ctes   []string
	merged bool    // some base set maps ids through the merges
	inline string  // placeholders of the bound candidates ("$1, $2"), or ""
	scopes []scope // enclosing and's already-computed profile conditions
}

// scope is the result of the profile conditions of an and (cheap: one scan
// of profiles), pushed into its other conditions' base sets: live names a
// CTE of live ids (profile_id), raw one of every id whose data counts for
// them (id), merged-away ones included.
type scope struct{ live, raw string }

// isProfileCond reports whether e is read from the profiles row alone.
func isProfileCond(e Expr) bool {
	switch e.(type) {
	case *Trait, *Normalized:
		return true
	}
	return false
}

// arg binds v and returns its placeholder.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

// add appends a CTE and returns its name.
func (c *compiler) add(body string) string {
	name := "c" + strconv.Itoa(len(c.ctes)+1)
	c.ctes = append(c.ctes, name+" AS (\n\t"+strings.ReplaceAll(strings.TrimSpace(body), "\n", "\n\t")+")")
	return name
}

// expr compiles e into a CTE of profile ids; live reports whether the set
// holds live profiles only (else the final query intersects with live).
func (c *compiler) expr(e Expr) (name string, live bool, err error) {
	switch x := e.(type) {
	case *And:
		var pos, neg []string
		// Profile conditions first; when the and has others, their result
		// scopes the others' base sets (a few profiles' events are read
		// and aggregated, not every profile's).
		args := x.Args
		var prof, rest []Expr
		for _, a := range args {
			if isProfileCond(a) {
				prof = append(prof, a)
			} else {
				rest = append(rest, a)
			}
		}
		if len(prof) > 0 && len(rest) > 0 {
			for _, a := range prof {
				n, _, err := c.expr(a)
				if err != nil {
					return "", false, err
				}
				pos = append(pos, n)
			}
			live = true
			sc := scope{live: pos[0]}
			if len(pos) > 1 {
				sc.live = c.add("SELECT profile_id FROM " + strings.Join(pos, "\nINTERSECT SELECT profile_id FROM "))
				pos = []string{sc.live}
			}
			// sc.live is left for DuckDB to inline: measured faster than
			// materialising it (docs/segments-language.md, "How it runs").
			c.merged = true
			sc.raw = c.add("SELECT profile_id AS id FROM " + sc.live +
				"\nUNION ALL SELECT id FROM merged WHERE root IN (SELECT profile_id FROM " + sc.live + ")")
			c.scopes = append(c.scopes, sc)
			defer func() { c.scopes = c.scopes[:len(c.scopes)-1] }()
			args = rest
		}
		for _, a := range args {
			target := &pos
			if n, ok := a.(*Not); ok {
				a, target = n.Arg, &neg
			}
			n, l, err := c.expr(a)
			if err != nil {
				return "", false, err
			}
			*target = append(*target, n)
			if target == &pos {
				live = live || l
			}
		}
		if len(pos) == 0 {
			pos, live = []string{"live"}, true
		}
		q := "SELECT profile_id FROM " + strings.Join(pos, "\nINTERSECT SELECT profile_id FROM ")
		for _, n := range neg {
			q += "\nEXCEPT SELECT profile_id FROM " + n
		}
		return c.add(q), live, nil
	case *Or:
		var parts []string
		live = true
		for _, a := range x.Args {
			n, l, err := c.expr(a)
			if err != nil {
				return "", false, err
			}
			parts = append(parts, n)
			live = live && l
		}
		return c.add("SELECT profile_id FROM " + strings.Join(parts, "\nUNION SELECT profile_id FROM ")), live, nil
	case *Not:
		n, _, err := c.expr(x.Arg)
		if err != nil {
			return "", false, err
		}
		return c.add("SELECT profile_id FROM live\nEXCEPT SELECT profile_id FROM " + n), true, nil
	}
	return c.condition(e)
}

package identity

import (
	"time"

	"github.com/atrium-cdp/atrium/internal/model"
)

// Node is a live profile as the graph knows it.
type Node struct {
	ID         string
	Identified bool
	CreatedAt  time.Time
	IDs        []model.Identifier
}

func (n *Node) count(idType string) int {
	c := 0
	for _, i := range n.IDs {
		if i.Type == idType {
			c++
		}
	}
	return c
}

// Graph maps identifiers to live profiles. It is not safe for concurrent use:
// the ingest writer owns it. Changes between Begin and Commit are journaled;
// Rollback undoes them.
type Graph struct {
	cfg     Config
	byKey   map[string]*Node
	nodes   map[string]*Node
	journal []func()
	newID   func() string
}

// NewGraph returns an empty graph. newID makes profile ids.
func NewGraph(cfg Config, newID func() string) *Graph {
	return &Graph{cfg: cfg, byKey: map[string]*Node{}, nodes: map[string]*Node{}, newID: newID}
}

// Config returns the rules in force.
func (g *Graph) Config() Config { return g.cfg }

// LoadNode adds a stored live profile (used at start, outside any batch).
func (g *Graph) LoadNode(id string, identified bool, createdAt time.Time) {
	if _, ok := g.nodes[id]; !ok {
		g.nodes[id] = &Node{ID: id, Identified: identified, CreatedAt: createdAt}
	}
}

// LoadIdentity attaches a stored identifier (used at start).
func (g *Graph) LoadIdentity(id model.Identifier, profileID string) {
	n := g.nodes[profileID]
	if n == nil {
		// An identity pointing at a merged-away profile is repaired to nothing;
		// it will be re-attached by the next message that carries it.
		return
	}
	n.IDs = append(n.IDs, id)
	g.byKey[id.Key()] = n
}

// Size returns the number of live profiles and identifiers held.
func (g *Graph) Size() (profiles, identifiers int) { return len(g.nodes), len(g.byKey) }

// Node returns a live profile, or nil.
func (g *Graph) Node(id string) *Node { return g.nodes[id] }

// Owner returns the live profile holding an identifier, or nil.
func (g *Graph) Owner(id model.Identifier) *Node { return g.byKey[id.Key()] }

// Begin starts a journaled batch of changes.
func (g *Graph) Begin() { g.journal = g.journal[:0] }

// Commit keeps the batch's changes.
func (g *Graph) Commit() { g.journal = g.journal[:0] }

// Rollback undoes the batch's changes, newest first.
func (g *Graph) Rollback() {
	for i := len(g.journal) - 1; i >= 0; i-- {
		g.journal[i]()
	}
	g.journal = g.journal[:0]
}

func (g *Graph) addNode(n *Node) {
	g.nodes[n.ID] = n
	g.journal = append(g.journal, func() { delete(g.nodes, n.ID) })
}

func (g *Graph) removeNode(n *Node) {
	delete(g.nodes, n.ID)
	g.journal = append(g.journal, func() { g.nodes[n.ID] = n })
}

func (g *Graph) attach(n *Node, id model.Identifier) {
	prevIDs := n.IDs
	n.IDs = append(n.IDs[:len(n.IDs):len(n.IDs)], id)
	prevOwner, had := g.byKey[id.Key()]
	g.byKey[id.Key()] = n
	g.journal = append(g.journal, func() {
		n.IDs = prevIDs
		if had {
			g.byKey[id.Key()] = prevOwner
		} else {
			delete(g.byKey, id.Key())
		}
	})
}

func (g *Graph) detach(n *Node, id model.Identifier) {
	prevIDs := n.IDs
	kept := make([]model.Identifier, 0, len(n.IDs))
	for _, x := range n.IDs {
		if x.Key() != id.Key() {
			kept = append(kept, x)
		}
	}
	n.IDs = kept
	owner, had := g.byKey[id.Key()]
	if had && owner == n {
		delete(g.byKey, id.Key())
	}
	g.journal = append(g.journal, func() {
		n.IDs = prevIDs
		if had {
			g.byKey[id.Key()] = owner
		}
	})
}

func (g *Graph) setIdentified(n *Node, v bool) {
	prev := n.Identified
	n.Identified = v
	g.journal = append(g.journal, func() { n.Identified = prev })
}

// isIdentifying reports whether an identifier makes its profile "identified":
// a user id, an e-mail or a phone names a known person.
func isIdentifying(idType string) bool {
	return idType == model.IDUserID || idType == model.IDEmail || idType == model.IDPhone
}

// canHold reports whether n may take id without passing its type's limit.
func (g *Graph) canHold(n *Node, id model.Identifier) bool {
	return n.count(id.Type) < g.cfg.limit(id.Type)
}

// canMerge reports whether the union of a and b respects every limit.
func (g *Graph) canMerge(a, b *Node) (bool, string) {
	counts := map[string]int{}
	for _, i := range a.IDs {
		counts[i.Type]++
	}
	for _, i := range b.IDs {
		counts[i.Type]++
	}
	for t, c := range counts {
		if c > g.cfg.limit(t) {
			return false, t
		}
	}
	return true, ""
}

// SetConfig replaces the rules; they apply to links made from now on.
func (g *Graph) SetConfig(cfg Config) { g.cfg = cfg }

package identity

import (
	"time"

	"github.com/atrium-cdp/atrium/internal/model"
)

// MergeOp is one profile merged into another during resolution.
type MergeOp struct {
	SurvivorID string
	MergedID   string
	Moved      []model.Identifier // identifiers that moved to the survivor
	Link       model.Identifier   // the identifier that proved the two are one person
	Rule       string
}

// Refusal is a link the guard-rails refused: the identifier stays where it was.
type Refusal struct {
	Identifier model.Identifier
	ProfileID  string // the profile the message resolved to
	OtherID    string // the profile holding the identifier, if any
	Reason     string // "limit:<type>" or "merge_limit:<type>"
}

// Resolution is what resolving one message did.
type Resolution struct {
	ProfileID     string
	NewProfile    bool
	NewIdentities []model.Identifier
	Merges        []MergeOp
	Refusals      []Refusal
	Became        bool // the profile became identified
}

// Resolve finds or creates the profile of a message carrying ids (strongest
// first, as Extract returns them) and links the rest within the limits.
// A message with no usable identifier gets a profile of its own, so people
// sharing a placeholder id are never glued together.
func (g *Graph) Resolve(ids []model.Identifier, at time.Time) Resolution {
	var res Resolution
	var base *Node
	for i, id := range ids {
		n := g.byKey[id.Key()]
		if n == nil {
			continue
		}
		base = n
		// A stronger identifier the known profile cannot take (a second user
		// id on a shared device) means another person: start from a new profile.
		for _, stronger := range ids[:i] {
			if !g.canHold(base, stronger) {
				base = nil
				break
			}
		}
		break
	}
	if base == nil {
		base = &Node{ID: g.newID(), CreatedAt: at}
		g.addNode(base)
		res.NewProfile = true
	}
	for _, id := range ids {
		owner := g.byKey[id.Key()]
		switch {
		case owner == base:
			continue
		case owner == nil:
			if !g.canHold(base, id) {
				res.Refusals = append(res.Refusals, Refusal{Identifier: id, ProfileID: base.ID, Reason: "limit:" + id.Type})
				continue
			}
			g.attach(base, id)
			res.NewIdentities = append(res.NewIdentities, id)
			if isIdentifying(id.Type) && !base.Identified {
				g.setIdentified(base, true)
				res.Became = true
			}
		default:
			ok, t := g.canMerge(base, owner)
			if !ok {
				res.Refusals = append(res.Refusals, Refusal{Identifier: id, ProfileID: base.ID, OtherID: owner.ID, Reason: "merge_limit:" + t})
				continue
			}
			survivor, merged := pickSurvivor(base, owner)
			op := g.merge(survivor, merged, id, "identifier_match")
			res.Merges = append(res.Merges, op)
			base = survivor
		}
	}
	res.ProfileID = base.ID
	return res
}

// pickSurvivor keeps the identified profile, else the older, else a.
func pickSurvivor(a, b *Node) (survivor, merged *Node) {
	switch {
	case a.Identified != b.Identified:
		if a.Identified {
			return a, b
		}
		return b, a
	case b.CreatedAt.Before(a.CreatedAt):
		return b, a
	}
	return a, b
}

func (g *Graph) merge(survivor, merged *Node, link model.Identifier, rule string) MergeOp {
	op := MergeOp{SurvivorID: survivor.ID, MergedID: merged.ID, Link: link, Rule: rule}
	moved := append([]model.Identifier(nil), merged.IDs...)
	for _, id := range moved {
		g.detach(merged, id)
		g.attach(survivor, id)
	}
	op.Moved = moved
	if merged.Identified && !survivor.Identified {
		g.setIdentified(survivor, true)
	}
	g.removeNode(merged)
	return op
}

// ForceMerge merges b into a on an administrator's word, ignoring the limits.
// Both must be live and distinct.
func (g *Graph) ForceMerge(a, b string) (MergeOp, bool) {
	na, nb := g.nodes[a], g.nodes[b]
	if na == nil || nb == nil || na == nb {
		return MergeOp{}, false
	}
	return g.merge(na, nb, model.Identifier{}, "admin"), true
}

// Restore brings a merged-away profile back to life and moves the given
// identifiers back to it from wherever they now are (undo of a merge).
func (g *Graph) Restore(id string, identified bool, createdAt time.Time, ids []model.Identifier) []model.Identifier {
	n := g.nodes[id]
	if n == nil {
		n = &Node{ID: id, Identified: identified, CreatedAt: createdAt}
		g.addNode(n)
	}
	var moved []model.Identifier
	for _, i := range ids {
		owner := g.byKey[i.Key()]
		if owner == n {
			continue
		}
		if owner != nil {
			g.detach(owner, i)
			g.refreshIdentified(owner)
		}
		g.attach(n, i)
		moved = append(moved, i)
	}
	return moved
}

// refreshIdentified recomputes a profile's identified flag from its identifiers.
func (g *Graph) refreshIdentified(n *Node) {
	v := false
	for _, i := range n.IDs {
		if isIdentifying(i.Type) {
			v = true
			break
		}
	}
	if v != n.Identified {
		g.setIdentified(n, v)
	}
}

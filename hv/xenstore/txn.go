package xenstore

// txn is an open transaction. Its reads and writes go through an overlay
// keyed by node name; every node it touches has the generation it had when
// first accessed recorded, and the commit fails with EAGAIN if any of them
// has changed since (xenstored's generation-count scheme, applied to reads
// and writes alike). Watch events are queued and fire on commit.
//
// Nodes that the transaction only reads are not copied, so a transaction's
// view of nodes it has not yet touched follows the global tree; the
// generation check turns any such change into EAGAIN at commit.
type txn struct {
	id     uint32            // the id the client uses in tx_id
	nodes  map[string]*node  // overlay: the transaction's version; nil = removed
	seen   map[string]uint64 // generation of each accessed node at first access (0: absent)
	events []txEvent         // watch events to fire on commit
	owned  map[DomID]int     // change in the number of nodes each domain owns
}

// txEvent is a watch event queued until commit.
type txEvent struct {
	name  string
	match matchKind
	perms []Perm // the node's permissions when the event was queued
}

func newTxn(id uint32) *txn {
	return &txn{id: id, nodes: make(map[string]*node), seen: make(map[string]uint64), owned: make(map[DomID]int)}
}

func genOf(n *node) uint64 {
	if n == nil {
		return 0
	}
	return n.gen
}

// get returns the transaction's version of name. Called with Store.mu held.
func (t *txn) get(s *Store, name string) *node {
	if n, ok := t.nodes[name]; ok {
		return n
	}
	g := s.nodes[name]
	if _, ok := t.seen[name]; !ok {
		t.seen[name] = genOf(g)
	}
	return g
}

// set stores n at name in the overlay. Called with Store.mu held.
func (t *txn) set(s *Store, name string, n *node) {
	if old := t.get(s, name); old != nil {
		t.owned[old.owner()]--
	}
	t.owned[n.owner()]++
	s.gen++
	n.gen = s.gen
	t.nodes[name] = n
}

// del removes name in the overlay. Called with Store.mu held.
func (t *txn) del(s *Store, name string) {
	if old := t.get(s, name); old != nil {
		t.owned[old.owner()]--
	}
	t.nodes[name] = nil
}

// commit checks t against the global tree and applies it, firing its
// queued watch events. It returns EAGAIN if a node the transaction
// accessed has changed, ENOSPC if applying it would exceed the node quota
// of an unprivileged committer. Called with Store.mu held.
func (s *Store) commit(sess *session, t *txn) Errno {
	for name, g := range t.seen {
		if genOf(s.nodes[name]) != g {
			return EAGAIN
		}
	}
	if !sess.priv {
		for d, delta := range t.owned {
			if delta > 0 && indexable(d) && s.ownedCount(d)+delta > s.quotaFor(d).Nodes {
				return ENOSPC
			}
		}
	}
	for name, n := range t.nodes {
		if n == nil {
			s.del(name)
		} else {
			s.set(name, n)
		}
	}
	for _, ev := range t.events {
		s.fire(ev.name, ev.match, nil, ev.perms)
	}
	return 0
}

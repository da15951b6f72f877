package xenstore

import (
	"fmt"
	"slices"
	"sync"
)

// Quota limits what one unprivileged domain may consume. Domain 0 (the
// monitor and socket clients) is never limited, as in xenstored. Exceeding
// a quota fails the request with ENOSPC (xenstored's error for every quota);
// an over-long path fails with EINVAL, as in xenstored's canonicalize.
type Quota struct {
	Nodes        int // nodes the domain may own (default 1000)
	Watches      int // watches per connection (default 128)
	Transactions int // open transactions per connection (default 10)
	TxNodes      int // nodes one transaction may access (default 1024)
	ValueSize    int // bytes in one node's value (default 4096)
	PathLen      int // bytes of a path below /local/domain/<n>/ (default 2048, XENSTORE_REL_PATH_MAX)
	Perms        int // entries in one node's permission list (default 5)
}

// DefaultQuota returns the quota New applies to every unprivileged domain
// unless Options or SetQuota say otherwise. The values follow xenstored's
// defaults except ValueSize, which bounds only the value (xenstored bounds
// the whole node record at 2048 bytes).
func DefaultQuota() Quota {
	return Quota{Nodes: 1000, Watches: 128, Transactions: 10, TxNodes: 1024,
		ValueSize: PayloadMax, PathLen: RelPathMax, Perms: 5}
}

// withDefaults fills zero fields from DefaultQuota.
func (q Quota) withDefaults() Quota {
	d := DefaultQuota()
	for _, f := range []struct{ v, def *int }{
		{&q.Nodes, &d.Nodes}, {&q.Watches, &d.Watches}, {&q.Transactions, &d.Transactions},
		{&q.TxNodes, &d.TxNodes}, {&q.ValueSize, &d.ValueSize}, {&q.PathLen, &d.PathLen},
		{&q.Perms, &d.Perms},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return q
}

// DefaultOutputLimit is the default Options.OutputLimit: 1 MiB.
const DefaultOutputLimit = 1 << 20

// outputPause is how much queued output makes a ring connection stop
// reading requests until the guest consumes replies (back-pressure).
const outputPause = 64 << 10

// Options configures New. The zero value selects the defaults.
type Options struct {
	// Quota is the default quota of unprivileged domains; zero fields take
	// DefaultQuota's values.
	Quota Quota
	// OutputLimit is how many bytes of replies and watch events may wait
	// for one connection's client to consume them. A connection that
	// exceeds it is broken (ring: error field set, no further service;
	// socket: closed). Zero selects DefaultOutputLimit.
	OutputLimit int
}

// node is one entry of the tree. Nodes are never modified once stored:
// a change stores a new node, so that transactions may hold on to what
// they read.
type node struct {
	value    []byte   // the node's value (no implied NUL)
	perms    []Perm   // at least one entry; the first is the owner
	children []string // base names of the children, sorted
	gen      uint64   // Store.gen when the node was last stored
}

func (n *node) owner() DomID { return n.perms[0].Domid }

// clone returns a shallow copy whose slices may be replaced (not mutated).
func (n *node) clone() *node {
	c := *n
	return &c
}

// withChild returns a copy of n with name added to its children.
func (n *node) withChild(name string) *node {
	i, found := slices.BinarySearch(n.children, name)
	c := n.clone()
	if !found {
		c.children = slices.Insert(slices.Clip(n.children), i, name)
	}
	return c
}

// withoutChild returns a copy of n with name removed from its children.
func (n *node) withoutChild(name string) *node {
	c := n.clone()
	if i, found := slices.BinarySearch(n.children, name); found {
		c.children = slices.Delete(slices.Clone(n.children), i, i+1)
	}
	return c
}

// Store is the Xenstore database of one monitor process: the tree of nodes,
// the introduced domains, their quotas, and every connection's watches and
// transactions. It is the store daemon for all VMs in the process; domain 0
// is the monitor itself.
//
// All methods may be called from several goroutines at once. One mutex (mu)
// guards all of the Store's state; operations are short (no I/O happens under
// it). Each connection's output queue has its own mutex, taken after mu when
// both are held. Notifications to clients (Conn notify functions, socket
// writers, Client watch channels) happen after mu is released.
type Store struct {
	opts Options

	mu         sync.Mutex
	nodes      map[string]*node                // every node by absolute name, plus the special @ nodes
	gen        uint64                          // generation counter, bumped on each stored node
	owned      map[DomID]map[string]struct{}   // nodes owned by each domain other than 0 and DomIDAny
	referenced map[DomID]map[string]struct{}   // nodes with a non-owner entry naming each domain
	introduced map[DomID]bool                  // domains introduced and not released
	quotas     map[DomID]Quota                 // per-domain quota overrides
	targets    map[DomID]DomID                 // SET_TARGET: domain -> domain it may act as
	watches    map[string][]*watch             // watches by canonical watched path
	domSess    map[DomID]map[*session]struct{} // live sessions of unprivileged domains
	dirty      []*session                      // sessions with new output since the last kick
}

// New returns a store holding the root, /local/domain, and the special
// nodes @introduceDomain (domain 0 only) and @releaseDomain (readable by
// every domain, so that guests may watch it), as xenstored sets them up.
func New(opts Options) *Store {
	opts.Quota = opts.Quota.withDefaults()
	if opts.OutputLimit <= 0 {
		opts.OutputLimit = DefaultOutputLimit
	}
	s := &Store{
		opts:       opts,
		nodes:      make(map[string]*node),
		owned:      make(map[DomID]map[string]struct{}),
		referenced: make(map[DomID]map[string]struct{}),
		introduced: make(map[DomID]bool),
		quotas:     make(map[DomID]Quota),
		targets:    make(map[DomID]DomID),
		watches:    make(map[string][]*watch),
		domSess:    make(map[DomID]map[*session]struct{}),
	}
	dom0Only := []Perm{{Domid: 0, Access: AccessNone}}
	s.set("/", &node{perms: dom0Only, children: []string{"local"}})
	s.set("/local", &node{perms: dom0Only, children: []string{"domain"}})
	s.set("/local/domain", &node{perms: dom0Only})
	s.set(IntroduceDomainPath, &node{perms: dom0Only})
	s.set(ReleaseDomainPath, &node{perms: []Perm{{Domid: 0, Access: AccessNone}, {Domid: DomIDAny, Access: AccessRead}}})
	return s
}

// SetQuota overrides the quota of domain d; zero fields take the store's
// default quota.
func (s *Store) SetQuota(d DomID, q Quota) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotas[d] = q.withDefaults()
}

// quotaFor returns the quota of domain d. Called with mu held.
func (s *Store) quotaFor(d DomID) Quota {
	if q, ok := s.quotas[d]; ok {
		return q
	}
	return s.opts.Quota
}

// IsIntroduced reports whether domain d has been introduced and not
// released. Domain 0 always is.
func (s *Store) IsIntroduced(d DomID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return d == 0 || s.introduced[d]
}

// Introduce registers domain d (a real domain id, not 0): its home
// /local/domain/<d> is created, owned by d, if it does not exist, and
// @introduceDomain watches fire. Introducing a domain twice is not an
// error. The guest's ring connection is attached separately, by
// NewRingConn.
func (s *Store) Introduce(d DomID) error {
	var e Errno
	kickAll(s.locked(func() { e = s.introduce(d) }))
	if e != 0 {
		return fmt.Errorf("xenstore introduce domain %d: %w", d, e)
	}
	return nil
}

// Release forgets domain d as xenstored does when a domain goes away: its
// connections are closed (watches and transactions dropped, further
// requests ignored), every node it owns is removed with its subtree,
// entries naming it are removed from other nodes' permissions, and
// @releaseDomain watches fire. It fails with ENOENT if d is not introduced.
func (s *Store) Release(d DomID) error {
	var e Errno
	kickAll(s.locked(func() { e = s.release(d) }))
	if e != 0 {
		return fmt.Errorf("xenstore release domain %d: %w", d, e)
	}
	return nil
}

// set stores n at name in the global tree, assigning it a fresh generation
// and keeping the owner and reference indexes. Called with mu held.
func (s *Store) set(name string, n *node) {
	if old := s.nodes[name]; old != nil {
		s.unindex(name, old)
	}
	s.gen++
	n.gen = s.gen
	s.nodes[name] = n
	s.index(name, n)
}

// del removes name from the global tree (not its children or its parent's
// entry for it). Called with mu held.
func (s *Store) del(name string) {
	if old := s.nodes[name]; old != nil {
		s.unindex(name, old)
		delete(s.nodes, name)
	}
}

// indexable reports whether per-domain indexes track domain d.
func indexable(d DomID) bool { return d != 0 && d != DomIDAny }

func (s *Store) index(name string, n *node) {
	if o := n.owner(); indexable(o) {
		addTo(s.owned, o, name)
	}
	for _, p := range n.perms[1:] {
		if indexable(p.Domid) {
			addTo(s.referenced, p.Domid, name)
		}
	}
}

func (s *Store) unindex(name string, n *node) {
	if o := n.owner(); indexable(o) {
		removeFrom(s.owned, o, name)
	}
	for _, p := range n.perms[1:] {
		if indexable(p.Domid) {
			removeFrom(s.referenced, p.Domid, name)
		}
	}
}

func addTo(m map[DomID]map[string]struct{}, d DomID, name string) {
	set := m[d]
	if set == nil {
		set = make(map[string]struct{})
		m[d] = set
	}
	set[name] = struct{}{}
}

func removeFrom(m map[DomID]map[string]struct{}, d DomID, name string) {
	if set := m[d]; set != nil {
		delete(set, name)
		if len(set) == 0 {
			delete(m, d)
		}
	}
}

// ownedCount returns how many nodes domain d owns. Called with mu held.
func (s *Store) ownedCount(d DomID) int { return len(s.owned[d]) }

// permFor returns the access a session has to a node with perms, as
// xenstored's perm_for_conn: privileged sessions and the owner (or a domain
// targeting the owner) get everything including the owner right; otherwise
// the first later entry naming the domain decides, else the owner entry's
// default. Called with mu held.
func (s *Store) permFor(sess *session, perms []Perm) Access {
	all := AccessBoth | accessOwner
	if sess.priv || len(perms) == 0 {
		if sess.priv {
			return all
		}
		return AccessNone
	}
	t, hasT := s.targets[sess.domid]
	if permAllows(perms[0], sess.domid, t, hasT) {
		return all
	}
	for _, p := range perms[1:] {
		if permAllows(p, sess.domid, t, hasT) {
			return p.Access & AccessBoth
		}
	}
	return perms[0].Access & AccessBoth
}

// takeDirty returns the sessions with new output and clears the list.
// Called with mu held.
func (s *Store) takeDirty() []*session {
	d := s.dirty
	s.dirty = nil
	for _, x := range d {
		x.dirty = false
	}
	return d
}

// kickAll tells each session's transport that output is waiting. Called
// without locks.
func kickAll(ss []*session) {
	for _, x := range ss {
		if x.kick != nil {
			x.kick()
		}
	}
}

package evtchn

import (
	"fmt"
	"sync"
)

// Hub holds the domains of one process by id, so that EVTCHNOP_bind_interdomain,
// alloc_unbound and status can name other guests of the same process. The
// monitor's backends are domain 0 and are not in the hub.
//
// Lock order: Hub.mu is a leaf (no Table lock is taken while holding it,
// and tables look domains up before locking themselves). A Table's mutex
// is held alone, except that operations touching two tables
// (bind_interdomain, close of an interdomain channel) write-lock both in
// order of domain id (then creation). No Table lock is held while calling
// an Upcaller or PollWaker or signalling an eventfd.
type Hub struct {
	mu   sync.Mutex        // protects doms
	doms map[uint16]*Table // registered domains by id
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{doms: make(map[uint16]*Table)} }

// Register adds t to the hub under its domain id. It fails with
// ErrDomainExists if the id is taken and ErrRegistered if t is (or was) in
// a hub.
func (h *Hub) Register(t *Table) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.doms[t.domid]; ok {
		return fmt.Errorf("register domain %d: %w", t.domid, ErrDomainExists)
	}
	if !t.hub.CompareAndSwap(nil, h) {
		return fmt.Errorf("register domain %d: %w", t.domid, ErrRegistered)
	}
	h.doms[t.domid] = t
	return nil
}

// Unregister removes domain domid from the hub and destroys its table (see
// Table.Destroy): its interdomain peers' ports revert to unbound and its
// endpoints are disconnected. Afterwards other domains get -ESRCH for the
// id. It fails with ErrNoSuchDomain for an unknown id.
func (h *Hub) Unregister(domid uint16) error {
	h.mu.Lock()
	t, ok := h.doms[domid]
	delete(h.doms, domid)
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("unregister domain %d: %w", domid, ErrNoSuchDomain)
	}
	t.Destroy()
	return nil
}

// Lookup returns the table of domain domid, or nil.
func (h *Hub) Lookup(domid uint16) *Table {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.doms[domid]
}

// Len returns the number of registered domains.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.doms)
}

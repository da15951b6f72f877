package xenstore

import "sync"

// session is one client connection to the store: a guest's ring (Conn), a
// socket client, or an in-process Client. It holds the connection's
// identity, watches and transactions, and its queue of output messages.
type session struct {
	s     *Store
	domid DomID  // the connection's domain; 0 for the monitor and sockets
	priv  bool   // privileged (domain 0): no permission checks or quotas
	home  string // DomainPath(domid): base of relative paths
	kick  func() // tells the transport that output is queued; called without locks

	// Protected by Store.mu.
	watches  map[watchKey]*watch // by canonical path and token
	txs      map[uint32]*txn     // open transactions by id
	nextTx   uint32              // next transaction id to try
	detached bool                // closed or released: requests are ignored
	dirty    bool                // on Store.dirty

	outMu    sync.Mutex
	out      []outMsg       // queued messages; protected by outMu
	outOff   int            // bytes of out[0] already written out; protected by outMu
	outBytes int            // bytes queued in out; protected by outMu
	events   map[string]int // payloads of queued watch events, for dropping duplicates; protected by outMu
	broken   error          // why the connection stopped; protected by outMu
	brokeAs  uint32         // ring error code for broken; protected by outMu
	limit    int            // output limit in bytes (Options.OutputLimit)
}

// outMsg is one queued output message.
type outMsg struct {
	b     []byte // the encoded message
	event bool   // a non-special watch event (counted in session.events)
}

// newSession creates a session for domain d. Domain 0 is privileged.
func (s *Store) newSession(d DomID, kick func()) *session {
	sess := &session{
		s:       s,
		domid:   d,
		priv:    d == 0,
		home:    DomainPath(d),
		kick:    kick,
		watches: make(map[watchKey]*watch),
		txs:     make(map[uint32]*txn),
		nextTx:  1,
		events:  make(map[string]int),
		limit:   s.opts.OutputLimit,
	}
	if !sess.priv {
		s.mu.Lock()
		set := s.domSess[d]
		if set == nil {
			set = make(map[*session]struct{})
			s.domSess[d] = set
		}
		set[sess] = struct{}{}
		s.mu.Unlock()
	}
	return sess
}

// dropState discards the session's watches and transactions. Called with
// Store.mu held.
func (s *Store) dropState(sess *session) {
	for _, w := range sess.watches {
		s.removeWatch(w)
	}
	clear(sess.watches)
	clear(sess.txs)
}

// detach closes the session for good: its state is dropped and further
// requests are ignored. Called with Store.mu held.
func (s *Store) detach(sess *session) {
	s.dropState(sess)
	sess.detached = true
	if set := s.domSess[sess.domid]; set != nil {
		delete(set, sess)
		if len(set) == 0 {
			delete(s.domSess, sess.domid)
		}
	}
}

// close detaches sess; it is what Client.Close and Conn.Close do.
func (s *Store) close(sess *session) {
	s.mu.Lock()
	s.detach(sess)
	s.mu.Unlock()
}

// deliver queues an encoded message for sess and marks it dirty. event
// marks a watch event with a path (not a special @ event), which is
// dropped if an identical one is still queued, as in xenstored. If the
// queue would exceed the output limit the session is broken and its
// watches and transactions are dropped.
// Called with Store.mu held.
func (s *Store) deliver(sess *session, b []byte, event bool) {
	if sess.detached {
		return
	}
	if !sess.push(b, event) {
		s.dropState(sess)
	}
	if !sess.dirty {
		sess.dirty = true
		s.dirty = append(s.dirty, sess)
	}
}

// push appends b to the output queue. It returns false if that broke the
// session (output limit exceeded).
func (sess *session) push(b []byte, event bool) bool {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	if sess.broken != nil {
		return true
	}
	var key string
	if event {
		key = string(b[HeaderSize:])
		if sess.events[key] > 0 {
			return true
		}
	}
	if sess.outBytes+len(b) > sess.limit {
		sess.breakLocked(ErrOutputOverflow, RingErrorComm)
		return false
	}
	if event {
		sess.events[key]++
	}
	sess.out = append(sess.out, outMsg{b: b, event: event})
	sess.outBytes += len(b)
	return true
}

// popped accounts for out[0] having been written out completely. Called
// with outMu held.
func (sess *session) popped() {
	m := sess.out[0]
	sess.out[0] = outMsg{}
	sess.out = sess.out[1:]
	sess.outOff = 0
	sess.outBytes -= len(m.b)
	if m.event {
		key := string(m.b[HeaderSize:])
		if sess.events[key]--; sess.events[key] <= 0 {
			delete(sess.events, key)
		}
	}
	if len(sess.out) == 0 {
		sess.out = nil
	}
}

// takeAll removes and returns every queued message. Called with outMu held.
func (sess *session) takeAll() [][]byte {
	var all [][]byte
	for len(sess.out) > 0 {
		all = append(all, sess.out[0].b[sess.outOff:])
		sess.popped()
	}
	return all
}

// breakLocked marks the session broken and discards its output. Called
// with outMu held.
func (sess *session) breakLocked(err error, code uint32) {
	if sess.broken != nil {
		return
	}
	sess.broken = err
	sess.brokeAs = code
	sess.clearOutput()
}

// clearOutput discards the output queue. Called with outMu held.
func (sess *session) clearOutput() {
	sess.out = nil
	sess.outOff = 0
	sess.outBytes = 0
	clear(sess.events)
}

// queued returns the number of bytes waiting in the output queue.
func (sess *session) queued() int {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	return sess.outBytes
}

// err returns why the session broke, or nil.
func (sess *session) err() error {
	sess.outMu.Lock()
	defer sess.outMu.Unlock()
	return sess.broken
}

// handle executes one request message from sess and queues its reply (and
// any watch events it causes, for every session), then kicks the sessions
// with new output. The payload is not retained.
func (s *Store) handle(sess *session, m Message) {
	kickAll(s.locked(func() {
		if !sess.detached && sess.err() == nil {
			s.dispatch(sess, m)
		}
	}))
}

// locked runs f with mu held and returns the sessions it left with new
// output, for the caller to kick once mu is released.
func (s *Store) locked(f func()) []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	return s.takeDirty()
}

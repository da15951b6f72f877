package xenstore

import (
	"errors"
	"sync"
)

// maxQueuedEvents bounds the events a watch subscription holds for a
// receiver that does not keep up; further events are dropped (and counted
// in Dropped), as watch events may be coalesced but the client must not
// grow without bound.
const maxQueuedEvents = 1 << 16

// watchSub feeds one watch's events to its channel without ever blocking
// the store: events queue here and a goroutine hands them over.
type watchSub struct {
	mu      sync.Mutex
	queue   []WatchEvent // events not yet handed to out
	dropped int          // events lost to maxQueuedEvents
	wake    chan struct{}
	stop    chan struct{}
	stopped bool
	out     chan WatchEvent
}

func newWatchSub() *watchSub {
	s := &watchSub{wake: make(chan struct{}, 1), stop: make(chan struct{}), out: make(chan WatchEvent, 16)}
	go s.run()
	return s
}

func (s *watchSub) push(ev WatchEvent) {
	s.mu.Lock()
	if len(s.queue) >= maxQueuedEvents {
		s.dropped++
	} else {
		s.queue = append(s.queue, ev)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *watchSub) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.stopped = true
		close(s.stop)
	}
}

func (s *watchSub) run() {
	defer close(s.out)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				return
			}
		}
		ev := s.queue[0]
		s.queue[0] = WatchEvent{}
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-s.stop:
			return
		}
	}
}

// Watch registers a watch on path (or a special path such as
// "@releaseDomain") with token and returns the channel its events arrive
// on, starting with the immediate event the server sends on registration.
// Tokens must be unique within a client (events are routed by token). The
// channel is closed by Unwatch and Close.
func (c *Client) Watch(path, token string) (<-chan WatchEvent, error) {
	sub := newWatchSub()
	c.mu.Lock()
	if c.closed {
		err := c.err
		c.mu.Unlock()
		sub.close()
		return nil, err
	}
	if c.subs[token] != nil {
		c.mu.Unlock()
		sub.close()
		return nil, opError("watch", path, ErrDuplicateToken)
	}
	c.subs[token] = sub
	c.mu.Unlock()
	if _, err := c.call(TypeWatch, 0, joinStrings(path, token)); err != nil {
		c.dropSub(token, sub)
		return nil, opError("watch", path, err)
	}
	return sub.out, nil
}

// Unwatch removes the watch registered with path and token and closes its
// channel.
func (c *Client) Unwatch(path, token string) error {
	_, err := c.call(TypeUnwatch, 0, joinStrings(path, token))
	c.mu.Lock()
	sub := c.subs[token]
	c.mu.Unlock()
	if sub != nil && (err == nil || errors.Is(err, ENOENT)) {
		c.dropSub(token, sub)
	}
	if err != nil {
		return opError("unwatch", path, err)
	}
	return nil
}

func (c *Client) dropSub(token string, sub *watchSub) {
	c.mu.Lock()
	if c.subs[token] == sub {
		delete(c.subs, token)
	}
	c.mu.Unlock()
	sub.close()
}

// Tx is an open transaction of a Client. Its reads see its own writes;
// its writes become visible, and their watches fire, on Commit.
type Tx struct {
	c  *Client
	id uint32
}

// ID returns the transaction id the server assigned.
func (t *Tx) ID() uint32 { return t.id }

// Begin starts a transaction.
func (c *Client) Begin() (*Tx, error) {
	r, err := c.call(TypeTransactionStart, 0, []byte{0})
	if err != nil {
		return nil, opError("transaction-start", "", err)
	}
	s, ok := oneArg(r)
	v := atoi(s)
	if !ok || v <= 0 || v > 1<<32-1 {
		return nil, opError("transaction-start", "", ErrBadReply)
	}
	return &Tx{c: c, id: uint32(v)}, nil
}

// Commit ends the transaction, applying it. It fails with EAGAIN (under
// errors.Is) if something the transaction read or wrote changed meanwhile;
// the transaction is gone either way.
func (t *Tx) Commit() error { return t.end("T") }

// Abort ends the transaction, discarding it.
func (t *Tx) Abort() error { return t.end("F") }

func (t *Tx) end(arg string) error {
	if _, err := t.c.call(TypeTransactionEnd, t.id, joinStrings(arg)); err != nil {
		return opError("transaction-end", "", err)
	}
	return nil
}

// Read returns the value of path as the transaction sees it.
func (t *Tx) Read(path string) ([]byte, error) { return t.c.read(t.id, path) }

// Write sets the value of path within the transaction.
func (t *Tx) Write(path string, value []byte) error { return t.c.write(t.id, path, value) }

// Mkdir creates path within the transaction.
func (t *Tx) Mkdir(path string) error { return t.c.simple(t.id, TypeMkdir, "mkdir", path) }

// Rm removes path and its subtree within the transaction.
func (t *Tx) Rm(path string) error { return t.c.simple(t.id, TypeRm, "rm", path) }

// Directory lists path's children as the transaction sees them.
func (t *Tx) Directory(path string) ([]string, error) { return t.c.directory(t.id, path) }

// GetPerms returns path's permissions as the transaction sees them.
func (t *Tx) GetPerms(path string) ([]Perm, error) { return t.c.getPerms(t.id, path) }

// SetPerms replaces path's permissions within the transaction.
func (t *Tx) SetPerms(path string, perms []Perm) error { return t.c.setPerms(t.id, path, perms) }

// maxTxRetries is how often Transaction retries a conflicting commit.
const maxTxRetries = 16

// Transaction runs fn in a transaction and commits it, starting again when
// the commit fails with EAGAIN (up to 16 attempts; then
// ErrTooManyRetries). If fn fails the transaction is aborted and fn's error
// returned.
func (c *Client) Transaction(fn func(*Tx) error) error {
	for range maxTxRetries {
		tx, err := c.Begin()
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Abort()
			return err
		}
		err = tx.Commit()
		if !errors.Is(err, EAGAIN) {
			return err
		}
	}
	return ErrTooManyRetries
}

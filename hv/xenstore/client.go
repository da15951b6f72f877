package xenstore

import (
	"bytes"
	"errors"
	"strings"
	"sync"
)

// WatchEvent is one firing of a watch: the path that changed (relative if
// the watch was registered with a relative path) and the watch's token.
type WatchEvent struct {
	Path  string // the changed path, or the watched path for the first event
	Token string // the token given to Watch
}

// Client speaks the Xenstore wire protocol as domain 0: in process through
// Store.Dom0, or over a unix socket through Dial. Every method sends one
// request and waits for its reply; a Client may be used from several
// goroutines at once. Server errors come back wrapped with the request kind
// and path, and match the Errno values under errors.Is (e.g. ENOENT).
type Client struct {
	send    func(Message) error // hands a request to the transport
	closeFn func() error        // closes the transport

	mu      sync.Mutex
	nextID  uint32                  // next request id
	pending map[uint32]chan Message // replies awaited, by request id
	subs    map[string]*watchSub    // watch subscriptions, by token
	closed  bool
	err     error         // why the client closed
	done    chan struct{} // closed when the client closes
}

func newClient(send func(Message) error, closeFn func() error) *Client {
	return &Client{send: send, closeFn: closeFn, nextID: 1,
		pending: make(map[uint32]chan Message), subs: make(map[string]*watchSub),
		done: make(chan struct{})}
}

// Dom0 returns an in-process client with domain 0's rights and its own
// connection (watches and transactions). Requests run synchronously in the
// caller's goroutine.
func (s *Store) Dom0() *Client {
	var c *Client
	sess := s.newSession(0, nil)
	sess.kick = func() {
		sess.outMu.Lock()
		defer sess.outMu.Unlock()
		for _, b := range sess.takeAll() {
			if m, _, err := ParseMessage(b); err == nil {
				c.receive(m)
			}
		}
	}
	c = newClient(func(m Message) error {
		s.handle(sess, Message{Type: m.Type, ReqID: m.ReqID, TxID: m.TxID, Payload: m.Payload})
		return nil
	}, func() error {
		s.close(sess)
		return nil
	})
	return c
}

// receive routes a message from the server: watch events to their
// subscription, replies to their waiting request.
func (c *Client) receive(m Message) {
	if m.Type == TypeWatchEvent {
		strs := splitStrings(m.Payload)
		if len(strs) < 2 {
			return
		}
		ev := WatchEvent{Path: string(strs[0]), Token: string(strs[1])}
		c.mu.Lock()
		sub := c.subs[ev.Token]
		c.mu.Unlock()
		if sub != nil {
			sub.push(ev)
		}
		return
	}
	c.mu.Lock()
	ch := c.pending[m.ReqID]
	delete(c.pending, m.ReqID)
	c.mu.Unlock()
	if ch != nil {
		ch <- m
	}
}

// shutdown marks the client closed for err, fails waiting requests and
// ends every watch channel.
func (c *Client) shutdown(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.err = err
	subs := c.subs
	c.subs = make(map[string]*watchSub)
	close(c.done)
	c.mu.Unlock()
	for _, s := range subs {
		s.close()
	}
}

// Close closes the client's connection: its watches and transactions end
// and its watch channels are closed.
func (c *Client) Close() error {
	err := c.closeFn()
	c.shutdown(ErrClosed)
	return err
}

// call sends a request and returns the reply payload, or the server's
// error as an Errno.
func (c *Client) call(t MsgType, tx uint32, payload []byte) ([]byte, error) {
	if len(payload) > PayloadMax {
		return nil, E2BIG
	}
	ch := make(chan Message, 1)
	c.mu.Lock()
	if c.closed {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	id := c.nextID
	c.nextID++
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.send(Message{Type: t, ReqID: id, TxID: tx, Payload: payload}); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, err
	}
	var r Message
	select {
	case r = <-ch:
	case <-c.done:
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	switch r.Type {
	case t:
		return r.Payload, nil
	case TypeError:
		name, _, _ := bytes.Cut(r.Payload, []byte{0})
		if e, ok := errnoByName(string(name)); ok {
			return nil, e
		}
		return nil, ErrBadReply
	default:
		return nil, ErrBadReply
	}
}

// Read returns the value of path.
func (c *Client) Read(path string) ([]byte, error) { return c.read(0, path) }

// Write sets the value of path, creating it and missing parents.
func (c *Client) Write(path string, value []byte) error { return c.write(0, path, value) }

// Mkdir creates path (and missing parents) with an empty value if it does
// not exist.
func (c *Client) Mkdir(path string) error { return c.simple(0, TypeMkdir, "mkdir", path) }

// Rm removes path and everything below it. A missing path whose parent
// exists is not an error.
func (c *Client) Rm(path string) error { return c.simple(0, TypeRm, "rm", path) }

// Directory returns the names of path's children, sorted. Lists too long
// for one reply are fetched in parts with DIRECTORY_PART.
func (c *Client) Directory(path string) ([]string, error) { return c.directory(0, path) }

// GetPerms returns path's permissions; the first entry is the owner.
func (c *Client) GetPerms(path string) ([]Perm, error) { return c.getPerms(0, path) }

// SetPerms replaces path's permissions; the first entry is the owner and
// everybody's default.
func (c *Client) SetPerms(path string, perms []Perm) error { return c.setPerms(0, path, perms) }

func (c *Client) read(tx uint32, path string) ([]byte, error) {
	r, err := c.call(TypeRead, tx, joinStrings(path))
	if err != nil {
		return nil, opError("read", path, err)
	}
	return r, nil
}

func (c *Client) write(tx uint32, path string, value []byte) error {
	p := append(joinStrings(path), value...)
	if _, err := c.call(TypeWrite, tx, p); err != nil {
		return opError("write", path, err)
	}
	return nil
}

func (c *Client) simple(tx uint32, t MsgType, name, path string) error {
	if _, err := c.call(t, tx, joinStrings(path)); err != nil {
		return opError(name, path, err)
	}
	return nil
}

func (c *Client) directory(tx uint32, path string) ([]string, error) {
	r, err := c.call(TypeDirectory, tx, joinStrings(path))
	if errors.Is(err, E2BIG) {
		return c.directoryParts(tx, path)
	}
	if err != nil {
		return nil, opError("directory", path, err)
	}
	return names(r), nil
}

// directoryParts lists path's children with DIRECTORY_PART, restarting if
// the node changes between parts.
func (c *Client) directoryParts(tx uint32, path string) ([]string, error) {
	for attempt := 0; attempt < 8; attempt++ {
		var list []byte
		gen := ""
		for {
			r, err := c.call(TypeDirectoryPart, tx, joinStrings(path, itoa(uint64(len(list)))))
			if err != nil {
				return nil, opError("directory", path, err)
			}
			g, rest, ok := bytes.Cut(r, []byte{0})
			if !ok {
				return nil, opError("directory", path, ErrBadReply)
			}
			if gen != "" && gen != string(g) {
				break // changed meanwhile: start again
			}
			gen = string(g)
			if len(rest) > 0 && rest[len(rest)-1] == 0 && (len(rest) == 1 || rest[len(rest)-2] == 0) {
				list = append(list, rest[:len(rest)-1]...)
				return names(list), nil
			}
			if len(rest) == 0 {
				return nil, opError("directory", path, ErrBadReply)
			}
			list = append(list, rest...)
		}
	}
	return nil, opError("directory", path, ErrTooManyRetries)
}

// names splits a list of NUL-terminated names.
func names(p []byte) []string {
	strs := splitStrings(p)
	out := make([]string, len(strs))
	for i, s := range strs {
		out[i] = string(s)
	}
	return out
}

func (c *Client) getPerms(tx uint32, path string) ([]Perm, error) {
	r, err := c.call(TypeGetPerms, tx, joinStrings(path))
	if err != nil {
		return nil, opError("get-perms", path, err)
	}
	var perms []Perm
	for _, s := range names(r) {
		p, err := ParsePerm(s)
		if err != nil {
			return nil, opError("get-perms", path, ErrBadReply)
		}
		perms = append(perms, p)
	}
	return perms, nil
}

func (c *Client) setPerms(tx uint32, path string, perms []Perm) error {
	strs := []string{path}
	for _, p := range perms {
		strs = append(strs, p.String())
	}
	if _, err := c.call(TypeSetPerms, tx, joinStrings(strs...)); err != nil {
		return opError("set-perms", path, err)
	}
	return nil
}

// GetDomainPath returns the home path of domain d.
func (c *Client) GetDomainPath(d DomID) (string, error) {
	r, err := c.call(TypeGetDomainPath, 0, joinStrings(itoa(uint64(d))))
	if err != nil {
		return "", opError("get-domain-path", "", err)
	}
	return strings.TrimSuffix(string(r), "\x00"), nil
}

// Introduce introduces domain d (XS_INTRODUCE) as a toolstack would. The
// gfn and event channel are sent for form; the monitor attaches rings
// with NewRingConn.
func (c *Client) Introduce(d DomID, gfn uint64, port uint32) error {
	_, err := c.call(TypeIntroduce, 0, joinStrings(itoa(uint64(d)), itoa(gfn), itoa(uint64(port))))
	if err != nil {
		return opError("introduce", "", err)
	}
	return nil
}

// Release releases domain d (XS_RELEASE).
func (c *Client) Release(d DomID) error {
	if _, err := c.call(TypeRelease, 0, joinStrings(itoa(uint64(d)))); err != nil {
		return opError("release", "", err)
	}
	return nil
}

// IsIntroduced asks whether domain d is introduced.
func (c *Client) IsIntroduced(d DomID) (bool, error) {
	r, err := c.call(TypeIsDomainIntroduced, 0, joinStrings(itoa(uint64(d))))
	if err != nil {
		return false, opError("is-domain-introduced", "", err)
	}
	return bytes.Equal(r, []byte("T\x00")), nil
}

// ResetWatches drops all of the client's watches and transactions on the
// server (XS_RESET_WATCHES). Watch channels stay open but receive nothing
// more; Unwatch or Close ends them.
func (c *Client) ResetWatches() error {
	if _, err := c.call(TypeResetWatches, 0, []byte{0}); err != nil {
		return opError("reset-watches", "", err)
	}
	return nil
}

package xenstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Serve answers Xenstore clients on l (normally a unix socket) until ctx
// is done, then closes l and every connection and returns nil. Each
// connection speaks the wire protocol with domain 0's rights, as
// xenstored's socket clients do; relative paths resolve against
// /local/domain/0. A header announcing more than PayloadMax bytes closes
// the connection, as does a client that leaves more than the store's
// OutputLimit of replies and events unread. Serve returns the listener's
// error if accepting fails for another reason.
func Serve(ctx context.Context, s *Store, l net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = make(map[net.Conn]struct{})
	)
	go func() {
		<-ctx.Done()
		l.Close()
		mu.Lock()
		for nc := range conns {
			nc.Close()
		}
		mu.Unlock()
	}()
	defer wg.Wait()
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			cancel()
			return fmt.Errorf("xenstore serve: %w", err)
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			nc.Close()
			continue
		}
		conns[nc] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(s, nc)
			mu.Lock()
			delete(conns, nc)
			mu.Unlock()
		}()
	}
}

// serveConn runs one socket client: this goroutine reads and executes
// requests, another writes replies and events as they are queued.
func serveConn(s *Store, nc net.Conn) {
	wake := make(chan struct{}, 1)
	sess := s.newSession(0, nil)
	sess.kick = func() {
		if sess.err() != nil {
			nc.Close() // unblocks a writer stuck on a client that stopped reading
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	done := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		writeLoop(sess, nc, wake, done)
	}()
	r := bufio.NewReader(nc)
	for {
		m, err := readMessage(r)
		if err != nil {
			break
		}
		s.handle(sess, m)
	}
	s.close(sess)
	close(done)
	nc.Close()
	<-writerDone
}

// writeLoop writes sess's output to nc whenever woken, until done or a
// write fails. A broken session (output limit exceeded) closes nc.
func writeLoop(sess *session, nc net.Conn, wake, done <-chan struct{}) {
	for {
		select {
		case <-wake:
		case <-done:
			return
		}
		sess.outMu.Lock()
		broken := sess.broken != nil
		msgs := sess.takeAll()
		sess.outMu.Unlock()
		if broken {
			nc.Close()
			return
		}
		for _, b := range msgs {
			if _, err := nc.Write(b); err != nil {
				nc.Close()
				return
			}
		}
	}
}

// readMessage reads one whole message from r. A header announcing more
// than PayloadMax bytes is an error (ErrPayloadTooLarge).
func readMessage(r io.Reader) (Message, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Message{}, err
	}
	h, err := DecodeHeader(hdr[:])
	if err != nil {
		return Message{}, err
	}
	p := make([]byte, h.Len)
	if _, err := io.ReadFull(r, p); err != nil {
		return Message{}, err
	}
	return Message{Type: h.Type, ReqID: h.ReqID, TxID: h.TxID, Payload: p}, nil
}

// Dial connects to a store served by Serve on the unix socket at path and
// returns a Client for it (the client side of `xenolith xenstore`).
func Dial(path string) (*Client, error) {
	nc, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("xenstore dial: %w", err)
	}
	return newConnClient(nc), nil
}

// newConnClient returns a Client speaking the wire protocol over nc.
func newConnClient(nc net.Conn) *Client {
	var wmu sync.Mutex
	c := newClient(func(m Message) error {
		b, err := m.Append(nil)
		if err != nil {
			return err
		}
		wmu.Lock()
		defer wmu.Unlock()
		if _, err := nc.Write(b); err != nil {
			return fmt.Errorf("xenstore send: %w", err)
		}
		return nil
	}, nc.Close)
	go func() {
		r := bufio.NewReader(nc)
		for {
			m, err := readMessage(r)
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
					err = ErrClosed
				}
				c.shutdown(fmt.Errorf("xenstore receive: %w", err))
				nc.Close()
				return
			}
			c.receive(m)
		}
	}()
	return c
}

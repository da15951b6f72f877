package xenstore

import (
	"slices"
	"strings"
)

// watch is one registered watch of a session.
type watch struct {
	sess   *session
	name   string // canonical watched path (absolute or special)
	token  string // the client's token, echoed in events
	depth  int    // levels below name that match; -1 for no limit
	prefix int    // bytes stripped from event paths (relative watches)
}

// watchKey identifies a watch within its session.
type watchKey struct{ name, token string }

// matchKind selects how an event path is matched against watches
// (xenstored's enum watch_match).
type matchKind int

const (
	matchExact   matchKind = iota // only watches on the path itself
	matchSubtree                  // watches on the path or any ancestor (depth permitting)
	matchDepth                    // special event with a domid: watches on it, or on its base with depth > 0
	matchNoDepth                  // special event: watches on the path without depth
)

// addWatch registers w. Called with mu held.
func (s *Store) addWatch(w *watch) {
	w.sess.watches[watchKey{w.name, w.token}] = w
	s.watches[w.name] = append(s.watches[w.name], w)
}

// removeWatch unregisters w from the path index (the caller removes it
// from its session). It builds a new list rather than editing the old one
// in place, because fire may be iterating over the old one (a session
// that breaks while receiving an event loses its watches). Called with mu
// held.
func (s *Store) removeWatch(w *watch) {
	list := s.watches[w.name]
	i := slices.Index(list, w)
	if i < 0 {
		return
	}
	if len(list) == 1 {
		delete(s.watches, w.name)
		return
	}
	s.watches[w.name] = slices.Concat(list[:i], list[i+1:])
}

// fire generates watch events for a change of name, as xenstored's
// fire_watches. n is the node whose permissions decide who may see the
// event (nil: look name up in the tree), old its permissions before a
// permission change or removal (nil if none). Called with mu held, on the
// global tree (transactions queue their events until commit).
func (s *Store) fire(name string, match matchKind, n *node, old []Perm) {
	send := func(w *watch) {
		if s.watchPermitted(w.sess, name, n, old) {
			s.queueEvent(w.sess, name[w.prefix:], w.token)
		}
	}
	switch match {
	case matchExact:
		for _, w := range s.watches[name] {
			send(w)
		}
	case matchNoDepth:
		for _, w := range s.watches[name] {
			if w.depth < 0 {
				send(w)
			}
		}
	case matchSubtree, matchDepth:
		for a := name; ; a = parentPath(a) {
			for _, w := range s.watches[a] {
				ok := isChild(name, a, w.depth)
				if match == matchDepth {
					ok = a == name || (w.depth > 0 && ok)
				}
				if ok {
					send(w)
				}
			}
			if a == "/" {
				break
			}
		}
	}
}

// watchPermitted reports whether sess may see an event for name, as
// xenstored's watch_permitted: it may read the node (with its old
// permissions, or its current ones) or the node's parent. Called with mu
// held.
func (s *Store) watchPermitted(sess *session, name string, n *node, old []Perm) bool {
	if sess.priv {
		return true
	}
	if old != nil && s.permFor(sess, old)&AccessRead != 0 {
		return true
	}
	if n == nil {
		if n = s.nodes[name]; n == nil {
			return false
		}
	}
	if s.permFor(sess, n.perms)&AccessRead != 0 {
		return true
	}
	if name == "/" {
		return false
	}
	p := s.nodes[parentPath(name)]
	return p != nil && s.permFor(sess, p.perms)&AccessRead != 0
}

// queueEvent queues a WATCH_EVENT for sess. Events longer than a payload
// are dropped, as in xenstored. Called with mu held.
func (s *Store) queueEvent(sess *session, path, token string) {
	p := joinStrings(path, token)
	if len(p) > PayloadMax {
		return
	}
	s.deliver(sess, Message{Type: TypeWatchEvent, Payload: p}.encode(), !strings.HasPrefix(path, "@"))
}

// fireSpecial fires the special watch base ("@introduceDomain" or
// "@releaseDomain") for domain d: watches on the base without depth, and
// watches on base/<d> or on base with a depth, as xenstored's
// fire_special_watches. Called with mu held.
func (s *Store) fireSpecial(base string, d DomID) {
	n := s.nodes[base]
	if n == nil {
		return
	}
	s.fire(base, matchNoDepth, n, nil)
	s.fire(base+"/"+itoa(uint64(d)), matchDepth, n, nil)
}

package xenstore

import (
	"bytes"
)

// op is the context of one request: the store, the requesting session and
// the transaction it runs in (nil for none). Its get/set/del go to the
// transaction's overlay or to the global tree. All op methods run with
// Store.mu held.
type op struct {
	s    *Store
	sess *session
	tx   *txn
}

func (o *op) get(name string) *node {
	if o.tx != nil {
		return o.tx.get(o.s, name)
	}
	return o.s.nodes[name]
}

func (o *op) set(name string, n *node) {
	if o.tx != nil {
		o.tx.set(o.s, name, n)
		return
	}
	o.s.set(name, n)
}

func (o *op) del(name string) {
	if o.tx != nil {
		o.tx.del(o.s, name)
		return
	}
	o.s.del(name)
}

// fire reports a change of name: at once outside transactions, at commit
// inside one. n is the node whose permissions govern visibility.
func (o *op) fire(name string, match matchKind, n *node, old []Perm) {
	if o.tx != nil {
		perms := old
		if perms == nil && n != nil {
			perms = n.perms
		}
		o.tx.events = append(o.tx.events, txEvent{name: name, match: match, perms: perms})
		return
	}
	o.s.fire(name, match, n, old)
}

func (o *op) perm(n *node) Access { return o.s.permFor(o.sess, n.perms) }

func (o *op) quota() Quota { return o.s.quotaFor(o.sess.domid) }

// canonical resolves a request path for the session (see canonicalize).
func (o *op) canonical(p string, allowSpecial bool) (string, bool, Errno) {
	relMax := -1
	if !o.sess.priv {
		relMax = o.quota().PathLen
	}
	name, rel, ok := canonicalize(p, o.sess.home, allowSpecial, relMax)
	if !ok {
		return "", false, EINVAL
	}
	return name, rel, 0
}

// getNode returns the node at name if the session has every right in want
// on it. Otherwise the error is EACCES, or ENOENT if the node does not
// exist and the nearest existing ancestor grants one of the rights, so that
// a domain learns nothing about nodes it may not see (xenstored's
// get_node_chk_perm and errno_from_parents).
func (o *op) getNode(name string, want Access) (*node, Errno) {
	n := o.get(name)
	e := ENOENT
	if n != nil {
		if o.perm(n)&want == want {
			return n, 0
		}
		e = EACCES
	}
	for a := name; a != "/"; {
		a = parentPath(a)
		if p := o.get(a); p != nil {
			if o.perm(p)&want != 0 {
				return nil, e
			}
			return nil, EACCES
		}
	}
	return nil, EACCES
}

// create makes node name with value, and any missing ancestors with empty
// values. New nodes inherit their parent's permissions; an unprivileged
// creator becomes their owner. It fails with ENOSPC if the creator would
// own more nodes than its quota allows.
func (o *op) create(name string, value []byte) (*node, Errno) {
	missing := []string{name}
	a := parentPath(name)
	var anc *node
	for {
		if anc = o.get(a); anc != nil {
			break
		}
		if a == "/" {
			return nil, EIO // the root always exists
		}
		missing = append(missing, a)
		a = parentPath(a)
	}
	perms := clonePerms(anc.perms)
	if !o.sess.priv {
		perms[0].Domid = o.sess.domid
		have := o.s.ownedCount(o.sess.domid)
		if o.tx != nil {
			have += o.tx.owned[o.sess.domid]
		}
		if have+len(missing) > o.quota().Nodes {
			return nil, ENOSPC
		}
	}
	o.set(a, anc.withChild(baseName(missing[len(missing)-1])))
	var n *node
	for i := len(missing) - 1; i >= 0; i-- {
		n = &node{perms: clonePerms(perms)}
		if i > 0 {
			n.children = []string{baseName(missing[i-1])}
		} else {
			n.value = value
		}
		o.set(missing[i], n)
	}
	return n, 0
}

// remove deletes name and its subtree, firing watches for each node before
// it goes (the root of the removal as a subtree change, the rest exactly),
// and drops it from its parent.
func (o *op) remove(name string) {
	type item struct {
		name string
		n    *node
	}
	var all []item
	stack := []string{name}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := o.get(p)
		if n == nil {
			continue
		}
		all = append(all, item{p, n})
		for _, c := range n.children {
			stack = append(stack, childPath(p, c))
		}
	}
	// Children were pushed after their parents: report and delete in
	// reverse, deepest first, while parents are still in place.
	for i := len(all) - 1; i >= 0; i-- {
		m := matchExact
		if i == 0 {
			m = matchSubtree
		}
		o.fire(all[i].name, m, all[i].n, nil)
	}
	for i := len(all) - 1; i >= 0; i-- {
		o.del(all[i].name)
	}
	parent := parentPath(name)
	if p := o.get(parent); p != nil {
		o.set(parent, p.withoutChild(baseName(name)))
	}
}

// opRead answers XS_READ: path| -> value (no trailing NUL).
func (o *op) opRead(p []byte) ([]byte, Errno) {
	name, e := o.oneNode(p, false)
	if e != 0 {
		return nil, e
	}
	n, e := o.getNode(name, AccessRead)
	if e != 0 {
		return nil, e
	}
	return bytes.Clone(n.value), 0
}

// oneNode parses a payload of exactly one path and canonicalizes it.
func (o *op) oneNode(p []byte, allowSpecial bool) (string, Errno) {
	arg, ok := oneArg(p)
	if !ok {
		return "", EINVAL
	}
	name, _, e := o.canonical(arg, allowSpecial)
	return name, e
}

// opDirectory answers XS_DIRECTORY: path| -> child|child|...
func (o *op) opDirectory(p []byte) ([]byte, Errno) {
	name, e := o.oneNode(p, false)
	if e != 0 {
		return nil, e
	}
	n, e := o.getNode(name, AccessRead)
	if e != 0 {
		return nil, e
	}
	return joinStrings(n.children...), 0
}

// opDirectoryPart answers XS_DIRECTORY_PART: path|offset| -> gen|names...
// with an extra NUL once the list is complete, as xenstored's
// send_directory_part.
func (o *op) opDirectoryPart(p []byte) ([]byte, Errno) {
	if countNULs(p) != 2 {
		return nil, EINVAL
	}
	strs := splitStrings(p)
	name, _, e := o.canonical(string(strs[0]), false)
	if e != 0 {
		return nil, e
	}
	n, e := o.getNode(name, AccessRead)
	if e != 0 {
		return nil, e
	}
	off := atoi(string(strs[1]))
	list := joinStrings(n.children...)
	gen := append([]byte(itoa(n.gen)), 0)
	if off < 0 || off >= int64(len(list)) {
		// Offsets behind the list (and negative ones, which atoi into an
		// unsigned yields as huge) get an empty, complete list.
		return append(gen, 0), 0
	}
	rest := list[off:]
	maxLen := PayloadMax - len(gen) - 1
	n0 := 0
	for n0 < len(rest) {
		l := bytes.IndexByte(rest[n0:], 0)
		if n0+l >= maxLen {
			break
		}
		n0 += l + 1
	}
	out := append(gen, rest[:n0]...)
	if n0 == len(rest) {
		out = append(out, 0)
	}
	return out, 0
}

// opGetPerms answers XS_GET_PERMS: path| -> perm|perm|...
func (o *op) opGetPerms(p []byte) ([]byte, Errno) {
	name, e := o.oneNode(p, true)
	if e != 0 {
		return nil, e
	}
	n, e := o.getNode(name, AccessRead)
	if e != 0 {
		return nil, e
	}
	return formatPerms(n.perms), 0
}

// opSetPerms answers XS_SET_PERMS: path|perm|perm|... -> OK. It needs the
// owner right; an unprivileged owner may not hand the node to another
// domain (EPERM).
func (o *op) opSetPerms(p []byte) ([]byte, Errno) {
	num := countNULs(p) - 1
	if num < 1 {
		return nil, EINVAL
	}
	if !o.sess.priv && num > o.quota().Perms {
		return nil, ENOSPC
	}
	strs := splitStrings(p)
	perms := make([]Perm, 0, num)
	for _, s := range strs[1 : 1+num] {
		pm, err := ParsePerm(string(s))
		if err != nil {
			return nil, EINVAL
		}
		perms = append(perms, pm)
	}
	name, _, e := o.canonical(string(strs[0]), true)
	if e != 0 {
		return nil, e
	}
	n, e := o.getNode(name, AccessWrite|accessOwner)
	if e != 0 {
		return nil, e
	}
	if !o.sess.priv && perms[0].Domid != n.owner() {
		return nil, EPERM
	}
	c := n.clone()
	c.perms = perms
	o.set(name, c)
	o.fire(name, matchSubtree, c, n.perms)
	return okReply, 0
}

// okReply is the payload of a successful reply without data.
var okReply = []byte("OK\x00")

// opWrite answers XS_WRITE: path|value -> OK, creating missing parents.
func (o *op) opWrite(p []byte) ([]byte, Errno) {
	i := bytes.IndexByte(p, 0)
	if i < 0 {
		return nil, EINVAL
	}
	name, _, e := o.canonical(string(p[:i]), false)
	if e != 0 {
		return nil, e
	}
	value := bytes.Clone(p[i+1:])
	if !o.sess.priv && len(value) > o.quota().ValueSize {
		return nil, ENOSPC
	}
	n, e := o.getNode(name, AccessWrite)
	switch {
	case e == ENOENT:
		if n, e = o.create(name, value); e != 0 {
			return nil, e
		}
	case e != 0:
		return nil, e
	default:
		n = n.clone()
		n.value = value
		o.set(name, n)
	}
	o.fire(name, matchSubtree, n, nil)
	return okReply, 0
}

// opMkdir answers XS_MKDIR: path| -> OK; an existing node is left alone.
func (o *op) opMkdir(p []byte) ([]byte, Errno) {
	name, e := o.oneNode(p, false)
	if e != 0 {
		return nil, e
	}
	_, e = o.getNode(name, AccessWrite)
	if e == ENOENT {
		n, e := o.create(name, nil)
		if e != 0 {
			return nil, e
		}
		o.fire(name, matchSubtree, n, nil)
		return okReply, 0
	}
	if e != 0 {
		return nil, e
	}
	return okReply, 0
}

// opRm answers XS_RM: path| -> OK. Removing a missing node succeeds if its
// parent exists; the root cannot be removed.
func (o *op) opRm(p []byte) ([]byte, Errno) {
	name, e := o.oneNode(p, false)
	if e != 0 {
		return nil, e
	}
	_, e = o.getNode(name, AccessWrite)
	if e == ENOENT {
		if o.get(parentPath(name)) != nil {
			return okReply, 0
		}
		return nil, ENOENT
	}
	if e != 0 {
		return nil, e
	}
	if name == "/" {
		return nil, EINVAL
	}
	o.remove(name)
	return okReply, 0
}

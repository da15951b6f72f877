package xenstore

import "sort"

// opGetDomainPath answers XS_GET_DOMAIN_PATH: domid| -> path|.
func (o *op) opGetDomainPath(p []byte) ([]byte, Errno) {
	arg, ok := oneArg(p)
	if !ok {
		return nil, EINVAL
	}
	d, ok := parseDomID(arg)
	if !ok {
		return nil, EINVAL
	}
	return append([]byte(DomainPath(d)), 0), 0
}

// opIntroduce answers XS_INTRODUCE: domid|gfn|evtchn| -> OK. The ring is
// attached by the monitor (NewRingConn), so gfn and evtchn are only
// checked as xenstored does (evtchn must be positive).
func (o *op) opIntroduce(p []byte) ([]byte, Errno) {
	strs := splitStrings(p)
	if len(strs) < 3 {
		return nil, EINVAL
	}
	d, ok := parseDomID(string(strs[0]))
	if !ok || atoi(string(strs[2])) <= 0 {
		return nil, EINVAL
	}
	if e := o.s.introduce(d); e != 0 {
		return nil, e
	}
	return okReply, 0
}

// domainArg parses the single domid argument of RELEASE and RESUME: not
// domain 0 or a special id (EINVAL), and introduced (ENOENT).
func (o *op) domainArg(p []byte) (DomID, Errno) {
	arg, ok := oneArg(p)
	if !ok {
		return 0, EINVAL
	}
	d, ok := parseDomID(arg)
	if !ok || d == 0 || d >= domIDFirstReserved {
		return 0, EINVAL
	}
	if !o.s.introduced[d] {
		return 0, ENOENT
	}
	return d, 0
}

// opRelease answers XS_RELEASE: domid| -> OK.
func (o *op) opRelease(p []byte) ([]byte, Errno) {
	d, e := o.domainArg(p)
	if e != 0 {
		return nil, e
	}
	if e := o.s.release(d); e != 0 {
		return nil, e
	}
	return okReply, 0
}

// opResume answers XS_RESUME: domid| -> OK. The store does not track
// shutdown, so there is nothing to re-arm.
func (o *op) opResume(p []byte) ([]byte, Errno) {
	if _, e := o.domainArg(p); e != 0 {
		return nil, e
	}
	return okReply, 0
}

// opSetTarget answers XS_SET_TARGET: domid|target| -> OK: domid gains the
// access target has.
func (o *op) opSetTarget(p []byte) ([]byte, Errno) {
	strs := splitStrings(p)
	if len(strs) < 2 {
		return nil, EINVAL
	}
	d, ok1 := parseDomID(string(strs[0]))
	t, ok2 := parseDomID(string(strs[1]))
	if !ok1 || !ok2 {
		return nil, EINVAL
	}
	if !o.s.introduced[d] || !o.s.introduced[t] {
		return nil, ENOENT
	}
	o.s.targets[d] = t
	return okReply, 0
}

// opIsDomainIntroduced answers XS_IS_DOMAIN_INTRODUCED: domid| -> T| or F|.
func (o *op) opIsDomainIntroduced(p []byte) ([]byte, Errno) {
	arg, ok := oneArg(p)
	if !ok {
		return nil, EINVAL
	}
	d, ok := parseDomID(arg)
	if !ok {
		return nil, EINVAL
	}
	if d == DomIDSelf || d == 0 || o.s.introduced[d] {
		return []byte("T\x00"), 0
	}
	return []byte("F\x00"), 0
}

// opGetFeature answers XS_GET_FEATURE: [domid|] -> features|. Naming a
// domain is privileged.
func (o *op) opGetFeature(p []byte) ([]byte, Errno) {
	strs := splitStrings(p)
	if len(strs) > 0 {
		if !o.sess.priv {
			return nil, EACCES
		}
		if len(strs) > 1 {
			return nil, EINVAL
		}
		if _, ok := parseDomID(string(strs[0])); !ok {
			return nil, EINVAL
		}
	}
	return append([]byte(itoa(ServerFeatures)), 0), 0
}

// introduce marks d introduced, creating its home owned by d if missing,
// and fires @introduceDomain. Called with mu held.
func (s *Store) introduce(d DomID) Errno {
	if d == 0 || d >= domIDFirstReserved {
		return EINVAL
	}
	if s.introduced[d] {
		return 0
	}
	s.introduced[d] = true
	home := DomainPath(d)
	if s.nodes[home] == nil {
		o := &op{s: s, sess: s.system()}
		n, e := o.create(home, nil)
		if e != 0 {
			return e
		}
		n = n.clone()
		n.perms = []Perm{{Domid: d, Access: AccessNone}}
		s.set(home, n)
		s.fire(home, matchSubtree, n, nil)
	}
	s.fireSpecial(IntroduceDomainPath, d)
	return 0
}

// release forgets d (see Store.Release). Called with mu held.
func (s *Store) release(d DomID) Errno {
	if !s.introduced[d] {
		return ENOENT
	}
	delete(s.introduced, d)
	delete(s.targets, d)
	for k, t := range s.targets {
		if t == d {
			delete(s.targets, k)
		}
	}
	for sess := range s.domSess[d] {
		s.detach(sess)
	}
	// Remove what d owns, shallowest first: removing a subtree removes
	// the nodes below it that d owns too.
	owned := make([]string, 0, len(s.owned[d]))
	for name := range s.owned[d] {
		owned = append(owned, name)
	}
	sort.Slice(owned, func(i, j int) bool { return len(owned[i]) < len(owned[j]) })
	o := &op{s: s, sess: s.system()}
	for _, name := range owned {
		n := s.nodes[name]
		if n == nil || n.owner() != d {
			continue
		}
		if name[0] == '@' {
			// A special node handed to d goes back to domain 0.
			c := n.clone()
			c.perms = clonePerms(n.perms)
			c.perms[0].Domid = 0
			s.set(name, c)
			continue
		}
		o.remove(name)
	}
	for name := range s.referenced[d] {
		n := s.nodes[name]
		if n == nil {
			continue
		}
		c := n.clone()
		c.perms = []Perm{n.perms[0]}
		for _, p := range n.perms[1:] {
			if p.Domid != d {
				c.perms = append(c.perms, p)
			}
		}
		s.set(name, c)
	}
	s.fireSpecial(ReleaseDomainPath, d)
	return 0
}

// system returns a privileged session for the store's own operations. It
// has no transport and receives nothing.
func (s *Store) system() *session {
	return &session{s: s, priv: true, home: DomainPath(0), watches: map[watchKey]*watch{}, txs: map[uint32]*txn{}}
}

package xenstore

// handler executes one request type. It returns the reply payload or an
// errno; after a successful reply, then (if set) is called to queue
// messages that must follow the reply (the first event of a new watch).
type handler func(o *op, m Message) (reply []byte, then func(), e Errno)

// opFlags are per-type properties, as in xenstored's wire_funcs.
type opFlags uint8

const (
	flagNoTx opFlags = 1 << iota // the transaction id is ignored
	flagPriv                     // privileged connections only (EACCES otherwise)
)

type opEntry struct {
	h     handler
	flags opFlags
}

// simple adapts a handler without follow-up messages.
func simple(f func(o *op, p []byte) ([]byte, Errno)) handler {
	return func(o *op, m Message) ([]byte, func(), Errno) {
		r, e := f(o, m.Payload)
		return r, nil, e
	}
}

// ops lists the supported request types. Others, including CONTROL,
// SET_FEATURE, GET_QUOTA, SET_QUOTA (optional in xenstore.txt), the
// server-only WATCH_EVENT and ERROR and the removed RESTRICT, get ENOSYS
// as xenstored answers unknown types.
var ops = map[MsgType]opEntry{
	TypeDirectory:          {h: simple((*op).opDirectory)},
	TypeRead:               {h: simple((*op).opRead)},
	TypeGetPerms:           {h: simple((*op).opGetPerms)},
	TypeWatch:              {h: (*op).opWatch, flags: flagNoTx},
	TypeUnwatch:            {h: simple((*op).opUnwatch), flags: flagNoTx},
	TypeTransactionStart:   {h: (*op).opTransactionStart},
	TypeTransactionEnd:     {h: simple((*op).opTransactionEnd)},
	TypeIntroduce:          {h: simple((*op).opIntroduce), flags: flagPriv},
	TypeRelease:            {h: simple((*op).opRelease), flags: flagPriv},
	TypeGetDomainPath:      {h: simple((*op).opGetDomainPath)},
	TypeWrite:              {h: simple((*op).opWrite)},
	TypeMkdir:              {h: simple((*op).opMkdir)},
	TypeRm:                 {h: simple((*op).opRm)},
	TypeSetPerms:           {h: simple((*op).opSetPerms)},
	TypeIsDomainIntroduced: {h: simple((*op).opIsDomainIntroduced), flags: flagPriv},
	TypeResume:             {h: simple((*op).opResume), flags: flagPriv},
	TypeSetTarget:          {h: simple((*op).opSetTarget), flags: flagPriv},
	TypeResetWatches:       {h: simple((*op).opResetWatches)},
	TypeDirectoryPart:      {h: simple((*op).opDirectoryPart)},
	TypeGetFeature:         {h: simple((*op).opGetFeature)},
}

// dispatch executes request m from sess and queues the reply, as
// xenstored's process_message: unknown type -> ENOSYS; privileged type from
// an unprivileged connection -> EACCES; unknown transaction id -> ENOENT;
// then the handler. Called with mu held.
func (s *Store) dispatch(sess *session, m Message) {
	reply := func(t MsgType, p []byte) {
		if len(p) > PayloadMax {
			t, p = TypeError, errPayload(E2BIG)
		}
		s.deliver(sess, Message{Type: t, ReqID: m.ReqID, TxID: m.TxID, Payload: p}.encode(), false)
	}
	fail := func(e Errno) { reply(TypeError, errPayload(e)) }

	ent, ok := ops[m.Type]
	if !ok {
		fail(ENOSYS)
		return
	}
	if ent.flags&flagPriv != 0 && !sess.priv {
		fail(EACCES)
		return
	}
	o := &op{s: s, sess: sess}
	if ent.flags&flagNoTx == 0 && m.TxID != 0 {
		t := sess.txs[m.TxID]
		if t == nil {
			fail(ENOENT)
			return
		}
		if !sess.priv && len(t.seen) >= s.quotaFor(sess.domid).TxNodes {
			fail(ENOSPC)
			return
		}
		o.tx = t
	}
	r, then, e := ent.h(o, m)
	if e != 0 {
		fail(e)
		return
	}
	reply(m.Type, r)
	if then != nil {
		then()
	}
}

// errPayload is the payload of an XS_ERROR reply: the errno name and a NUL.
func errPayload(e Errno) []byte { return append([]byte(e.Name()), 0) }

// opWatch answers XS_WATCH: path|token|[depth|] -> OK, then fires the
// watch once with its own path, as xenstored does.
func (o *op) opWatch(m Message) ([]byte, func(), Errno) {
	strs := splitStrings(m.Payload)
	depth := -1
	switch len(strs) {
	case 2:
	case 3:
		d := atoi(string(strs[2]))
		if d < 0 {
			return nil, nil, EINVAL
		}
		depth = int(min(d, 1<<20))
	default:
		return nil, nil, EINVAL
	}
	name, rel, e := o.canonical(string(strs[0]), true)
	if e != 0 {
		return nil, nil, e
	}
	token := string(strs[1])
	if _, dup := o.sess.watches[watchKey{name, token}]; dup {
		return nil, nil, EEXIST
	}
	if !o.sess.priv && len(o.sess.watches) >= o.quota().Watches {
		return nil, nil, ENOSPC
	}
	w := &watch{sess: o.sess, name: name, token: token, depth: depth}
	if rel {
		w.prefix = len(o.sess.home) + 1
	}
	o.s.addWatch(w)
	return okReply, func() { o.s.queueEvent(o.sess, name[w.prefix:], token) }, 0
}

// opUnwatch answers XS_UNWATCH: path|token| -> OK, or ENOENT.
func (o *op) opUnwatch(p []byte) ([]byte, Errno) {
	strs := splitStrings(p)
	if len(strs) != 2 {
		return nil, EINVAL
	}
	name, _, e := o.canonical(string(strs[0]), true)
	if e != 0 {
		return nil, e
	}
	k := watchKey{name, string(strs[1])}
	w := o.sess.watches[k]
	if w == nil {
		return nil, ENOENT
	}
	delete(o.sess.watches, k)
	o.s.removeWatch(w)
	return okReply, 0
}

// opResetWatches answers XS_RESET_WATCHES: drops the caller's watches and
// transactions.
func (o *op) opResetWatches([]byte) ([]byte, Errno) {
	o.s.dropState(o.sess)
	return okReply, 0
}

// opTransactionStart answers XS_TRANSACTION_START: | -> id|. Nested
// transactions (a non-zero tx_id) get EBUSY.
func (o *op) opTransactionStart(Message) ([]byte, func(), Errno) {
	if o.tx != nil {
		return nil, nil, EBUSY
	}
	if !o.sess.priv && len(o.sess.txs) >= o.quota().Transactions {
		return nil, nil, ENOSPC
	}
	id := o.sess.nextTx
	for id == 0 || o.sess.txs[id] != nil {
		id++
	}
	o.sess.nextTx = id + 1
	o.sess.txs[id] = newTxn(id)
	return append([]byte(itoa(uint64(id))), 0), nil, 0
}

// opTransactionEnd answers XS_TRANSACTION_END: T| commits (EAGAIN on
// conflict), F| aborts. The transaction is gone either way.
func (o *op) opTransactionEnd(p []byte) ([]byte, Errno) {
	arg, ok := oneArg(p)
	if !ok || (arg != "T" && arg != "F") {
		return nil, EINVAL
	}
	if o.tx == nil {
		return nil, ENOENT
	}
	delete(o.sess.txs, o.tx.id)
	if arg == "T" {
		if e := o.s.commit(o.sess, o.tx); e != 0 {
			return nil, e
		}
	}
	return okReply, 0
}

package xenstore

import (
	"testing"
)

// step is one request and the reply expected for it.
type step struct {
	name    string
	typ     MsgType
	tx      uint32
	payload []byte
	want    MsgType // reply type (TypeError for errors)
	reply   string  // reply payload
}

func runSteps(t *testing.T, g *guest, steps []step) {
	t.Helper()
	for _, st := range steps {
		m := g.do(st.typ, st.tx, st.payload)
		wantReply(t, st.name, m, st.want, st.reply)
		if m.TxID != st.tx {
			t.Errorf("%s: reply tx_id %d, want %d", st.name, m.TxID, st.tx)
		}
	}
}

func TestNodeOpsOverRing(t *testing.T) {
	s, _ := newTestStore(t)
	g := newGuest(t, s, 5, 0)
	runSteps(t, g, []step{
		{"write relative", TypeWrite, 0, append(str("data/a"), "hello"...), TypeWrite, "OK\x00"},
		{"read relative", TypeRead, 0, str("data/a"), TypeRead, "hello"},
		{"read absolute", TypeRead, 0, str("/local/domain/5/data/a"), TypeRead, "hello"},
		{"write binary value", TypeWrite, 0, append(str("data/b"), "x\x00y"...), TypeWrite, "OK\x00"},
		{"read binary value", TypeRead, 0, str("data/b"), TypeRead, "x\x00y"},
		{"write empty value", TypeWrite, 0, str("data/e"), TypeWrite, "OK\x00"},
		{"read empty value", TypeRead, 0, str("data/e"), TypeRead, ""},
		{"write creates parents", TypeWrite, 0, append(str("deep/x/y/z"), "1"...), TypeWrite, "OK\x00"},
		{"parent has empty value", TypeRead, 0, str("deep/x"), TypeRead, ""},
		{"directory sorted", TypeDirectory, 0, str("data"), TypeDirectory, "a\x00b\x00e\x00"},
		{"directory of leaf", TypeDirectory, 0, str("data/a"), TypeDirectory, ""},
		{"mkdir", TypeMkdir, 0, str("dir/sub"), TypeMkdir, "OK\x00"},
		{"mkdir existing keeps value", TypeMkdir, 0, str("data/a"), TypeMkdir, "OK\x00"},
		{"value kept", TypeRead, 0, str("data/a"), TypeRead, "hello"},
		{"read missing", TypeRead, 0, str("data/none"), TypeError, "ENOENT\x00"},
		{"rm recursive", TypeRm, 0, str("deep"), TypeRm, "OK\x00"},
		{"rm removed child", TypeRead, 0, str("deep/x/y/z"), TypeError, "ENOENT\x00"},
		{"rm removed node", TypeRead, 0, str("deep"), TypeError, "ENOENT\x00"},
		{"rm missing with parent", TypeRm, 0, str("data/none"), TypeRm, "OK\x00"},
		{"rm missing parent", TypeRm, 0, str("nope/none"), TypeError, "ENOENT\x00"},
		{"home lists children", TypeDirectory, 0, str("/local/domain/5"), TypeDirectory, "data\x00dir\x00"},
		{"get perms", TypeGetPerms, 0, str("data/a"), TypeGetPerms, "n5\x00"},
		{"set perms", TypeSetPerms, 0, str("data/a", "n5", "r6"), TypeSetPerms, "OK\x00"},
		{"get perms after set", TypeGetPerms, 0, str("data/a"), TypeGetPerms, "n5\x00r6\x00"},
		{"give away", TypeSetPerms, 0, str("data/a", "b6"), TypeError, "EPERM\x00"},
		{"bad perm letter", TypeSetPerms, 0, str("data/a", "x5"), TypeError, "EINVAL\x00"},
		{"bad perm domid", TypeSetPerms, 0, str("data/a", "r70000"), TypeError, "EINVAL\x00"},
		{"set perms without perm", TypeSetPerms, 0, str("data/a"), TypeError, "EINVAL\x00"},
		{"get domain path", TypeGetDomainPath, 0, str("7"), TypeGetDomainPath, "/local/domain/7\x00"},
		{"get domain path bad", TypeGetDomainPath, 0, str("x"), TypeError, "EINVAL\x00"},
		{"get feature", TypeGetFeature, 0, nil, TypeGetFeature, "15\x00"},
		{"bad path chars", TypeRead, 0, str("data/a b"), TypeError, "EINVAL\x00"},
		{"trailing slash", TypeRead, 0, str("data/"), TypeError, "EINVAL\x00"},
		{"double slash", TypeRead, 0, str("/local//domain"), TypeError, "EINVAL\x00"},
		{"special path to read", TypeRead, 0, str("@releaseDomain"), TypeError, "EINVAL\x00"},
		{"two args to read", TypeRead, 0, str("data/a", "x"), TypeError, "EINVAL\x00"},
		{"unterminated path", TypeRead, 0, []byte("data/a"), TypeError, "EINVAL\x00"},
		{"write without NUL", TypeWrite, 0, []byte("data/a"), TypeError, "EINVAL\x00"},
		{"rm root", TypeRm, 0, str("/"), TypeError, "EACCES\x00"},
		{"get perms special", TypeGetPerms, 0, str("@releaseDomain"), TypeGetPerms, "n0\x00r32756\x00"},
	})
}

func TestDirectoryPart(t *testing.T) {
	s, c := newTestStore(t)
	for _, n := range []string{"aa", "b", "cccc"} {
		if err := c.Write("/local/domain/5/d/"+n, nil); err != nil {
			t.Fatal(err)
		}
	}
	g := newGuest(t, s, 5, 0)
	m := g.do(TypeDirectoryPart, 0, str("d", "0"))
	gen, _, _ := cutNUL(m.Payload)
	wantReply(t, "part 0", m, TypeDirectoryPart, gen+"\x00aa\x00b\x00cccc\x00\x00")
	wantReply(t, "part 3", g.do(TypeDirectoryPart, 0, str("d", "3")), TypeDirectoryPart, gen+"\x00b\x00cccc\x00\x00")
	wantReply(t, "past end", g.do(TypeDirectoryPart, 0, str("d", "99")), TypeDirectoryPart, gen+"\x00\x00")
	wantErr(t, "one arg", g.do(TypeDirectoryPart, 0, str("d")), "EINVAL")
}

func cutNUL(b []byte) (string, []byte, bool) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:], true
		}
	}
	return string(b), nil, false
}

func TestDirectoryTooLarge(t *testing.T) {
	s, c := newTestStore(t)
	// 300 children of 19-byte names: 6000 bytes of list, over one payload.
	tx, err := c.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 300 {
		n := "child-" + pad(i, 13)
		want = append(want, n)
		if err := tx.Mkdir("/big/" + n); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	g := newGuest(t, s, 0, 0)
	wantErr(t, "directory", g.do(TypeDirectory, 0, str("/big")), "E2BIG")
	got, err := c.Directory("/big")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Directory returned %d names, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("name %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func pad(i, width int) string {
	s := itoa(uint64(i))
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func TestPermissions(t *testing.T) {
	s, c := newTestStore(t)
	if err := c.Write("/local/domain/6/secret", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Write("/shared/ro", []byte("ro")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPerms("/shared", []Perm{{0, AccessNone}, {5, AccessRead}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPerms("/shared/ro", []Perm{{0, AccessNone}, {5, AccessRead}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Write("/shared/rw", []byte("rw")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPerms("/shared/rw", []Perm{{0, AccessNone}, {5, AccessBoth}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Write("/open", []byte("o")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPerms("/open", []Perm{{0, AccessRead}}); err != nil {
		t.Fatal(err)
	}
	g := newGuest(t, s, 5, 0)
	runSteps(t, g, []step{
		{"other domain's node", TypeRead, 0, str("/local/domain/6/secret"), TypeError, "EACCES\x00"},
		{"other domain's missing node", TypeRead, 0, str("/local/domain/6/none"), TypeError, "EACCES\x00"},
		{"unknown domain's home", TypeRead, 0, str("/local/domain/9/x"), TypeError, "EACCES\x00"},
		{"other domain's directory", TypeDirectory, 0, str("/local/domain/6"), TypeError, "EACCES\x00"},
		{"write other domain", TypeWrite, 0, append(str("/local/domain/6/x"), 'v'), TypeError, "EACCES\x00"},
		{"list /local/domain", TypeDirectory, 0, str("/local/domain"), TypeError, "EACCES\x00"},
		{"root", TypeDirectory, 0, str("/"), TypeError, "EACCES\x00"},
		{"read granted", TypeRead, 0, str("/shared/ro"), TypeRead, "ro"},
		{"write read-only", TypeWrite, 0, append(str("/shared/ro"), 'v'), TypeError, "EACCES\x00"},
		{"rm read-only", TypeRm, 0, str("/shared/ro"), TypeError, "EACCES\x00"},
		{"set perms not owner", TypeSetPerms, 0, str("/shared/ro", "b5"), TypeError, "EACCES\x00"},
		{"missing under readable", TypeRead, 0, str("/shared/none"), TypeError, "ENOENT\x00"},
		{"create under read-only", TypeWrite, 0, append(str("/shared/new"), 'v'), TypeError, "EACCES\x00"},
		{"write granted", TypeWrite, 0, append(str("/shared/rw"), "new"...), TypeWrite, "OK\x00"},
		{"read granted rw", TypeRead, 0, str("/shared/rw"), TypeRead, "new"},
		{"default read", TypeRead, 0, str("/open"), TypeRead, "o"},
		{"default read no write", TypeWrite, 0, append(str("/open"), 'v'), TypeError, "EACCES\x00"},
		{"perms of other", TypeGetPerms, 0, str("/local/domain/6/secret"), TypeError, "EACCES\x00"},
		{"introduce domU", TypeIntroduce, 0, str("9", "1", "1"), TypeError, "EACCES\x00"},
		{"release domU", TypeRelease, 0, str("6"), TypeError, "EACCES\x00"},
		{"is introduced domU", TypeIsDomainIntroduced, 0, str("6"), TypeError, "EACCES\x00"},
		{"set target domU", TypeSetTarget, 0, str("5", "6"), TypeError, "EACCES\x00"},
		{"resume domU", TypeResume, 0, str("6"), TypeError, "EACCES\x00"},
		{"feature of other domU", TypeGetFeature, 0, str("6"), TypeError, "EACCES\x00"},
	})
	// The node's owner did not change by domain 5 creating under its home.
	g.do(TypeWrite, 0, append(str("mine/x"), 'v'))
	perms, err := c.GetPerms("/local/domain/5/mine/x")
	if err != nil || len(perms) != 1 || perms[0] != (Perm{5, AccessNone}) {
		t.Errorf("perms of a domU-created node = %v, %v; want [n5]", perms, err)
	}
	// Nodes dom0 creates under a domain's home inherit its ownership.
	if err := c.Write("/local/domain/5/by0", nil); err != nil {
		t.Fatal(err)
	}
	if perms, _ := c.GetPerms("/local/domain/5/by0"); len(perms) != 1 || perms[0].Domid != 5 {
		t.Errorf("perms of dom0-created node under home = %v, want owner 5", perms)
	}
}

func TestSetTarget(t *testing.T) {
	s, c := newTestStore(t)
	if err := c.Write("/local/domain/6/x", []byte("six")); err != nil {
		t.Fatal(err)
	}
	g := newGuest(t, s, 5, 0)
	wantErr(t, "before", g.do(TypeRead, 0, str("/local/domain/6/x")), "EACCES")
	g0 := newGuest(t, s, 0, 0)
	wantReply(t, "set target", g0.do(TypeSetTarget, 0, str("5", "6")), TypeSetTarget, "OK\x00")
	wantErr(t, "set target unknown", g0.do(TypeSetTarget, 0, str("5", "9")), "ENOENT")
	wantReply(t, "after", g.do(TypeRead, 0, str("/local/domain/6/x")), TypeRead, "six")
}

func TestDomainOps(t *testing.T) {
	s, _ := newTestStore(t)
	g := newGuest(t, s, 0, 0)
	runSteps(t, g, []step{
		{"is introduced", TypeIsDomainIntroduced, 0, str("5"), TypeIsDomainIntroduced, "T\x00"},
		{"is introduced no", TypeIsDomainIntroduced, 0, str("9"), TypeIsDomainIntroduced, "F\x00"},
		{"is introduced self", TypeIsDomainIntroduced, 0, str("32752"), TypeIsDomainIntroduced, "T\x00"},
		{"introduce", TypeIntroduce, 0, str("9", "1234", "3"), TypeIntroduce, "OK\x00"},
		{"introduce again", TypeIntroduce, 0, str("9", "1234", "3"), TypeIntroduce, "OK\x00"},
		{"introduced now", TypeIsDomainIntroduced, 0, str("9"), TypeIsDomainIntroduced, "T\x00"},
		{"home created", TypeGetPerms, 0, str("/local/domain/9"), TypeGetPerms, "n9\x00"},
		{"introduce port 0", TypeIntroduce, 0, str("10", "1", "0"), TypeError, "EINVAL\x00"},
		{"introduce dom0", TypeIntroduce, 0, str("0", "1", "1"), TypeError, "EINVAL\x00"},
		{"introduce short", TypeIntroduce, 0, str("10", "1"), TypeError, "EINVAL\x00"},
		{"release", TypeRelease, 0, str("9"), TypeRelease, "OK\x00"},
		{"home removed", TypeRead, 0, str("/local/domain/9"), TypeError, "ENOENT\x00"},
		{"release again", TypeRelease, 0, str("9"), TypeError, "ENOENT\x00"},
		{"release dom0", TypeRelease, 0, str("0"), TypeError, "EINVAL\x00"},
		{"resume", TypeResume, 0, str("5"), TypeResume, "OK\x00"},
		{"resume unknown", TypeResume, 0, str("9"), TypeError, "ENOENT\x00"},
		{"get feature of", TypeGetFeature, 0, str("5"), TypeGetFeature, "15\x00"},
		{"reset watches", TypeResetWatches, 0, str(""), TypeResetWatches, "OK\x00"},
	})
}

func TestUnsupportedTypes(t *testing.T) {
	s, _ := newTestStore(t)
	for _, d := range []DomID{0, 5} {
		g := newGuest(t, s, d, 0)
		for _, typ := range []MsgType{TypeControl, TypeWatchEvent, TypeError, 20, TypeSetFeature,
			TypeGetQuota, TypeSetQuota, 27, 1000, TypeInvalid, 0xffffffff} {
			m := g.do(typ, 0, str("x"))
			wantErr(t, typ.String(), m, "ENOSYS")
			if m.ReqID != g.nextID {
				t.Errorf("%v: error reply req_id %d, want %d", typ, m.ReqID, g.nextID)
			}
		}
	}
}

func TestErrnoNames(t *testing.T) {
	want := []string{"EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC", "EIO",
		"ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM"}
	for i, n := range want {
		e := Errno(i + 1)
		if got := e.Name(); got != n {
			t.Errorf("Errno(%d).Name() = %q, want %q", e, got, n)
		}
		if got, ok := errnoByName(n); !ok || got != e {
			t.Errorf("errnoByName(%q) = %v, %v", n, got, ok)
		}
	}
	if got := Errno(200).Name(); got != "EINVAL" {
		t.Errorf("out-of-range errno name %q, want EINVAL", got)
	}
}

func TestQuotas(t *testing.T) {
	s, _ := newTestStore(t)
	s.SetQuota(5, Quota{Nodes: 4, Watches: 2, Transactions: 1, ValueSize: 8, PathLen: 40, Perms: 2})
	g := newGuest(t, s, 5, 0)
	runSteps(t, g, []step{
		// The home counts as one node owned by 5.
		{"nodes 2,3", TypeWrite, 0, append(str("a/b"), 'v'), TypeWrite, "OK\x00"},
		{"node 4", TypeWrite, 0, append(str("c"), 'v'), TypeWrite, "OK\x00"},
		{"node 5", TypeWrite, 0, append(str("d"), 'v'), TypeError, "ENOSPC\x00"},
		{"modify ok", TypeWrite, 0, append(str("c"), "12345678"...), TypeWrite, "OK\x00"},
		{"value too big", TypeWrite, 0, append(str("c"), "123456789"...), TypeError, "ENOSPC\x00"},
		{"path too long", TypeRead, 0, str("a/" + string(make40())), TypeError, "EINVAL\x00"},
		{"too many perms", TypeSetPerms, 0, str("c", "n5", "r6", "r7"), TypeError, "ENOSPC\x00"},
		{"watch 1", TypeWatch, 0, str("a", "t1"), TypeWatch, "OK\x00"},
		{"watch 2", TypeWatch, 0, str("a", "t2"), TypeWatch, "OK\x00"},
		{"watch 3", TypeWatch, 0, str("a", "t3"), TypeError, "ENOSPC\x00"},
		{"tx 1", TypeTransactionStart, 0, str(""), TypeTransactionStart, "1\x00"},
		{"tx 2", TypeTransactionStart, 0, str(""), TypeError, "ENOSPC\x00"},
		{"rm frees", TypeRm, 0, str("a"), TypeRm, "OK\x00"},
		{"node again", TypeWrite, 0, append(str("d"), 'v'), TypeWrite, "OK\x00"},
	})
	// Domain 0 has no quota.
	g0 := newGuest(t, s, 0, 0)
	wantReply(t, "dom0 big value", g0.do(TypeWrite, 0, append(str("/big"), make([]byte, 4000)...)), TypeWrite, "OK\x00")
}

func make40() []byte {
	b := make([]byte, 40)
	for i := range b {
		b[i] = 'x'
	}
	return b
}

package xenstore

import (
	"errors"
	"testing"
)

func startTx(t *testing.T, g *guest) uint32 {
	t.Helper()
	m := g.do(TypeTransactionStart, 0, str(""))
	if m.Type != TypeTransactionStart {
		t.Fatalf("transaction start: %v %q", m.Type, m.Payload)
	}
	s, ok := oneArg(m.Payload)
	if !ok {
		t.Fatalf("transaction start reply %q", m.Payload)
	}
	return uint32(atoi(s))
}

func TestTransactionCommit(t *testing.T) {
	s, c := newTestStore(t)
	g := newGuest(t, s, 5, 0)
	g.do(TypeWatch, 0, str("dev", "w"))
	g.drainEvents()
	tx := startTx(t, g)
	runSteps(t, g, []step{
		{"write in tx", TypeWrite, tx, append(str("dev/a"), "1"...), TypeWrite, "OK\x00"},
		{"read own write", TypeRead, tx, str("dev/a"), TypeRead, "1"},
		{"mkdir in tx", TypeMkdir, tx, str("dev/b/c"), TypeMkdir, "OK\x00"},
		{"directory in tx", TypeDirectory, tx, str("dev"), TypeDirectory, "a\x00b\x00"},
		{"nested start", TypeTransactionStart, tx, str(""), TypeError, "EBUSY\x00"},
		{"not visible outside", TypeRead, 0, str("dev/a"), TypeError, "ENOENT\x00"},
	})
	wantEvents(t, "no events before commit", g.drainEvents(), nil)
	if _, err := c.Read("/local/domain/5/dev/a"); !errors.Is(err, ENOENT) {
		t.Errorf("dom0 sees uncommitted write: %v", err)
	}
	wantReply(t, "commit", g.do(TypeTransactionEnd, tx, str("T")), TypeTransactionEnd, "OK\x00")
	wantEvents(t, "events on commit", g.drainEvents(), evs("dev/a", "w", "dev/b/c", "w"))
	if v, err := c.Read("/local/domain/5/dev/a"); err != nil || string(v) != "1" {
		t.Errorf("after commit read %q, %v", v, err)
	}
	runSteps(t, g, []step{
		{"tx gone", TypeRead, tx, str("dev/a"), TypeError, "ENOENT\x00"},
		{"end without tx", TypeTransactionEnd, 0, str("T"), TypeError, "ENOENT\x00"},
		{"unknown tx", TypeRead, 77, str("dev/a"), TypeError, "ENOENT\x00"},
	})
	tx = startTx(t, g)
	wantErr(t, "bad end arg", g.do(TypeTransactionEnd, tx, str("X")), "EINVAL")
	wantReply(t, "abort", g.do(TypeTransactionEnd, tx, str("F")), TypeTransactionEnd, "OK\x00")
}

func TestTransactionConflict(t *testing.T) {
	s, c := newTestStore(t)
	if err := c.Write("/local/domain/5/a", []byte("0")); err != nil {
		t.Fatal(err)
	}
	g := newGuest(t, s, 5, 0)

	// Read a, someone else writes a, commit -> EAGAIN, nothing applied.
	tx := startTx(t, g)
	g.do(TypeRead, tx, str("a"))
	g.do(TypeWrite, tx, append(str("b"), "tx"...))
	if err := c.Write("/local/domain/5/a", []byte("other")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "conflicting commit", g.do(TypeTransactionEnd, tx, str("T")), "EAGAIN")
	wantErr(t, "not applied", g.do(TypeRead, 0, str("b")), "ENOENT")

	// Written node changed elsewhere -> EAGAIN.
	tx = startTx(t, g)
	g.do(TypeWrite, tx, append(str("a"), "tx"...))
	if err := c.Write("/local/domain/5/a", []byte("again")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "write conflict", g.do(TypeTransactionEnd, tx, str("T")), "EAGAIN")

	// Unrelated changes do not conflict.
	tx = startTx(t, g)
	g.do(TypeRead, tx, str("a"))
	g.do(TypeWrite, tx, append(str("a"), "mine"...))
	if err := c.Write("/local/domain/6/x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	wantReply(t, "clean commit", g.do(TypeTransactionEnd, tx, str("T")), TypeTransactionEnd, "OK\x00")
	wantReply(t, "applied", g.do(TypeRead, 0, str("a")), TypeRead, "mine")

	// A node created concurrently in a directory the transaction removed.
	if err := c.Write("/local/domain/5/d/x", nil); err != nil {
		t.Fatal(err)
	}
	tx = startTx(t, g)
	g.do(TypeRm, tx, str("d"))
	if err := c.Write("/local/domain/5/d/y", nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "rm conflict", g.do(TypeTransactionEnd, tx, str("T")), "EAGAIN")
	wantReply(t, "d kept", g.do(TypeDirectory, 0, str("d")), TypeDirectory, "x\x00y\x00")

	// Rm within a transaction applies on commit.
	tx = startTx(t, g)
	g.do(TypeRm, tx, str("d"))
	wantErr(t, "removed in tx", g.do(TypeRead, tx, str("d/x")), "ENOENT")
	wantReply(t, "still outside", g.do(TypeRead, 0, str("d/x")), TypeRead, "")
	wantReply(t, "commit rm", g.do(TypeTransactionEnd, tx, str("T")), TypeTransactionEnd, "OK\x00")
	wantErr(t, "rm applied", g.do(TypeRead, 0, str("d")), "ENOENT")
}

func TestTransactionQuotaOnCommit(t *testing.T) {
	s, c := newTestStore(t)
	s.SetQuota(5, Quota{Nodes: 3})
	g := newGuest(t, s, 5, 0)
	tx := startTx(t, g)
	wantReply(t, "create in tx", g.do(TypeWrite, tx, append(str("a"), 'v')), TypeWrite, "OK\x00")
	// Domain 0 gives 5 two more nodes meanwhile, outside what the
	// transaction touched.
	for _, p := range []string{"/q1", "/q2"} {
		if err := c.Write(p, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.SetPerms(p, []Perm{{5, AccessNone}}); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "quota at commit", g.do(TypeTransactionEnd, tx, str("T")), "ENOSPC")
}

func TestClientTransaction(t *testing.T) {
	_, c := newTestStore(t)
	other := c
	tries := 0
	err := c.Transaction(func(tx *Tx) error {
		tries++
		v, err := tx.Read("/local/domain/5")
		if err != nil {
			return err
		}
		if tries == 1 {
			// A concurrent change makes the first attempt conflict.
			if err := other.Write("/local/domain/5", []byte("changed")); err != nil {
				return err
			}
		}
		return tx.Write("/local/domain/5/copy", append(v, '!'))
	})
	if err != nil || tries != 2 {
		t.Fatalf("Transaction: %v after %d tries, want success after 2", err, tries)
	}
	if v, err := c.Read("/local/domain/5/copy"); err != nil || string(v) != "changed!" {
		t.Errorf("read %q, %v", v, err)
	}
	sentinel := errors.New("stop")
	if err := c.Transaction(func(tx *Tx) error { return sentinel }); err != sentinel {
		t.Errorf("Transaction returned %v, want fn's error", err)
	}
}

package xenstore

import (
	"slices"
	"testing"
)

func evs(pairs ...string) []WatchEvent {
	var out []WatchEvent
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, WatchEvent{Path: pairs[i], Token: pairs[i+1]})
	}
	return out
}

func wantEvents(t *testing.T, what string, got, want []WatchEvent) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: events %v, want %v", what, got, want)
	}
}

func TestWatchOverRing(t *testing.T) {
	s, c := newTestStore(t)
	g := newGuest(t, s, 5, 0)

	m := g.do(TypeWatch, 0, str("device", "tok"))
	wantReply(t, "watch", m, TypeWatch, "OK\x00")
	wantEvents(t, "first event", g.drainEvents(), evs("device", "tok"))

	wantErr(t, "duplicate", g.do(TypeWatch, 0, str("device", "tok")), "EEXIST")
	wantReply(t, "same path other token", g.do(TypeWatch, 0, str("/local/domain/5/device", "abs")), TypeWatch, "OK\x00")
	wantEvents(t, "first event absolute", g.drainEvents(), evs("/local/domain/5/device", "abs"))

	// Changes by domain 0 at and below the watched path fire; the event
	// path is relative for the relative watch.
	if err := c.Write("/local/domain/5/device/vif/0/state", []byte("1")); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "write below", g.drainEvents(),
		evs("device/vif/0/state", "tok", "/local/domain/5/device/vif/0/state", "abs"))

	// Changes elsewhere do not fire.
	if err := c.Write("/local/domain/5/other", []byte("1")); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "write elsewhere", g.drainEvents(), nil)

	// The guest's own writes fire its watches, before the reply.
	m = g.do(TypeWrite, 0, append(str("device/x"), 'v'))
	wantReply(t, "own write", m, TypeWrite, "OK\x00")
	wantEvents(t, "own write events", g.drainEvents(), evs("device/x", "tok", "/local/domain/5/device/x", "abs"))

	wantReply(t, "unwatch", g.do(TypeUnwatch, 0, str("/local/domain/5/device", "abs")), TypeUnwatch, "OK\x00")
	wantErr(t, "unwatch again", g.do(TypeUnwatch, 0, str("/local/domain/5/device", "abs")), "ENOENT")
	wantErr(t, "unwatch one arg", g.do(TypeUnwatch, 0, str("device")), "EINVAL")

	// Recursive removal fires on the removed root as a subtree change
	// (so watches on ancestors see only the root) and on each removed
	// node exactly (so watches on removed descendants see themselves).
	g.do(TypeWatch, 0, str("device/vif/0/state", "s"))
	g.drainEvents()
	if err := c.Rm("/local/domain/5/device/vif"); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "rm", g.drainEvents(), evs("device/vif/0/state", "s", "device/vif", "tok"))

	// Permission changes fire.
	if err := c.SetPerms("/local/domain/5/device/x", []Perm{{5, AccessNone}, {6, AccessRead}}); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "set perms", g.drainEvents(), evs("device/x", "tok"))

	// A watch on a not yet existing path fires when it appears, including
	// through removal of an ancestor.
	g.do(TypeWatch, 0, str("later/a/b", "L"))
	g.drainEvents()
	if err := c.Write("/local/domain/5/later/a/b/c", nil); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "created below", g.drainEvents(), evs("later/a/b/c", "L"))
	if err := c.Rm("/local/domain/5/later"); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "ancestor removed", g.drainEvents(), evs("later/a/b", "L"))

	wantReply(t, "reset", g.do(TypeResetWatches, 0, str("")), TypeResetWatches, "OK\x00")
	if err := c.Write("/local/domain/5/device/y", nil); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "after reset", g.drainEvents(), nil)
}

func TestWatchPermissions(t *testing.T) {
	s, c := newTestStore(t)
	g := newGuest(t, s, 5, 0)
	// Domain 5 may watch another domain's path, but events for nodes it
	// cannot read (nor their parents) are not sent.
	wantReply(t, "watch other", g.do(TypeWatch, 0, str("/local/domain/6", "o")), TypeWatch, "OK\x00")
	wantEvents(t, "first", g.drainEvents(), evs("/local/domain/6", "o"))
	if err := c.Write("/local/domain/6/a/b", nil); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "unreadable", g.drainEvents(), nil)
	if err := c.SetPerms("/local/domain/6/a", []Perm{{6, AccessNone}, {5, AccessRead}}); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "made readable", g.drainEvents(), evs("/local/domain/6/a", "o"))
	if err := c.Write("/local/domain/6/a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// a/b inherited n6 (no entry for 5) but its parent is readable.
	wantEvents(t, "parent readable", g.drainEvents(), evs("/local/domain/6/a/b", "o"))
}

func TestSpecialWatches(t *testing.T) {
	s, c := newTestStore(t)
	g0 := newGuest(t, s, 0, 0)
	g5 := newGuest(t, s, 5, 0)
	for _, w := range [][]string{{"@introduceDomain", "i"}, {"@releaseDomain", "r"}, {"@releaseDomain/9", "r9"}} {
		wantReply(t, "dom0 watch "+w[0], g0.do(TypeWatch, 0, str(w...)), TypeWatch, "OK\x00")
	}
	wantReply(t, "depth watch", g0.do(TypeWatch, 0, str("@releaseDomain", "rd", "1")), TypeWatch, "OK\x00")
	wantReply(t, "domU watch release", g5.do(TypeWatch, 0, str("@releaseDomain", "r")), TypeWatch, "OK\x00")
	wantReply(t, "domU watch introduce", g5.do(TypeWatch, 0, str("@introduceDomain", "i")), TypeWatch, "OK\x00")
	g0.drainEvents()
	g5.drainEvents()

	if err := s.Introduce(9); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "introduce dom0", g0.drainEvents(), evs("@introduceDomain", "i"))
	wantEvents(t, "introduce domU (not permitted)", g5.drainEvents(), nil)

	if err := c.Release(9); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "release dom0", g0.drainEvents(), evs("@releaseDomain", "r", "@releaseDomain/9", "r9", "@releaseDomain/9", "rd"))
	wantEvents(t, "release domU", g5.drainEvents(), evs("@releaseDomain", "r"))

	if err := s.Release(6); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "release 6", g0.drainEvents(), evs("@releaseDomain", "r", "@releaseDomain/6", "rd"))
}

func TestWatchDepth(t *testing.T) {
	s, c := newTestStore(t)
	g := newGuest(t, s, 0, 0)
	g.do(TypeWatch, 0, str("/w", "d0", "0"))
	g.do(TypeWatch, 0, str("/w", "d1", "1"))
	wantErr(t, "negative depth", g.do(TypeWatch, 0, str("/w", "dn", "-1")), "EINVAL")
	g.drainEvents()
	for _, p := range []string{"/w", "/w/a", "/w/a/b"} {
		if err := c.Write(p, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	wantEvents(t, "depth", g.drainEvents(), evs("/w", "d0", "/w", "d1", "/w/a", "d1"))
}

func TestDuplicateEventsCoalesce(t *testing.T) {
	s, c := newTestStore(t)
	g := newGuest(t, s, 5, 0)
	g.do(TypeWatch, 0, str("x", "t"))
	g.drainEvents()
	// The guest does not consume meanwhile: 60 distinct events overfill
	// the response ring, so later ones wait in the queue, where five
	// identical events collapse into one.
	for i := range 60 {
		if err := c.Write("/local/domain/5/x/"+pad(i, 2), nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if err := c.Write("/local/domain/5/x", []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	got := g.drainEvents()
	if err := g.conn.Err(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range got {
		if ev.Path == "x" {
			n++
		}
	}
	if len(got) != 61 || n != 1 {
		t.Errorf("got %d events, %d of them for x; want 61 and 1", len(got), n)
	}
}

package netback

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
)

// served is a Vif under Serve with a fake frontend.
type served struct {
	f      *frontend
	vif    *Vif
	net    *fakeNet
	txCh   *fakeChannel
	rxCh   *fakeChannel
	cancel context.CancelFunc
	done   chan error
}

func serve(t *testing.T, sg, split bool, cfg Config) *served {
	t.Helper()
	return serveWith(t, sg, split, cfg, nil)
}

// serveWith is serve with a hook that may attach the vif to a network
// before it is served (nil: a fakeNet).
func serveWith(t *testing.T, sg, split bool, cfg Config, attach func(*Vif)) *served {
	t.Helper()
	s := &served{f: newFrontend(t, 0xffffff00), net: &fakeNet{}, txCh: newFakeChannel(), done: make(chan error, 1)}
	s.rxCh = s.txCh
	if split {
		s.rxCh = newFakeChannel()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.vif = NewVif(cfg)
	s.vif.SetNetwork(s.net)
	if attach != nil {
		attach(s.vif)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	r := Rings{Tx: s.f.txB, Rx: s.f.rxB, TxCh: s.txCh, RxCh: s.rxCh, Grants: s.f.g, SG: sg}
	go func() { s.done <- s.vif.Serve(ctx, r) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	waitFor(t, "serving", func() bool {
		s.vif.mu.Lock()
		defer s.vif.mu.Unlock()
		return s.vif.connected
	})
	return s
}

func TestServeRxCopy(t *testing.T) {
	for _, split := range []bool{false, true} {
		s := serve(t, true, split, Config{})
		f := s.f
		f.postRx(30, 31, 32, 33)
		f.rx.PushRequests()
		s.rxCh.kick()
		small := ethFrame(1, 2, 100, 7)
		big := ethFrame(1, 2, 5000, 8)
		if !s.vif.Deliver(small) || !s.vif.Deliver(big) {
			t.Fatal("Deliver refused")
		}
		var rsps []RxResponse
		waitFor(t, "rx responses", func() bool { rsps = append(rsps, f.rxResponses()...); return len(rsps) >= 3 })
		want := []RxResponse{
			{ID: 30, Status: 100},
			{ID: 31, Flags: RxMoreData, Status: PageSize},
			{ID: 32, Status: 5000 - PageSize},
		}
		for i := range want {
			if rsps[i] != want[i] {
				t.Errorf("split %v: response %d = %+v, want %+v", split, i, rsps[i], want[i])
			}
		}
		if !bytes.Equal(f.g.read(30, 100), small) ||
			!bytes.Equal(append(f.g.read(31, PageSize), f.g.read(32, 5000-PageSize)...), big) {
			t.Errorf("split %v: frame data not in the buffers", split)
		}
		if st := s.vif.Stats(); st.RxPackets != 2 || st.RxBytes != 5100 || st.RxNotifies == 0 {
			t.Errorf("split %v: stats %+v", split, st)
		}
	}
}

func TestServeRxNoSG(t *testing.T) {
	s := serve(t, false, false, Config{})
	s.f.postRx(30, 31)
	s.f.rx.PushRequests()
	s.txCh.kick()
	s.vif.Deliver(ethFrame(1, 2, 5000, 1)) // needs two slots: dropped
	s.vif.Deliver(ethFrame(1, 2, 1500, 2))
	var rsps []RxResponse
	waitFor(t, "rx response", func() bool { rsps = append(rsps, s.f.rxResponses()...); return len(rsps) >= 1 })
	if rsps[0] != (RxResponse{ID: 30, Status: 1500}) {
		t.Errorf("response %+v", rsps[0])
	}
	if st := s.vif.Stats(); st.RxDropped != 1 {
		t.Errorf("RxDropped %d", st.RxDropped)
	}
}

// TestServeRxWaitsForBuffers queues frames before any buffer is posted; they
// arrive when the guest posts buffers and kicks (feature-rx-notify).
func TestServeRxWaitsForBuffers(t *testing.T) {
	s := serve(t, true, true, Config{})
	for i := range 3 {
		s.vif.Deliver(ethFrame(1, 2, 64, byte(i)))
	}
	// The backend asked to be kicked on the next rx request.
	waitFor(t, "rx req_event", func() bool {
		s.f.postRx(40)
		notify := s.f.rx.PushRequests()
		if !notify {
			return false
		}
		s.rxCh.kick()
		return true
	})
	s.f.postRx(41, 42)
	if s.f.rx.PushRequests() {
		s.rxCh.kick()
	}
	s.rxCh.kick()
	var rsps []RxResponse
	waitFor(t, "three frames", func() bool { rsps = append(rsps, s.f.rxResponses()...); return len(rsps) >= 3 })
	if st := s.vif.Stats(); st.RxPackets != 3 {
		t.Errorf("RxPackets %d", st.RxPackets)
	}
}

func TestServeRxBadGrant(t *testing.T) {
	s := serve(t, true, false, Config{})
	s.f.g.readOnly[30] = true
	s.f.postRx(30, 31)
	s.f.rx.PushRequests()
	s.txCh.kick()
	s.vif.Deliver(ethFrame(1, 2, 64, 1))
	s.vif.Deliver(ethFrame(1, 2, 64, 2))
	var rsps []RxResponse
	waitFor(t, "rx responses", func() bool { rsps = append(rsps, s.f.rxResponses()...); return len(rsps) >= 2 })
	if rsps[0].Status != RspError || rsps[1].Status != 64 {
		t.Errorf("responses %+v", rsps)
	}
	if st := s.vif.Stats(); st.RxErrors != 1 || st.RxPackets != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestServeBatching sends a burst of packets with one kick and checks that
// the guest is notified far fewer times than once per packet, in both
// directions.
func TestServeBatching(t *testing.T) {
	s := serve(t, true, true, Config{})
	f := s.f
	const n = 200
	fr := ethFrame(2, 1, 60, 1)
	f.g.fill(10, 0, fr)
	for i := range n {
		f.putTx(TxRequest{Gref: 10, ID: uint16(i), Size: 60})
	}
	if !f.tx.PushRequests() {
		t.Fatal("first push does not ask for a notification")
	}
	s.txCh.kick()
	var got int
	waitFor(t, "tx responses", func() bool { got += len(f.txResponses()); return got == n })
	if st := s.vif.Stats(); st.TxPackets != n || st.TxNotifies > 2 {
		t.Errorf("tx: %d packets, %d notifications", st.TxPackets, st.TxNotifies)
	}
	// Idle again: the backend asked for a kick on the next request.
	waitFor(t, "tx req_event", func() bool {
		f.putTx(TxRequest{Gref: 10, ID: 999, Size: 60})
		notify := f.tx.PushRequests()
		s.txCh.kick()
		waitFor(t, "response", func() bool { return len(f.txResponses()) == 1 })
		return notify
	})

	refs := make([]uint32, 0, 64)
	for r := uint32(20); r < 84; r++ {
		refs = append(refs, r)
	}
	f.postRx(refs...)
	f.rx.PushRequests()
	s.rxCh.kick()
	for i := range 64 {
		for !s.vif.Deliver(ethFrame(1, 2, 60, byte(i))) {
			// queue full: let the backend drain it
			waitFor(t, "rx drain", func() bool { return true })
		}
	}
	got = 0
	waitFor(t, "rx responses", func() bool { got += len(f.rxResponses()); return got == 64 })
	st := s.vif.Stats()
	if st.RxNotifies > 64/4 {
		t.Errorf("rx: %d frames, %d notifications", st.RxPackets, st.RxNotifies)
	}
	t.Logf("tx %d packets/%d notifies; rx %d frames/%d notifies; %d wakeups",
		st.TxPackets, st.TxNotifies, st.RxPackets, st.RxNotifies, st.Wakeups)
}

func TestServeAbuseDisconnects(t *testing.T) {
	s := serve(t, true, false, Config{AbuseLimit: 3})
	for i := range 3 {
		s.f.putTx(TxRequest{Gref: 10, Offset: 4000, ID: uint16(i), Size: 200})
	}
	s.f.tx.PushRequests()
	s.txCh.kick()
	err := <-s.done
	s.done <- nil // for the cleanup
	if !errors.Is(err, ErrAbuse) {
		t.Fatalf("Serve returned %v, want ErrAbuse", err)
	}
	if !s.vif.Abused() || s.vif.Stats().Disconnects != 1 || s.vif.Stats().TxErrors != 3 {
		t.Errorf("stats %+v", s.vif.Stats())
	}
	// The guest still got its error responses.
	if rsps := s.f.txResponses(); len(rsps) != 3 || rsps[0].Status != RspError {
		t.Errorf("responses %+v", rsps)
	}
	r := Rings{Tx: s.f.txB, Rx: s.f.rxB, TxCh: s.txCh, RxCh: s.txCh, Grants: s.f.g}
	if err := s.vif.Serve(context.Background(), r); !errors.Is(err, ErrAbuse) {
		t.Errorf("reconnect: %v", err)
	}
	if s.vif.Deliver(ethFrame(1, 2, 60, 0)) {
		t.Error("Deliver accepted a frame for a disconnected vif")
	}
}

func TestServeBrokenRing(t *testing.T) {
	s := serve(t, true, false, Config{})
	// req_prod far ahead of anything possible.
	if err := mem.StoreUint32(s.f.g.mem[txRingPage*PageSize:], 0, 0x40000000); err != nil {
		t.Fatal(err)
	}
	s.txCh.kick()
	err := <-s.done
	s.done <- nil
	if !errors.Is(err, ErrRing) {
		t.Fatalf("Serve returned %v, want ErrRing", err)
	}
}

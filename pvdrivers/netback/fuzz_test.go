package netback

import (
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// fuzzGrants builds fake grants over 16 pages whose state comes from the
// fuzzer: bit r of revoked removes ref r, bit r of ro makes it read-only,
// and the buffer pages hold data repeated.
func fuzzGrants(t *testing.T, revoked, ro uint16, data []byte) *fakeGrants {
	g := newFakeGrants(t, 16)
	for r := uint32(0); r < 16; r++ {
		g.revoked[r] = revoked&(1<<r) != 0
		g.readOnly[r] = ro&(1<<r) != 0
	}
	for i := 2 * PageSize; i < len(g.mem) && len(data) > 0; i++ {
		g.mem[i] = data[i%len(data)]
	}
	return g
}

// FuzzTxConsume runs the tx consumer over arbitrary ring slots, an
// arbitrary req_prod and arbitrary grant state. The fake grants fail the test
// on any access that leaves a page; no input may panic; every packet sent
// must be a whole frame, and no more responses than slots consumed.
func FuzzTxConsume(f *testing.F) {
	slots := func(reqs ...TxRequest) []byte {
		b := make([]byte, len(reqs)*TxEntrySize)
		for i, r := range reqs {
			r.Encode(b[i*TxEntrySize:])
		}
		return b
	}
	f.Add(slots(TxRequest{Gref: 3, Size: 60}), uint32(1), uint16(0), uint16(0), []byte{1, 2})
	f.Add(slots(TxRequest{Gref: 3, Flags: TxMoreData, Size: 5000, Offset: 100},
		TxRequest{Gref: 4, Size: 4000}), uint32(2), uint16(0), uint16(0), []byte{9})
	f.Add(slots(TxRequest{Gref: 3, Flags: TxExtraInfo | TxMoreData | TxCsumBlank, Size: 200},
		TxRequest{Gref: 0x0101, Size: 1}, TxRequest{Gref: 4, Size: 100}), uint32(3), uint16(1<<4), uint16(0), udp4Frame([]byte("x")))
	f.Add(slots(TxRequest{Gref: 15, Offset: 4095, Size: 0xffff, Flags: TxMoreData}), uint32(300), uint16(0xffff), uint16(0), []byte{})
	f.Add(slots(TxRequest{Gref: 1 << 31, Flags: TxExtraInfo}), uint32(0xffffffff), uint16(0), uint16(0xff), []byte{0})
	f.Fuzz(func(t *testing.T, entries []byte, prod uint32, revoked, ro uint16, data []byte) {
		g := fuzzGrants(t, revoked, ro, data)
		win := g.mem[:PageSize]
		fe, err := ring.NewFrontend(win, TxEntrySize)
		if err != nil {
			t.Fatal(err)
		}
		size := int(fe.Size())
		for i := 0; i < size && len(entries) > 0; i++ {
			copy(win[ring.HeaderSize+i*TxEntrySize:ring.HeaderSize+(i+1)*TxEntrySize], entries[(i*TxEntrySize)%len(entries):])
		}
		back, err := ring.NewBackend(win, TxEntrySize)
		if err != nil {
			t.Fatal(err)
		}
		var c counters
		sent := 0
		tp := newTxPath(back, g, func(fr []byte) {
			if len(fr) < MinFrame || len(fr) > MaxFrame {
				t.Fatalf("sent a %d-byte frame", len(fr))
			}
			sent++
		}, &c, 8)
		for round := 0; round < 2; round++ {
			_ = mem.StoreUint32(win, 0, prod+uint32(round))
			if _, _, err := tp.consume(); err != nil {
				break
			}
		}
		back.PushResponses()
		if back.ResponseProd() > back.RequestCons() {
			t.Fatalf("%d responses for %d requests", back.ResponseProd(), back.RequestCons())
		}
		if uint64(sent) != c.txPackets.Load() {
			t.Fatalf("sent %d, counted %d", sent, c.txPackets.Load())
		}
	})
}

// FuzzRxDeliver delivers an arbitrary frame into arbitrary rx ring slots
// with arbitrary grant state: no panic, no access outside a page, responses
// only for consumed requests.
func FuzzRxDeliver(f *testing.F) {
	req := func(id uint16, ref uint32) []byte {
		b := make([]byte, RxEntrySize)
		RxRequest{ID: id, Gref: ref}.Encode(b)
		return b
	}
	f.Add(append(req(1, 3), req(2, 4)...), uint32(2), uint16(0), uint16(0), 5000, true)
	f.Add(req(1, 99), uint32(1), uint16(0), uint16(1<<3), 60, false)
	f.Add([]byte{}, uint32(0x80000000), uint16(0xffff), uint16(0), 70000, true)
	f.Fuzz(func(t *testing.T, entries []byte, prod uint32, revoked, ro uint16, frameLen int, sg bool) {
		g := fuzzGrants(t, revoked, ro, nil)
		win := g.mem[PageSize : 2*PageSize]
		fe, err := ring.NewFrontend(win, RxEntrySize)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < int(fe.Size()) && len(entries) > 0; i++ {
			copy(win[ring.HeaderSize+i*RxEntrySize:ring.HeaderSize+(i+1)*RxEntrySize], entries[(i*RxEntrySize)%len(entries):])
		}
		back, err := ring.NewBackend(win, RxEntrySize)
		if err != nil {
			t.Fatal(err)
		}
		_ = mem.StoreUint32(win, 0, prod)
		var c counters
		rx := newRxPath(back, g, &c, sg)
		if frameLen < 0 || frameLen > 1<<17 {
			frameLen = 1 << 17
		}
		frame := make([]byte, frameLen)
		for i := 0; i < 4; i++ {
			if ok, err := rx.deliver(frame); err != nil || !ok {
				break
			}
		}
		back.PushResponses()
		if back.ResponseProd() > back.RequestCons() {
			t.Fatalf("%d responses for %d requests", back.ResponseProd(), back.RequestCons())
		}
	})
}

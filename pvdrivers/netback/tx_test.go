package netback

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// txCase is a tx ring scenario: slots to push, the frame expected out (nil:
// none) and the responses expected back.
type txCase struct {
	name  string
	setup func(f *frontend) []byte // pushes slots, returns the expected frame
	rsps  []TxResponse
	errs  uint64 // TxErrors expected
}

func TestTxConsume(t *testing.T) {
	okay := func(ids ...uint16) []TxResponse {
		var r []TxResponse
		for _, id := range ids {
			r = append(r, TxResponse{ID: id, Status: RspOkay})
		}
		return r
	}
	bad := func(ids ...uint16) []TxResponse {
		var r []TxResponse
		for _, id := range ids {
			r = append(r, TxResponse{ID: id, Status: RspError})
		}
		return r
	}
	null := TxResponse{Status: RspNull}
	cases := []txCase{
		{"single slot", func(f *frontend) []byte {
			fr := ethFrame(2, 1, 60, 1)
			f.g.fill(10, 100, fr)
			f.putTx(TxRequest{Gref: 10, Offset: 100, ID: 7, Size: 60})
			return fr
		}, okay(7), 0},
		{"three slots crossing pages", func(f *frontend) []byte {
			fr := ethFrame(2, 1, 3000, 2)
			f.g.fill(10, 4000, fr[:96])
			f.g.fill(11, 0, fr[96:2096])
			f.g.fill(12, 0, fr[2096:])
			f.putTx(TxRequest{Gref: 10, Offset: 4000, Flags: TxMoreData, ID: 1, Size: 3000})
			f.putTx(TxRequest{Gref: 11, Offset: 0, Flags: TxMoreData, ID: 2, Size: 2000})
			f.putTx(TxRequest{Gref: 12, Offset: 0, ID: 3, Size: 904})
			return fr
		}, okay(1, 2, 3), 0},
		{"max frame", func(f *frontend) []byte {
			fr := ethFrame(2, 1, MaxFrame, 3)
			n := 0
			for i := 0; n < MaxFrame; i++ {
				l := min(PageSize, MaxFrame-n)
				f.g.fill(10+i, 0, fr[n:n+l])
				r := TxRequest{Gref: uint32(10 + i), ID: uint16(i), Size: uint16(l)}
				if i == 0 {
					r.Size = MaxFrame
				}
				if n+l < MaxFrame {
					r.Flags = TxMoreData
				}
				f.putTx(r)
				n += l
			}
			return fr
		}, okay(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 0},
		{"gso extra skipped", func(f *frontend) []byte {
			fr := ethFrame(2, 1, 200, 4)
			f.g.fill(10, 0, fr[:100])
			f.g.fill(11, 0, fr[100:])
			f.putTx(TxRequest{Gref: 10, Flags: TxExtraInfo | TxMoreData, ID: 1, Size: 200})
			f.putExtra(ExtraInfo{Type: ExtraGSO, Data: [6]byte{0xb4, 0x05, 1}})
			f.putTx(TxRequest{Gref: 11, ID: 2, Size: 100})
			return fr
		}, []TxResponse{{ID: 1}, null, {ID: 2}}, 0},
		{"multicast add is not sent", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 10, Flags: TxExtraInfo, ID: 9, Size: 0})
			f.putExtra(ExtraInfo{Type: ExtraMcastAdd, Flags: ExtraFlagMore, Data: [6]byte{1, 0, 0x5e, 0, 0, 1}})
			f.putExtra(ExtraInfo{Type: ExtraMcastDel, Data: [6]byte{1, 0, 0x5e, 0, 0, 2}})
			return nil
		}, []TxResponse{{ID: 9}, null, null}, 0},
		{"bad gref", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 5000, ID: 4, Size: 60})
			return nil
		}, bad(4), 1},
		{"revoked gref in the middle", func(f *frontend) []byte {
			f.g.revoked[11] = true
			f.putTx(TxRequest{Gref: 10, Flags: TxMoreData, ID: 1, Size: 200})
			f.putTx(TxRequest{Gref: 11, ID: 2, Size: 100})
			return nil
		}, bad(1, 2), 1},
		{"offset past the page", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 10, Offset: 4090, ID: 4, Size: 60})
			return nil
		}, bad(4), 1},
		{"offset of 64k", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 10, Offset: 0xffff, ID: 4, Size: 20})
			return nil
		}, bad(4), 1},
		{"following slots larger than packet", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 10, Flags: TxMoreData, ID: 1, Size: 100})
			f.putTx(TxRequest{Gref: 11, ID: 2, Size: 200})
			return nil
		}, bad(1, 2), 1},
		{"runt", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 10, ID: 4, Size: 10})
			return nil
		}, bad(4), 1},
		{"bad extra type", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 10, Flags: TxExtraInfo, ID: 1, Size: 60})
			f.putExtra(ExtraInfo{Type: 9})
			return nil
		}, []TxResponse{{ID: 1, Status: RspError}, null}, 1},
		{"extra twice", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 10, Flags: TxExtraInfo, ID: 1, Size: 60})
			f.putExtra(ExtraInfo{Type: ExtraGSO, Flags: ExtraFlagMore})
			f.putExtra(ExtraInfo{Type: ExtraGSO})
			return nil
		}, []TxResponse{{ID: 1, Status: RspError}, null, null}, 1},
		{"endless extras", func(f *frontend) []byte {
			f.putTx(TxRequest{Gref: 10, Flags: TxExtraInfo, ID: 1, Size: 60})
			for i := range MaxExtras {
				f.putExtra(ExtraInfo{Type: uint8(1 + i%4), Flags: ExtraFlagMore})
			}
			return nil
		}, []TxResponse{{ID: 1, Status: RspError}, null, null, null, null}, 1},
		{"chain too long", func(f *frontend) []byte {
			for i := range MaxTxSlots + 3 {
				f.putTx(TxRequest{Gref: 10, Flags: TxMoreData, ID: uint16(i), Size: 100})
			}
			return nil // the last 3 slots start a chain that has not ended
		}, func() []TxResponse {
			var r []TxResponse
			for i := range MaxTxSlots {
				r = append(r, TxResponse{ID: uint16(i), Status: RspError})
			}
			return r
		}(), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFrontend(t, 0xfffffff0)
			var c counters
			var net fakeNet
			tp := newTxPath(f.txB, f.g, net.Send, &c, 0)
			want := tc.setup(f)
			f.tx.PushRequests()
			if _, _, err := tp.consume(); err != nil {
				t.Fatal(err)
			}
			f.txB.PushResponses()
			got := f.txResponses()
			if !reflect.DeepEqual(got, tc.rsps) {
				t.Errorf("responses %+v, want %+v", got, tc.rsps)
			}
			frames := net.got()
			switch {
			case want == nil && len(frames) != 0:
				t.Errorf("sent %d frames, want none", len(frames))
			case want != nil && (len(frames) != 1 || !bytes.Equal(frames[0], want)):
				t.Errorf("sent %d frames, want the one built", len(frames))
			}
			if s := c.snapshot(); s.TxErrors != tc.errs {
				t.Errorf("TxErrors %d, want %d", s.TxErrors, tc.errs)
			}
		})
	}
}

// TestTxChainAcrossBatches pushes a packet's slots in two pushes.
func TestTxChainAcrossBatches(t *testing.T) {
	f := newFrontend(t, 0)
	var c counters
	var net fakeNet
	tp := newTxPath(f.txB, f.g, net.Send, &c, 0)
	fr := ethFrame(2, 1, 1000, 5)
	f.g.fill(20, 0, fr[:600])
	f.g.fill(21, 0, fr[600:])
	f.putTx(TxRequest{Gref: 20, Flags: TxMoreData, ID: 1, Size: 1000})
	f.tx.PushRequests()
	if n, put, err := tp.consume(); n != 1 || put || err != nil {
		t.Fatalf("first half: %d %v %v", n, put, err)
	}
	f.putTx(TxRequest{Gref: 21, ID: 2, Size: 400})
	f.tx.PushRequests()
	if n, put, err := tp.consume(); n != 1 || !put || err != nil {
		t.Fatalf("second half: %d %v %v", n, put, err)
	}
	if got := net.got(); len(got) != 1 || !bytes.Equal(got[0], fr) {
		t.Fatal("frame not reassembled")
	}
}

// TestTxAbuse checks that AbuseLimit malformed packets end the connection.
func TestTxAbuse(t *testing.T) {
	f := newFrontend(t, 0)
	var c counters
	tp := newTxPath(f.txB, f.g, func([]byte) {}, &c, 5)
	for i := range 4 {
		f.putTx(TxRequest{Gref: 9999, ID: uint16(i), Size: 60})
	}
	f.tx.PushRequests()
	if _, _, err := tp.consume(); err != nil {
		t.Fatalf("4 errors: %v", err)
	}
	f.putTx(TxRequest{Gref: 9999, ID: 5, Size: 60})
	f.tx.PushRequests()
	if _, _, err := tp.consume(); !errors.Is(err, ErrAbuse) {
		t.Fatalf("5th error: %v, want ErrAbuse", err)
	}
}

// TestTxChecksumBlank sends a UDP/IPv4 frame with a blank checksum.
func TestTxChecksumBlank(t *testing.T) {
	f := newFrontend(t, 0)
	var c counters
	var net fakeNet
	tp := newTxPath(f.txB, f.g, net.Send, &c, 0)
	fr := udp4Frame([]byte("hello, checksum"))
	binary.BigEndian.PutUint16(fr[14+20+6:], 0)
	f.g.fill(10, 0, fr)
	f.putTx(TxRequest{Gref: 10, Flags: TxCsumBlank, ID: 1, Size: uint16(len(fr))})
	f.tx.PushRequests()
	if _, _, err := tp.consume(); err != nil {
		t.Fatal(err)
	}
	got := net.got()
	if len(got) != 1 {
		t.Fatal("no frame")
	}
	if !validL4(got[0]) {
		t.Errorf("checksum not completed: %x", got[0][14+20+6:14+20+8])
	}
	if s := c.snapshot(); s.TxCsumFilled != 1 {
		t.Errorf("TxCsumFilled %d", s.TxCsumFilled)
	}
}

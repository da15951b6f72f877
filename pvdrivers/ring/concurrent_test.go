package ring

import (
	"encoding/binary"
	"testing"
	"time"
)

// kick is a stand-in for an event channel: a pending bit that coalesces.
type kick chan struct{}

func (k kick) send() {
	select {
	case k <- struct{}{}:
	default:
	}
}

// TestConcurrent runs a frontend and a backend in two goroutines over one
// window, with notifications only where the push rules say so; a lost wakeup
// shows as a timeout, a torn or reordered entry as a sequence error, and
// unsynchronised access as a -race report.
func TestConcurrent(t *testing.T) {
	const entry = 112
	total := uint64(200000)
	if testing.Short() {
		total = 20000
	}
	for _, start := range []uint32{0, 0xffffff00} {
		buf := make([]byte, 2*PageSize)
		f, err := NewFrontendAt(buf, entry, start)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewBackendAt(buf, entry, start)
		if err != nil {
			t.Fatal(err)
		}
		toBack, toFront := make(kick, 1), make(kick, 1)
		errc := make(chan error, 1)
		go func() { errc <- serve(b, toBack, toFront, total) }()

		var sent, got uint64
		dst := make([]byte, entry*int(f.Size()))
		deadline := time.After(60 * time.Second)
		for got < total {
			for sent < total && f.Free() > 0 {
				e := make([]byte, entry)
				binary.LittleEndian.PutUint64(e, sent)
				binary.LittleEndian.PutUint64(e[entry-8:], ^sent)
				f.PutRequest(e)
				sent++
			}
			if f.PushRequests() {
				toBack.send()
			}
			n, err := f.Consume(dst)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if v := binary.LittleEndian.Uint64(dst[i*entry:]); v != got {
					t.Fatalf("response %d carries %d", got, v)
				}
				got++
			}
			if n > 0 || f.FinalCheckForResponses() {
				continue
			}
			select {
			case <-toFront:
			case err := <-errc:
				t.Fatalf("backend stopped early: %v", err)
			case <-deadline:
				t.Fatalf("stuck at %d of %d responses (lost wakeup)", got, total)
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// serve is the backend loop: consume, answer, push, and sleep only after the
// final check.
func serve(b *Backend, in, out kick, total uint64) error {
	const entry = 112
	dst := make([]byte, entry*int(b.Size()))
	var done uint64
	timeout := time.After(60 * time.Second)
	for done < total {
		n, err := b.Consume(dst)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			req := dst[i*entry : (i+1)*entry]
			v := binary.LittleEndian.Uint64(req)
			if v != done || binary.LittleEndian.Uint64(req[entry-8:]) != ^v {
				return &seqError{want: done, got: v}
			}
			rsp := make([]byte, 16)
			binary.LittleEndian.PutUint64(rsp, v)
			if err := b.PutResponse(rsp); err != nil {
				return err
			}
			done++
		}
		if n > 0 {
			if b.PushResponses() {
				out.send()
			}
			continue
		}
		if b.FinalCheckForRequests() {
			continue
		}
		select {
		case <-in:
		case <-timeout:
			return &seqError{want: done, got: ^uint64(0)}
		}
	}
	return nil
}

type seqError struct{ want, got uint64 }

func (e *seqError) Error() string {
	return "backend: sequence error or timeout"
}

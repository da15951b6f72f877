package blkback

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// BenchmarkServeRandRead measures the backend alone: a polling frontend
// goroutine keeps 32 4 KiB random reads of a page-cached image in flight
// on one ring, on each engine. Run with -cpuprofile to see where the
// backend's time goes.
func BenchmarkServeRandRead(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts ServeOptions
	}{
		{"io_uring", ServeOptions{}},
		{"io_uring-persistent", ServeOptions{Persistent: true}},
		{"pool", ServeOptions{NoUring: true}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchServe(b, bc.opts, 32) })
	}
}

func benchServe(b *testing.B, opts ServeOptions, qd int) {
	const imgSize = 64 << 20
	p := filepath.Join(b.TempDir(), "img")
	data := make([]byte, imgSize)
	for i := range data {
		data[i] = byte(i * 31)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := OpenFile(p, FileOptions{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var g Grants = newFakeGrants(b, qd+1)
	if opts.Persistent {
		// A real grant table, as the monitor's: refs 1..qd on frames 11...
		tab, _, grant := newTestGrantTable(b)
		for ref := uint32(1); ref <= uint32(qd); ref++ {
			grant(ref, ref+10, false)
		}
		g = TableGrants{Table: tab}
	}
	d, err := NewDisk(f, g, Config{})
	if err != nil {
		b.Fatal(err)
	}
	ringBuf := make([]byte, PageSize)
	front, _ := ring.NewFrontend(ringBuf, RequestSize)
	back, _ := ring.NewBackend(ringBuf, RequestSize)
	ch := &fakeChannel{in: make(chan struct{}, 1), out: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeWith(ctx, back, d, ch, opts) }()
	rng := rand.New(rand.NewPCG(3, 4))
	free := make([]uint32, 0, qd)
	for i := 1; i <= qd; i++ {
		free = append(free, uint32(i))
	}
	rb := make([]byte, RequestSize*int(front.Size()))
	blocks := imgSize / PageSize
	b.ResetTimer()
	issued, done, empty := 0, 0, 0
	for done < b.N {
		for issued < b.N && len(free) > 0 {
			pg := free[len(free)-1]
			free = free[:len(free)-1]
			front.PutRequest(rw(OpRead, uint64(pg), uint64(rng.IntN(blocks))*SectorsPerPage, Segment{pg, 0, 7}))
			issued++
		}
		if front.PushRequests() {
			select {
			case ch.in <- struct{}{}:
			default:
			}
		}
		n, err := front.Consume(rb)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i++ {
			r := DecodeResponse(rb[i*RequestSize:])
			if r.Status != StatusOkay {
				b.Fatalf("status %d", r.Status)
			}
			free = append(free, uint32(r.ID))
			done++
		}
		// Poll like a guest on its own core; yield only now and then
		// (a Gosched per empty poll costs a scheduler hand-off each).
		if n == 0 {
			if empty++; empty%1024 == 0 {
				runtime.Gosched()
			}
		}
	}
	b.StopTimer()
	cancel()
	<-served
}

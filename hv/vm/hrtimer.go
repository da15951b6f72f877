package vm

import (
	"container/heap"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// hrtimers runs timer callbacks with microsecond precision: one locked OS
// thread per process sleeps in ppoll until the earliest deadline. Go's own
// timers are woken by the netpoller at millisecond granularity when the
// process is otherwise idle, which is too coarse for VIRQ_TIMER.
type hrtimers struct {
	once sync.Once
	mu   sync.Mutex // protects h
	h    hrHeap
	fd   int // eventfd: re-evaluate the earliest deadline
}

// hrTimer is one pending callback.
type hrTimer struct {
	at    time.Time
	fn    func()
	index int // in the heap, -1 when not queued
}

var precise hrtimers

// after schedules fn at time at and returns a handle for stop.
func (t *hrtimers) after(at time.Time, fn func()) *hrTimer {
	t.once.Do(t.start)
	e := &hrTimer{at: at, fn: fn, index: -1}
	t.mu.Lock()
	heap.Push(&t.h, e)
	first := e.index == 0
	t.mu.Unlock()
	if first {
		t.poke()
	}
	return e
}

// stop removes e if it has not fired.
func (t *hrtimers) stop(e *hrTimer) {
	if e == nil {
		return
	}
	t.mu.Lock()
	if e.index >= 0 {
		heap.Remove(&t.h, e.index)
	}
	t.mu.Unlock()
}

func (t *hrtimers) poke() {
	var one = [8]byte{1}
	unix.Write(t.fd, one[:])
}

func (t *hrtimers) start() {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		panic("vm: eventfd for the timer thread: " + err.Error())
	}
	t.fd = fd
	go t.loop()
}

func (t *hrtimers) loop() {
	runtime.LockOSThread()
	fds := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}}
	var buf [8]byte
	for {
		var due []func()
		now := time.Now()
		t.mu.Lock()
		for len(t.h) > 0 && !t.h[0].at.After(now) {
			e := heap.Pop(&t.h).(*hrTimer)
			due = append(due, e.fn)
		}
		var ts *unix.Timespec
		if len(t.h) > 0 {
			d := unix.NsecToTimespec(time.Until(t.h[0].at).Nanoseconds())
			ts = &d
		}
		t.mu.Unlock()
		for _, fn := range due {
			fn()
		}
		if len(due) > 0 {
			continue
		}
		unix.Ppoll(fds, ts, nil)
		unix.Read(t.fd, buf[:])
	}
}

// hrHeap orders timers by deadline.
type hrHeap []*hrTimer

func (h hrHeap) Len() int           { return len(h) }
func (h hrHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h hrHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *hrHeap) Push(x any) {
	e := x.(*hrTimer)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *hrHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}

package tap

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// MaxFrame is the largest frame read from the device.
const MaxFrame = 65535

// ErrClosed reports use of a closed Device.
var ErrClosed = errors.New("tap: device closed")

// Stats are a device's counters.
type Stats struct {
	Sent        uint64 // frames written to the device
	SendDropped uint64 // frames the device would not take (queue full, error)
	Received    uint64 // frames read from the device
	RecvDropped uint64 // frames the receiver refused
}

// Device is an open tap interface. Send and Run may be used concurrently.
type Device struct {
	name   string
	f      *os.File // non-blocking, registered with the runtime poller
	rc     syscall.RawConn
	closed atomic.Bool

	sent, sendDropped, received, recvDropped atomic.Uint64
}

// Open attaches to the tap interface name, creating it if it does not
// exist (a persistent interface made by `ip tuntap add mode tap` is reused).
func Open(name string) (*Device, error) {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap %q: bad interface name", name)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap %s: open /dev/net/tun: %w", name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: TUNSETIFF: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "tap:"+name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	return &Device{name: ifr.Name(), f: f, rc: rc}, nil
}

// Name returns the interface's name.
func (d *Device) Name() string { return d.name }

// Stats returns the device's counters.
func (d *Device) Stats() Stats {
	return Stats{Sent: d.sent.Load(), SendDropped: d.sendDropped.Load(),
		Received: d.received.Load(), RecvDropped: d.recvDropped.Load()}
}

// Send writes one frame to the host without waiting: if the device cannot
// take it now the frame is dropped and counted. It implements
// netback.Network.
func (d *Device) Send(frame []byte) {
	if d.closed.Load() {
		d.sendDropped.Add(1)
		return
	}
	var werr error
	err := d.rc.Write(func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), frame)
		return true // never park: a full queue is a drop
	})
	if err != nil || werr != nil {
		d.sendDropped.Add(1)
		return
	}
	d.sent.Add(1)
}

// Run reads frames from the host and hands each to recv (which must not
// keep the slice) until Close; it then returns nil. recv reports whether it
// took the frame.
func (d *Device) Run(recv func(frame []byte) bool) error {
	buf := make([]byte, MaxFrame)
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			if d.closed.Load() || errors.Is(err, os.ErrClosed) {
				return nil
			}
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return fmt.Errorf("tap %s: read: %w", d.name, err)
		}
		if n == 0 {
			continue
		}
		d.received.Add(1)
		if !recv(buf[:n]) {
			d.recvDropped.Add(1)
		}
	}
}

// SetUp brings the interface up (IFF_UP), as `ip link set NAME up` does.
func (d *Device) SetUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tap %s: socket: %w", d.name, err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(d.name)
	if err != nil {
		return fmt.Errorf("tap %s: %w", d.name, err)
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tap %s: SIOCGIFFLAGS: %w", d.name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tap %s: SIOCSIFFLAGS: %w", d.name, err)
	}
	return nil
}

// Close closes the device, ending Run. A non-persistent interface
// disappears with it. It is idempotent.
func (d *Device) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	return d.f.Close()
}

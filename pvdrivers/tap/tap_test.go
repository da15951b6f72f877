package tap

import (
	"bytes"
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/internal/require"
)

// inNetns runs fn on a goroutine whose OS thread has its own, fresh
// network namespace; the thread is discarded afterwards (it stays locked),
// so the host's interfaces are never touched.
func inNetns(t *testing.T, fn func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// setAddr gives name the IPv4 address ip/24 (SIOCSIFADDR, SIOCSIFNETMASK).
func setAddr(name string, ip net.IP) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := ifr.SetInet4Addr(ip.To4()); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCSIFADDR, ifr); err != nil {
		return err
	}
	if err := ifr.SetInet4Addr([]byte{255, 255, 255, 0}); err != nil {
		return err
	}
	return unix.IoctlIfreq(s, unix.SIOCSIFNETMASK, ifr)
}

// udpFrame builds a broadcast Ethernet/IPv4/UDP frame (UDP checksum 0:
// none) from src:sport to dst:dport.
func udpFrame(src, dst net.IP, sport, dport uint16, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x00})
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	copy(ip[12:], src.To4())
	copy(ip[16:], dst.To4())
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	copy(u[8:], payload)
	return f
}

// TestTapBothWays opens a tap in a private network namespace, checks that
// the host stack's frames (an ARP request) reach the receiver and that a
// frame sent through the device reaches a host UDP socket.
func TestTapBothWays(t *testing.T) {
	require.Root(t)
	hostIP, guestIP := net.IPv4(10, 99, 0, 1), net.IPv4(10, 99, 0, 2)
	err := inNetns(t, func() error {
		d, err := Open("xtap0")
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.SetUp(); err != nil {
			return err
		}
		if err := setAddr("xtap0", hostIP); err != nil {
			return err
		}
		frames := make(chan []byte, 64)
		done := make(chan error, 1)
		go func() {
			done <- d.Run(func(f []byte) bool {
				select {
				case frames <- append([]byte(nil), f...):
					return true
				default:
					return false
				}
			})
		}()
		sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: hostIP, Port: 4789})
		if err != nil {
			return err
		}
		defer sock.Close()

		// Host -> tap: a datagram to the "guest" makes the kernel ARP for it.
		if _, err := sock.WriteToUDP([]byte("hi"), &net.UDPAddr{IP: guestIP, Port: 9}); err != nil {
			return err
		}
		deadline := time.After(5 * time.Second)
		for found := false; !found; {
			select {
			case f := <-frames:
				found = len(f) >= 42 && f[12] == 0x08 && f[13] == 0x06 && bytes.Equal(f[38:42], guestIP.To4())
			case <-deadline:
				t.Error("no ARP request for the guest address read from the tap")
				found = true
			}
		}

		// Tap -> host: a datagram from the "guest".
		d.Send(udpFrame(guestIP, hostIP, 5555, 4789, []byte("from the guest")))
		sock.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 100)
		n, from, err := sock.ReadFromUDP(buf)
		if err != nil {
			t.Errorf("host socket: %v (tap stats %+v)", err, d.Stats())
		} else if string(buf[:n]) != "from the guest" || !from.IP.Equal(guestIP) {
			t.Errorf("host got %q from %v", buf[:n], from)
		}
		if s := d.Stats(); s.Sent != 1 || s.Received == 0 {
			t.Errorf("stats %+v", s)
		}
		d.Close()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenBadName(t *testing.T) {
	for _, name := range []string{"", "a-name-longer-than-ifnamsiz"} {
		if _, err := Open(name); err == nil {
			t.Errorf("Open(%q) succeeded", name)
		}
	}
}

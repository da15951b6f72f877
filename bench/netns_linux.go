package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// NetNS is a named network namespace made for a test or a benchmark run
// (`ip netns add`), so that taps, veths and addresses never touch the
// host's own interfaces. Needs root and iproute2.
type NetNS struct {
	Name string // the name under /run/netns
}

var netnsSeq atomic.Uint64

// NewNetNS creates a network namespace named prefix-<pid>-<n> with its
// loopback up.
func NewNetNS(prefix string) (*NetNS, error) {
	n := &NetNS{Name: fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), netnsSeq.Add(1))}
	if err := runIP("netns", "add", n.Name); err != nil {
		return nil, err
	}
	if err := n.IP("link", "set", "lo", "up"); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// IP runs `ip -n <name> args...`.
func (n *NetNS) IP(args ...string) error {
	return runIP(append([]string{"-n", n.Name}, args...)...)
}

// Do runs fn on an OS thread that has joined the namespace: sockets and
// tap devices fn creates belong to it (and keep working from any thread).
// The thread returns to the process's namespace afterwards, or is retired
// if it cannot.
func (n *NetNS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns %s: %w", n.Name, err)
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + n.Name)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns %s: %w", n.Name, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns %s: setns: %w", n.Name, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		} // else: stay locked, so the runtime retires the thread with the goroutine
		errc <- ferr
	}()
	return <-errc
}

// Close deletes the namespace (its interfaces go with it).
func (n *NetNS) Close() error {
	return runIP("netns", "del", n.Name)
}

// VethPair joins namespaces a and b with a veth pair named ifa (in a) and
// ifb (in b), addressed ipa and ipb (CIDR), both up.
func VethPair(a *NetNS, ifa, ipa string, b *NetNS, ifb, ipb string) error {
	steps := [][]string{
		{"-n", a.Name, "link", "add", ifa, "type", "veth", "peer", "name", ifb, "netns", b.Name},
		{"-n", a.Name, "addr", "add", ipa, "dev", ifa},
		{"-n", b.Name, "addr", "add", ipb, "dev", ifb},
		{"-n", a.Name, "link", "set", ifa, "up"},
		{"-n", b.Name, "link", "set", ifb, "up"},
	}
	for _, s := range steps {
		if err := runIP(s...); err != nil {
			return err
		}
	}
	return nil
}

func runIP(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// StreamResult is what a UDP stream sink saw.
type StreamResult struct {
	Received uint64        // valid data datagrams, duplicates excluded
	Bytes    uint64        // their payload bytes
	Expected uint64        // datagrams sent (from the END marker, else highest seq + 1)
	Lost     uint64        // Expected - Received, if positive
	Corrupt  uint64        // datagrams failing ParsePayload or of another stream
	Dup      uint64        // datagrams seen twice
	EndSeen  bool          // an END marker arrived
	Elapsed  time.Duration // first to last data datagram
}

// PPS is the sink's packet rate over Elapsed.
func (r StreamResult) PPS() float64 {
	if r.Elapsed <= 0 || r.Received < 2 {
		return 0
	}
	return float64(r.Received-1) / r.Elapsed.Seconds()
}

// Mbps is the payload throughput over Elapsed in Mbit/s.
func (r StreamResult) Mbps() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Bytes) * 8 / r.Elapsed.Seconds() / 1e6
}

// UDPSink receives a netbench stream on conn until an END marker, deadline,
// or quiet without data once the stream started, verifying every payload.
func UDPSink(conn *net.UDPConn, stream uint32, deadline time.Time, quiet time.Duration) StreamResult {
	var r StreamResult
	seen := map[uint64]struct{}{}
	buf := make([]byte, 65536)
	var first, last time.Time
	var next uint64
	for !r.EndSeen {
		wait := deadline
		if !first.IsZero() && last.Add(quiet).Before(wait) {
			wait = last.Add(quiet)
		}
		if !time.Now().Before(wait) {
			break
		}
		conn.SetReadDeadline(wait)
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			break
		}
		h, err := ParsePayload(buf[:n])
		if err != nil || h.Stream != stream {
			r.Corrupt++
			continue
		}
		switch h.Kind {
		case PayloadEnd:
			r.EndSeen = true
			r.Expected = h.Seq
			continue
		case PayloadData:
		default:
			r.Corrupt++
			continue
		}
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		last = now
		if _, dup := seen[h.Seq]; dup {
			r.Dup++
			continue
		}
		seen[h.Seq] = struct{}{}
		if h.Seq >= next {
			next = h.Seq + 1
		}
		r.Received++
		r.Bytes += uint64(n)
	}
	if !r.EndSeen {
		r.Expected = next
	}
	if r.Expected > r.Received {
		r.Lost = r.Expected - r.Received
	}
	r.Elapsed = last.Sub(first)
	return r
}

// UDPStreamSend sends count datagrams of size bytes (or until dur) on a
// connected conn, then END markers; returns the number sent.
func UDPStreamSend(conn *net.UDPConn, size, count int, stream uint32, dur time.Duration) (int, time.Duration, error) {
	buf := make([]byte, size)
	end := time.Now().Add(dur)
	t0 := time.Now()
	sent := 0
	for sent < count {
		if sent%256 == 0 && time.Now().After(end) {
			break
		}
		FillPayload(buf, Payload{Kind: PayloadData, Seq: uint64(sent), Stream: stream})
		if _, err := conn.Write(buf); err != nil {
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ECONNREFUSED) {
				continue // a full queue or a sink not yet there: try again
			}
			return sent, time.Since(t0), err
		}
		sent++
	}
	el := time.Since(t0)
	marker := make([]byte, PayloadHeader)
	FillPayload(marker, Payload{Kind: PayloadEnd, Seq: uint64(sent), Stream: stream})
	for i := 0; i < 5; i++ {
		conn.Write(marker)
		time.Sleep(2 * time.Millisecond)
	}
	return sent, el, nil
}

// UDPRoundTrips sends n requests of size bytes one at a time on a connected
// conn and waits up to timeout for each verified answer; returns the round
// trip times (ns) and how many got no answer. END markers follow.
func UDPRoundTrips(conn *net.UDPConn, size, n int, stream uint32, timeout time.Duration) ([]float64, int, error) {
	req := make([]byte, size)
	buf := make([]byte, 65536)
	var rtts []float64
	lost := 0
	for i := 0; i < n; i++ {
		FillPayload(req, Payload{Kind: PayloadRequest, Seq: uint64(i), Stream: stream})
		t0 := time.Now()
		if _, err := conn.Write(req); err != nil {
			return rtts, lost, err
		}
		conn.SetReadDeadline(t0.Add(timeout))
		for {
			m, err := conn.Read(buf)
			if err != nil {
				lost++
				break
			}
			h, err := ParsePayload(buf[:m])
			if err != nil || h.Kind != PayloadResponse || h.Seq != uint64(i) {
				continue // stale or foreign
			}
			rtts = append(rtts, float64(time.Since(t0).Nanoseconds()))
			break
		}
	}
	marker := make([]byte, PayloadHeader)
	FillPayload(marker, Payload{Kind: PayloadEnd, Seq: uint64(n), Stream: stream})
	for i := 0; i < 3; i++ {
		conn.Write(marker)
	}
	return rtts, lost, nil
}

// UDPResponder answers netbench requests on conn until an END marker or
// until conn is closed; returns the requests served.
func UDPResponder(conn *net.UDPConn) int {
	buf := make([]byte, 65536)
	served := 0
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return served
		}
		h, err := ParsePayload(buf[:n])
		if err != nil {
			continue
		}
		if h.Kind == PayloadEnd {
			return served
		}
		if h.Kind != PayloadRequest {
			continue
		}
		SetPayloadKind(buf[:n], PayloadResponse)
		if _, err := conn.WriteToUDP(buf[:n], from); err == nil {
			served++
		}
	}
}

// Ping sends count ICMP echo requests to dst through a raw socket (made in
// the caller's network namespace: call it inside NetNS.Do) and returns the
// round-trip times of the replies that came within timeout each.
func Ping(dst net.IP, count int, timeout time.Duration) ([]time.Duration, error) {
	ip4 := dst.To4()
	if ip4 == nil {
		return nil, fmt.Errorf("ping %s: not IPv4", dst)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return nil, fmt.Errorf("ping: raw socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("ping: %w", err)
	}
	sa := &unix.SockaddrInet4{}
	copy(sa.Addr[:], ip4)
	id := uint16(os.Getpid())
	var rtts []time.Duration
	buf := make([]byte, 1500)
	for seq := 0; seq < count; seq++ {
		msg := make([]byte, 8+56)
		msg[0] = 8 // echo request
		binary.BigEndian.PutUint16(msg[4:], id)
		binary.BigEndian.PutUint16(msg[6:], uint16(seq))
		for i := 8; i < len(msg); i++ {
			msg[i] = byte(i)
		}
		binary.BigEndian.PutUint16(msg[2:], inetChecksum(msg))
		t0 := time.Now()
		if err := unix.Sendto(fd, msg, 0, sa); err != nil {
			return rtts, fmt.Errorf("ping: send: %w", err)
		}
		for time.Since(t0) < timeout {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				break
			}
			// A raw IPv4 socket returns the IP header too.
			if n < 20 {
				continue
			}
			hl := int(buf[0]&15) * 4
			if n < hl+8 || buf[hl] != 0 || binary.BigEndian.Uint16(buf[hl+4:]) != id ||
				binary.BigEndian.Uint16(buf[hl+6:]) != uint16(seq) {
				continue
			}
			if inetChecksum(buf[hl:n]) != 0 {
				continue
			}
			rtts = append(rtts, time.Since(t0))
			break
		}
	}
	return rtts, nil
}

// inetChecksum is the Internet checksum of b (0 over a packet with a valid one).
func inetChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

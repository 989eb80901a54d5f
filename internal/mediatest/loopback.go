package mediatest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Loopback is one interop test's private corner of the loopback network,
// so that nothing else running on the machine (other packages' tests, other
// test binaries) can reach its sockets or its peer's, nor take the peer's
// ports.
//
// On Linux all of 127.0.0.0/8 is loopback. A Loopback holds two random
// addresses in it: Local, which the test's own sockets bind (and the code
// under test's: a bridge's MediaIP, a gateway's listen address), and Peer,
// which the test gives its peer (ffmpeg) as the address to receive on and,
// with ffmpeg's localaddr option, to send from. Stray traffic (a test's
// sender outliving its receiver, a bridge still sending to a participant
// that left) goes to 127.0.0.1, the address everything else uses, so it
// reaches neither address.
//
// Two gaps remain, and the rest of the type closes them:
//   - ffmpeg binds its receiving ports on 0.0.0.0 whatever the SDP says, so
//     a datagram to 127.0.0.1 on its port reaches it. A receiver's SDP
//     therefore carries [Loopback.SourceFilter] (RFC 4570), with which
//     ffmpeg drops whatever does not come from Local.
//   - A receiver's ports cannot be handed to ffmpeg bound: they are picked,
//     released, and bound by ffmpeg a moment later. [Loopback.PeerPortPair]
//     picks them below the kernel's ephemeral range, where no socket bound
//     to port 0 (every other test's, and ffmpeg's senders') can land, and
//     unused on any address; [Loopback.WaitBound] waits for ffmpeg to bind
//     them by reading /proc/net/udp instead of probing with a bind that
//     could itself take the port at the wrong moment.
//
// Where 127.0.0.0/8 is not all loopback (macOS binds only 127.0.0.1 by
// default) both addresses fall back to 127.0.0.1, which the test logs; the
// source filter and the port choice still apply.
//
// Every Loopback also sprays junk at 127.0.0.1 on its peer ports for as
// long as the test runs, so that every interop run proves the isolation
// rather than hoping no stray arrives: a datagram to 127.0.0.1 there
// reaches ffmpeg's 0.0.0.0 socket, as a real stray would, and must be
// dropped by the source filter. (The test's own sockets and the code under
// test need no spray: bound on Local, they cannot receive what is sent to
// 127.0.0.1, which [Loopback.Expose] checks; and spraying 127.0.0.1 at their
// ephemeral port numbers could hit another test's socket there.)
// RTPMIX_INTEROP_SPRAY=0 turns the spray off. A Loopback's methods may be
// called from any goroutine.
type Loopback struct {
	Local, Peer netip.Addr

	spray *sprayer
}

// NewLoopback picks the test's two addresses and starts the spray, which
// stops when the test ends.
func NewLoopback(t testing.TB) *Loopback {
	t.Helper()
	l := &Loopback{Local: randomLoopback(), Peer: randomLoopback()}
	for l.Peer == l.Local {
		l.Peer = randomLoopback()
	}
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.Local, 0)))
	if err != nil {
		t.Logf("loopback: cannot bind %v (%v); using 127.0.0.1 for both sides", l.Local, err)
		l.Local, l.Peer = localhost, localhost
	} else {
		c.Close()
	}
	if os.Getenv("RTPMIX_INTEROP_SPRAY") != "0" {
		l.spray = startSpray(t)
	}
	return l
}

var localhost = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// randomLoopback returns an address in 127.1.0.1–127.254.255.254: clear of
// 127.0.0.0/16, where 127.0.0.1 and Debian's 127.0.1.1 live.
func randomLoopback() netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(254)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
}

// ListenUDP opens a UDP socket on a free port of Local, closed when the
// test ends.
func (l *Loopback) ListenUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.Local, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// DialUDP opens a UDP socket on Local connected to port on Peer, closed
// when the test ends: what the test sends its peer from.
func (l *Loopback) DialUDP(t testing.TB, port int) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.Local, 0)),
		net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.Peer, uint16(port))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// FromPeer reports whether a datagram's source is the peer's address (the
// port is the peer's choice).
func (l *Loopback) FromPeer(src *net.UDPAddr) bool {
	a, ok := netip.AddrFromSlice(src.IP)
	return ok && a.Unmap() == l.Peer
}

// SourceFilter is the SDP attribute line (RFC 4570) that makes an ffmpeg
// receiver accept only datagrams sent from Local.
func (l *Loopback) SourceFilter() string {
	return fmt.Sprintf("a=source-filter: incl IN IP4 %v %v", l.Peer, l.Local)
}

// PeerPortPair returns an even port P with P+1 for a peer's receiver (RTP
// and RTCP), chosen below the ephemeral port range and bound on no address
// when chosen, and aims the spray at both.
func (l *Loopback) PeerPortPair(t testing.TB) int {
	t.Helper()
	lo, hi := peerPortWindow()
	for range 200 {
		p := lo + 2*rand.IntN((hi-lo)/2)
		if portsFree(l.Peer, p, p+1) {
			if l.spray != nil {
				l.spray.add(p, p+1)
			}
			return p
		}
	}
	t.Fatalf("loopback: no free UDP port pair in %d–%d", lo, hi)
	return 0
}

// WaitBound waits up to 10 s until something (the peer) has bound UDP
// port, and returns the address it bound (0.0.0.0 for ffmpeg).
func (l *Loopback) WaitBound(t testing.TB, port int) netip.AddrPort {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		bound, err := boundUDP()
		if err != nil {
			// Without /proc, give a starting ffmpeg the time it needs.
			t.Logf("loopback: %v; waiting 500 ms for port %d instead", err, port)
			time.Sleep(500 * time.Millisecond)
			return netip.AddrPort{}
		}
		for _, a := range bound {
			if int(a.Port()) == port {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("loopback: nothing bound UDP port %d within 10 s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Expose names ports that the code under test bound (a bridge's media
// ports, a gateway's legs) and fails the test unless /proc/net/udp shows
// them bound on Local: otherwise that code is not on the test's private
// address and stray traffic can reach it.
func (l *Loopback) Expose(t testing.TB, ports ...int) {
	t.Helper()
	if err := l.boundOnLocal(ports...); err != nil {
		t.Error(err)
	}
}

// boundOnLocal returns an error naming the first port that /proc/net/udp
// shows not bound on Local; nil also when /proc cannot tell.
func (l *Loopback) boundOnLocal(ports ...int) error {
	bound, err := boundUDP()
	if err != nil {
		return nil
	}
	for _, p := range ports {
		if !slices.Contains(bound, netip.AddrPortFrom(l.Local, uint16(p))) {
			return fmt.Errorf("loopback: port %d is not bound on %v, the test's own address", p, l.Local)
		}
	}
	return nil
}

// SprayStats returns how many junk datagrams the spray has sent and to how
// many ports; zero when the spray is off.
func (l *Loopback) SprayStats() (datagrams, ports int) {
	if l.spray == nil {
		return 0, 0
	}
	return l.spray.stats()
}

// peerPortWindow returns [lo, hi) below the ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range; 32768 on Linux by default, 49152
// on the BSDs and macOS), or all of 10000–65535 when that range leaves no
// room below it.
func peerPortWindow() (lo, hi int) {
	lo, hi = 10000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if e, err := strconv.Atoi(f[0]); err == nil {
				hi = e
			}
		}
	}
	if hi-lo < 2000 {
		return 10000, 65534
	}
	return lo, hi
}

// portsFree reports whether the ports are bound on no address (from
// /proc/net/udp where it exists) and can be bound on 127.0.0.1 and on peer.
func portsFree(peer netip.Addr, ports ...int) bool {
	if bound, err := boundUDP(); err == nil {
		for _, a := range bound {
			for _, p := range ports {
				if int(a.Port()) == p {
					return false
				}
			}
		}
	}
	for _, p := range ports {
		for _, a := range []netip.Addr{localhost, peer} {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(p))))
			if err != nil {
				return false
			}
			c.Close()
		}
	}
	return true
}

// boundUDP lists the local addresses of every IPv4 UDP socket in this
// network namespace, from /proc/net/udp.
func boundUDP() ([]netip.AddrPort, error) {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.AddrPort
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		a, err := parseProcAddr(fields[1])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, sc.Err()
}

// parseProcAddr parses /proc/net/udp's "0100007F:1F90": the IPv4 address
// is the in-memory (network-order) word printed as a host-order number,
// the port a plain hex number.
func parseProcAddr(s string) (netip.AddrPort, error) {
	ip, port, ok := strings.Cut(s, ":")
	if !ok || len(ip) != 8 {
		return netip.AddrPort{}, fmt.Errorf("/proc/net/udp: bad address %q", s)
	}
	w, err1 := strconv.ParseUint(ip, 16, 32)
	p, err2 := strconv.ParseUint(port, 16, 16)
	if err := errors.Join(err1, err2); err != nil {
		return netip.AddrPort{}, fmt.Errorf("/proc/net/udp: bad address %q: %w", s, err)
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(w))
	return netip.AddrPortFrom(netip.AddrFrom4(b), uint16(p)), nil
}

// sprayer sends junk from 127.0.0.1 to 127.0.0.1 on a test's peer ports,
// one datagram per port every sprayInterval, until the test ends, at most
// sprayMax datagrams or sprayFor. Peer ports were unused on every address
// when chosen and lie outside the ephemeral range, so whatever binds them
// is this test's peer: the spray never reaches another test.
type sprayer struct {
	conn *net.UDPConn
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	ports    []int
	sent     int
	hitPorts map[int]bool
}

const (
	sprayInterval = 5 * time.Millisecond
	sprayMax      = 100_000
	sprayFor      = 2 * time.Minute
)

func startSpray(t testing.TB) *sprayer {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(localhost, 0)))
	if err != nil {
		t.Fatal(err)
	}
	s := &sprayer{conn: c, stop: make(chan struct{}), done: make(chan struct{}), hitPorts: map[int]bool{}}
	go s.run()
	t.Cleanup(func() {
		close(s.stop)
		<-s.done
		c.Close()
		if n, ports := s.stats(); ports > 0 {
			t.Logf("loopback: sprayed %d junk datagrams at 127.0.0.1 on %d peer ports", n, ports)
		}
	})
	return s
}

func (s *sprayer) add(ports ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ports = append(s.ports, ports...)
}

func (s *sprayer) stats() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, len(s.hitPorts)
}

func (s *sprayer) run() {
	defer close(s.done)
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	buf := make([]byte, 1500)
	tick := time.NewTicker(sprayInterval)
	defer tick.Stop()
	end := time.After(sprayFor)
	var targets []int
	for {
		if n, _ := s.stats(); n >= sprayMax {
			return
		}
		select {
		case <-s.stop:
			return
		case <-end:
			return
		case <-tick.C:
		}
		s.mu.Lock()
		targets = append(targets[:0], s.ports...)
		s.mu.Unlock()
		for _, p := range targets {
			pkt := junk(rng, buf)
			if _, err := s.conn.WriteToUDPAddrPort(pkt, netip.AddrPortFrom(localhost, uint16(p))); err != nil {
				continue // ICMP port unreachable from an earlier datagram, reported late
			}
			s.mu.Lock()
			s.sent++
			s.hitPorts[p] = true
			s.mu.Unlock()
		}
	}
}

// junk fills buf with one stray datagram: half look like RTP (version 2,
// a payload type a peer might expect, random SSRC and payload, so an SRTP
// receiver would try to authenticate it), a quarter like RTCP, a quarter
// random bytes.
func junk(rng *rand.Rand, buf []byte) []byte {
	n := 1 + rng.IntN(300)
	b := buf[:n]
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	switch k := rng.IntN(4); {
	case k < 2 && n >= 12:
		b[0] = 0x80
		b[1] = []byte{0, 8, 97, 111, 0x80, 0x80 | 97}[rng.IntN(6)]
	case k == 2 && n >= 8:
		b[0] = 0x80
		b[1] = byte(200 + rng.IntN(5))
	}
	return b
}

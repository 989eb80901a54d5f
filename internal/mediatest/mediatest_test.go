package mediatest

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestToneShare(t *testing.T) {
	const rate = 8000
	x := make([]int16, rate)
	for i := range x {
		x[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/rate))
	}
	if s := ToneShare(x, rate, 1000); s < 0.99 || s > 1.01 {
		t.Errorf("pure 1000 Hz tone: share at 1000 Hz %.4f, want ≈ 1", s)
	}
	if s := ToneShare(x, rate, 440); s > 1e-4 {
		t.Errorf("pure 1000 Hz tone: share at 440 Hz %.2g, want ≈ 0", s)
	}
	if s := ToneShare(make([]int16, 100), rate, 440); s != 0 {
		t.Errorf("silence: %v, want 0", s)
	}
}

func TestFreeUDPPortPair(t *testing.T) {
	p := FreeUDPPortPair(t)
	if p%2 != 0 || p <= 0 {
		t.Errorf("port %d: want an even port", p)
	}
}

func TestParseProcAddr(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 { // little-endian: the common case
		a, err := parseProcAddr("0100007F:1F90")
		if err != nil || a != netip.MustParseAddrPort("127.0.0.1:8080") {
			t.Errorf("0100007F:1F90: %v, %v; want 127.0.0.1:8080", a, err)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007F1F90", "01007F:1F90", "0100007G:1F90", "0100007F:1F9000"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestBoundUDP checks the /proc/net/udp reader against a socket whose
// address is known, whatever the machine's byte order.
func TestBoundUDP(t *testing.T) {
	l := NewLoopback(t)
	c := l.ListenUDP(t)
	want := c.LocalAddr().(*net.UDPAddr).AddrPort()
	bound, err := boundUDP()
	if err != nil {
		t.Skip(err)
	}
	if !slices.Contains(bound, want) {
		t.Errorf("%v not among the %d bound UDP sockets", want, len(bound))
	}
}

func TestLoopback(t *testing.T) {
	l := NewLoopback(t)
	if runtime.GOOS == "linux" && (l.Local == localhost || l.Peer == localhost || l.Local == l.Peer) {
		t.Errorf("Local %v, Peer %v: want two addresses other than 127.0.0.1", l.Local, l.Peer)
	}
	if !l.Local.Is4() || !l.Local.IsLoopback() || !l.Peer.Is4() || !l.Peer.IsLoopback() {
		t.Errorf("Local %v, Peer %v: want IPv4 loopback", l.Local, l.Peer)
	}
	want := fmt.Sprintf("a=source-filter: incl IN IP4 %v %v", l.Peer, l.Local)
	if got := l.SourceFilter(); got != want {
		t.Errorf("SourceFilter: %q, want %q", got, want)
	}
	if !l.FromPeer(net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.Peer, 5004))) ||
		(l.Peer != localhost && l.FromPeer(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5004})) {
		t.Error("FromPeer: wrong answer")
	}

	lo, hi := peerPortWindow()
	p := l.PeerPortPair(t)
	if p%2 != 0 || p < lo || p+1 >= hi {
		t.Errorf("PeerPortPair %d: want an even port pair in [%d, %d)", p, lo, hi)
	}
	// The peer binds it a moment later; WaitBound sees it.
	peer := make(chan *net.UDPConn, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.Peer, uint16(p))))
		if err != nil {
			t.Error(err)
		}
		peer <- c
	}()
	got := l.WaitBound(t, p)
	if c := <-peer; c != nil {
		c.Close()
	}
	if runtime.GOOS == "linux" && got != netip.AddrPortFrom(l.Peer, uint16(p)) {
		t.Errorf("WaitBound: %v, want %v:%d", got, l.Peer, p)
	}

	// DialUDP reaches a socket on Peer from Local.
	rx, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.Peer, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx := l.DialUDP(t, rx.LocalAddr().(*net.UDPAddr).Port)
	if _, err := tx.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	_, from, err := rx.ReadFromUDPAddrPort(buf)
	if err != nil || from.Addr() != l.Local {
		t.Errorf("DialUDP: received from %v (%v), want from %v", from, err, l.Local)
	}
}

// TestSpray checks that the spray is real: it reaches a socket bound on
// 127.0.0.1 at a peer port (where a stray would reach ffmpeg's 0.0.0.0
// socket), not one at a peer port on the test's own address, and never one
// on 127.0.0.1 at the number of a port the test's own side uses.
func TestSpray(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs all of 127.0.0.0/8 and /proc/net/udp")
	}
	t.Setenv("RTPMIX_INTEROP_SPRAY", "1")
	l := NewLoopback(t)
	p := l.PeerPortPair(t)
	listen := func(a netip.Addr, port int) *net.UDPConn {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	stray := listen(localhost, p)  // where a stray reaches a 0.0.0.0 socket
	private := listen(l.Peer, p+1) // the isolated address
	// Someone else's socket on 127.0.0.1 at the number of one of the
	// test's own ports: the spray must leave it alone.
	own := l.ListenUDP(t).LocalAddr().(*net.UDPAddr).Port
	bystander, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: own})
	if err != nil {
		t.Skipf("127.0.0.1:%d is taken: %v", own, err)
	}
	defer bystander.Close()
	count := func(c *net.UDPConn, d time.Duration) int {
		buf := make([]byte, 1500)
		n := 0
		_ = c.SetReadDeadline(time.Now().Add(d))
		for {
			if _, err := c.Read(buf); err != nil {
				return n
			}
			n++
		}
	}
	if n := count(stray, time.Second); n < 20 {
		t.Errorf("127.0.0.1:%d got %d junk datagrams in 1 s, want a steady spray", p, n)
	}
	if n := count(private, 200*time.Millisecond); n != 0 {
		t.Errorf("%v:%d got %d datagrams, want none", l.Peer, p+1, n)
	}
	if n := count(bystander, 200*time.Millisecond); n != 0 {
		t.Errorf("127.0.0.1:%d, not a peer port, got %d datagrams, want none", own, n)
	}
	if sent, ports := l.SprayStats(); sent == 0 || ports != 2 {
		t.Errorf("SprayStats: %d datagrams to %d ports, want some to 2", sent, ports)
	}
}

// TestExpose checks that Expose refuses a port the code under test bound
// on 127.0.0.1 instead of the test's own address.
func TestExpose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc/net/udp")
	}
	l := NewLoopback(t)
	own := l.ListenUDP(t).LocalAddr().(*net.UDPAddr).Port
	if err := l.boundOnLocal(own); err != nil {
		t.Errorf("a port bound on Local: %v", err)
	}
	l.Expose(t, own)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := l.boundOnLocal(own, c.LocalAddr().(*net.UDPAddr).Port); err == nil {
		t.Error("a port bound on 127.0.0.1: no error")
	}
}

package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// readBatch is how many datagrams one ReadBatch call may return
// (recvmmsg on Linux; one per call elsewhere).
const readBatch = 16

// maxDatagram is the largest datagram a leg reads; longer ones are cut and
// then fail to parse or authenticate.
const maxDatagram = 1500

// socketBuffer is the receive buffer asked for each RTP socket.
const socketBuffer = 1 << 20

// leg is one participant's transport: its UDP sockets, the goroutines that
// read them and hand packets (RTP and RTCP) to the mixer, and the sinks the
// mixer sends media and RTCP through.
//
// Who owns what: the RTP socket's reader owns an rtpIn (its latch); exactly
// one goroutine owns the rtcpIn (the RTCP socket's reader, or the RTP
// socket's under rtcp-mux; see start); the tick goroutine sends through
// out (WriteRTP, writeRTCP). What they share is atomic or under a mutex of
// its own.
type leg struct {
	s     *Server
	room  *room
	id    string
	p     *mixer.Participant // set once after Join, before start
	offer *offer
	fds   int // sockets held: 1 under rtcp-mux, else 2

	rtp, rtcp *net.UDPConn // rtcp is nil under rtcp-mux; both nil on WebRTC legs

	// rtc is the WebRTC transport of a browser's leg (webrtc.go), nil on
	// RTP legs. Such a leg has no sockets of its own, and of the fields
	// here uses p, out, cnt (unsent), lastRecv and closing.
	rtc *rtcLeg

	out outbound
	cnt counters

	// rtcpIn is the inbound RTCP state; start hands it to the one
	// goroutine that reads RTCP. Nothing else may touch it after start.
	rtcpIn *rtcpIn

	// latched is the RTP reader's latch, published for the RTCP reader's
	// source check and for stats; rtcpLatched is the RTCP reader's, for
	// stats. rtcpLatched is written once; latched when the RTP latch is
	// set and each time it moves (SRTP legs; see handleRTP).
	latched, rtcpLatched atomic.Pointer[netip.AddrPort]

	// drops is what the housekeeping goroutine last logged of the drop
	// counters (logDrops); only that goroutine touches it.
	drops [numDropKinds]dropLog

	lastRecv  atomic.Int64 // mixer.Monotonic of the last authentic packet
	closing   atomic.Bool
	closeOnce sync.Once

	// sdp is the offer/answer state a re-offer continues (reoffer.go).
	sdp sdpState

	// The gains last set through the API (the mixer does not report them).
	gainMu          sync.Mutex
	gainIn, gainOut float64
}

// outbound is where the leg sends and what it has sent. dst and rtcpDst
// stay nil until the peer has proven the address (leg.prove); the tick
// goroutine reads dst for every packet.
type outbound struct {
	dst, rtcpDst atomic.Pointer[netip.AddrPort]
	proven       atomic.Bool
	packets      atomic.Uint64 // sent (the mixer's PacketsOut also counts unsent ones)
	bytes        atomic.Uint64
}

// counters are the drops the bridge decides itself, before the mixer, and
// what it sends. The RTCP the mixer accepts is counted in its RTCPStats
// (packets by type, BYEs ignored), which the API and /metrics show.
type counters struct {
	garbage, foreign, unsent atomic.Uint64
	// rtcpNotMuxed: RTCP on the RTP port of a leg without rtcp-mux.
	rtcpNotMuxed atomic.Uint64
	// rtcpBad: RTCP that passed the source check and that the mixer
	// refused (SRTCP that does not authenticate, malformed RTCP).
	rtcpBad  atomic.Uint64
	rtcpSent atomic.Uint64 // RTCP sent to the peer
	// latchMoves counts the RTP latch's moves (SRTP legs only; see
	// handleRTP), lastForeign the source of the last RTP datagram dropped
	// as foreign (packAddr), for the log.
	latchMoves, lastForeign atomic.Uint64
}

// rtpIn is the RTP socket reader's latch, kept off the shared struct so
// that the per-packet check touches no atomics.
type rtpIn struct {
	src    netip.AddrPort
	srcSet bool
}

// rtcpIn is a leg's RTCP latch. One goroutine owns it: the RTCP socket's
// reader, or under rtcp-mux the RTP socket's. RTCP that arrives on the RTP
// port of a leg without rtcp-mux is dropped, never handed across: a peer
// that negotiated a separate RTCP port sends none there, so what does is
// an attacker's (issue 10).
type rtcpIn struct {
	src    netip.AddrPort
	srcSet bool
}

// openLeg binds the participant's sockets. The mixer does the leg's SRTP
// and SRTCP, both ways, with the keys of its ParticipantConfig.
func (s *Server) openLeg(r *room, id string, o *offer) (*leg, error) {
	l := &leg{s: s, room: r, id: id, offer: o, rtcpIn: &rtcpIn{}, fds: 2}
	if o.rtcpMux {
		l.fds = 1
	}
	if s.cfg.TrustOfferAddress && !o.rtpDst.Addr().IsUnspecified() {
		d, rd := o.rtpDst, o.rtcpDst
		l.out.rtcpDst.Store(&rd)
		l.out.dst.Store(&d)
		l.out.proven.Store(true)
	}
	var err error
	l.rtp, l.rtcp, err = s.bindPair(o.rtcpMux)
	if err != nil {
		return nil, err
	}
	s.ownPorts(l, true)
	// Room for a burst (a stall of the reader, a flood) before the kernel
	// drops datagrams uncounted; the kernel may cap it (net.core.rmem_max).
	_ = l.rtp.SetReadBuffer(socketBuffer)
	l.lastRecv.Store(int64(mixer.Monotonic()))
	return l, nil
}

// bindPair binds an RTP socket and, unless mux, an RTCP socket on the next
// port, within the configured range or anywhere. It skips ports that an
// offer names as its destination, so that no leg is ever bound where
// another leg sends.
func (s *Server) bindPair(mux bool) (*net.UDPConn, *net.UDPConn, error) {
	ip := s.mediaIP
	var lastErr error
	bind := func(port int) (*net.UDPConn, bool) {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err != nil {
			lastErr = err
			return nil, false
		}
		if s.isTarget(uint16(c.LocalAddr().(*net.UDPAddr).Port)) {
			_ = c.Close()
			return nil, false
		}
		return c, true
	}
	try := func(port int) (*net.UDPConn, *net.UDPConn, bool) {
		a, ok := bind(port)
		if !ok || mux {
			return a, nil, ok
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p >= 65535 || (s.cfg.PortMax != 0 && p+1 > s.cfg.PortMax) {
			_ = a.Close()
			return nil, nil, false
		}
		b, ok := bind(p + 1)
		if !ok {
			_ = a.Close()
			return nil, nil, false
		}
		return a, b, true
	}
	noPorts := func(what string) error {
		if errors.Is(lastErr, syscall.EMFILE) || errors.Is(lastErr, syscall.ENFILE) {
			return fmt.Errorf("%w: binding a media socket: %v", errNoFDs, lastErr)
		}
		return fmt.Errorf("%w%s", errNoPorts, what)
	}
	if s.cfg.PortMin == 0 {
		for range 64 {
			if a, b, ok := try(0); ok {
				return a, b, nil
			}
		}
		return nil, nil, noPorts("")
	}
	lo := s.cfg.PortMin + s.cfg.PortMin%2 // RTP on even ports (RFC 3550 §11)
	n := (s.cfg.PortMax - lo + 1) / 2
	for range n {
		s.mu.Lock()
		port := lo + 2*(s.nextPort%n)
		s.nextPort++
		s.mu.Unlock()
		if a, b, ok := try(port); ok {
			return a, b, nil
		}
	}
	return nil, nil, noPorts(fmt.Sprintf(" %d-%d", s.cfg.PortMin, s.cfg.PortMax))
}

func (l *leg) rtpPort() int {
	if l.rtc != nil {
		return l.s.rtc.port
	}
	return l.rtp.LocalAddr().(*net.UDPAddr).Port
}

func (l *leg) rtcpPort() int {
	if l.rtcp == nil {
		return l.rtpPort()
	}
	return l.rtcp.LocalAddr().(*net.UDPAddr).Port
}

// start runs the reader goroutines and hands the inbound RTCP state to the
// one that reads RTCP: the RTCP socket's, or the RTP socket's under
// rtcp-mux.
func (l *leg) start() {
	if l.rtc != nil {
		l.rtc.start(&l.s.wg)
		return
	}
	var muxed *rtcpIn
	if l.rtcp == nil {
		muxed = l.rtcpIn
	}
	l.s.wg.Add(1)
	go func() {
		defer l.s.wg.Done()
		l.readLoop(l.rtp, &rtpIn{}, muxed)
	}()
	if l.rtcp != nil {
		l.s.wg.Add(1)
		go func() {
			defer l.s.wg.Done()
			l.readLoop(l.rtcp, nil, l.rtcpIn)
		}()
	}
}

func (l *leg) closeSockets() {
	l.closeOnce.Do(func() {
		if l.rtc != nil {
			l.rtc.close()
			return
		}
		l.s.ownPorts(l, false)
		_ = l.rtp.Close()
		if l.rtcp != nil {
			_ = l.rtcp.Close()
		}
	})
}

// readLoop reads batches of datagrams from c until it is closed. With rp
// it is the RTP socket's reader (the mixer's jitter buffer producer), and
// with rc also the RTCP reader under rtcp-mux; with rp nil it is the RTCP
// socket's reader.
func (l *leg) readLoop(c *net.UDPConn, rp *rtpIn, rc *rtcpIn) {
	pc := ipv4.NewPacketConn(c)
	msgs := make([]ipv4.Message, readBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxDatagram)}
	}
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.closing.Load() {
				return
			}
			// Transient (e.g. ICMP port unreachable reported on a later
			// read): keep reading, but do not spin.
			time.Sleep(time.Millisecond)
			continue
		}
		now := mixer.Monotonic()
		for i := range msgs[:n] {
			ua, ok := msgs[i].Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			src := ua.AddrPort()
			b := msgs[i].Buffers[0][:msgs[i].N]
			if rp == nil {
				l.handleRTCP(rc, now, src, b)
			} else {
				l.handleRTP(rp, rc, now, src, b)
			}
		}
	}
}

// handleRTP takes one datagram from the RTP socket. rc is the leg's RTCP
// state under rtcp-mux (this goroutine owns it then), else nil: RTCP on
// the RTP port of a leg without rtcp-mux is dropped and counted.
func (l *leg) handleRTP(rp *rtpIn, rc *rtcpIn, now time.Duration, src netip.AddrPort, b []byte) {
	if rtcpsession.IsRTCP(b) { // RFC 5761 §4
		if rc == nil {
			l.cnt.rtcpNotMuxed.Add(1)
			return
		}
		l.handleRTCP(rc, now, src, b)
		return
	}
	if len(b) < 12 || b[0]>>6 != 2 {
		l.cnt.garbage.Add(1)
		return
	}
	moved := rp.srcSet && src != rp.src
	if moved && l.offer.crypto == nil {
		// Plain RTP: nothing proves that a packet from elsewhere comes
		// from the peer, so the latch stays (logDrops says so).
		l.dropForeign(src)
		return
	}
	if !authentic(l.p.WriteRTP(b)) {
		// Dropped and counted by the mixer (malformed, payload type,
		// SRTP), from the latch or from elsewhere: each datagram is
		// counted once, under its one reason.
		return
	}
	if moved {
		// SRTP from a new address that authenticated, and was no replay
		// (the replay window refuses a genuine packet sent again by
		// someone else): the peer itself has moved, e.g. restarted on
		// another port or behind a NAT that rebound.
		l.moveLatch(rp, src)
	} else if !rp.srcSet {
		rp.src, rp.srcSet = src, true
		a := src
		l.latched.Store(&a)
		l.s.log.Debug("leg latched", "conference", l.room.name, "participant", l.id, "src", src.String())
		l.prove(src, true)
	}
	l.lastRecv.Store(int64(now))
}

// prove enables sending once an authentic packet (RTP, or RTCP that passed
// its checks) has arrived from src: symmetric RTP, so that an offer
// naming somebody else's address makes the bridge send nothing there.
//
// For an offer with an address, media then goes to the offered address
// and port, provided src is on the offered host: the port may differ,
// because senders like ffmpeg send from another port than they receive on.
// A packet from another host (a NAT, or someone else) latches the inbound
// side but sends nothing; peers behind NAT offer c=0.0.0.0 (comedia) and
// are answered where they send from. onRTPPort says src sent to the RTP
// socket, whose source is then also where RTP goes for comedia.
func (l *leg) prove(src netip.AddrPort, onRTPPort bool) {
	if l.out.proven.Load() {
		return
	}
	o := l.offer
	if !o.rtpDst.Addr().IsUnspecified() {
		if src.Addr() != o.rtpDst.Addr() && src.Addr() != o.rtcpDst.Addr() {
			return
		}
		if l.out.proven.CompareAndSwap(false, true) {
			d, rd := o.rtpDst, o.rtcpDst
			l.out.rtcpDst.Store(&rd)
			l.out.dst.Store(&d)
			l.s.log.Debug("leg sending", "conference", l.room.name, "participant", l.id, "dst", d.String(), "proof_from", src.String())
		}
		return
	}
	// Comedia: answer where the peer sends from.
	if !onRTPPort { // RTCP on its own socket names only where RTCP goes
		a := src
		l.out.rtcpDst.CompareAndSwap(nil, &a)
		return
	}
	if l.out.proven.CompareAndSwap(false, true) {
		d := src
		rd := d
		if !o.rtcpMux {
			rd = netip.AddrPortFrom(src.Addr(), src.Port()+1)
		}
		l.out.rtcpDst.CompareAndSwap(nil, &rd)
		l.out.dst.Store(&d)
		l.s.log.Debug("leg sending", "conference", l.room.name, "participant", l.id, "dst", d.String(), "comedia", true)
	}
}

// authentic reports whether WriteRTP's result means the packet came from
// the real peer: accepted, or refused only by the jitter buffer (late,
// duplicate...) after it parsed and authenticated.
func authentic(err error) bool {
	switch err {
	case nil, jitter.ErrLate, jitter.ErrDuplicate, jitter.ErrFull, jitter.ErrTooLarge:
		return true
	}
	return false
}

// WriteRTP is the mixer.Sink: it sends one outbound packet from the tick
// goroutine. UDP sends do not block for long on a local socket; an error
// is counted by the mixer. Before the peer has proven its address nothing
// is sent (counted as unsent).
func (l *leg) WriteRTP(pkt []byte) error {
	dst := l.out.dst.Load()
	if dst == nil {
		l.cnt.unsent.Add(1)
		return nil
	}
	if _, err := l.rtp.WriteToUDPAddrPort(pkt, *dst); err != nil {
		return err
	}
	l.out.packets.Add(1)
	l.out.bytes.Add(uint64(len(pkt)))
	return nil
}

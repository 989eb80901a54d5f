package bridge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
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
// read them and hand packets to the mixer, the sink the mixer sends through,
// and its RTCP state.
type leg struct {
	s     *Server
	room  *room
	id    string
	p     *mixer.Participant // set once after Join, before start
	offer *offer

	rtp, rtcp *net.UDPConn // rtcp is nil under rtcp-mux

	// dst and rtcpDst are where media and reports go; nil until the source
	// latches for a comedia (c=0.0.0.0) offer.
	dst, rtcpDst atomic.Pointer[netip.AddrPort]
	// latched and rtcpLatched are the accepted source addresses, for stats.
	// The reader goroutines keep their own copies for the per-packet check.
	latched, rtcpLatched atomic.Pointer[netip.AddrPort]

	lastRecv   atomic.Int64 // mixer.Monotonic of the last authentic packet
	lastReport atomic.Int64
	closing    atomic.Bool
	closeOnce  sync.Once

	// Counted here rather than in the mixer because these packets never
	// reach it.
	garbage, foreign, unsent                    atomic.Uint64
	rtcpSR, rtcpRR, rtcpBye, rtcpOther, rtcpBad atomic.Uint64
	rtcpSent                                    atomic.Uint64
	outPackets, outOctets                       atomic.Uint64
	outTS                                       atomic.Uint32
	outTSAt                                     atomic.Int64
	outOverhead                                 int
	lsr                                         atomic.Uint32 // middle 32 bits of the last SR's NTP time
	lsrAt                                       atomic.Int64  // when it arrived (mixer.Monotonic)
	clockRate                                   int

	// Inbound sequence accounting (RFC 3550 A.3) for receiver reports:
	// written by the RTP reader, read by the reporter.
	inMu                    sync.Mutex
	inSSRC                  uint32
	haveSeq                 bool
	baseSeq, maxSeq, cycles uint32
	received                uint64
	// what the last receiver report covered, for its fraction lost
	priorExpected, priorReceived uint64

	// rtcpMu serialises outbound reports (the SRTCP protector and buffer).
	rtcpMu   sync.Mutex
	rtcpProt *srtp.Protector
	rtcpBuf  []byte

	// The gains last set through the API (the mixer does not report them).
	gainMu          sync.Mutex
	gainIn, gainOut float64

	// rtcpUnprot belongs to whichever goroutine reads RTCP (the RTCP
	// socket's, or the RTP socket's under rtcp-mux).
	rtcpUnprot *srtp.Unprotector
}

// openLeg binds the participant's sockets. out and in are the SRTP keys of
// the two directions (nil for plain RTP); the leg keeps its own SRTCP
// contexts, since the mixer's SRTP contexts belong to the tick and the
// inbound reader.
func (s *Server) openLeg(r *room, id string, o *offer, out, in *srtp.Keys) (*leg, error) {
	l := &leg{s: s, room: r, id: id, offer: o, clockRate: o.format.ClockRate}
	if !o.rtpDst.Addr().IsUnspecified() {
		d, rd := o.rtpDst, o.rtcpDst
		l.dst.Store(&d)
		l.rtcpDst.Store(&rd)
	}
	if out != nil {
		p, err := srtp.NewProtector(*out)
		if err != nil {
			return nil, err
		}
		u, err := srtp.NewUnprotector(*in)
		if err != nil {
			return nil, err
		}
		l.rtcpProt, l.rtcpUnprot = p, u
		l.outOverhead = p.RTPOverhead()
	}
	var err error
	l.rtp, l.rtcp, err = s.bindPair(o.rtcpMux)
	if err != nil {
		return nil, err
	}
	// Room for a burst (a stall of the reader, a flood) before the kernel
	// drops datagrams uncounted; the kernel may cap it (net.core.rmem_max).
	_ = l.rtp.SetReadBuffer(socketBuffer)
	now := int64(mixer.Monotonic())
	l.lastRecv.Store(now)
	l.lastReport.Store(now)
	return l, nil
}

// bindPair binds an RTP socket and, unless mux, an RTCP socket on the next
// port, within the configured range or anywhere.
func (s *Server) bindPair(mux bool) (*net.UDPConn, *net.UDPConn, error) {
	ip := s.mediaIP
	try := func(port int) (*net.UDPConn, *net.UDPConn, bool) {
		a, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
		if err != nil {
			return nil, nil, false
		}
		if mux {
			return a, nil, true
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p >= 65535 || (s.cfg.PortMax != 0 && p+1 > s.cfg.PortMax) {
			_ = a.Close()
			return nil, nil, false
		}
		b, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p+1))))
		if err != nil {
			_ = a.Close()
			return nil, nil, false
		}
		return a, b, true
	}
	if s.cfg.PortMin == 0 {
		for range 64 {
			if a, b, ok := try(0); ok {
				return a, b, nil
			}
		}
		return nil, nil, errNoPorts
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
	return nil, nil, fmt.Errorf("%w %d-%d", errNoPorts, s.cfg.PortMin, s.cfg.PortMax)
}

func (l *leg) rtpPort() int { return l.rtp.LocalAddr().(*net.UDPAddr).Port }

func (l *leg) rtcpPort() int {
	if l.rtcp == nil {
		return l.rtpPort()
	}
	return l.rtcp.LocalAddr().(*net.UDPAddr).Port
}

// start runs the reader goroutines.
func (l *leg) start() {
	l.s.wg.Add(1)
	go func() {
		defer l.s.wg.Done()
		l.readLoop(l.rtp, false)
	}()
	if l.rtcp != nil {
		l.s.wg.Add(1)
		go func() {
			defer l.s.wg.Done()
			l.readLoop(l.rtcp, true)
		}()
	}
}

func (l *leg) closeSockets() {
	l.closeOnce.Do(func() {
		_ = l.rtp.Close()
		if l.rtcp != nil {
			_ = l.rtcp.Close()
		}
	})
}

// readLoop reads batches of datagrams from c until it is closed. It owns
// the participant's inbound side (the mixer's jitter buffer producer).
func (l *leg) readLoop(c *net.UDPConn, rtcpOnly bool) {
	pc := ipv4.NewPacketConn(c)
	msgs := make([]ipv4.Message, readBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxDatagram)}
	}
	var rd reader
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
			if rtcpOnly {
				l.handleRTCP(&rd, now, src, b)
			} else {
				l.handleRTP(&rd, now, src, b)
			}
		}
	}
}

// reader is a reader goroutine's latch state, kept off the shared struct
// so the per-packet check touches no atomics.
type reader struct {
	src, rtcpSrc       netip.AddrPort
	srcSet, rtcpSrcSet bool
}

// handleRTP takes one datagram from the RTP socket.
func (l *leg) handleRTP(rd *reader, now time.Duration, src netip.AddrPort, b []byte) {
	if len(b) < 12 || b[0]>>6 != 2 {
		l.garbage.Add(1)
		return
	}
	if b[1] >= 192 && b[1] <= 223 { // RTCP packet types 192..223 under rtcp-mux (RFC 5761 §4)
		l.handleRTCP(rd, now, src, b)
		return
	}
	if rd.srcSet && src != rd.src {
		l.foreign.Add(1)
		return
	}
	seq := binary.BigEndian.Uint16(b[2:])
	ssrc := binary.BigEndian.Uint32(b[8:])
	if !authentic(l.p.WriteRTP(b)) {
		return // dropped and counted by the mixer (malformed, payload type, SRTP)
	}
	if !rd.srcSet {
		rd.src, rd.srcSet = src, true
		a := src
		l.latched.Store(&a)
		if l.dst.Load() == nil { // comedia: answer where the peer sends from
			d := src
			l.dst.Store(&d)
			if l.offer.rtcpMux {
				l.rtcpDst.Store(&d)
			} else {
				rd := netip.AddrPortFrom(src.Addr(), src.Port()+1)
				l.rtcpDst.Store(&rd)
			}
		}
		l.s.log.Debug("leg latched", "room", l.room.name, "id", l.id, "src", src.String())
	}
	l.lastRecv.Store(int64(now))
	l.noteSeq(ssrc, seq)
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

// noteSeq keeps RFC 3550 A.1's extended highest sequence number.
func (l *leg) noteSeq(ssrc uint32, seq uint16) {
	l.inMu.Lock()
	defer l.inMu.Unlock()
	if !l.haveSeq || ssrc != l.inSSRC {
		l.inSSRC, l.haveSeq = ssrc, true
		l.baseSeq, l.maxSeq, l.cycles, l.received = uint32(seq), uint32(seq), 0, 0
		l.priorExpected, l.priorReceived = 0, 0
	}
	l.received++
	s := uint32(seq)
	if d := uint16(seq - uint16(l.maxSeq)); d != 0 && d < 0x8000 {
		if s < l.maxSeq {
			l.cycles += 1 << 16
		}
		l.maxSeq = s
	}
}

// WriteRTP is the mixer.Sink: it sends one outbound packet from the tick
// goroutine. UDP sends do not block for long on a local socket; an error
// is counted by the mixer.
func (l *leg) WriteRTP(pkt []byte) error {
	dst := l.dst.Load()
	if dst == nil {
		l.unsent.Add(1)
		return nil
	}
	if len(pkt) >= 12 {
		l.outTS.Store(binary.BigEndian.Uint32(pkt[4:]))
		l.outTSAt.Store(int64(mixer.Monotonic()))
		l.outPackets.Add(1)
		l.outOctets.Add(uint64(max(0, len(pkt)-rtpHeaderLen(pkt)-l.outOverhead)))
	}
	_, err := l.rtp.WriteToUDPAddrPort(pkt, *dst)
	return err
}

// rtpHeaderLen is the header length of a well-formed RTP packet (the mixer
// wrote it): fixed part, CSRCs and header extension.
func rtpHeaderLen(pkt []byte) int {
	n := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 && len(pkt) >= n+4 {
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	return min(n, len(pkt))
}

package bridge

import (
	"net/netip"
	"time"

	"github.com/rtpmix/rtpmix/mixer"
)

// The mixer does the leg's RTCP (package rtcpsession underneath): it
// unprotects SRTCP with the leg's inbound keys, checks and applies the
// peer's reports, decides whether a BYE names the peer's own stream (the
// SSRC of its authenticated RTP, or that of its first report: a listener
// sends no RTP), and sends the peer sender reports, an SDES CNAME and a
// BYE when it leaves, SRTCP when keyed, through writeRTCP. What the bridge
// adds is the transport's part: where RTCP may come from, and where ours
// goes.

// handleRTCP takes one (S)RTCP datagram for the leg; rc is the leg's RTCP
// latch and the caller its one owner. The datagram must come from where
// the peer is (rtcpSourceOK) before the mixer sees it; the mixer then
// authenticates it (SRTCP) and parses it. Its first accepted RTCP latches
// RTCP's address and proves the peer's (prove), and a BYE for the peer's
// own stream makes the participant leave. Whatever fails a check is
// dropped and counted: here before the mixer (garbage, foreign), in
// rtcpBad and the mixer's RTCP refusal counters after.
func (l *leg) handleRTCP(rc *rtcpIn, now time.Duration, src netip.AddrPort, b []byte) {
	if len(b) < 8 || b[0]>>6 != 2 {
		l.cnt.garbage.Add(1)
		return
	}
	if !l.rtcpSourceOK(rc, src) {
		l.cnt.foreign.Add(1)
		return
	}
	if err := l.p.WriteRTCPAt(now, b); err != nil {
		if err != mixer.ErrClosed { // closed: the leg is leaving, its sockets about to close
			l.cnt.rtcpBad.Add(1) // and counted by reason in the mixer's RTCPStats.Refused
		}
		return
	}
	if !rc.srcSet {
		rc.src, rc.srcSet = src, true
		a := src
		l.rtcpLatched.Store(&a)
		l.prove(src, l.rtcp == nil)
	}
	l.lastRecv.Store(int64(now))
	if l.p.ByeReceived() {
		// removeLeg does not wait for this goroutine, so it may run here.
		l.s.removeLeg(l, "rtcp bye")
	}
}

// rtcpSourceOK is the source check of inbound RTCP, before any crypto:
//   - once RTCP has latched, only that address;
//   - under rtcp-mux, once RTP has latched, only the RTP latch (RTP and
//     RTCP share the 5-tuple);
//   - for SRTP legs otherwise any address: SRTCP authentication proves the
//     sender (and works behind NATs, whose RTCP port is unpredictable);
//   - for plain legs otherwise the RTP latch's host with the RTCP port
//     (the latch's port + 1 or the offered one), or before any RTP the
//     offered host. A comedia offer (c=0.0.0.0) names no host: its first
//     RTCP latches, as its first RTP does (the risk of plain RTP).
func (l *leg) rtcpSourceOK(rc *rtcpIn, src netip.AddrPort) bool {
	if rc.srcSet {
		return src == rc.src
	}
	o := l.offer
	lat := l.latched.Load()
	switch {
	case lat != nil && o.rtcpMux:
		return src == *lat
	case o.crypto != nil:
		return true
	case lat != nil:
		return src.Addr() == lat.Addr() && (src.Port() == lat.Port()+1 || src.Port() == o.rtcpDst.Port())
	case o.rtpDst.Addr().IsUnspecified():
		return true
	}
	return src.Addr() == o.rtpDst.Addr() || src.Addr() == o.rtcpDst.Addr()
}

// writeRTCP is the participant's RTCP sink (mixer.RTCPConfig.Sink): the
// mixer's reports and BYE, from the tick goroutine, to where the peer
// takes RTCP (its RTCP port, or its RTP port under rtcp-mux), from the
// leg's RTCP socket (or its RTP socket under rtcp-mux). Before the peer
// has proven its address nothing is sent.
func (l *leg) writeRTCP(pkt []byte) error {
	dst := l.out.rtcpDst.Load()
	if dst == nil {
		return nil
	}
	c := l.rtcp
	if c == nil {
		c = l.rtp
	}
	if _, err := c.WriteToUDPAddrPort(pkt, *dst); err != nil {
		return err
	}
	l.cnt.rtcpSent.Add(1)
	return nil
}

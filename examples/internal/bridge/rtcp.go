package bridge

import (
	"net/netip"
	"time"

	"github.com/pion/rtcp"

	"github.com/rtpmix/rtpmix/mixer"
)

// handleRTCP takes one (S)RTCP datagram for the leg; rc is the leg's RTCP
// state and the caller its one owner. The datagram must come from where
// the peer is (rtcpSourceOK), authenticate (SRTCP) and parse; then its
// sender and receiver reports are counted, its first report tells a
// listen-only peer's SSRC, it proves the peer's address (prove), and a BYE
// that names an SSRC the peer has proven its own makes the participant
// leave. Whatever fails a check is dropped and counted.
func (l *leg) handleRTCP(rc *rtcpIn, now time.Duration, src netip.AddrPort, b []byte) {
	if len(b) < 8 || b[0]>>6 != 2 {
		l.cnt.garbage.Add(1)
		return
	}
	if !l.rtcpSourceOK(rc, src) {
		l.cnt.foreign.Add(1)
		return
	}
	pkt := b
	if u := rc.rekeyed.Swap(nil); u != nil {
		rc.unprot = u
	}
	if rc.unprot != nil {
		var err error
		if pkt, err = rc.unprot.UnprotectRTCP(b[:0], b); err != nil {
			l.cnt.rtcpBad.Add(1)
			return
		}
	}
	// RTCP arrives every few seconds per leg: parsing with pion's
	// allocating Unmarshal costs nothing that matters.
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		l.cnt.rtcpBad.Add(1)
		return
	}
	l.cnt.rtcpAccepted.Add(1)
	if !rc.srcSet {
		rc.src, rc.srcSet = src, true
		a := src
		l.rtcpLatched.Store(&a)
		l.prove(src, l.rtcp == nil)
	}
	l.lastRecv.Store(int64(now))
	bye := false
	for i, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			l.cnt.rtcpSR.Add(1)
			l.lsr.Store(uint32(p.NTPTime >> 16))
			l.lsrAt.Store(int64(now))
			rc.learnSSRC(i, p.SSRC)
		case *rtcp.ReceiverReport:
			l.cnt.rtcpRR.Add(1)
			rc.learnSSRC(i, p.SSRC)
		case *rtcp.Goodbye:
			l.cnt.rtcpBye.Add(1)
			if l.byeIsOurs(rc, p.Sources) {
				bye = true
			} else {
				l.cnt.byeIgnored.Add(1)
			}
		default:
			l.cnt.rtcpOther.Add(1)
		}
	}
	if bye {
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
	case rc.unprot != nil:
		return true
	case lat != nil:
		return src.Addr() == lat.Addr() && (src.Port() == lat.Port()+1 || src.Port() == o.rtcpDst.Port())
	case o.rtpDst.Addr().IsUnspecified():
		return true
	}
	return src.Addr() == o.rtpDst.Addr() || src.Addr() == o.rtcpDst.Addr()
}

// learnSSRC keeps the sender SSRC of the first report of the first
// accepted compound packet (i is its index there): the identity a
// listen-only peer, which sends no RTP, says goodbye with.
func (rc *rtcpIn) learnSSRC(i int, ssrc uint32) {
	if i == 0 && !rc.haveSSRC {
		rc.ssrc, rc.haveSSRC = ssrc, true
	}
}

// byeIsOurs reports whether a BYE names the peer's own stream: the SSRC of
// its authenticated RTP, or that of its first accepted report. A BYE that
// names none (or no SSRC at all) removes nobody.
func (l *leg) byeIsOurs(rc *rtcpIn, sources []uint32) bool {
	rtpSSRC, haveRTP := l.inboundSSRC()
	for _, s := range sources {
		if (haveRTP && s == rtpSSRC) || (rc.haveSSRC && s == rc.ssrc) {
			return true
		}
	}
	return false
}

// ntpTime converts a wall clock time to the 64-bit NTP format of sender
// reports (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// report builds the compound RTCP packet the bridge sends to the
// participant: a sender report when the bridge has sent it media (else a
// receiver report), with a reception report about its inbound stream when
// there is one, and an SDES CNAME (RFC 3550 §6.1 requires one in every
// compound packet).
func (l *leg) report(now time.Duration, wall time.Time, extra rtcp.Packet) []rtcp.Packet {
	ssrc := l.p.SSRC()
	var blocks []rtcp.ReceptionReport
	q := &l.seq
	q.mu.Lock()
	if q.have {
		extMax := q.cycles + q.maxSeq
		expected := uint64(extMax-q.baseSeq) + 1
		lost := int64(expected) - int64(q.received)
		lost = max(min(lost, 0x7fffff), -0x800000) // 24-bit signed field
		expInt := expected - q.priorExpected
		recvInt := q.received - q.priorReceived
		q.priorExpected, q.priorReceived = expected, q.received
		var fraction uint8
		if expInt > 0 && recvInt < expInt {
			fraction = uint8((expInt - recvInt) << 8 / expInt)
		}
		var dlsr uint32
		lsr := l.lsr.Load()
		if lsr != 0 {
			dlsr = uint32((now - time.Duration(l.lsrAt.Load())) * 65536 / time.Second)
		}
		blocks = append(blocks, rtcp.ReceptionReport{
			SSRC: q.ssrc, FractionLost: fraction, TotalLost: uint32(lost) & 0xffffff,
			LastSequenceNumber: extMax, Jitter: l.p.Stats().Jitter.Jitter,
			LastSenderReport: lsr, Delay: dlsr,
		})
	}
	q.mu.Unlock()

	var first rtcp.Packet
	if n := l.out.packets.Load(); n > 0 {
		since := now - time.Duration(l.out.tsAt.Load())
		first = &rtcp.SenderReport{
			SSRC: ssrc, NTPTime: ntpTime(wall),
			RTPTime:     l.out.ts.Load() + uint32(int64(since)*int64(l.clockRate.Load())/int64(time.Second)),
			PacketCount: uint32(n), OctetCount: uint32(l.out.octets.Load()),
			Reports: blocks,
		}
	} else {
		first = &rtcp.ReceiverReport{SSRC: ssrc, Reports: blocks}
	}
	pkts := []rtcp.Packet{first, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: ssrc,
		Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "rtpmix-bridge"}},
	}}}}
	if extra != nil {
		pkts = append(pkts, extra)
	}
	return pkts
}

// sendReport sends the periodic report (housekeeping goroutine).
func (l *leg) sendReport(now time.Duration) {
	l.sendRTCP(l.report(now, time.Now(), nil))
}

// sendBye ends the bridge's stream to the participant (RFC 3550 §6.6).
func (l *leg) sendBye() {
	ssrc := l.p.SSRC()
	l.sendRTCP(l.report(mixer.Monotonic(), time.Now(), &rtcp.Goodbye{Sources: []uint32{ssrc}}))
}

func (l *leg) sendRTCP(pkts []rtcp.Packet) {
	dst := l.out.rtcpDst.Load()
	if dst == nil { // the peer has not proven its address yet
		return
	}
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		l.s.log.Warn("rtcp marshal", "room", l.room.name, "id", l.id, "err", err)
		return
	}
	l.rtcpMu.Lock()
	defer l.rtcpMu.Unlock()
	if l.rtcpProt != nil {
		l.rtcpBuf, err = l.rtcpProt.ProtectRTCP(l.rtcpBuf[:0], raw)
		if err != nil {
			return
		}
		raw = l.rtcpBuf
	}
	c := l.rtcp
	if c == nil {
		c = l.rtp
	}
	if _, err := c.WriteToUDPAddrPort(raw, *dst); err == nil {
		l.cnt.rtcpSent.Add(1)
	}
}

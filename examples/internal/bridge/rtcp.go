package bridge

import (
	"net/netip"
	"time"

	"github.com/pion/rtcp"

	"github.com/rtpmix/rtpmix/mixer"
)

// handleRTCP takes one (S)RTCP datagram: it is authenticated (SRTCP),
// parsed, and its sender reports, receiver reports and BYEs counted. A BYE
// for the participant's stream makes it leave.
func (l *leg) handleRTCP(rd *reader, now time.Duration, src netip.AddrPort, b []byte) {
	if len(b) < 8 || b[0]>>6 != 2 {
		l.garbage.Add(1)
		return
	}
	if rd.rtcpSrcSet && src != rd.rtcpSrc {
		l.foreign.Add(1)
		return
	}
	pkt := b
	if l.rtcpUnprot != nil {
		var err error
		if pkt, err = l.rtcpUnprot.UnprotectRTCP(b[:0], b); err != nil {
			l.rtcpBad.Add(1)
			return
		}
	}
	// RTCP arrives every few seconds per leg: parsing with pion's
	// allocating Unmarshal costs nothing that matters.
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		l.rtcpBad.Add(1)
		return
	}
	if !rd.rtcpSrcSet {
		rd.rtcpSrc, rd.rtcpSrcSet = src, true
		a := src
		l.rtcpLatched.Store(&a)
	}
	l.lastRecv.Store(int64(now))
	bye := false
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			l.rtcpSR.Add(1)
			l.lsr.Store(uint32(p.NTPTime >> 16))
			l.lsrAt.Store(int64(now))
		case *rtcp.ReceiverReport:
			l.rtcpRR.Add(1)
		case *rtcp.Goodbye:
			l.rtcpBye.Add(1)
			l.inMu.Lock()
			ssrc, have := l.inSSRC, l.haveSeq
			l.inMu.Unlock()
			for _, s := range p.Sources {
				if !have || s == ssrc {
					bye = true
				}
			}
			if len(p.Sources) == 0 {
				bye = true
			}
		default:
			l.rtcpOther.Add(1)
		}
	}
	if bye {
		// removeLeg does not wait for this goroutine, so it may run here.
		l.s.removeLeg(l, "rtcp bye")
	}
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
	l.inMu.Lock()
	if l.haveSeq {
		extMax := l.cycles + l.maxSeq
		expected := uint64(extMax-l.baseSeq) + 1
		lost := int64(expected) - int64(l.received)
		lost = max(min(lost, 0x7fffff), -0x800000) // 24-bit signed field
		expInt := expected - l.priorExpected
		recvInt := l.received - l.priorReceived
		l.priorExpected, l.priorReceived = expected, l.received
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
			SSRC: l.inSSRC, FractionLost: fraction, TotalLost: uint32(lost) & 0xffffff,
			LastSequenceNumber: extMax, Jitter: l.p.Stats().Jitter.Jitter,
			LastSenderReport: lsr, Delay: dlsr,
		})
	}
	l.inMu.Unlock()

	var first rtcp.Packet
	if n := l.outPackets.Load(); n > 0 {
		since := now - time.Duration(l.outTSAt.Load())
		first = &rtcp.SenderReport{
			SSRC: ssrc, NTPTime: ntpTime(wall),
			RTPTime:     l.outTS.Load() + uint32(int64(since)*int64(l.clockRate)/int64(time.Second)),
			PacketCount: uint32(n), OctetCount: uint32(l.outOctets.Load()),
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
	dst := l.rtcpDst.Load()
	if dst == nil {
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
		l.rtcpSent.Add(1)
	}
}

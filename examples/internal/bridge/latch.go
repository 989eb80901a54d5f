package bridge

import (
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"
)

// moveLatch moves the RTP latch of an SRTP leg to src, from which a packet
// has just authenticated (handleRTP), and with it where media goes: for a
// comedia offer (c=0.0.0.0) the peer is answered where it now sends from;
// an offer with an address keeps being sent to that address (it says
// where the peer receives), and a move to the offer's host proves it if
// nothing had yet. Runs on the RTP reader, which owns rp.
func (l *leg) moveLatch(rp *rtpIn, src netip.AddrPort) {
	from := rp.src
	rp.src = src
	a := src
	l.latched.Store(&a)
	l.cnt.latchMoves.Add(1)
	o := l.offer
	if o.rtpDst.Addr().IsUnspecified() && l.out.proven.Load() {
		d, rd := src, src
		if !o.rtcpMux {
			rd = netip.AddrPortFrom(src.Addr(), src.Port()+1)
		}
		l.out.rtcpDst.Store(&rd)
		l.out.dst.Store(&d)
	} else {
		l.prove(src, true)
	}
	sendTo := "nowhere yet (not proven)"
	if d := l.out.dst.Load(); d != nil {
		sendTo = d.String()
	}
	l.s.log.Info("latch moved: SRTP authenticated from a new address",
		"conference", l.room.name, "participant", l.id, "from", from.String(), "to", src.String(), "send_to", sendTo)
}

// dropForeign counts an RTP datagram from an address other than the latch
// of a plain leg, and keeps its source for the log.
func (l *leg) dropForeign(src netip.AddrPort) {
	l.cnt.foreign.Add(1)
	l.cnt.lastForeign.Store(packAddr(src))
}

// packAddr packs an IPv4 address and port into a uint64 (bit 48 marks it
// set) so that the reader can publish it with one atomic store, without
// allocating; the media sockets are IPv4.
func packAddr(a netip.AddrPort) uint64 {
	ip := a.Addr().Unmap().As4()
	return 1<<48 | uint64(ip[0])<<40 | uint64(ip[1])<<32 | uint64(ip[2])<<24 | uint64(ip[3])<<16 | uint64(a.Port())
}

func unpackAddr(v uint64) (netip.AddrPort, bool) {
	if v>>48 == 0 {
		return netip.AddrPort{}, false
	}
	ip := netip.AddrFrom4([4]byte{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16)})
	return netip.AddrPortFrom(ip, uint16(v)), true
}

// The drops the bridge counts itself (the mixer logs its own refusals):
// what logDrops reports, under the mixer's key names.
const (
	dropGarbage = iota
	dropForeign
	dropRTCPBad
	dropRTCPNotMuxed
	numDropKinds
)

var dropNames = [numDropKinds]string{
	dropGarbage: "garbage", dropForeign: "foreign", dropRTCPBad: "rtcp_bad", dropRTCPNotMuxed: "rtcp_not_muxed",
}

func (c *counters) drop(k int) *atomic.Uint64 {
	switch k {
	case dropGarbage:
		return &c.garbage
	case dropForeign:
		return &c.foreign
	case dropRTCPBad:
		return &c.rtcpBad
	}
	return &c.rtcpNotMuxed
}

// dropLog is what logDrops last reported of one drop counter.
type dropLog struct {
	last uint64
	next time.Duration
}

// logDrops reports the leg's drop counters that grew, each at most once
// per LogInterval, as the mixer does for its refusals: message "inbound
// packets refused", keys conference, participant, reason, count (since
// the last report) and total. Foreign drops say where the last one came
// from and, for plain RTP, that the latch stays. The housekeeping
// goroutine calls it, about once a second; the readers only count.
func (l *leg) logDrops(now time.Duration) {
	lg := l.s.log
	ctx := context.Background()
	if !lg.Enabled(ctx, slog.LevelWarn) {
		return
	}
	for k := range numDropKinds {
		d := &l.drops[k]
		total := l.cnt.drop(k).Load()
		if total <= d.last || now < d.next {
			continue
		}
		n := total - d.last
		d.last, d.next = total, now+l.s.cfg.LogInterval
		attrs := []slog.Attr{slog.String("conference", l.room.name), slog.String("participant", l.id),
			slog.String("reason", dropNames[k]), slog.Uint64("count", n), slog.Uint64("total", total)}
		if k == dropForeign {
			attrs = append(attrs, l.foreignAttrs()...)
		}
		lg.LogAttrs(ctx, slog.LevelWarn, "inbound packets refused", attrs...)
	}
}

// foreignAttrs describe the leg's foreign drops: the last RTP source, the
// latch, and what a moved sender can do.
func (l *leg) foreignAttrs() []slog.Attr {
	var a []slog.Attr
	if src, ok := unpackAddr(l.cnt.lastForeign.Load()); ok {
		a = append(a, slog.String("src", src.String()))
	}
	if lat := l.latched.Load(); lat != nil {
		a = append(a, slog.String("latched", lat.String()))
	}
	// SRTP legs hand RTP from anywhere to the mixer (which counts what
	// fails under its SRTP reasons): their foreign drops are RTCP's.
	detail := "RTCP from an address the participant has not proven"
	if l.offer.crypto == nil {
		detail = "from an address other than the latched one: plain RTP cannot prove a sender, so the latch stays; a sender that moved must join again"
	}
	return append(a, slog.String("detail", detail))
}

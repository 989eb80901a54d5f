package mixer

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// RTCPConfig configures a participant's RTCP (RFC 3550 §6). The zero value
// sends a report about every 5 s (an SR about the stream the mixer sends
// the participant, with a report block about the stream it sends the
// mixer, and an SDES CNAME), a BYE when it leaves, through its Sink:
// RTCP multiplexed with RTP on one port (RFC 5761), as WebRTC and most
// SIP peers that offer a=rtcp-mux expect. Inbound RTCP is always taken
// (Participant.WriteRTCP, or WriteRTP on a muxed port).
type RTCPConfig struct {
	// Off sends no RTCP at all: no reports, no BYE.
	Off bool
	// Manual sends no periodic reports: the application calls
	// Participant.SendReport when it wants one. The BYE is still sent.
	Manual bool
	// MinInterval is RFC 3550's minimum report interval (default 5 s);
	// reports are randomised around it (0.5 to 1.5 times, §6.3), the
	// first one around half of it.
	MinInterval time.Duration
	// ReducedMinimum and Bandwidth (bit/s, e.g. from SDP b=AS): see
	// rtcpsession.IntervalConfig. Without Bandwidth the interval is
	// MinInterval, as it is for any two-party audio session.
	ReducedMinimum bool
	Bandwidth      int
	// CNAME is the canonical name in our reports; default the
	// conference's, a random RFC 7022 name made when it was created, so
	// that every stream the mixer sends in one conference shares it.
	CNAME string
	// Sink, when set, receives the participant's RTCP instead of Sink: a
	// transport with a separate RTCP port (no rtcp-mux). Its contract is
	// Sink's: in order with the participant's RTP, from the goroutine that
	// delivers it, the packet valid during the call.
	Sink Sink
	// ReducedSize accepts reduced-size RTCP from the participant (RFC
	// 5506, a=rtcp-rsize): packets that do not start with an SR or RR.
	ReducedSize bool
}

// RTCPStats is a participant's RTCP: what it sent us, what we sent it, and
// what its reports say.
type RTCPStats struct {
	// PacketsIn and BytesIn count the compound packets accepted (through
	// WriteRTCP, or WriteRTP on a muxed port); SR, RR, SDES, Bye and Other
	// count the packets inside them by type (Other: APP, XR, feedback,
	// unknown), and ByeIgnored the BYEs that named none of the
	// participant's own sources. Refused counts the others, by reason.
	PacketsIn, BytesIn       uint64
	SR, RR, SDES, Bye, Other uint64
	ByeIgnored               uint64
	Refused                  RTCPRefusedStats
	// PacketsOut and BytesOut count the reports handed to the sink (BYE
	// included); the failures are counted apart.
	PacketsOut, BytesOut      uint64
	ProtectErrors, SinkErrors uint64
	// Remote is what the participant last reported about the stream we
	// send it: loss, jitter, round-trip time.
	Remote rtcpsession.RemoteReport
	// RemoteSender is its last sender report.
	RemoteSender rtcpsession.RemoteSender
	// CNAME is its canonical name, from its SDES.
	CNAME string
	// ByeReceived: it sent a BYE for its own stream (see
	// Participant.ByeReceived), with ByeReason.
	ByeReceived bool
	ByeReason   string
}

// RTCPRefusedStats counts the inbound RTCP refused, by reason; the comment
// on each says which error WriteRTCP returned for it.
type RTCPRefusedStats struct {
	Packets, Bytes uint64
	// Short: ErrMalformed, shorter than an RTCP header, or than SRTCP's
	// header, index and tag. Version: ErrMalformed, version not 2.
	Short, Version uint64
	// NotCompound: ErrMalformed, the first packet is not an SR or RR and
	// RTCPConfig.ReducedSize is off. Invalid: ErrMalformed, the compound
	// packet fails RFC 3550 A.2's other checks (lengths, padding, report
	// blocks, SDES items, BYE reason).
	NotCompound, Invalid uint64
	// SRTCPAuth: srtp.ErrAuth. SRTCPReplay: srtp.ErrReplay.
	// SRTCPMalformed: ErrMalformed, found malformed by SRTCP.
	SRTCPAuth, SRTCPReplay, SRTCPMalformed uint64
}

// rtcpRefusal is why writeRTCP dropped a packet; like refusal, each has a
// counter and one sentinel error.
type rtcpRefusal uint8

const (
	rtcpAccepted rtcpRefusal = iota
	rtcpShort
	rtcpVersion
	rtcpNotCompound
	rtcpInvalid
	rtcpSRTCPAuth
	rtcpSRTCPReplay
	rtcpSRTCPMalformed
	numRTCPRefusals
)

// rtcpRefusalErr is the error WriteRTCP returns for each refusal.
var rtcpRefusalErr = [numRTCPRefusals]error{
	rtcpShort:          ErrMalformed,
	rtcpVersion:        ErrMalformed,
	rtcpNotCompound:    ErrMalformed,
	rtcpInvalid:        ErrMalformed,
	rtcpSRTCPAuth:      srtp.ErrAuth,
	rtcpSRTCPReplay:    srtp.ErrReplay,
	rtcpSRTCPMalformed: ErrMalformed,
}

// participantSRTPSSRCs bounds the SSRCs a participant's SRTP Unprotector
// keeps state for, in SRTP and SRTCP each (issue 10: an authenticated
// peer cycling SSRCs must not grow memory). The mixer plays one stream per
// participant; a peer legitimately uses that stream's SSRC, a different
// SSRC for its RTCP when it only receives (ffmpeg reports as its sender's
// SSRC + 1), and for a moment the SSRC of the stream a restart replaced
// (packets still in flight). Four leaves one spare and costs about 2 KiB,
// where the package default of 64 costs some 35 KiB per participant.
const participantSRTPSSRCs = 4

// rtcpIn is a participant's inbound RTCP, part of inbound and owned like
// it: written under inbound.mu (WriteRTCP, and the RTP accounting of
// WriteRTP), read by the tick under the same lock taken with TryLock (so
// the tick never waits), and published for Stats under pubMu.
type rtcpIn struct {
	rx *rtcpsession.Receiver

	// bye: the participant sent a BYE for its own stream; byeEvent: the
	// tick has yet to emit the event for it.
	bye, byeEvent atomic.Bool

	refused      [numRTCPRefusals]atomic.Uint64
	refusedBytes atomic.Uint64

	clock rtcpsession.Clock

	// pub is what Stats reads: copied from rx after each accepted packet.
	pubMu sync.Mutex
	pub   rtcpPublished
}

type rtcpPublished struct {
	counts  rtcpsession.RTCPCounts
	remote  rtcpsession.RemoteReport
	sender  rtcpsession.RemoteSender
	cname   [255]byte
	cnameN  int
	reason  [255]byte
	reasonN int
	bye     bool
}

func (r *rtcpIn) init(cfg ParticipantConfig, localSSRC uint32, clock rtcpsession.Clock) error {
	var err error
	r.clock = clock
	r.rx, err = rtcpsession.NewReceiver(r.receiverConfig(&cfg, localSSRC))
	return err
}

// receiverConfig is the Receiver's configuration for the participant's
// cfg, whose outbound stream has localSSRC. ClockRate 0: the jitter
// buffer computes the interarrival jitter already; reports take it from
// there.
func (r *rtcpIn) receiverConfig(cfg *ParticipantConfig, localSSRC uint32) rtcpsession.ReceiverConfig {
	return rtcpsession.ReceiverConfig{LocalSSRC: localSSRC, LocalClockRate: cfg.Out.ClockRate, Clock: r.clock,
		ReducedSize: cfg.RTCP.ReducedSize}
}

// update applies an Update to the receiver (under inbound.mu, in
// inbound.apply): reports about the outbound stream are those about its
// SSRC now, its jitter counts at its clock now.
func (r *rtcpIn) update(next *ParticipantConfig) {
	// Only MaxSources could fail, and it never changes.
	_ = r.rx.Reconfigure(r.receiverConfig(next, next.SSRC))
}

// writeRTCP takes one inbound (S)RTCP compound packet; see
// Participant.WriteRTCPAt.
func (in *inbound) writeRTCP(now time.Duration, buf []byte) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	r := &in.rtcp
	if why := in.takeRTCP(now, buf); why != rtcpAccepted {
		inc(&r.refused[why])
		add(&r.refusedBytes, uint64(len(buf)))
		return rtcpRefusalErr[why]
	}
	return nil
}

// takeRTCP unprotects, checks and applies one packet, or says why not.
func (in *inbound) takeRTCP(now time.Duration, buf []byte) rtcpRefusal {
	if len(buf) < 8 { // a header and an SSRC: the least an SR or RR is
		return rtcpShort
	}
	if buf[0]>>6 != 2 {
		return rtcpVersion
	}
	pkt, why := in.unprotectRTCP(now, buf)
	if why != rtcpAccepted {
		return why
	}
	r := &in.rtcp
	sum, err := r.rx.ReceiveRTCP(pkt, now)
	switch err {
	case nil:
	case rtcpsession.ErrTooShort:
		return rtcpShort
	case rtcpsession.ErrVersion:
		return rtcpVersion
	case rtcpsession.ErrNotCompound:
		return rtcpNotCompound
	default:
		return rtcpInvalid
	}
	if sum.Bye && !r.bye.Load() {
		r.bye.Store(true)
		r.byeEvent.Store(true)
	}
	r.publish()
	return rtcpAccepted
}

// unprotectRTCP verifies and decrypts SRTCP with the participant's
// inbound keys, and while an Update's overlap runs with the keys it
// replaced too (as the RTP path does), or passes plain RTCP through.
func (in *inbound) unprotectRTCP(now time.Duration, buf []byte) ([]byte, rtcpRefusal) {
	cur, old := in.unprotect, (*srtp.Unprotector)(nil)
	if in.old.keys && now < in.old.keyUntil && len(buf) <= cap(in.old.scratch) {
		old = in.old.unprotect
	}
	switch {
	case old == nil && cur == nil:
		return buf, rtcpAccepted
	case old == nil:
		pkt, err := cur.UnprotectRTCP(buf[:0], buf)
		return pkt, srtcpRefusal(err)
	}
	// Both: the first attempt goes to the scratch buffer, so that a failed
	// one leaves the packet intact for the second (AES-GCM clears its
	// output on failure). Only an authentication failure under the new
	// keys tries the old: a replay or a malformed packet is that under
	// both.
	if cur == nil { // SRTP to plain: SRTCP in flight under the old keys, or plain RTCP
		if pkt, err := old.UnprotectRTCP(in.old.scratch[:0], buf); err == nil {
			return pkt, rtcpAccepted
		}
		return buf, rtcpAccepted
	}
	pkt, err := cur.UnprotectRTCP(in.old.scratch[:0], buf)
	if err == nil || !errors.Is(err, srtp.ErrAuth) {
		return pkt, srtcpRefusal(err)
	}
	pkt, err = old.UnprotectRTCP(buf[:0], buf)
	return pkt, srtcpRefusal(err)
}

// srtcpRefusal classifies an Unprotector's RTCP error (nil: accepted).
func srtcpRefusal(err error) rtcpRefusal {
	switch {
	case err == nil:
		return rtcpAccepted
	case errors.Is(err, srtp.ErrAuth):
		return rtcpSRTCPAuth
	case errors.Is(err, srtp.ErrReplay):
		return rtcpSRTCPReplay
	case errors.Is(err, srtp.ErrShortPacket):
		return rtcpShort
	}
	return rtcpSRTCPMalformed
}

// publish copies what Stats shows from the receiver (under inbound.mu).
func (r *rtcpIn) publish() {
	r.pubMu.Lock()
	p := &r.pub
	p.counts, p.remote, p.sender = r.rx.Counts(), r.rx.Remote(), r.rx.RemoteSender()
	p.cnameN = copy(p.cname[:], r.rx.CNAME())
	bye, reason := r.rx.Bye()
	p.bye = bye
	p.reasonN = copy(p.reason[:], reason)
	r.pubMu.Unlock()
}

// stats fills the inbound half of RTCPStats.
func (r *rtcpIn) stats(st *RTCPStats) {
	var n [numRTCPRefusals]uint64
	for i := range n {
		n[i] = r.refused[i].Load()
		st.Refused.Packets += n[i]
	}
	st.Refused.Bytes = r.refusedBytes.Load()
	st.Refused.Short, st.Refused.Version = n[rtcpShort], n[rtcpVersion]
	st.Refused.NotCompound, st.Refused.Invalid = n[rtcpNotCompound], n[rtcpInvalid]
	st.Refused.SRTCPAuth, st.Refused.SRTCPReplay, st.Refused.SRTCPMalformed = n[rtcpSRTCPAuth], n[rtcpSRTCPReplay], n[rtcpSRTCPMalformed]

	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	p := &r.pub
	c := p.counts
	st.PacketsIn, st.BytesIn = c.Packets, c.Bytes
	st.SR, st.RR, st.SDES, st.Bye, st.Other, st.ByeIgnored = c.SR, c.RR, c.SDES, c.BYE, c.Other, c.ByeIgnored
	st.Remote, st.RemoteSender = p.remote, p.sender
	st.CNAME = string(p.cname[:p.cnameN])
	st.ByeReceived, st.ByeReason = p.bye, string(p.reason[:p.reasonN])
}

// byeReason returns the reason of the participant's BYE (for the event).
func (r *rtcpIn) byeReason() string {
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	return string(r.pub.reason[:r.pub.reasonN])
}

// rtcpOut is a participant's outbound RTCP: the schedule, what goes into
// the reports, and the sink. Owned by the tick goroutine (and Join, before
// the participant is shared); requested is set by SendReport from any
// goroutine; the counters are read by Stats.
type rtcpOut struct {
	on, manual bool
	sched      rtcpsession.Scheduler
	cname      string
	sink       Sink
	protect    *srtp.Protector
	blocks     [1]rtcpsession.ReportBlock
	// peerPackets is the inbound packet count at the last report: whether
	// the participant sent since, for the interval's count of senders.
	peerPackets uint64
	reported    bool // a report went out (RFC 3550 §6.3.7: BYE only then, or after RTP)

	requested atomic.Bool

	// out counts the reports handed to the sink (by whoever delivers them:
	// delivery.go); protectErrors is the tick's.
	out           sinkCounters
	protectErrors atomic.Uint64
}

// checkRTCP refuses an RTCPConfig that cannot work (Join and Update).
func checkRTCP(cfg *ParticipantConfig) error {
	if n := len(cfg.RTCP.CNAME); n > 255 {
		return fmt.Errorf("%w: RTCP CNAME of %d bytes (at most 255)", ErrConfig, n)
	}
	if _, err := rtcpsession.NewScheduler(intervalConfig(cfg.RTCP)); err != nil {
		return fmt.Errorf("%w: RTCP: %w", ErrConfig, err)
	}
	return nil
}

func intervalConfig(rc RTCPConfig) rtcpsession.IntervalConfig {
	return rtcpsession.IntervalConfig{Min: rc.MinInterval, ReducedMinimum: rc.ReducedMinimum, Bandwidth: rc.Bandwidth}
}

// init sets the tick's half up for cfg (validated by checkRTCP).
func (o *rtcpOut) init(cfg ParticipantConfig, confCNAME string, protect *srtp.Protector) error {
	o.configure(&cfg, confCNAME, protect)
	var err error
	if o.sched, err = rtcpsession.NewScheduler(intervalConfig(cfg.RTCP)); err != nil {
		return fmt.Errorf("%w: RTCP: %w", ErrConfig, err)
	}
	return nil
}

// configure takes the sinks, the CNAME and the protector from cfg.
func (o *rtcpOut) configure(cfg *ParticipantConfig, confCNAME string, protect *srtp.Protector) {
	rc := cfg.RTCP
	o.sink = rc.Sink
	if o.sink == nil {
		o.sink = cfg.Sink
	}
	o.on = !rc.Off && o.sink != nil
	o.manual = rc.Manual
	o.cname = rc.CNAME
	if o.cname == "" {
		o.cname = confCNAME
	}
	o.protect = protect
}

// updateRTCP applies an Update to the tick's half of the participant's
// RTCP (in applyTick, after the outbound stream's part): sinks, CNAME and
// protector at once; a changed interval, or reports turned on or off,
// rearm the schedule from now. (A new SSRC is a new source: applyTick
// sends a BYE for the old one, and the new one's reports count afresh,
// outStream.restart.)
func (p *Participant) updateRTCP(old, next *ParticipantConfig, now time.Duration) {
	o := &p.rtcpOut
	wasOn, wasManual := o.on, o.manual
	o.configure(next, p.conf.cname, p.out.protect)
	if intervalConfig(next.RTCP) != intervalConfig(old.RTCP) {
		if s, err := rtcpsession.NewScheduler(intervalConfig(next.RTCP)); err == nil { // checked by Update
			o.sched = s
			wasOn = false // rearm
		}
	}
	if o.on != wasOn || o.manual != wasManual {
		p.startRTCP(now)
	}
}

// rtcpBufSize is the conference's report buffer: the largest report with
// one block, and room for SRTCP's index, tag and MKI.
const rtcpBufSize = 1024

// rtcpMembers is the participant's session for the interval: us and it;
// it counts as a sender if it sent RTP since the last report. (The
// average report size the interval also needs is taken from our reports
// only: the received ones are counted on the inbound side, and the
// interval depends on the size only with RTCPConfig.Bandwidth, when many
// members share little bandwidth, never for a two-party leg.)
func (p *Participant) rtcpMembers() (members, senders int, weSent bool) {
	weSent = p.out.tx.IsSender()
	if weSent {
		senders++
	}
	if p.in.packets.Load() != p.rtcpOut.peerPackets {
		senders++
	}
	return 2, senders, weSent
}

// never is the due time of a participant that sends no periodic reports.
const never = time.Duration(math.MaxInt64)

// startRTCP arms the participant's report schedule (in the tick, as it
// joins).
func (p *Participant) startRTCP(now time.Duration) {
	p.out.rtcpDue = never
	if o := &p.rtcpOut; o.on && !o.manual {
		m, s, we := p.rtcpMembers()
		o.sched.Start(now, m, s, we)
		p.out.rtcpDue = o.sched.Next()
		p.conf.rtcpDue = min(p.conf.rtcpDue, p.out.rtcpDue)
	}
}

// rtcpTick sends the reports due at now (in the tick, after the media).
// Until the earliest participant's report is due, and without a BYE
// event or a SendReport request pending (flagged per conference), it
// looks at no participant; then one comparison each on a line the tick
// has just written, and the schedule of those due.
func (c *Conference) rtcpTick(now time.Duration) {
	split := c.rtcpSplit() // this tick's check done by the split fan-out
	pending := c.rtcpPending.Load() && c.rtcpPending.Swap(false)
	if !pending && (split || now < c.rtcpDue) {
		return
	}
	next := never
	for _, p := range c.parts {
		if pending {
			c.rtcpRequests(p, now)
		}
		if now >= p.out.rtcpDue {
			c.rtcpReport(p, now)
		}
		next = min(next, p.out.rtcpDue)
	}
	c.rtcpDue = next
}

// rtcpReport sends p's periodic report if its schedule says it is due, and
// sets when to look again. p's report time has come (now ≥ rtcpDue).
func (c *Conference) rtcpReport(p *Participant, now time.Duration) {
	o := &p.rtcpOut
	m, s, we := p.rtcpMembers()
	if o.sched.Due(now, m, s, we) {
		p.sendReport(now, false) // on success, schedules the next
	}
	p.out.rtcpDue = o.sched.Next()
}

// rtcpRequests emits p's ByeReceived event and sends the report
// SendReport asked for, if any.
func (c *Conference) rtcpRequests(p *Participant, now time.Duration) {
	if p.in.rtcp.byeEvent.Load() && p.in.rtcp.byeEvent.Swap(false) {
		c.emit(Event{Type: ByeReceived, Participant: p.id, At: now, Detail: p.in.rtcp.byeReason()})
	}
	if o := &p.rtcpOut; o.requested.Load() && o.requested.Swap(false) && o.on && !p.sendReport(now, false) {
		o.requested.Store(true) // the inbound side was busy: next tick
		c.rtcpPending.Store(true)
	}
}

// sendReport builds the participant's report at now (with a BYE when bye),
// protects it and hands it to the RTCP sink. The report blocks come from
// the inbound side, whose lock the tick only tries: when WriteRTP holds it
// at this instant, the report waits for the next tick (false). A BYE,
// sent as the participant leaves, waits for the lock instead.
func (p *Participant) sendReport(now time.Duration, bye bool) bool {
	o, c := &p.rtcpOut, p.conf
	in := &p.in
	if bye {
		in.mu.Lock()
	} else if !in.mu.TryLock() {
		return false
	}
	blocks := in.rtcp.rx.AppendBlocks(o.blocks[:0], now)
	in.mu.Unlock()
	if len(blocks) > 0 {
		// The one source is the stream the jitter buffer plays, which
		// has measured its RFC 3550 jitter already.
		blocks[0].Jitter = in.jb.Stats().Jitter
	}
	r := rtcpsession.Report{SSRC: p.out.ssrc, CNAME: o.cname, Blocks: blocks, Bye: bye}
	tx := &p.out.tx
	if tx.IsSender() {
		r.IsSender, r.Sender = true, tx.Info(now, c.rtcpClock)
	}
	tx.Reported()
	m, s, we := p.rtcpMembers()
	o.peerPackets = in.packets.Load()
	buf := c.rtcpBuf[:cap(c.rtcpBuf)]
	n, err := r.MarshalTo(buf)
	if err != nil { // cannot happen: the buffer holds the largest report
		o.out.sinkErrors.Add(1) // a real read-modify-write: a delivering goroutine may count too
		return true
	}
	o.sched.Sent(now, n, m, s, we)
	if !o.manual {
		p.out.rtcpDue = o.sched.Next()
	}
	o.reported = true
	pkt := buf[:n]
	if o.protect != nil {
		if pkt, err = o.protect.ProtectRTCP(buf[:0], pkt); err != nil {
			inc(&o.protectErrors)
			return true
		}
	}
	p.out.queue(pkt, o.sink, &o.out)
	return true
}

// sendBye ends the participant's stream as it leaves (in the tick): a
// last report with a BYE, if RTCP is on and the stream ever sent RTP or
// RTCP (RFC 3550 §6.3.7).
func (p *Participant) sendBye(now time.Duration) {
	if o := &p.rtcpOut; o.on && (o.reported || p.out.tx.SentAny()) {
		p.sendReport(now, true)
	}
}

// WriteRTCP takes one inbound RTCP or SRTCP compound packet from the
// participant, stamped with the conference clock: SRTCP is verified and
// decrypted in place with the participant's inbound keys, the packet is
// checked (RFC 3550 A.2) and what it says is kept: its sender report (for
// the LSR and DLSR of our reports), its reports about the stream we send
// it (RTCPStats.Remote: loss, jitter, round-trip time), its CNAME and its
// BYE. A BYE that names the participant's own stream (the SSRC of its RTP,
// or of its first report) is reported (ByeReceived, a ByeReceived event);
// the participant stays until the application makes it Leave.
//
// The caller vouches that the packet comes from the participant: SRTCP
// authenticates it; for plain RTCP, accept it only from where the
// participant's RTP comes (or its RTCP port).
//
// It may be called from any goroutine, concurrently with WriteRTP and the
// tick; it may modify buf and does not keep it. A refused packet is
// dropped and counted in RTCPStats.Refused by reason, and the error is
// one of these values, unwrapped: ErrClosed, ErrMalformed, srtp.ErrAuth,
// srtp.ErrReplay. Nothing allocates.
func (p *Participant) WriteRTCP(buf []byte) error {
	return p.WriteRTCPAt(p.conf.cfg.Clock(), buf)
}

// WriteRTCPAt is WriteRTCP with an explicit arrival time on the
// conference clock.
func (p *Participant) WriteRTCPAt(now time.Duration, buf []byte) error {
	if p.ctl.left.Load() {
		return ErrClosed
	}
	err := p.in.writeRTCP(now, buf)
	if err == nil && p.in.rtcp.byeEvent.Load() {
		p.conf.rtcpPending.Store(true)
	}
	return err
}

// SendReport asks for a report to the participant at the next tick,
// besides the periodic ones (or instead of them, with RTCPConfig.Manual).
// Safe from any goroutine. An error matches ErrClosed after Leave, or
// ErrConfig when the participant's RTCP is off.
func (p *Participant) SendReport() error {
	if p.ctl.left.Load() {
		return ErrClosed
	}
	if !p.rtcpOut.on {
		return fmt.Errorf("%w: participant %s sends no RTCP (RTCPConfig.Off, or no sink)", ErrConfig, p.id)
	}
	p.rtcpOut.requested.Store(true)
	p.conf.rtcpPending.Store(true)
	return nil
}

// ByeReceived reports whether the participant has sent an RTCP BYE for its
// own stream. The mixer does not act on it: the application decides (Leave
// it, or wait for its idle timeout). Safe from any goroutine.
func (p *Participant) ByeReceived() bool { return p.in.rtcp.bye.Load() }

// rtcpStats fills the RTCP part of ParticipantStats.
func (p *Participant) rtcpStats() RTCPStats {
	var st RTCPStats
	p.in.rtcp.stats(&st)
	o := &p.rtcpOut
	st.PacketsOut, st.BytesOut = o.out.packets.Load(), o.out.bytes.Load()
	st.ProtectErrors, st.SinkErrors = o.protectErrors.Load(), o.out.sinkErrors.Load()
	return st
}

package srtp

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// DefaultReplayWindow is the replay window of an Unprotector when no
// ReplayWindow option is given: the RFC 3711 §3.3.2 minimum.
const DefaultReplayWindow = 64

// MaxReplayWindow bounds ReplayWindow: half the 16-bit sequence space, the
// largest window in which a sender's reordering can still be told from a
// sequence number wrap.
const MaxReplayWindow = 1 << 15

// Option configures a Protector or an Unprotector at construction.
type Option func(*options) error

type options struct {
	replayWindow int
	maxSSRCs     int
	backend      Backend
}

func defaultOptions() options {
	return options{replayWindow: DefaultReplayWindow, maxSSRCs: DefaultMaxSSRCs, backend: DefaultBackend}
}

func applyOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// ReplayWindow sets how many packets back an Unprotector remembers, per
// SSRC, to reject replays of SRTP and SRTCP packets (default
// DefaultReplayWindow). 0 turns replay protection off; n must not exceed
// MaxReplayWindow. A Protector ignores it.
func ReplayWindow(n int) Option {
	return func(o *options) error {
		if n < 0 || n > MaxReplayWindow {
			return fmt.Errorf("%w: %d not in 0..%d", errReplayWindow, n, MaxReplayWindow)
		}
		o.replayWindow = n
		return nil
	}
}

// MaxSSRCs sets how many SSRCs an Unprotector keeps state for (rollover
// counter, replay window), in SRTP and in SRTCP each (default
// DefaultMaxSSRCs, at most 65536). When a packet under a new SSRC
// authenticates and the bound is reached, the state of the SSRC that
// least recently authenticated a packet is evicted and counted in
// Stats.SSRCEvictions. An evicted SSRC that sends again is admitted again
// like a new one and starts afresh (on the Pion backend, once its context
// has been rebuilt without the old state; see the package documentation):
// at rollover counter 0, so a stream that had wrapped fails authentication
// until SetROC, and with an empty replay window, so a packet it sent
// before the eviction is accepted once more. n must therefore exceed the number of
// SSRCs a peer legitimately uses in a session; the bound exists for peers
// that hold the keys and cycle SSRCs to exhaust memory. A Protector
// ignores it.
func MaxSSRCs(n int) Option {
	return func(o *options) error {
		if n < 1 || n > maxMaxSSRCs {
			return fmt.Errorf("%w: %d not in 1..%d", errMaxSSRCs, n, maxMaxSSRCs)
		}
		o.maxSSRCs = n
		return nil
	}
}

// Stats counts the packets a context handled. Bytes are wire bytes: the
// protected size of what ProtectRTP returned or UnprotectRTP was given.
type Stats struct {
	RTPPackets, RTPBytes   uint64 // successfully protected or unprotected SRTP
	RTCPPackets, RTCPBytes uint64 // the same for SRTCP
	AuthFailures           uint64 // ErrAuth, SRTP and SRTCP
	Replays                uint64 // ErrReplay, SRTP and SRTCP
	ShortPackets           uint64 // ErrShortPacket
	OtherErrors            uint64 // malformed headers, exhausted keys, ...
	// SSRCEvictions counts SSRC states an Unprotector dropped to stay
	// within MaxSSRCs, SRTP and SRTCP. Outside an attack or a trunk that
	// outgrew the bound it stays 0.
	SSRCEvictions uint64
}

// The counters are written under the context's lock and read by Stats
// without it, from any goroutine, hence atomics. They come in two types so
// that the ones every packet writes can sit in a context's first cache
// lines and the refusals' further on.
type packetCounters struct {
	rtpPackets, rtpBytes   atomic.Uint64
	rtcpPackets, rtcpBytes atomic.Uint64
}

type failCounters struct {
	auth, replays, short atomic.Uint64
	other, evictions     atomic.Uint64
}

func snapshot(c *packetCounters, f *failCounters) Stats {
	return Stats{
		RTPPackets: c.rtpPackets.Load(), RTPBytes: c.rtpBytes.Load(),
		RTCPPackets: c.rtcpPackets.Load(), RTCPBytes: c.rtcpBytes.Load(),
		AuthFailures: f.auth.Load(), Replays: f.replays.Load(),
		ShortPackets: f.short.Load(), OtherErrors: f.other.Load(),
		SSRCEvictions: f.evictions.Load(),
	}
}

// Protector protects outbound RTP and RTCP with one master key, for any
// number of SSRCs (each keeps its own rollover counter and SRTCP index;
// the application chooses the SSRCs it sends, so their number is its to
// bound).
//
// Concurrency: a Protector is safe for concurrent use by any number of
// goroutines. ProtectRTP, ProtectRTCP, SetROC and ROC serialise on an
// internal mutex (packets of one SSRC must be numbered in one order, and
// pion's context is not safe for concurrent use); Stats, Profile, Backend
// and the overhead methods take no lock.
type Protector struct {
	// The first two cache lines are what ProtectRTP of the first SSRC
	// touches on the compact backend (TestLayout): the lock, that SSRC's
	// state and the SRTP keys, and the two counters it increments.
	mu   sync.Mutex
	tx   compactTx
	pkts packetCounters

	fails   failCounters
	txCold  compactTxCold
	pion    *pionSender // the Pion backend; nil on Compact
	profile Profile
	mkiLen  uint8 // MKI length, at most maxMKILen
}

// NewProtector returns a Protector for k. Of the options only UseBackend
// applies; the others are accepted for symmetry with NewUnprotector.
func NewProtector(k Keys, opts ...Option) (*Protector, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	p := &Protector{profile: k.Profile, mkiLen: uint8(len(k.MKI))}
	if o.backend == Pion {
		if p.pion, err = newPionSender(k); err != nil {
			return nil, err
		}
		return p, nil
	}
	rtp, rtcp, err := compactKeys(k)
	if err != nil {
		return nil, err
	}
	p.tx.srtp = rtp
	p.txCold.init(k, rtcp)
	return p, nil
}

// compact reports whether p runs on the compact backend, from a field of
// its first cache line: a compact session key always has a tag.
func (p *Protector) compact() bool { return p.tx.srtp.tagLen != 0 }

// Backend returns the SRTP implementation p runs on.
func (p *Protector) Backend() Backend {
	if p.compact() {
		return Compact
	}
	return Pion
}

// Profile returns the protection profile.
func (p *Protector) Profile() Profile { return p.profile }

// RTPOverhead is how many bytes ProtectRTP adds: tag and MKI. A buffer
// with this much spare capacity after the packet is protected in place.
func (p *Protector) RTPOverhead() int { return p.profile.RTPOverhead() + int(p.mkiLen) }

// RTCPOverhead is how many bytes ProtectRTCP adds: tag, index and MKI.
func (p *Protector) RTCPOverhead() int { return p.profile.RTCPOverhead() + int(p.mkiLen) }

// ProtectRTP encrypts and authenticates the RTP packet pkt and returns the
// SRTP packet, written into dst's backing array. To protect in place pass
// dst = pkt[:0] with cap(pkt) >= len(pkt)+RTPOverhead(); the call then
// allocates nothing. If cap(dst) is too small a new buffer is allocated.
// The first packet of an SSRC starts its rollover counter at 0 (see
// SetROC).
func (p *Protector) ProtectRTP(dst, pkt []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.protectRTP(dst, pkt)
}

// protectRTP is ProtectRTP under the lock.
func (p *Protector) protectRTP(dst, pkt []byte) ([]byte, error) {
	if cryptexProfile(pkt) {
		p.fails.other.Add(1)
		return nil, errCryptexProfile
	}
	var out []byte
	var err error
	if p.compact() {
		out, err = p.compactProtectRTP(dst, pkt)
	} else {
		out, err = p.pion.protectRTP(dst, pkt)
	}
	if err != nil {
		return nil, p.fail(err, pkt, false)
	}
	p.pkts.rtpPackets.Add(1)
	p.pkts.rtpBytes.Add(uint64(len(out)))
	return out, nil
}

// ProtectRTCP encrypts and authenticates the (compound) RTCP packet pkt
// and returns the SRTCP packet; in place when dst = pkt[:0] and cap(pkt) >=
// len(pkt)+RTCPOverhead(), as for ProtectRTP. Each SSRC's SRTCP index
// counts from 1.
func (p *Protector) ProtectRTCP(dst, pkt []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	var err error
	if p.compact() {
		out, err = p.compactProtectRTCP(dst, pkt)
	} else {
		out, err = p.pion.protectRTCP(dst, pkt)
	}
	if err != nil {
		return nil, p.fail(err, pkt, true)
	}
	p.pkts.rtcpPackets.Add(1)
	p.pkts.rtcpBytes.Add(uint64(len(out)))
	return out, nil
}

func (p *Protector) fail(err error, pkt []byte, isRTCP bool) error {
	if isShort(pkt, isRTCP, 0) {
		p.fails.short.Add(1)
		return ErrShortPacket
	}
	// The rest: a malformed header, or a key that protected 2^48 packets.
	p.fails.other.Add(1)
	return fmt.Errorf("srtp: protect: %w", err)
}

// cryptexProfile reports whether pkt carries a header extension whose
// profile RFC 9335 reserves for encrypted extensions (0xC0DE, 0xC2DE).
// Cryptex is not negotiated here, so a receiver (pion included) would drop
// such a packet: refusing it when protecting says why at the sender.
func cryptexProfile(pkt []byte) bool {
	if len(pkt) < 12 || pkt[0]&0x10 == 0 {
		return false
	}
	n := 12 + 4*int(pkt[0]&0x0f)
	if len(pkt) < n+2 {
		return false // the header check reports the short header
	}
	prof := binary.BigEndian.Uint16(pkt[n:])
	return prof == 0xC0DE || prof == 0xC2DE
}

// ROC returns the rollover counter of ssrc and whether ssrc has been seen.
func (p *Protector) ROC(ssrc uint32) (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.compact() {
		return p.compactROC(ssrc)
	}
	return p.pion.ctx.ROC(ssrc)
}

// SetROC sets the rollover counter of ssrc, for a stream that continues
// under a new Protector (re-keying) or joins a running session.
func (p *Protector) SetROC(ssrc, roc uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.compact() {
		p.compactSetROC(ssrc, roc)
		return
	}
	p.pion.ctx.SetROC(ssrc, roc)
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (p *Protector) Stats() Stats { return snapshot(&p.pkts, &p.fails) }

// Unprotector verifies and decrypts inbound SRTP and SRTCP for up to
// MaxSSRCs SSRCs (DefaultMaxSSRCs), each with its own rollover counter and
// replay windows. State for an SSRC is created only by a packet that
// authenticates (or by SetROC), so forged packets cannot fill memory; an
// authenticated peer that cycles SSRCs evicts its own older ones.
//
// Concurrency: an Unprotector is safe for concurrent use by any number of
// goroutines, so that, say, the RTP and the RTCP reader of a leg without
// rtcp-mux may both hand it SRTCP. UnprotectRTP, UnprotectRTCP, AddKey,
// SetROC and ROC serialise on an internal mutex; Stats, Profile, Backend
// and the overhead methods take no lock. Buffers are the caller's: two calls at
// once must not share dst, pkt or hdr.
type Unprotector struct {
	// The first three cache lines are what UnprotectRTP of one SSRC
	// touches on the compact backend (TestLayout): the lock, the SRTP
	// keys, the counters it increments and that SSRC's state.
	mu    sync.Mutex
	rx    compactRx
	pkts  packetCounters
	first ssrcState // compact: one SSRC's state, see admitRTP

	fails   failCounters
	rxCold  compactRxCold
	pion    *pionReceiver // the Pion backend; nil on Compact
	profile Profile
	mkiLen  uint8  // MKI length, at most maxMKILen
	window  uint32 // replay window of new SSRC states, compact
}

// NewUnprotector returns an Unprotector for k with replay protection of
// DefaultReplayWindow packets and state for DefaultMaxSSRCs SSRCs unless
// the ReplayWindow and MaxSSRCs options say otherwise. If k has an MKI,
// every packet must carry one (see AddKey for more keys).
func NewUnprotector(k Keys, opts ...Option) (*Unprotector, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	u := &Unprotector{profile: k.Profile, mkiLen: uint8(len(k.MKI)), window: uint32(o.replayWindow)}
	if o.backend == Pion {
		if u.pion, err = newPionReceiver(k, o.replayWindow, o.maxSSRCs, &u.fails); err != nil {
			return nil, err
		}
		return u, nil
	}
	rtp, rtcp, err := compactKeys(k)
	if err != nil {
		return nil, err
	}
	u.rx.srtp = rtp
	u.rxCold.init(k, rtcp, o.maxSSRCs)
	return u, nil
}

// compact reports whether u runs on the compact backend (see
// Protector.compact).
func (u *Unprotector) compact() bool { return u.rx.srtp.tagLen != 0 }

// Backend returns the SRTP implementation u runs on.
func (u *Unprotector) Backend() Backend {
	if u.compact() {
		return Compact
	}
	return Pion
}

// AddKey adds another master key, selected by the MKI in each packet (RFC
// 3711 §3.1): the ExtraKeys of a Crypto, or the next key of a re-keying.
// The Unprotector must have been created with an MKI of the same length
// and the same profile.
func (u *Unprotector) AddKey(k Keys) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.Profile != u.profile {
		return fmt.Errorf("%w: %s into %s", errProfileMixture, k.Profile, u.profile)
	}
	if u.mkiLen == 0 {
		return errMKINone
	}
	if len(k.MKI) != int(u.mkiLen) {
		return fmt.Errorf("%w: %d, context has %d", errMKIMismatch, len(k.MKI), u.mkiLen)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	var err error
	if u.compact() {
		err = u.compactAddKey(k)
	} else {
		err = u.pion.addKey(k)
	}
	if err != nil {
		return fmt.Errorf("srtp: adding key: %w", err)
	}
	return nil
}

// Profile returns the protection profile.
func (u *Unprotector) Profile() Profile { return u.profile }

// RTPOverhead is how many bytes UnprotectRTP removes: tag and MKI.
func (u *Unprotector) RTPOverhead() int { return u.profile.RTPOverhead() + int(u.mkiLen) }

// RTCPOverhead is how many bytes UnprotectRTCP removes: tag, index, MKI.
func (u *Unprotector) RTCPOverhead() int { return u.profile.RTCPOverhead() + int(u.mkiLen) }

// UnprotectRTP verifies and decrypts the SRTP packet pkt and returns the
// RTP packet, written into dst's backing array (in place, allocation-free,
// when dst = pkt[:0]). hdr, if not nil, is filled with the packet's header
// so the caller need not parse it again; its CSRC and Extensions slices
// are reused across calls and extension payloads alias pkt. Payload
// extracts the payload.
//
// Errors: ErrShortPacket, ErrAuth, ErrReplay (all returned unwrapped), or
// another error for a malformed header. On error the packet is dropped and
// no state changes, but an in-place buffer may hold garbage.
func (u *Unprotector) UnprotectRTP(dst, pkt []byte, hdr *rtp.Header) ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.unprotectRTP(dst, pkt, hdr)
}

// unprotectRTP is UnprotectRTP under the lock.
func (u *Unprotector) unprotectRTP(dst, pkt []byte, hdr *rtp.Header) ([]byte, error) {
	compact := u.compact()
	overhead := int(u.rx.srtp.tagLen) + int(u.rx.srtp.mkiLen)
	if !compact {
		overhead = u.RTPOverhead()
	}
	// Checked here, not left to the backend, because pion's length errors
	// are formatted (allocated) and garbage is what a flood would send.
	if n, ok := rtpHeaderLen(pkt); !ok || len(pkt) < n+overhead {
		u.fails.short.Add(1)
		return nil, ErrShortPacket
	}
	var out []byte
	var err error
	if compact {
		out, err = u.compactUnprotectRTP(dst, pkt, hdr)
	} else {
		out, err = u.pion.decryptRTP(dst, pkt, hdr)
	}
	if err != nil {
		return nil, u.fail(err)
	}
	u.pkts.rtpPackets.Add(1)
	u.pkts.rtpBytes.Add(uint64(len(pkt)))
	return out, nil
}

// UnprotectRTCP verifies and decrypts the SRTCP packet pkt and returns the
// (compound) RTCP packet; in place when dst = pkt[:0]. Errors are as for
// UnprotectRTP; the SRTCP index is replay-checked per SSRC.
func (u *Unprotector) UnprotectRTCP(dst, pkt []byte) ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(pkt) < 8+u.RTCPOverhead() {
		u.fails.short.Add(1)
		return nil, ErrShortPacket
	}
	var out []byte
	var err error
	if u.compact() {
		out, err = u.compactUnprotectRTCP(dst, pkt)
	} else {
		out, err = u.pion.decryptRTCP(dst, pkt)
	}
	if err != nil {
		return nil, u.fail(err)
	}
	u.pkts.rtcpPackets.Add(1)
	u.pkts.rtcpBytes.Add(uint64(len(pkt)))
	return out, nil
}

// fail classifies and counts a refusal. The compact backend returns the
// sentinels themselves; a pion error is classified by what it wraps and
// what its replay detectors reported. It runs only for rejected packets,
// so the success path pays nothing for telling the errors apart.
func (u *Unprotector) fail(err error) error {
	if u.pion != nil {
		err = u.pion.classify(err)
	}
	switch {
	case err == ErrReplay:
		u.fails.replays.Add(1)
	case err == ErrAuth || err == errUnknownMKI:
		u.fails.auth.Add(1)
	case err == ErrShortPacket:
		u.fails.short.Add(1)
	default:
		u.fails.other.Add(1)
	}
	return err
}

// ROC returns the rollover counter of ssrc and whether ssrc holds state
// (it does from its first authenticated packet, or SetROC, until evicted).
func (u *Unprotector) ROC(ssrc uint32) (uint32, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.compact() {
		return u.compactROC(ssrc)
	}
	return u.pion.roc(ssrc)
}

// SetROC sets the rollover counter of ssrc, for joining a stream whose
// sender has already wrapped its sequence number (RFC 3711 §3.3.1). If
// ssrc holds no state, SetROC creates it, within MaxSSRCs like a new SSRC
// whose packet authenticated.
func (u *Unprotector) SetROC(ssrc, roc uint32) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.compact() {
		u.compactSetROC(ssrc, roc)
		return
	}
	u.pion.setROC(ssrc, roc)
}

// Stats returns a snapshot of the counters; safe from any goroutine.
func (u *Unprotector) Stats() Stats { return snapshot(&u.pkts, &u.fails) }

// tables returns the SRTP and SRTCP SSRC tables of u's backend.
func (u *Unprotector) tables() (rtp, rtcp *ssrcTable) {
	if u.compact() {
		return &u.rxCold.rtp, &u.rxCold.rtcp
	}
	return &u.pion.rtp, &u.pion.rtcp
}

// isShort reports whether pkt cannot hold its header plus overhead bytes.
func isShort(pkt []byte, isRTCP bool, overhead int) bool {
	if isRTCP {
		return len(pkt) < 8+overhead
	}
	n, ok := rtpHeaderLen(pkt)
	return !ok || len(pkt) < n+overhead
}

// rtpHeaderLen returns the length of the RTP header at the start of pkt,
// fixed part, CSRCs and extension (RFC 3550 §5.1, §5.3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|V=2|P|X|  CC   |M|     PT      |       sequence number         |
//	|                           timestamp                           |
//	|           synchronization source (SSRC) identifier            |
//	|            contributing source (CSRC) identifiers ...         |
//	|      defined by profile       |           length              |
//	|                        header extension ...                   |
func rtpHeaderLen(pkt []byte) (int, bool) {
	if len(pkt) < 12 {
		return 0, false
	}
	n := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < n+4 {
			return 0, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(pkt[n+2:]))
	}
	return n, len(pkt) >= n
}

// Payload returns the payload of the plaintext RTP packet pkt, without
// header and padding: the slice to hand to a jitter buffer after
// UnprotectRTP. It allocates nothing and aliases pkt.
func Payload(pkt []byte) ([]byte, error) {
	n, ok := rtpHeaderLen(pkt)
	if !ok {
		return nil, ErrShortPacket
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 {
		pad := int(pkt[end-1]) // end > n >= 12: a padded packet has a count byte
		if end == n || pad == 0 || pad > end-n {
			return nil, errPadding
		}
		end -= pad
	}
	return pkt[n:end], nil
}

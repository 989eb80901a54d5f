package srtp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pionsrtp "github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/replaydetector"
)

// The receive side on top of pion/srtp/v3.
//
// pion keeps per-SSRC state (rollover counter, replay detector) in two maps
// per Context that only grow: it has no call to drop an SSRC. What it does
// offer is a replay-detector factory, called whenever it needs state for an
// SSRC it has none for, and the detector it gets is ours (an ssrcState).
// Through the detector's calls we learn which SSRC's state authenticated a
// packet (Accept runs only after the tag verified) and keep our ssrcTables
// in step with pion's maps. Evicting from a table cannot free pion's copy,
// so once enough evicted state has piled up the receiver builds a new pion
// Context with the same keys and hands it the kept SSRCs' states back
// (transplant), rollover counters and replay windows intact.

// pionHooks is how a pion call reports, through the detectors it calls,
// what it did with per-SSRC state. replayed, accepted and created report
// one call each: whoever reads one clears it (takeReplayed, track,
// setROC), so that the success path of a packet of the SSRC that sent
// the last one writes nothing here.
type pionHooks struct {
	replayed bool // a detector rejected the index as a replay
	// accepted is the detector that accepted (its packet authenticated)
	// unless it is its table's most recent already: the steady state.
	accepted *ssrcState
	created  *ssrcState // the last state the factory handed out
	// transplant, while rebuilding, is the state the factory hands out next.
	transplant *ssrcState
	// spare is what the factory hands out for an SSRC pion has no state
	// for. pion asks before authenticating and drops the state of a packet
	// that fails, so one spare serves every forgery; it is replaced only
	// when a packet under its SSRC authenticates and it becomes that
	// SSRC's state.
	spare  *ssrcState
	window uint64 // replay window size of new states
}

// takeReplayed reports whether the failed call was refused as a replay.
func (h *pionHooks) takeReplayed() bool {
	r := h.replayed
	h.replayed = false
	return r
}

func (h *pionHooks) newState() *ssrcState {
	return &ssrcState{window: replayWindow{size: h.window}, hooks: h}
}

// factory is pion's replay-detector factory, for SRTP and SRTCP alike.
func (h *pionHooks) factory() replaydetector.ReplayDetector {
	s := h.transplant
	if s != nil {
		h.transplant = nil
	} else {
		if h.spare == nil {
			h.spare = h.newState()
		}
		s = h.spare
	}
	h.created = s
	return s
}

// CheckSeq and Accept are the two-phase detector API pion uses: check
// before authenticating, accept after.
func (s *ssrcState) CheckSeq(index uint64) replaydetector.Token {
	if !s.window.check(index) {
		s.hooks.replayed = true
		return replaydetector.Rejected(index)
	}
	return replaydetector.Passed(index)
}

func (s *ssrcState) Accept(t replaydetector.Token) bool {
	if !t.Passed() {
		return false
	}
	if !s.recent {
		s.hooks.accepted = s
	}
	s.authenticated(t.Seq())
	return s.window.accept(t.Seq())
}

// Check is the older one-phase API, kept because the factory's type
// requires it; pion prefers CheckSeq and Accept when they exist.
func (s *ssrcState) Check(index uint64) (func() bool, bool) {
	tok := s.CheckSeq(index)
	return func() bool { return s.Accept(tok) }, tok.Passed()
}

// newContext builds a pion context for k. hooks, when not nil, supplies
// the replay detectors (a receiver); a sender needs none.
func newContext(k Keys, hooks *pionHooks) (*pionsrtp.Context, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	var opts []pionsrtp.ContextOption
	if len(k.MKI) > 0 {
		opts = append(opts, pionsrtp.MasterKeyIndicator(k.MKI))
	}
	if hooks != nil {
		opts = append(opts,
			pionsrtp.SRTPReplayDetectorFactory(hooks.factory),
			pionsrtp.SRTCPReplayDetectorFactory(hooks.factory))
	}
	ctx, err := pionsrtp.CreateContext(k.MasterKey, k.MasterSalt, k.Profile.pion(), opts...)
	if err != nil {
		return nil, fmt.Errorf("srtp: creating %s context: %w", k.Profile, err)
	}
	return ctx, nil
}

// pionSender is a Protector's state on the Pion backend. Its owner
// serialises every call.
type pionSender struct {
	ctx     *pionsrtp.Context
	hdr     rtp.Header  // scratch: pion allocates one per call when given nil
	rtcpHdr rtcp.Header // likewise
}

func newPionSender(k Keys) (*pionSender, error) {
	ctx, err := newContext(k, nil)
	if err != nil {
		return nil, err
	}
	return &pionSender{ctx: ctx}, nil
}

func (s *pionSender) protectRTP(dst, pkt []byte) ([]byte, error) {
	return s.ctx.EncryptRTP(dst, pkt, &s.hdr)
}

func (s *pionSender) protectRTCP(dst, pkt []byte) ([]byte, error) {
	return s.ctx.EncryptRTCP(dst, pkt, &s.rtcpHdr)
}

// pionReceiver is an Unprotector's state on top of pion: the context, the
// keys to rebuild it, and the bounded SSRC tables. Its owner serialises
// every call.
type pionReceiver struct {
	ctx   *pionsrtp.Context
	keys  []Keys // keys[0] made the context, the rest came from AddKey
	hooks pionHooks
	rtp   ssrcTable
	rtcp  ssrcTable
	// stale counts evicted states pion still holds; at rebuildAt the
	// context is rebuilt without them.
	stale, rebuildAt int
	rebuilds         uint64
	stats            *failCounters // the Unprotector's: evictions are counted here

	hdr     rtp.Header  // scratch: pion allocates one per call when given nil
	rtcpHdr rtcp.Header // likewise
	// Scratch of setIndex, apart from hdr because a rebuild may run
	// inside UnprotectRTP(..., nil) while hdr holds that packet's header.
	indexHdr rtp.Header
	indexPkt [12 + 16 + maxMKILen + 16]byte // header, AEAD tag, MKI, tag
}

// rebuildAt returns how much evicted state a receiver bounded to max SSRCs
// per direction lets pion hold before rebuilding: half the bound, so a
// rebuild's cost (a new context plus restoring up to 2*max states) is
// spread over at least max/2 admissions, and at least 16 so that a small
// bound does not rebuild on every new SSRC. pion then holds at most
// 2*max + rebuildAt states over its two maps.
func rebuildAt(max int) int {
	return maxInt(max/2, 16)
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func newPionReceiver(k Keys, window, maxSSRCs int, c *failCounters) (*pionReceiver, error) {
	rx := &pionReceiver{
		keys:      []Keys{k.clone()},
		rtp:       newSSRCTable(maxSSRCs),
		rtcp:      newSSRCTable(maxSSRCs),
		rebuildAt: rebuildAt(maxSSRCs),
		stats:     c,
	}
	rx.hooks.window = uint64(window)
	ctx, err := newContext(k, &rx.hooks)
	if err != nil {
		return nil, err
	}
	rx.ctx = ctx
	return rx, nil
}

// decryptRTP unprotects an SRTP packet, using rx.hdr when hdr is nil. On
// error the caller classifies.
func (rx *pionReceiver) decryptRTP(dst, pkt []byte, hdr *rtp.Header) ([]byte, error) {
	if hdr == nil {
		hdr = &rx.hdr
	}
	out, err := rx.ctx.DecryptRTP(dst, pkt, hdr)
	if err == nil && rx.hooks.accepted != nil {
		rx.track(&rx.rtp, hdr.SSRC)
	}
	return out, err
}

// decryptRTCP unprotects an SRTCP packet of at least 8 bytes, as
// decryptRTP.
func (rx *pionReceiver) decryptRTCP(dst, pkt []byte) ([]byte, error) {
	ssrc := binary.BigEndian.Uint32(pkt[4:]) // the state pion keys by; read before dst may overwrite pkt
	out, err := rx.ctx.DecryptRTCP(dst, pkt, &rx.rtcpHdr)
	if err == nil && rx.hooks.accepted != nil {
		rx.track(&rx.rtcp, ssrc)
	}
	return out, err
}

// classify maps an error of decryptRTP or decryptRTCP to the sentinel
// it stands for, or wraps it in errPacket.
func (rx *pionReceiver) classify(err error) error {
	switch {
	case rx.hooks.takeReplayed():
		return ErrReplay
	case errors.Is(err, pionsrtp.ErrFailedToVerifyAuthTag):
		return ErrAuth
	case errors.Is(err, pionsrtp.ErrMKINotFound):
		return errUnknownMKI
	}
	return fmt.Errorf("%w: %w", errPacket, err)
}

// track updates t after a packet under ssrc authenticated whose state
// was not its table's most recent (the steady state, which costs the
// decrypt methods one comparison): the SSRC becomes the most recent, and
// is admitted if it is new, which may evict another and so rebuild the
// context.
func (rx *pionReceiver) track(t *ssrcTable, ssrc uint32) {
	s := rx.hooks.accepted
	rx.hooks.accepted = nil
	if s.live {
		t.touch(s)
		return
	}
	// New, or evicted and back before a rebuild: pion holds the state.
	s.ssrc = ssrc
	rx.admit(t, s)
}

// admit adds s, state pion now holds for s.ssrc, to t.
func (rx *pionReceiver) admit(t *ssrcTable, s *ssrcState) {
	if s == rx.hooks.spare {
		// Replaced now, not on the next unknown SSRC, so that a refused
		// packet never allocates here.
		rx.hooks.spare = rx.hooks.newState()
	}
	if t.admit(s) == nil {
		return
	}
	rx.stats.evictions.Add(1)
	rx.stale++
	if rx.stale >= rx.rebuildAt {
		// On failure the old context stays: correct, but holding the
		// evicted state until the next attempt, rebuildAt evictions on.
		_ = rx.rebuild()
	}
}

// rebuild replaces the context by a new one with the same keys and only
// the SSRCs in the tables, each restored to its state: the same replay
// window object and, for SRTP, the same packet index. It allocates a new
// context (key derivation and cipher set-up, a few KiB) and pion's state
// for each kept SSRC.
func (rx *pionReceiver) rebuild() error {
	ctx, err := newContext(rx.keys[0], &rx.hooks)
	if err != nil {
		return err
	}
	for _, k := range rx.keys[1:] {
		if err := ctx.AddCipherForMKI(k.MKI, k.MasterKey, k.MasterSalt); err != nil {
			return fmt.Errorf("srtp: rebuild: adding key: %w", err)
		}
	}
	var failed error
	rx.rtcp.each(func(s *ssrcState) {
		// pion's SRTCP state on receive is the replay detector alone (the
		// index it stores is the sender's counter); SetIndex creates it.
		rx.hooks.transplant = s
		ctx.SetIndex(s.ssrc, uint32(s.index))
		failed = errors.Join(failed, rx.transplanted())
	})
	rx.rtp.each(func(s *ssrcState) {
		rx.hooks.transplant = s
		ctx.SetROC(s.ssrc, uint32(s.index>>16))
		failed = errors.Join(failed, rx.transplanted())
		if s.indexed {
			failed = errors.Join(failed, rx.setIndex(ctx, s))
		}
	})
	if failed != nil {
		return failed
	}
	rx.ctx = ctx
	rx.stale = 0
	rx.rebuilds++
	return nil
}

var errTransplant = errors.New("srtp: rebuild: pion did not take the kept SSRC state")

// transplanted checks that pion asked the factory for the state just
// offered, which is how the state reaches the new context.
func (rx *pionReceiver) transplanted() error {
	if rx.hooks.transplant != nil {
		rx.hooks.transplant = nil
		return errTransplant
	}
	return nil
}

// setIndex sets the SRTP packet index of s.ssrc in ctx to s.index. pion
// has no call for it: SetROC sets the rollover counter and leaves the
// sequence number to the next packet, guessing that packet's ROC to be the
// one set, which is wrong if the sequence number wraps between the rebuild
// and that packet (the stream would fail authentication from then on).
// Protecting a header-only packet of that SSRC and sequence number through
// the context sets the index exactly as receiving it would, and touches
// neither the replay window nor anything else of the receive side; the
// output is discarded.
func (rx *pionReceiver) setIndex(ctx *pionsrtp.Context, s *ssrcState) error {
	pkt := rx.indexPkt[:12]
	clear(pkt)
	pkt[0] = 0x80 // V=2
	binary.BigEndian.PutUint16(pkt[2:], uint16(s.index))
	binary.BigEndian.PutUint32(pkt[8:], s.ssrc)
	if _, err := ctx.EncryptRTP(pkt[:0], pkt, &rx.indexHdr); err != nil {
		return fmt.Errorf("srtp: rebuild: restoring the index of SSRC %#x: %w", s.ssrc, err)
	}
	return nil
}

// addKey adds a master key selected by MKI, and keeps it for rebuilds.
func (rx *pionReceiver) addKey(k Keys) error {
	if err := rx.ctx.AddCipherForMKI(k.MKI, k.MasterKey, k.MasterSalt); err != nil {
		return err
	}
	rx.keys = append(rx.keys, k.clone())
	return nil
}

// roc returns the rollover counter of ssrc, if it holds SRTP state.
func (rx *pionReceiver) roc(ssrc uint32) (uint32, bool) {
	if rx.rtp.lookup(ssrc) == nil {
		return 0, false // evicted state pion may still hold is gone
	}
	return rx.ctx.ROC(ssrc)
}

// setROC sets the rollover counter of ssrc, creating its state if needed;
// the state counts as authenticated (the application vouches for it).
func (rx *pionReceiver) setROC(ssrc, roc uint32) {
	s := rx.rtp.lookup(ssrc)
	if s == nil {
		if _, stale := rx.ctx.ROC(ssrc); stale {
			// Evicted, but pion still holds it: SetROC would reset that
			// state where the table cannot see it. Drop it first.
			_ = rx.rebuild()
		}
	}
	rx.hooks.created = nil
	rx.ctx.SetROC(ssrc, roc)
	if s != nil {
		s.index, s.indexed = uint64(roc)<<16, false
		rx.rtp.touch(s)
		return
	}
	s = rx.hooks.created
	if s == nil {
		return // the rebuild failed and pion reset the stale state
	}
	s.ssrc, s.index, s.indexed = ssrc, uint64(roc)<<16, false
	rx.admit(&rx.rtp, s) // last: it may rebuild, which restores s
}

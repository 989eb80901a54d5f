package srtp

import "github.com/pion/transport/v5/replaydetector"

// replayWindow is the receiver's sliding window of RFC 3711 §3.3.2 over
// packet indices (48-bit ROC||SEQ for SRTP, the 31-bit SRTCP index),
// plugged into pion through its replay-detector factory. It stands in for
// pion's own detector for three reasons. It raises a flag when it rejects,
// which is how a replay is told apart from other failures without matching
// pion's unexported error. It builds its bitmap only when the first packet
// is accepted: pion asks for a detector for every packet of an SSRC it has
// no state for, before authentication, so forgeries under random SSRCs
// would otherwise each cost a window. And it is a few branches on one
// word for the default size, where pion's is a general big integer.
//
// Bit d of bits records whether index latest-d has been accepted.
// FuzzReplayWindow holds it to pion's replaydetector decision for
// decision.
type replayWindow struct {
	size   uint64
	latest uint64
	bits   []uint64 // nil until the first acceptance
	one    [1]uint64
	hit    *bool
}

func replayFactory(size int, hit *bool) func() replaydetector.ReplayDetector {
	return func() replaydetector.ReplayDetector {
		return &replayWindow{size: uint64(size), hit: hit}
	}
}

// check reports whether index may be accepted: ahead of the window, or
// inside it and not yet seen.
func (w *replayWindow) check(index uint64) bool {
	if w.bits == nil || index > w.latest {
		return true
	}
	d := w.latest - index
	return d < w.size && w.bits[d>>6]&(1<<(d&63)) == 0
}

// accept records index, sliding the window forward when it is the newest.
func (w *replayWindow) accept(index uint64) bool {
	if w.bits == nil {
		if w.size <= 64 {
			w.bits = w.one[:]
		} else {
			w.bits = make([]uint64, (w.size+63)/64)
		}
		w.latest = index
		w.bits[0] = 1
		return true
	}
	if index > w.latest {
		w.slide(index - w.latest)
		w.latest = index
		w.bits[0] |= 1
		return true
	}
	if d := w.latest - index; d < w.size {
		w.bits[d>>6] |= 1 << (d & 63)
	}
	return false
}

// slide moves every recorded bit n places further from the head.
func (w *replayWindow) slide(n uint64) {
	if n >= w.size {
		clear(w.bits)
		return
	}
	words, shift := int(n>>6), n&63
	for i := len(w.bits) - 1; i >= 0; i-- {
		var v uint64
		if src := i - words; src >= 0 {
			v = w.bits[src] << shift
			if shift != 0 && src > 0 {
				v |= w.bits[src-1] >> (64 - shift)
			}
		}
		w.bits[i] = v
	}
}

// CheckSeq and Accept are the two-phase API pion uses: check before
// authenticating, accept after.
func (w *replayWindow) CheckSeq(index uint64) replaydetector.Token {
	if !w.check(index) {
		*w.hit = true
		return replaydetector.Rejected(index)
	}
	return replaydetector.Passed(index)
}

func (w *replayWindow) Accept(t replaydetector.Token) bool {
	if !t.Passed() {
		return false
	}
	return w.accept(t.Seq())
}

// Check is the older one-phase API, kept because the factory's type
// requires it; pion prefers CheckSeq and Accept when they exist.
func (w *replayWindow) Check(index uint64) (func() bool, bool) {
	if !w.check(index) {
		*w.hit = true
		return func() bool { return false }, false
	}
	return func() bool { return w.accept(index) }, true
}

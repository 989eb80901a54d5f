package srtp

// replayWindow is the receiver's sliding window of RFC 3711 §3.3.2 over
// packet indices (48-bit ROC||SEQ for SRTP, the 31-bit SRTCP index). It is
// part of an ssrcState: the compact backend checks it itself, and pion.go
// hands it to pion as the SSRC's replay detector in place of pion's own,
// for three reasons. It raises a flag
// when it rejects, which is how a replay is told apart from other failures
// without matching pion's unexported error. It builds its bitmap only when
// the first packet is accepted: pion asks for a detector for every packet
// of an SSRC it has no state for, before authentication, so forgeries
// under random SSRCs must not each cost a window. And it is a few branches
// on one word for the default size, where pion's is a general big integer.
//
// Bit d of bits records whether index latest-d has been accepted. A size
// of 0 turns replay protection off: every index passes. FuzzReplayWindow
// holds it to pion's replaydetector decision for decision.
type replayWindow struct {
	size   uint64
	latest uint64
	bits   []uint64 // nil until the first acceptance
	one    [1]uint64
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
	if w.size == 0 {
		return false // off: nothing to remember, and check passes all
	}
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

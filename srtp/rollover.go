package srtp

import "math"

// Rollover counter estimation for the compact backend, the same arithmetic
// as pion/srtp's srtpSSRCState (nextRolloverCount, updateRolloverCount),
// so that the two backends agree on every packet index, sender and
// receiver, including the first packet after SetROC and the exhaustion of
// the counter. index is the SSRC's packet index (ROC << 16 | SEQ) of the
// latest packet; indexed is false until a packet has set its SEQ part (a
// new SSRC, or one whose ROC SetROC just set).

// seqHalf is half the 16-bit sequence space: a SEQ further than this from
// the latest one is taken to be in the neighbouring rollover period.
const seqHalf = 1 << 15

// nextROC returns the rollover counter of a packet with sequence number
// seq (RFC 3711 §3.3.1, Appendix A), how far its index lies ahead of
// index (negative: behind), and whether the counter would wrap past
// 2^32-1, which no packet may do under one key (RFC 3711 §9.2).
func nextROC(index uint64, indexed bool, seq uint16) (roc uint32, diff int64, overflow bool) {
	s := int32(seq)
	localROC := uint32(index >> 16)
	localSeq := int32(index & 0xffff)
	roc = localROC
	var d int32
	if indexed {
		switch {
		case index <= seqHalf:
			// ROC 0 and no wrap yet: nothing lies behind SEQ 0.
			d = s - localSeq
		case localSeq < seqHalf && s-localSeq > seqHalf:
			roc, d = localROC-1, s-localSeq-(1<<16)
		case localSeq >= seqHalf && localSeq-seqHalf > s:
			roc, d = localROC+1, s-localSeq+(1<<16)
		default:
			d = s - localSeq
		}
	}
	return roc, int64(d), roc == 0 && localROC == math.MaxUint32
}

// nextIndex returns the SSRC's index once the packet of seq, diff ahead of
// the latest, has been accepted (sent, or authenticated).
func nextIndex(index uint64, indexed bool, seq uint16, diff int64) uint64 {
	switch {
	case !indexed:
		return index | uint64(seq)
	case diff > 0:
		return index + uint64(diff)
	}
	return index
}

package g722

import (
	"math"
	"math/bits"
)

// The two sub-band ADPCM coders of ITU-T G.722 §3 (blocks 1L–6L for the
// lower band, 1H–6H for the higher), in the fixed-point arithmetic of the
// Recommendation and of its reference code in ITU-T G.191 (the Software
// Tool Library), which is what the test vectors were made with: 16-bit
// values, saturating additions where the Recommendation saturates, and
// products shifted down by 15. Block names from the Recommendation appear
// in the comments so that each step can be checked against it.
//
// Everything here is shared by the encoder and the decoder: the adaptation
// a decoder runs on the codes it receives is the one the encoder ran on the
// codes it sent, which is what keeps the two in step (and what packet-loss
// concealment exploits to keep the decoder's state close to the sender's;
// see plc.go).

// band is one sub-band coder's adaptive state. The zero value is not ready;
// use reset.
type band struct {
	s  int32 // predictor output: the estimate of the next sub-band sample (SL, SH)
	sz int32 // output of the zero section of the predictor (SZL, SZH)

	// The last two partially reconstructed signals (PLT1, PLT2), of which
	// only the sign is used: -1 when negative, 0 otherwise.
	p1, p2 int32
	// The last two reconstructed signals, already doubled and saturated as
	// the pole section uses them (2·RLT1, 2·RLT2).
	r1, r2 int32
	// Pole section coefficients (AL1, AL2): |a2| ≤ 12288, |a1| ≤ 15360 − a2.
	a1, a2 int32
	// Zero section coefficients (BL1..BL6) and the last six quantized
	// differences, doubled and saturated as FILTEZ uses them (2·DLT1..6).
	// Doubling keeps the sign UPZERO compares. |d[i]| ≤ 20456, so no
	// product below reaches the one case where G.191's mult saturates
	// (-32768 × -32768).
	b, d [6]int32
	// sumD is |d[0]| + … + |d[5]|: while it is at most 32767 no partial sum
	// of the zero section can saturate, and FILTEZ may add in any order.
	sumD int32

	nb  int32 // logarithmic quantizer scale factor (NBL, NBH)
	det int32 // linear quantizer scale factor (DETL, DETH)
}

// Initial scale factors after a reset (G.722 §3.6): DETL = 32, DETH = 8.
const (
	detLowReset  = 32
	detHighReset = 8
)

func (b *band) reset(det int32) { *b = band{det: det} }

// sat16 is the saturation of G.191's 16-bit add and sub.
func sat16(x int32) int32 { return min(max(x, -32768), 32767) }

// limit is the LIMIT block: reconstructed sub-band signals and the QMF's
// sub-band outputs are kept to 15 bits.
func limit(x int32) int32 { return min(max(x, -16384), 16383) }

// update runs the predictor adaptation of block 4 (PARREC, RECONS, UPZERO,
// UPPOL2, UPPOL1, DELAYA, FILTEZ, FILTEP, PREDIC) for the quantized
// difference dlt, leaving s (and sz) predicting the next sample.
func (b *band) update(dlt int32) {
	// PARREC and RECONS. Saturation keeps the sign, which is all that is
	// used of the partial reconstruction; 2·sat(s+dlt) saturates exactly
	// where sat(2·(s+dlt)) does.
	p := (dlt + b.sz) >> 31
	r := sat16((b.s + dlt) << 1)

	// UPZERO: leak each zero coefficient by 255/256 and step it by ±128
	// towards agreement of its difference's sign with this one's (no step
	// when dlt is 0); the result always fits in 16 bits. DELAYA shifts the
	// differences, and FILTEZ sums the products of the new coefficients
	// with them. Written out one coefficient at a time, so that each past
	// difference is loaded once for its sign, its product and its shift,
	// and few values are live at once.
	step := int32(128)
	if dlt == 0 {
		step = 0
	}
	dn := sat16(dlt << 1)
	d, prev := b.d[0], dn
	c := leak(b.b[0]) + toward(step, d, dlt)
	b.b[0], b.d[0] = c, prev
	sz := (prev * c) >> 15
	d, prev = b.d[1], d
	c = leak(b.b[1]) + toward(step, d, dlt)
	b.b[1], b.d[1] = c, prev
	sz += (prev * c) >> 15
	d, prev = b.d[2], d
	c = leak(b.b[2]) + toward(step, d, dlt)
	b.b[2], b.d[2] = c, prev
	sz += (prev * c) >> 15
	d, prev = b.d[3], d
	c = leak(b.b[3]) + toward(step, d, dlt)
	b.b[3], b.d[3] = c, prev
	sz += (prev * c) >> 15
	d, prev = b.d[4], d
	c = leak(b.b[4]) + toward(step, d, dlt)
	b.b[4], b.d[4] = c, prev
	sz += (prev * c) >> 15
	d, prev = b.d[5], d
	c = leak(b.b[5]) + toward(step, d, dlt)
	b.b[5], b.d[5] = c, prev
	sz += (prev * c) >> 15
	// The Recommendation adds FILTEZ's terms from the oldest to the
	// newest, saturating after each addition. The order matters only when
	// a partial sum can leave 16 bits, which sumD almost always rules out.
	b.sumD += abs(dn) - abs(d)
	if b.sumD > 32767 {
		sz = 0
		for i := 5; i >= 0; i-- {
			sz = sat16(sz + (b.d[i]*b.b[i])>>15)
		}
	}
	b.sz = sz

	// UPPOL2 (with the old a1), then UPPOL1 (bounded by the new a2).
	wd1 := sat16(b.a1 << 2)
	if p == b.p1 {
		wd1 = sat16(-wd1)
	}
	wd3 := int32(-128)
	if p == b.p2 {
		wd3 = 128
	}
	a2 := min(max(wd1>>7+wd3+(b.a2*127)>>7, -12288), 12288)
	a1 := int32(-192)
	if p == b.p1 {
		a1 = 192
	}
	a1 = sat16(a1 + (b.a1*255)>>8)
	lim := 15360 - a2
	b.a1, b.a2 = min(max(a1, -lim), lim), a2
	b.p1, b.p2 = p, b.p1
	b.r1, b.r2 = r, b.r1

	// FILTEP and PREDIC.
	sp := sat16((b.a1*b.r1)>>15 + (b.a2*b.r2)>>15)
	b.s = sat16(sp + sz)
}

// leak is b·255/256, rounded down as (b·32640) >> 15 is.
func leak(b int32) int32 { return (b * 255) >> 8 }

// toward is UPZERO's step for one coefficient: +step when the past
// difference d has the sign of dlt, -step otherwise.
func toward(step, d, dlt int32) int32 {
	s := (d ^ dlt) >> 31 // 0 when the signs agree, -1 when they differ
	return (step ^ s) - s
}

func abs(x int32) int32 {
	m := x >> 31
	return (x ^ m) - m
}

// adaptLow is LOGSCL and SCALEL: the lower band's scale factor after code
// il (only its four most significant bits count).
func (b *band) adaptLow(il byte) {
	b.nb = min(max((b.nb*127)>>7+lowWL[il&63], 0), 18432)
	b.det = detLow[uint32(b.nb)>>6&511]
}

// adaptHigh is LOGSCH and SCALEH for code ih (0..3).
func (b *band) adaptHigh(ih byte) {
	b.nb = min(max((b.nb*127)>>7+highWH[ih&3], 0), 22528)
	b.det = detHigh[uint32(b.nb)>>6&511]
}

// attenuate lowers the scale factor as if the band's signal had been
// scaled by gain (0..1): the log scale factor counts 2048 per octave, and
// a signal gone silent (gain 0) takes the scale factor of a reset. dets is
// the band's scale table.
func (b *band) attenuate(gain float32, dets []int32) {
	if gain >= 1 {
		return
	}
	if gain <= 0 {
		b.nb = 0
	} else {
		b.nb = max(b.nb+int32(2048*math.Log2(float64(gain))), 0)
	}
	b.det = dets[uint32(b.nb)>>6&511]
}

// quantLow is QUANTL: the 6-bit code of the lower-band difference el for
// the scale factor of log index ni (NB >> 6, see adaptLow).
//
// The Recommendation searches the decision levels in order for the first
// q with (q·DET) >> 12 > |el|. Since (q·DET) >> 12 ≤ wd exactly when
// q·DET < 4096·(wd+1), that is when q ≤ v = ⌊(4096·(wd+1) - 1) / DET⌋,
// the interval follows from v by one table lookup; the division is a
// multiplication by a reciprocal of DET kept per log index, exact because
// the 64-bit reciprocal's error, below 2⁻³⁷ on numbers under 2²⁷, is far
// smaller than the 1/DET ≥ 2⁻¹⁴ that separates a quotient from the next
// integer. One multiplication and one load, instead of five dependent
// multiply-compare steps, on the path from one sample's prediction to the
// next.
func quantLow(el int32, ni uint32) byte {
	wd := el ^ el>>31 // |el|, as one's complement for negative el (G.191: 32767 - (el & 32767))
	hi, _ := bits.Mul64(uint64(wd+1)<<12-1, lowRecip[ni&511])
	n := lowIntervals[min(hi, uint64(len(lowIntervals)-1))]
	if el < 0 {
		return lowCodeNeg[n&31]
	}
	return lowCodePos[n&31]
}

// quantHigh is QUANTH: the 2-bit code of the higher-band difference eh.
func quantHigh(eh, det int32) byte {
	wd := eh ^ eh>>31
	big := wd >= (564<<3)*det>>15
	switch {
	case eh < 0 && big:
		return 0
	case eh < 0:
		return 1
	case big:
		return 2
	}
	return 3
}

// Tables from the Recommendation. Values are the ones G.722 gives in its
// tables 9 to 16 (decision and reconstruction levels, log scale factor
// steps, the inverse logarithm); the per-code arrays are built from them in
// init so that the code assignment is written once, in lowCode.
var (
	// Decision levels of the 6-bit quantizer (Q6 in table 9; entry 0 is
	// unused).
	lowLevels = [30]int32{0,
		35, 72, 110, 150, 190, 233, 276, 323, 370, 422,
		473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121,
		1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919}
	// Output levels of the 6-bit inverse quantizer for intervals 1..30
	// (table 9, mode 1). The 5- and 4-bit ones of modes 2 and 3 and of the
	// predictor are every second and fourth decision level.
	lowOut6 = [31]int32{0,
		17, 54, 91, 130, 170, 211, 254, 300, 347, 396,
		447, 501, 558, 618, 682, 750, 822, 899, 982, 1072,
		1170, 1279, 1399, 1535, 1689, 1873, 2088, 2376, 2738, 3101}
	// Log scale factor steps by 4-bit magnitude 0..7 (table 11, W_L) and
	// for the two higher-band magnitudes (table 12, W_H).
	lowStep = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	// Inverse logarithm table (ILB, table 14): 2048·2^(i/32), rounded.
	invLog = [32]int32{
		2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
		2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
		2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
		3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008}
)

// Per-code tables, indexed by the 6-bit lower-band code or the 2-bit
// higher-band one. Output levels are scaled by 8 as the Recommendation
// scales them before the product with the scale factor (DET·8·Q >> 15).
var (
	lowCodePos, lowCodeNeg [32]byte // code for quantizer interval n+1 (see quantLow)
	// lowIntervals[v] is how many decision levels are at most v (0..29).
	lowIntervals [2920]byte
	// lowRecip[n] is ⌈2⁶⁴ / detLow[n]⌉.
	lowRecip [512]uint64

	lowDLT [64]int32 // predictor's difference level per code: 4-bit (INVQAL)
	lowWL  [64]int32 // log scale factor step per code (LOGSCL)
	// The decoder's output level per code for mode 1 (6 bits, 64 kbit/s),
	// mode 2 (5 bits, 56 kbit/s) and mode 3 (4 bits, 48 kbit/s), at index
	// mode-1: INVQBL.
	lowOut [3][64]int32

	highDH = [4]int32{-926 << 3, -202 << 3, 926 << 3, 202 << 3} // INVQAH (table 10, ±Q2)
	highWH = [4]int32{798, -214, 798, -214}                     // LOGSCH: W_H by magnitude

	detLow, detHigh [512]int32 // SCALEL, SCALEH by NB >> 6
)

// lowCode is the code assignment of table 9: positive differences in
// interval mil (1..30) get 62 - mil, negative ones 34 - mil, except that the
// two smallest negative intervals take the codes 63 and 62 left free at the
// top.
func lowCode(neg bool, mil int) byte {
	switch {
	case !neg:
		return byte(62 - mil)
	case mil <= 2:
		return byte(64 - mil)
	}
	return byte(34 - mil)
}

func init() {
	for n := range 30 {
		lowCodePos[n], lowCodeNeg[n] = lowCode(false, n+1), lowCode(true, n+1)
	}
	// Codes 0..3 are never sent. The Recommendation decodes them as the
	// smallest negative interval of each quantizer, which for the 4-bit one
	// is level 0 (whose log step is W_L(0)).
	for c := range 4 {
		lowOut[0][c] = -lowOut6[1] << 3
		lowOut[1][c] = -lowLevels[1] << 3
		lowOut[2][c], lowDLT[c], lowWL[c] = 0, 0, lowStep[0]
	}
	for mil := 1; mil <= 30; mil++ {
		for _, neg := range []bool{false, true} {
			c := lowCode(neg, mil)
			sign := int32(1)
			if neg {
				sign = -1
			}
			// Mode 1 outputs the interval's own level. Mode 2 reads the
			// code without its last bit, which merges intervals 2j-1 and 2j
			// (their codes differ only there) into one whose level is
			// decision level 2j-1. The 4-bit quantizer (mode 3, and the
			// predictor in every mode) reads the top four bits, merging
			// intervals 4k-1..4k+2 into level 4k and the two smallest into
			// level 0; its magnitude k also selects the log step.
			j, k := (mil+1)/2, (mil+1)/4
			lowOut[0][c] = sign * lowOut6[mil] << 3
			lowOut[1][c] = sign * lowLevels[2*j-1] << 3
			lowOut[2][c] = sign * lowLevels[4*k] << 3
			lowDLT[c] = lowOut[2][c]
			lowWL[c] = lowStep[k]
		}
	}
	for n := range 512 {
		detLow[n] = scale(n, 8)
		detHigh[n] = scale(n, 10)
		if detLow[n] > 0 {
			lowRecip[n] = math.MaxUint64/uint64(detLow[n]) + 1 // ⌈2⁶⁴/d⌉ (exactly 2⁶⁴/d for a power of two)
		}
	}
	for v := range lowIntervals {
		for k := 1; k <= 29 && lowLevels[k] <= int32(v); k++ {
			lowIntervals[v] = byte(k)
		}
	}
}

// scale is SCALEL (offset 8) and SCALEH (offset 10): the linear scale
// factor 4·2^(NB/2048 - offset + 3) for NB>>6 = n, from the 32-entry table.
func scale(n, offset int) int32 {
	w := invLog[n&31]
	sh := n>>5 - offset
	if sh < 0 {
		w >>= -sh
	} else {
		w <<= sh
	}
	return w << 2
}

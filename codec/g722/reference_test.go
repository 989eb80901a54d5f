package g722

// A textbook G.722: the Recommendation's block diagram one sample at a
// time, as its §3–§4 and the G.191 reference code lay it out — a function
// per block (QUANTL, INVQAL, LOGSCL, SCALEL, UPZERO, UPPOL2, UPPOL1,
// FILTEZ, FILTEP, ...), delay lines that shift by one element per sample,
// the quantizer searched level by level, the scale factor computed from
// the inverse-log table on every sample, and QMFs that loop over their 24
// coefficients and then shift their 24-sample delay line. It shares nothing
// with the package's code but the constant tables of the Recommendation
// (and it spells out the ones the package derives), so the tests can hold
// the fast code to it on any input, and the benchmarks measure the fast
// code against the obvious implementation.

// refHQ is table 13's QMF coefficients h0..h23.
var refHQ = [24]int32{
	3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876,
	3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3}

// Reconstruction levels of the 4- and 5-bit inverse quantizers (table 9).
var (
	refOQ4 = [8]int32{0, 150, 323, 530, 786, 1121, 1612, 2557}
	refOQ5 = [16]int32{0, 35, 110, 190, 276, 370, 473, 587, 714, 858, 1023, 1219, 1458, 1765, 2195, 2919}
)

// refBand is one sub-band's state with the Recommendation's delay lines:
// index 0 is the current sample, 1.. the past ones.
type refBand struct {
	s, sp, sz int32
	a         [3]int32 // a[1], a[2]
	b         [7]int32 // b[1..6]
	dlt       [7]int32 // dlt[0..6]
	plt       [3]int32
	rlt       [3]int32
	nb, det   int32
}

func (b *refBand) reset(det int32) { *b = refBand{det: det} }

// refCodec is an encoder or a decoder: both bands and one QMF delay line.
type refCodec struct {
	lo, hi refBand
	x      [24]int32 // QMF delay line, x[0] the newest
	mode   int
}

func newRefCodec(mode int) *refCodec {
	c := &refCodec{mode: mode}
	c.lo.reset(32)
	c.hi.reset(8)
	return c
}

func refSat(x int32) int32 { return min(max(x, -32768), 32767) }

// refMult is G.191's mult: (a·b) >> 15, saturated.
func refMult(a, b int32) int32 { return refSat((a * b) >> 15) }

func refLimit(x int32) int32 { return min(max(x, -16384), 16383) }

// refQuantL is QUANTL: search the decision levels in order.
func refQuantL(el, det int32) byte {
	wd := el
	if el < 0 {
		wd = -(el + 1)
	}
	mil := 1
	for mil < 30 && (lowLevels[mil]*det)>>12 <= wd {
		mil++
	}
	switch {
	case el >= 0:
		return byte(62 - mil)
	case mil <= 2:
		return byte(64 - mil)
	}
	return byte(34 - mil)
}

// refQuantH is QUANTH.
func refQuantH(eh, det int32) byte {
	wd := eh
	if eh < 0 {
		wd = -(eh + 1)
	}
	mih := 1
	if wd >= refMult(564<<3, det) {
		mih = 2
	}
	if eh < 0 {
		return [3]byte{0, 1, 0}[mih]
	}
	return [3]byte{0, 3, 2}[mih]
}

// refLevel4 is the 4-bit inverse quantizer (INVQAL, and INVQBL in mode 3):
// the sign and magnitude index of the code's top four bits.
func refLevel4(il byte) int32 {
	ril := il >> 2
	switch {
	case ril >= 8:
		return refOQ4[15-ril] << 3
	case ril >= 1:
		return -refOQ4[8-ril] << 3
	}
	return 0
}

// refMag4 is the magnitude index (for W_L) of the code's top four bits.
func refMag4(il byte) int {
	ril := il >> 2
	switch {
	case ril >= 8:
		return int(15 - ril)
	case ril >= 1:
		return int(8 - ril)
	}
	return 0
}

// refInvQBL is the lower band's inverse quantizer for the decoder's mode.
func refInvQBL(il byte, det int32, mode int) int32 {
	var lvl int32
	switch mode {
	case 2:
		c := il >> 1
		switch {
		case c == 31:
			lvl = -refOQ5[1]
		case c >= 16:
			lvl = refOQ5[31-c]
		case c >= 2:
			lvl = -refOQ5[17-c]
		default:
			lvl = -refOQ5[1]
		}
		lvl <<= 3
	case 3:
		lvl = refLevel4(il)
	default:
		switch {
		case il >= 62:
			lvl = -lowOut6[64-il]
		case il >= 32:
			lvl = lowOut6[62-il]
		case il >= 4:
			lvl = -lowOut6[34-il]
		default:
			lvl = -lowOut6[1]
		}
		lvl <<= 3
	}
	return refMult(det, lvl)
}

// refScale is SCALEL (offset 8) and SCALEH (offset 10).
func refScale(nb int32, offset int) int32 {
	wd1 := invLog[(nb>>6)&31]
	wd2 := int(nb>>11) - offset
	if wd2 < 0 {
		wd1 >>= -wd2
	} else {
		wd1 <<= wd2
	}
	return wd1 << 2
}

// refAdapt is the predictor adaptation shared by both bands, after dlt[0]
// is set: PARREC, RECONS, UPZERO, UPPOL2, UPPOL1, FILTEZ, FILTEP, PREDIC.
func (b *refBand) refAdapt() {
	b.plt[0] = refSat(b.dlt[0] + b.sz)
	b.rlt[0] = refSat(b.s + b.dlt[0])
	// UPZERO
	wd1 := int32(128)
	if b.dlt[0] == 0 {
		wd1 = 0
	}
	sg0 := b.dlt[0] >> 15
	for i := 6; i > 0; i-- {
		wd2 := -wd1
		if b.dlt[i]>>15 == sg0 {
			wd2 = wd1
		}
		b.b[i] = refSat(wd2 + refMult(b.b[i], 32640))
		b.dlt[i] = b.dlt[i-1]
	}
	// UPPOL2
	sg0, sg1, sg2 := b.plt[0]>>15, b.plt[1]>>15, b.plt[2]>>15
	w := refSat(b.a[1] << 2)
	if sg0 == sg1 {
		w = refSat(-w)
	}
	w >>= 7
	if sg0 == sg2 {
		w += 128
	} else {
		w -= 128
	}
	apl2 := refSat(w + refMult(b.a[2], 32512))
	apl2 = min(max(apl2, -12288), 12288)
	b.a[2] = apl2
	// UPPOL1
	w = -192
	if sg0 == sg1 {
		w = 192
	}
	apl1 := refSat(w + refMult(b.a[1], 32640))
	wd3 := 15360 - b.a[2]
	if apl1 > wd3 {
		apl1 = wd3
	} else if apl1 < -wd3 {
		apl1 = -wd3
	}
	b.a[1] = apl1
	b.plt[2], b.plt[1] = b.plt[1], b.plt[0]
	// FILTEZ
	var sz int32
	for i := 6; i > 0; i-- {
		sz = refSat(sz + refMult(refSat(b.dlt[i]+b.dlt[i]), b.b[i]))
	}
	b.sz = sz
	// FILTEP
	b.rlt[2], b.rlt[1] = b.rlt[1], b.rlt[0]
	b.sp = refSat(refMult(b.a[1], refSat(b.rlt[1]+b.rlt[1])) + refMult(b.a[2], refSat(b.rlt[2]+b.rlt[2])))
	// PREDIC
	b.s = refSat(b.sp + b.sz)
}

func (b *refBand) logScaleLow(il byte) {
	b.nb = min(max(refSat(refMult(b.nb, 32512)+lowStep[refMag4(il)]), 0), 18432)
	b.det = refScale(b.nb, 8)
}

func (b *refBand) logScaleHigh(ih byte) {
	b.nb = min(max(refSat(refMult(b.nb, 32512)+[4]int32{798, -214, 798, -214}[ih]), 0), 22528)
	b.det = refScale(b.nb, 10)
}

// refInvQAH is the higher band's inverse quantizer.
func refInvQAH(ih byte, det int32) int32 {
	return refMult([4]int32{-926 << 3, -202 << 3, 926 << 3, 202 << 3}[ih], det)
}

// lsbcod and hsbcod encode one sub-band sample each.
func (c *refCodec) lsbcod(xl int32) byte {
	b := &c.lo
	il := refQuantL(refSat(xl-b.s), b.det)
	b.dlt[0] = refMult(b.det, refLevel4(il))
	b.logScaleLow(il)
	b.refAdapt()
	return il
}

func (c *refCodec) hsbcod(xh int32) byte {
	b := &c.hi
	ih := refQuantH(refSat(xh-b.s), b.det)
	b.dlt[0] = refInvQAH(ih, b.det)
	b.logScaleHigh(ih)
	b.refAdapt()
	return ih
}

// lsbdec and hsbdec decode one sub-band sample each.
func (c *refCodec) lsbdec(il byte) int32 {
	b := &c.lo
	rl := refLimit(refSat(b.s + refInvQBL(il, b.det, c.mode)))
	b.dlt[0] = refMult(b.det, refLevel4(il))
	b.logScaleLow(il)
	b.refAdapt()
	return rl
}

func (c *refCodec) hsbdec(ih byte) int32 {
	b := &c.hi
	b.dlt[0] = refInvQAH(ih, b.det)
	rh := refLimit(refSat(b.s + b.dlt[0]))
	b.logScaleHigh(ih)
	b.refAdapt()
	return rh
}

// qmfTx filters one pair (first, second) into the two sub-bands.
func (c *refCodec) qmfTx(first, second int16) (xl, xh int32) {
	c.x[1], c.x[0] = int32(first), int32(second)
	var a, b int32
	for k := 0; k < 24; k += 2 {
		a += refHQ[k] * c.x[k]
		b += refHQ[k+1] * c.x[k+1]
	}
	for k := 23; k >= 2; k-- {
		c.x[k] = c.x[k-2]
	}
	return refLimit((a + b) >> 14), refLimit((a - b) >> 14)
}

// qmfRx turns one pair of sub-band samples into two output samples.
func (c *refCodec) qmfRx(rl, rh int32) (int16, int16) {
	c.x[1], c.x[0] = rl+rh, rl-rh
	var a, b int32
	for k := 0; k < 24; k += 2 {
		a += refHQ[k] * c.x[k]
		b += refHQ[k+1] * c.x[k+1]
	}
	for k := 23; k >= 2; k-- {
		c.x[k] = c.x[k-2]
	}
	return int16(refSat(a >> 11)), int16(refSat(b >> 11))
}

// encode appends the codes of pcm (an even number of samples), one pair
// at a time.
func (c *refCodec) encode(dst []byte, pcm []int16) []byte {
	for i := 0; i+1 < len(pcm); i += 2 {
		xl, xh := c.qmfTx(pcm[i], pcm[i+1])
		il := c.lsbcod(xl)
		ih := c.hsbcod(xh)
		dst = append(dst, ih<<6|il)
	}
	return dst
}

// decode appends two samples per code.
func (c *refCodec) decode(dst []int16, codes []byte) []int16 {
	for _, code := range codes {
		rl := c.lsbdec(code & 63)
		rh := c.hsbdec(code >> 6)
		o1, o2 := c.qmfRx(rl, rh)
		dst = append(dst, o1, o2)
	}
	return dst
}

package g722

// The quadrature mirror filters of G.722 §3.2 (transmit: 16 kHz → two 8 kHz
// sub-bands) and §4.4 (receive: two sub-bands → 16 kHz), with the 24
// coefficients of table 13.
//
// Both filters run over a linear history buffer rather than a ring: the
// caller keeps the last qmfHist samples in front of the new ones (see
// Encoder.hist and Decoder.hist) and moves them down once per call. Every
// output then reads one contiguous, 24-sample window, so each loop
// iteration costs a single bounds check and no index arithmetic modulo a
// ring size.
//
// Each output pair is two 12-tap dot products over the window w (oldest
// sample first, w[23] the newest), with h the coefficients of table 13:
//
//	a = Σ h[2i]·w[23-2i]    b = Σ h[2i+1]·w[22-2i]    (i = 0..11)
//
// written out below with the constants in place. The transmit filter's
// sub-band samples are (a ± b) >> 14, limited to 15 bits; the receive
// filter's output samples are a >> 11 and b >> 11, saturated to 16 bits
// (which is what G.191's L_shl and extract_h do to the doubled
// coefficients). None of the sums can overflow 32 bits: the coefficients'
// magnitudes add up to 12964, and 12964·65536 < 2³¹.

// qmfHist is how many past samples a window reaches back: 24 taps minus the
// 2 new samples of the pair.
const qmfHist = 22

// analyze is the transmit QMF for n pairs: it reads x[0 : qmfHist+2n]
// (history, then new samples) and writes the sub-band samples to xl[:n]
// and xh[:n].
func analyze(xl, xh []int32, x []int16, n int) {
	xl, xh = xl[:n], xh[:n]
	for j := range xl {
		w := x[2*j : 2*j+24 : 2*j+24] // bounds check hint: one check per pair
		a := 3*int32(w[23]) - 11*int32(w[21]) + 12*int32(w[19]) + 32*int32(w[17]) -
			210*int32(w[15]) + 951*int32(w[13]) + 3876*int32(w[11]) - 805*int32(w[9]) +
			362*int32(w[7]) - 156*int32(w[5]) + 53*int32(w[3]) - 11*int32(w[1])
		b := -11*int32(w[22]) + 53*int32(w[20]) - 156*int32(w[18]) + 362*int32(w[16]) -
			805*int32(w[14]) + 3876*int32(w[12]) + 951*int32(w[10]) - 210*int32(w[8]) +
			32*int32(w[6]) + 12*int32(w[4]) - 11*int32(w[2]) + 3*int32(w[0])
		xl[j] = limit((a + b) >> 14)
		xh[j] = limit((a - b) >> 14)
	}
}

// synthesize is the receive QMF for n pairs: it reads x[0 : qmfHist+2n],
// where each new pair is (rl+rh, rl-rh), and writes 2n samples to out.
func synthesize(out []int16, x []int16, n int) {
	out = out[:2*n]
	for j := range n {
		w := x[2*j : 2*j+24 : 2*j+24] // bounds check hint: one check per pair
		a := 3*int32(w[23]) - 11*int32(w[21]) + 12*int32(w[19]) + 32*int32(w[17]) -
			210*int32(w[15]) + 951*int32(w[13]) + 3876*int32(w[11]) - 805*int32(w[9]) +
			362*int32(w[7]) - 156*int32(w[5]) + 53*int32(w[3]) - 11*int32(w[1])
		b := -11*int32(w[22]) + 53*int32(w[20]) - 156*int32(w[18]) + 362*int32(w[16]) -
			805*int32(w[14]) + 3876*int32(w[12]) + 951*int32(w[10]) - 210*int32(w[8]) +
			32*int32(w[6]) + 12*int32(w[4]) - 11*int32(w[2]) + 3*int32(w[0])
		o := out[2*j : 2*j+2 : 2*j+2]
		o[0] = int16(sat16(a >> 11))
		o[1] = int16(sat16(b >> 11))
	}
}

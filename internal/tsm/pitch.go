package tsm

import (
	"math"

	"github.com/rtpmix/rtpmix/internal/pcm"
)

// The pitch search, as in WSOLA and WebRTC NetEq's time stretching: find
// the lag P at which the newest audio best matches itself, by normalised
// cross-correlation, first on a 4 kHz copy (cheap, and speech's periodicity
// lives below 2 kHz), then at the full rate around that lag.
const (
	searchRate = 4000
	minLag4    = 10 // 2.5 ms: 400 Hz, the highest voice pitch searched
	maxLag4    = 60 // 15 ms: 67 Hz, the lowest
	win4       = 40 // 10 ms: the correlation window

	// coarseMin: below this at 4 kHz, the full-rate correlation will not
	// pass either (decimation keeps the most periodic part of the signal).
	coarseMin = 0.7
	// corrMin: the two segments a splice crossfades must correlate at
	// least this well, the threshold NetEq applies to its accelerate and
	// preemptive-expand segments.
	corrMin = 0.9
	// maxEnergyRatio: the faded segments' energies must be within 6 dB of
	// each other: removing or repeating a period of an onset or a decay
	// would be heard as a stutter of the envelope.
	maxEnergyRatio = 4
)

// planVoiced finds the period P (≤ maxN) to remove or insert at the end of
// the pending audio. The crossfaded segments are s[e-L-P:e-P] and
// s[e-L:e]: the newest L samples and those one period earlier.
func (f *FIFO) planVoiced(o op, maxN int) (splice, bool) {
	x, o0 := f.ctx()
	e, h, d := f.Len(), f.hist, f.d
	plo := minLag4 * d
	phi := min(maxN, maxLag4*d, e+h-plo)
	if o == shorten {
		phi = min(phi, 2*e/3) // the fade, min(P, e-P), must be at least P/2
	} else {
		phi = min(phi, 2*e)
	}
	// The decimated signal needs (win4+lhi+2)·d samples of context.
	lhi := min(phi/d, (e+h)/d-2-win4)
	if lhi < minLag4 {
		return splice{}, false
	}
	y := f.y[:win4+lhi]
	decimate(y, x, o0+e, d)
	l, c := coarseLag(y, lhi)
	if c < coarseMin {
		return splice{}, false
	}

	fade := func(p int) int {
		if o == shorten {
			return min(p, e-p)
		}
		return min(p, e, e+h-p)
	}
	x = x[:o0+e]
	// score is the normalised correlation of the segments a splice at lag
	// p crossfades, measured over at least 2.5 ms (reaching further back
	// when the fade is shorter) so that a short fade cannot match by
	// chance; -1 where a splice at p does not fit.
	score := func(p int) float64 {
		if p < plo || p > phi {
			return -1
		}
		l := fade(p)
		if 2*l < p {
			return -1
		}
		n := min(max(l, plo), len(x)-p)
		return ncc(x[len(x)-n-p:len(x)-p], x[len(x)-n:])
	}
	p, best := climb(score, int(math.Round(l*float64(d))), d)
	if best < corrMin {
		return splice{}, false
	}
	fl := fade(p)
	ea, eb := pcm.Energy(x[len(x)-fl-p:len(x)-p]), pcm.Energy(x[len(x)-fl:])
	if ea > maxEnergyRatio*eb || eb > maxEnergyRatio*ea {
		return splice{}, false
	}
	if o == shorten {
		return splice{at: e - fl - p, shift: p, fade: fl, voiced: true}, true
	}
	return splice{at: e - fl, shift: p, fade: fl, voiced: true}, true
}

// climb returns the local maximum of score nearest p0, walking from p0
// towards the better neighbour for at most steps samples, and its score.
// The full-rate correlation is sharp (its fine structure follows the
// formants), so the 4 kHz lag only says where to start: it is within a
// few samples of the peak, and no other peak is that close.
func climb(score func(int) float64, p0, steps int) (int, float64) {
	best, bs := p0, score(p0)
	up, down := score(p0+1), score(p0-1)
	dir := 1
	switch {
	case up > bs && up >= down:
		best, bs = p0+1, up
	case down > bs:
		best, bs, dir = p0-1, down, -1
	default:
		return best, bs
	}
	for range steps {
		v := score(best + dir)
		if v <= bs {
			break
		}
		best, bs = best+dir, v
	}
	return best, bs
}

// ncc returns the normalised cross-correlation of a and b (equal lengths),
// 0 when either is silent or they are anti-correlated.
func ncc(a, b []int16) float64 {
	ea, eb := pcm.Energy(a), pcm.Energy(b)
	c := dot(a, b)
	if ea == 0 || eb == 0 || c <= 0 {
		return 0
	}
	return float64(c) / math.Sqrt(float64(ea)*float64(eb))
}

// decimate fills y with x[:end] taken to 4 kHz: sums of d samples (nulls
// at every multiple of 4 kHz) smoothed by [1 2 1] at 4 kHz (a null at
// 2 kHz), about one add per input sample. An alias from 3 kHz lands at
// 1 kHz 16 dB down; the full-rate refinement is what decides, so the
// coarse search only has to land near the right lag. It reads the last
// (len(y)+2)·d samples before end.
func decimate(y []float32, x []int16, end, d int) {
	blk := x[end-(len(y)+2)*d : end]
	// d is even at every supported rate: two samples a step halves the
	// loop overhead of these short sums.
	sum := func(b []int16) int32 {
		var s0, s1 int32
		for len(b) >= 2 {
			s0 += int32(b[0])
			s1 += int32(b[1])
			b = b[2:]
		}
		return s0 + s1
	}
	b0, b1 := sum(blk[:d]), sum(blk[d:2*d])
	blk = blk[2*d:]
	for i := range y {
		b2 := sum(blk[:d])
		blk = blk[d:]
		y[i] = float32(b0 + 2*b1 + b2)
		b0, b1 = b1, b2
	}
}

// coarseLag returns the lag in [minLag4, lhi], refined between samples by
// a parabola through the neighbouring correlations, at which y's last
// win4 samples best match their past, and its normalised correlation.
// len(y) = win4 + lhi.
func coarseLag(y []float32, lhi int) (float64, float64) {
	n := len(y)
	w := y[n-win4:]
	var e0 float64
	for _, v := range w {
		e0 += float64(v) * float64(v)
	}
	if e0 == 0 {
		return 0, 0
	}
	// el is the energy of y[n-win4-l : n-l], slid from lag to lag.
	var el float64
	for _, v := range y[n-win4-minLag4 : n-minLag4] {
		el += float64(v) * float64(v)
	}
	var ncc [maxLag4 + 2]float64
	best, bestC := 0, -1.0
	for l := minLag4; l <= lhi; l++ {
		c := dotF(w, y[n-win4-l:n-l])
		if el > 0 && c > 0 {
			ncc[l] = float64(c) / math.Sqrt(e0*el)
		}
		if ncc[l] > bestC {
			best, bestC = l, ncc[l]
		}
		if l < lhi {
			in, out := float64(y[n-win4-l-1]), float64(y[n-l-1])
			el += in*in - out*out
		}
	}
	frac := 0.0
	if best > minLag4 && best < lhi {
		a, b, c := ncc[best-1], ncc[best], ncc[best+1]
		if den := a - 2*b + c; den < 0 {
			frac = min(max(0.5*(a-c)/den, -0.5), 0.5)
		}
	}
	return float64(best) + frac, bestC
}

// dotF returns Σ a[i]·b[i] over len(a) = win4 samples, in four chains so
// the adds do not wait on each other.
func dotF(a, b []float32) float32 {
	a, b = a[:win4], b[:win4] // bounds check hint; win4 is a multiple of 4
	var s0, s1, s2, s3 float32
	for i := 0; i < win4; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	return (s0 + s1) + (s2 + s3)
}

// dot returns Σ a[i]·b[i] over len(a) samples; b is at least as long.
func dot(a, b []int16) int64 {
	b = b[:len(a)] // bounds check hint
	var s0, s1, s2, s3 int64
	for len(a) >= 4 && len(b) >= 4 {
		s0 += int64(int32(a[0]) * int32(b[0]))
		s1 += int64(int32(a[1]) * int32(b[1]))
		s2 += int64(int32(a[2]) * int32(b[2]))
		s3 += int64(int32(a[3]) * int32(b[3]))
		a, b = a[4:], b[4:]
	}
	b = b[:len(a)] // bounds check hint
	for i, v := range a {
		s0 += int64(int32(v) * int32(b[i]))
	}
	return (s0 + s1) + (s2 + s3)
}

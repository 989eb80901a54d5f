package plc

import (
	"fmt"
	"math"
)

// The scheme at 8 kHz; at 16 kHz every length doubles (see geometry).
const (
	pitchMin8   = 40                                 // 200 Hz
	pitchMax8   = 120                                // 66.7 Hz
	corrLen8    = 160                                // 20 ms window matched against the past
	decim8      = 2                                  // the coarse pitch search reads every other sample
	histLen8    = 3*pitchMax8 + pitchMax8/4          // three periods plus the loop overlap (a quarter period)
	step8       = 80                                 // 10 ms: the schedule's unit
	joinStep8   = 32                                 // end-of-loss fade grows 4 ms per 10 ms lost
	maxPeriods  = 3                                  // periods repeated from 20 ms on
	minPower    = 16 * 16                            // per sample; below it the past is near silence
	subMultiple = 0.9                                // score a fraction of the lag needs to be chosen instead
	maxScale    = 2                                  // 16 kHz
	histMax     = maxScale * histLen8                // the history at the highest rate
	decimMax    = maxScale * decim8                  // the coarse search's decimation at the highest rate
	coarseLen   = histLen8 / decim8                  // samples of each decimated phase, at any rate
	ringLen     = 1024                               // power of two >= histMax
	_           = uint(ringLen - histMax)            // compile-time check: the ring holds the history
	_           = uint(histMax/decimMax - coarseLen) // and the decimated phases are the same length at every rate
)

// geometry is the scheme's lengths in samples at one rate.
type geometry struct {
	pitchMin, pitchMax int
	corrLen            int
	decimShift         int // log2 of the coarse search's decimation
	histLen            int
	step               int     // 10 ms
	fadeStart, fadeLen int     // full level for 10 ms, then -20% per 10 ms
	fadeLenF           float32 // fadeLen, converted once for the per-sample gain
	silent             int     // 60 ms: nothing left to repeat
	joinStep           int
	refineSpan         int // the refinement tries lags this far either side: one coarse step
}

func newGeometry(scale int) geometry {
	step := scale * step8
	return geometry{
		pitchMin:   scale * pitchMin8,
		pitchMax:   scale * pitchMax8,
		corrLen:    scale * corrLen8,
		decimShift: scale, // decimation 2 at 8 kHz, 4 at 16 kHz
		histLen:    scale * histLen8,
		step:       step,
		fadeStart:  step,
		fadeLen:    5 * step,
		fadeLenF:   float32(5 * step),
		silent:     6 * step,
		joinStep:   scale * joinStep8,
		refineSpan: scale,
	}
}

// Concealer holds a decoder's recent output and the state of a loss in
// progress. Make one with [New]; it starts with a history of silence.
//
// Not safe for concurrent use: it belongs to one decoder, which serialises
// its calls.
type Concealer struct {
	g geometry

	ring [ringLen]int16 // last output samples; ring[(w-1)%ringLen] is the newest
	w    uint32         // samples written in total (wraps harmlessly: 2^32 % ringLen == 0)

	lost int // samples concealed since the last received ones; 0 outside a loss

	// Set when a loss begins.
	h     [histMax]float32 // the history, oldest first, frozen for the loss; h[:g.histLen] in use
	pitch int
	ov    int // overlap length, a quarter period

	// The repeated segment is the last k periods of h, read at phase.
	k, phase int
	// While k grows, the previous segment fades out over fade samples.
	oldK, oldPhase, fade int
	// The step at the start of the loss, faded out over stepLeft samples.
	step     float32
	stepLeft int
}

// New returns a concealer for audio at sampleRate, which must be 8000 or
// 16000 (a caller's programming error otherwise, so it panics).
func New(sampleRate int) Concealer {
	if sampleRate != 8000 && sampleRate != 16000 {
		panic(fmt.Sprintf("plc: sample rate %d, want 8000 or 16000", sampleRate))
	}
	return Concealer{g: newGeometry(sampleRate / 8000)}
}

// Reset forgets the stream: the history is silence again and no loss is in
// progress.
func (p *Concealer) Reset() { *p = Concealer{g: p.g} }

// Lost reports whether a loss is in progress: Conceal was called since the
// last Received.
func (p *Concealer) Lost() bool { return p.lost > 0 }

// Level is the gain the concealment applies at this point of a loss: 1 for
// the first 10 ms (and outside a loss), falling to 0 at 60 ms.
func (p *Concealer) Level() float32 {
	if p.lost <= p.g.fadeStart {
		return 1
	}
	return max(0, 1-float32(p.lost-p.g.fadeStart)/p.g.fadeLenF)
}

// Received records decoded samples, first cross-fading them in place from
// the concealed signal if they end a loss.
func (p *Concealer) Received(out []int16) {
	if p.lost > 0 {
		// Longer losses get longer fades into the real signal, from a
		// quarter period after 10 ms up to 10 ms, as in Appendix I.
		n := min(p.ov+p.g.joinStep*((p.lost-1)/p.g.step), p.g.step, len(out))
		for i := range n {
			w := float32(i+1) / float32(n+1)
			out[i] = clamp16((1-w)*p.synth() + w*float32(out[i]))
		}
		p.lost = 0
	}
	p.record(out)
}

// Conceal fills out with the continuation of the lost signal. Successive
// calls continue one loss, in pieces of any length.
func (p *Concealer) Conceal(out []int16) {
	at1, at2 := p.g.step, 2*p.g.step
	for i := range out {
		switch p.lost {
		case 0:
			p.begin()
		case at1, at2:
			p.addPeriod()
		}
		out[i] = clamp16(p.synth())
	}
	p.record(out)
}

// record appends samples to the history ring.
func (p *Concealer) record(s []int16) {
	if len(s) > ringLen {
		p.w += uint32(len(s) - ringLen)
		s = s[len(s)-ringLen:]
	}
	i := int(p.w % ringLen)
	n := copy(p.ring[i:], s)
	copy(p.ring[:], s[n:])
	p.w += uint32(len(s))
}

// begin freezes the history and finds its pitch at the first lost sample.
func (p *Concealer) begin() {
	L := p.g.histLen
	h := p.h[:L]
	for i := range h {
		h[i] = float32(p.ring[(p.w-uint32(L)+uint32(i))%ringLen])
	}
	p.pitch = p.g.findPitch(h)
	p.ov = p.pitch / 4
	p.k, p.phase, p.fade = 1, 0, 0
	// The repeat starts at h[L-pitch], whose natural predecessor is
	// h[L-pitch-1]; the real signal ended at h[L-1] instead. Adding the
	// difference and fading it out joins the two without a step.
	p.step = h[L-1] - h[L-1-p.pitch]
	p.stepLeft = p.ov
}

// addPeriod repeats one more period (10 and 20 ms into a loss), which
// sounds less buzzy than looping one period for long. The phase carries
// over, as both segments end where the history ends.
func (p *Concealer) addPeriod() {
	if p.k == maxPeriods {
		return
	}
	p.oldK, p.oldPhase, p.fade = p.k, p.phase, p.ov
	p.k++
}

// synth returns the next concealment sample, attenuated, and advances.
func (p *Concealer) synth() float32 {
	if p.lost >= p.g.silent {
		return 0 // also keeps lost from growing without bound
	}
	v := p.segment(p.k, p.phase)
	if p.phase++; p.phase == p.k*p.pitch {
		p.phase = 0
	}
	if p.fade > 0 {
		w := float32(p.fade) / float32(p.ov+1)
		v = w*p.segment(p.oldK, p.oldPhase) + (1-w)*v
		if p.oldPhase++; p.oldPhase == p.oldK*p.pitch {
			p.oldPhase = 0
		}
		p.fade--
	}
	if p.stepLeft > 0 {
		v += p.step * float32(p.stepLeft) / float32(p.ov+1)
		p.stepLeft--
	}
	if p.lost >= p.g.fadeStart {
		v *= 1 - float32(p.lost-p.g.fadeStart)/p.g.fadeLenF
	}
	p.lost++
	return v
}

// segment returns sample i of the last k periods of the history, looped.
// The last quarter period is cross-faded into the samples just before the
// segment, so that wrapping from its end to its start joins smoothly.
func (p *Concealer) segment(k, i int) float32 {
	n := k * p.pitch
	base := p.g.histLen - n
	if j := i - (n - p.ov); j >= 0 {
		w := float32(j+1) / float32(p.ov+1)
		return (1-w)*p.h[base+i] + w*p.h[base+i-n]
	}
	return p.h[base+i]
}

// findPitch returns the lag, pitchMin..pitchMax, at which the past h (of
// histLen samples) best matches its last corrLen samples, by normalised
// cross-correlation: first at every lag on a 4 kHz view of the signal
// (every other sample at 8 kHz, every 4th at 16 kHz: enough to find a
// voice's period), then at full resolution around the best. A multiple of
// the period matches as well as the period itself, so a whole fraction of
// the winner that matches nearly as well is preferred: repeating one
// period rather than two keeps the first 10 ms closest to the most recent
// waveform.
func (g *geometry) findPitch(h []float32) int {
	h = h[:g.histLen]
	// Splitting h into its phases once makes every lag's operands
	// contiguous.
	decim := 1 << g.decimShift
	var dec [decimMax][coarseLen]float32
	if decim == 2 {
		// 8 kHz, unrolled: this runs at the start of every loss.
		h := h[:2*coarseLen]
		for i := range coarseLen {
			dec[0][i], dec[1][i] = h[2*i], h[2*i+1]
		}
	} else {
		h := h[:decimMax*coarseLen]
		for i := range coarseLen {
			p := h[decimMax*i : decimMax*i+decimMax : decimMax*i+decimMax]
			dec[0][i], dec[1][i], dec[2][i], dec[3][i] = p[0], p[1], p[2], p[3]
		}
	}
	end := g.histLen - g.corrLen // a multiple of decim
	const n = corrLen8 / decim8  // the window's length in the 4 kHz view, at any rate
	x := dec[0][end>>g.decimShift:][:n]
	coarse := func(lag int) float32 {
		start := end - lag
		return pitchScore(x, dec[start&(decim-1)][start>>g.decimShift:][:n])
	}
	best, bestScore := g.pitchMin, coarse(g.pitchMin)
	for lag := g.pitchMin + 1; lag <= g.pitchMax; lag++ {
		if s := coarse(lag); s > bestScore {
			best, bestScore = lag, s
		}
	}
	best, bestScore = g.refinePitch(h, best)
	for d := g.pitchMax / g.pitchMin; d >= 2; d-- {
		sub := (best + d/2) / d
		if sub < g.pitchMin {
			continue
		}
		if lag, s := g.refinePitch(h, sub); bestScore > 0 && s >= subMultiple*bestScore {
			return lag
		}
	}
	return best
}

// refinePitch returns the best of lag and its neighbours up to refineSpan
// either side (what the coarse search stepped over) at full resolution.
func (g *geometry) refinePitch(h []float32, lag int) (int, float32) {
	end := g.histLen - g.corrLen
	full := func(lag int) float32 { return pitchScore(h[end:], h[end-lag:g.histLen-lag]) }
	best, bestScore := lag, full(lag)
	for l := lag - g.refineSpan; l <= lag+g.refineSpan; l++ {
		if l == lag || l < g.pitchMin || l > g.pitchMax {
			continue
		}
		if s := full(l); s > bestScore {
			best, bestScore = l, s
		}
	}
	return best, bestScore
}

// pitchScore is the correlation of x with the past samples y, divided by
// the root energy of y (floored, so that near-silence does not win by
// dividing by almost nothing). len(y) >= len(x), a multiple of 4. Two
// partial sums per quantity, each adding a pair of products per step, keep
// the additions off one long dependency chain without running out of
// registers.
func pitchScore(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	var c0, c1, e0, e1 float32
	for len(x) >= 4 && len(y) >= 4 {
		xs, ys := x[:4:4], y[:4:4]
		c0 += xs[0]*ys[0] + xs[2]*ys[2]
		c1 += xs[1]*ys[1] + xs[3]*ys[3]
		e0 += ys[0]*ys[0] + ys[2]*ys[2]
		e1 += ys[1]*ys[1] + ys[3]*ys[3]
		x, y = x[4:], y[4:]
	}
	e := max(e0+e1, minPower*float32(n))
	return (c0 + c1) / float32(math.Sqrt(float64(e)))
}

func clamp16(v float32) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	}
	return int16(float32(math.Round(float64(v))))
}

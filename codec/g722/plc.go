package g722

import "math"

// Packet-loss concealment, in two parts.
//
// The waveform: the scheme codec/g711 takes from ITU-T G.711 Appendix I,
// run on the decoded 16 kHz signal. When audio is lost, estimate the pitch
// period of the last output and play the last period(s) again, with
// overlap-adds wherever two waveforms meet, and attenuate the longer the
// loss lasts: full level for 10 ms, -20 % per 10 ms after that, silence
// from 60 ms. Decode returns what it decoded with no delay, so the join at
// the start of a loss is smoothed by fading out the step between the last
// real sample and the repeated waveform, and the first samples after a
// loss are cross-faded from the concealment into the decoded signal.
//
// The decoder's state: G.722 is backward adaptive, so a decoder that skips
// lost codes keeps predictor coefficients and scale factors from before the
// loss while the sender's moved on. The coefficients describe the voice's
// spectrum, which changes slowly, and are best kept (G.722 Appendix IV
// keeps them too). The scale factors follow the level, and a stale one
// makes the first packets after a loss decode too loud when the talker got
// quieter, which is common at the end of a talkspurt and which the
// concealment's fade makes likelier still. So the decoder resumes with
// its scale factors lowered by the attenuation the concealment had reached
// (down to a reset once it has gone silent, as Appendix IV resets them
// after muting). TestPLCRecovery measures this against the stale state: on
// five speech clips and four loss lengths, the 40 ms after a loss are
// closer to the lossless decoding and overshoot it less. (Coding the
// concealed signal again to update the whole state, coefficients
// included, measured worse than either.)
const (
	plcPitchMin    = 80                            // 200 Hz at 16 kHz
	plcPitchMax    = 240                           // 66.7 Hz
	plcCorrLen     = 320                           // 20 ms window matched against the past
	plcDecim       = 4                             // the coarse pitch search reads every 4th sample
	plcOverlapMax  = plcPitchMax / 4               // overlap-adds span a quarter period
	plcHistLen     = 3*plcPitchMax + plcOverlapMax // three periods plus the loop overlap
	plcRingLen     = 1024                          // power of two >= plcHistLen
	plcStep        = 160                           // 10 ms: the schedule's unit
	plcMaxPeriods  = 3                             // periods repeated from 20 ms on
	plcFadeStart   = plcStep                       // full level for the first 10 ms
	plcFadeLen     = 5 * plcStep                   // then -20% per 10 ms
	plcSilent      = plcFadeStart + plcFadeLen     // 60 ms: nothing left to repeat
	plcJoinStep    = 64                            // end-of-loss fade grows 4 ms per 10 ms lost
	plcMinPower    = 16 * 16                       // per sample; below it the past is near silence
	plcSubMultiple = 0.9                           // score a fraction of the lag needs to be chosen instead
)

// plc holds the decoder's recent output and the state of a loss in
// progress. The zero value is ready: its history is silence.
type plc struct {
	ring [plcRingLen]int16 // last output samples; ring[(w-1)%plcRingLen] is the newest
	w    uint32            // samples written in total (wraps harmlessly: 2^32 % 1024 == 0)

	lost int // samples concealed since the last received ones; 0 outside a loss

	// Set when a loss begins.
	h     [plcHistLen]float32 // the history, oldest first, frozen for the loss
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

// level is the gain the concealment applies at this point of a loss: 1
// for the first 10 ms, falling to 0 at 60 ms.
func (p *plc) level() float32 {
	if p.lost <= plcFadeStart {
		return 1
	}
	return max(0, 1-float32(p.lost-plcFadeStart)/plcFadeLen)
}

// received records decoded samples, first cross-fading them from the
// concealed signal if they end a loss.
func (p *plc) received(out []int16) {
	if p.lost > 0 {
		// Longer losses get longer fades into the real signal, from a
		// quarter period after 10 ms up to 10 ms, as in Appendix I.
		n := min(p.ov+plcJoinStep*((p.lost-1)/plcStep), plcStep, len(out))
		for i := range n {
			w := float32(i+1) / float32(n+1)
			out[i] = clamp16((1-w)*p.synth() + w*float32(out[i]))
		}
		p.lost = 0
	}
	p.record(out)
}

// conceal fills out with the continuation of the lost signal.
func (p *plc) conceal(out []int16) {
	for i := range out {
		switch p.lost {
		case 0:
			p.begin()
		case plcStep, 2 * plcStep:
			p.addPeriod()
		}
		out[i] = clamp16(p.synth())
	}
	p.record(out)
}

// record appends samples to the history ring.
func (p *plc) record(s []int16) {
	if len(s) > plcRingLen {
		p.w += uint32(len(s) - plcRingLen)
		s = s[len(s)-plcRingLen:]
	}
	i := int(p.w % plcRingLen)
	n := copy(p.ring[i:], s)
	copy(p.ring[:], s[n:])
	p.w += uint32(len(s))
}

// begin freezes the history and finds its pitch at the first lost sample.
func (p *plc) begin() {
	for i := range p.h {
		p.h[i] = float32(p.ring[(p.w-plcHistLen+uint32(i))%plcRingLen])
	}
	p.pitch = findPitch(&p.h)
	p.ov = p.pitch / 4
	p.k, p.phase, p.fade = 1, 0, 0
	// The repeat starts at h[L-pitch], whose natural predecessor is
	// h[L-pitch-1]; the real signal ended at h[L-1] instead. Adding the
	// difference and fading it out joins the two without a step.
	const last = plcHistLen - 1
	p.step = p.h[last] - p.h[last-p.pitch]
	p.stepLeft = p.ov
}

// addPeriod repeats one more period (10 and 20 ms into a loss), which
// sounds less buzzy than looping one period for long. The phase carries
// over, as both segments end where the history ends.
func (p *plc) addPeriod() {
	if p.k == plcMaxPeriods {
		return
	}
	p.oldK, p.oldPhase, p.fade = p.k, p.phase, p.ov
	p.k++
}

// synth returns the next concealment sample, attenuated, and advances.
func (p *plc) synth() float32 {
	if p.lost >= plcSilent {
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
	if p.lost >= plcFadeStart {
		v *= 1 - float32(p.lost-plcFadeStart)/plcFadeLen
	}
	p.lost++
	return v
}

// segment returns sample i of the last k periods of the history, looped.
// The last quarter period is cross-faded into the samples just before the
// segment, so that wrapping from its end to its start joins smoothly.
func (p *plc) segment(k, i int) float32 {
	n := k * p.pitch
	base := plcHistLen - n
	if j := i - (n - p.ov); j >= 0 {
		w := float32(j+1) / float32(p.ov+1)
		return (1-w)*p.h[base+i] + w*p.h[base+i-n]
	}
	return p.h[base+i]
}

// findPitch returns the lag, plcPitchMin..plcPitchMax, at which the past
// best matches the last plcCorrLen samples, by normalised cross-correlation:
// first at every lag on every 4th sample (a 4 kHz view, enough to find a
// voice's period), then at full resolution around the best. A multiple of
// the period matches as well as the period itself, so a whole fraction of
// the winner that matches nearly as well is preferred: repeating one
// period rather than two keeps the first 10 ms closest to the most recent
// waveform.
func findPitch(h *[plcHistLen]float32) int {
	// Splitting h into its four phases once makes every lag's operands
	// contiguous.
	var dec [plcDecim][plcHistLen / plcDecim]float32
	for i := range plcHistLen / plcDecim {
		for ph := range plcDecim {
			dec[ph][i] = h[plcDecim*i+ph]
		}
	}
	const end, n = plcHistLen - plcCorrLen, plcCorrLen / plcDecim // end is a multiple of plcDecim
	x := dec[0][end/plcDecim : end/plcDecim+n]
	coarse := func(lag int) float32 {
		start := end - lag
		return pitchScore(x, dec[start%plcDecim][start/plcDecim:start/plcDecim+n])
	}
	best, bestScore := plcPitchMin, coarse(plcPitchMin)
	for lag := plcPitchMin + 1; lag <= plcPitchMax; lag++ {
		if s := coarse(lag); s > bestScore {
			best, bestScore = lag, s
		}
	}
	best, bestScore = refinePitch(h, best)
	for d := plcPitchMax / plcPitchMin; d >= 2; d-- {
		sub := (best + d/2) / d
		if sub < plcPitchMin {
			continue
		}
		if lag, s := refinePitch(h, sub); bestScore > 0 && s >= plcSubMultiple*bestScore {
			return lag
		}
	}
	return best
}

// refinePitch returns the best of lag and its two neighbours either side at
// full resolution.
func refinePitch(h *[plcHistLen]float32, lag int) (int, float32) {
	const end = plcHistLen - plcCorrLen
	full := func(lag int) float32 { return pitchScore(h[end:], h[end-lag:plcHistLen-lag]) }
	best, bestScore := lag, full(lag)
	for _, l := range [4]int{lag - 2, lag - 1, lag + 1, lag + 2} {
		if l < plcPitchMin || l > plcPitchMax {
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
// partial sums per quantity keep the additions off one long dependency
// chain.
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
	e := max(e0+e1, plcMinPower*float32(n))
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

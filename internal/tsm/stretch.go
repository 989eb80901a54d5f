package tsm

import "github.com/rtpmix/rtpmix/internal/pcm"

const (
	// A silent splice crossfades over 2.5 ms (or over the change, when it
	// is shorter), and silence is decided on 2.5 ms blocks.
	silentFadeUs  = 2500
	silentBlockUs = 2500
)

// op is the direction of a change.
type op uint8

const (
	shorten op = iota
	lengthen
)

// splice is one planned change of the pending audio, in pending
// coordinates (0 is the first pending sample; negative is history).
//
// Shorten, removing shift samples:
//
//	out = s[:at] ++ fade(s[at:at+fade] → s[at+shift:at+shift+fade]) ++ s[at+shift+fade:]
//
// Lengthen, inserting shift samples:
//
//	out = s[:at] ++ fade(s[at:at+fade] → s[at-shift:at-shift+fade]) ++ s[at-shift+fade:]
//
// Each crossfade starts on the sample the unchanged audio before it leads
// to and ends on the one that leads to the unchanged audio after it, so a
// splice adds no step; the two faded segments are one shift apart, which
// for voiced audio is a whole number of pitch periods, so they are nearly
// the same waveform and the fade neither cancels nor beats.
type splice struct {
	at, shift, fade int
	voiced          bool
}

// Shorten removes up to n pending samples and returns how many it
// removed: one pitch period (or a multiple, whichever of the lags up to n
// matches best) of voiced audio, or up to n samples of silence or
// background noise. It removes nothing when neither is found: no period
// whose copies correlate (normalised cross-correlation at least 0.9), a
// transient or onset, or too little pending audio (see the package doc for
// how much a change needs). Len shrinks by exactly the returned count.
func (f *FIFO) Shorten(n int) int {
	return f.change(shorten, n)
}

// Lengthen inserts up to n samples into the pending audio and returns how
// many it inserted, under the same rules as Shorten: one pitch period of
// voiced audio (it may repeat a period already played) or up to n samples
// of silence or background noise, never past Cap. Len grows by exactly the
// returned count.
func (f *FIFO) Lengthen(n int) int {
	return f.change(lengthen, n)
}

func (f *FIFO) change(o op, maxN int) int {
	e := f.Len()
	if o == shorten {
		maxN = min(maxN, e)
	} else {
		maxN = min(maxN, f.Available())
	}
	if maxN <= 0 {
		return 0
	}
	if o == lengthen {
		// The splice writes up to maxN samples past the end.
		f.makeRoom(maxN)
	}
	sp, ok := f.planSilent(o, maxN)
	if !ok || sp.shift < min(maxN, maxLag4*f.d) {
		if v, vok := f.planVoiced(o, maxN); vok && (!ok || v.shift > sp.shift) {
			sp, ok = v, true
		}
	}
	if !ok {
		f.stats.Declined++
		return 0
	}
	f.last = sp
	if o == shorten {
		f.applyShorten(sp)
		f.stats.Removed += uint64(sp.shift)
	} else {
		f.applyLengthen(sp)
		f.stats.Inserted += uint64(sp.shift)
	}
	if sp.voiced {
		f.stats.PitchSplices++
	} else {
		f.stats.SilentSplices++
	}
	return sp.shift
}

// ctx returns history and pending audio and the index of the first
// pending sample in it.
func (f *FIFO) ctx() ([]int16, int) {
	return f.buf[f.start-f.hist : f.end], f.hist
}

func (f *FIFO) applyShorten(sp splice) {
	x, o := f.ctx()
	a := o + sp.at
	crossfade(x[a:a+sp.fade], x[a+sp.shift:a+sp.shift+sp.fade])
	copy(x[a+sp.fade:], x[a+sp.shift+sp.fade:])
	f.end -= sp.shift
}

func (f *FIFO) applyLengthen(sp splice) {
	x := f.buf[f.start-f.hist : f.end+sp.shift]
	o := f.hist
	b := o + sp.at
	e := o + f.Len()
	// The tail moves first: it may start inside the faded segment, which
	// the crossfade overwrites. The fade's second segment ends before b
	// (fade ≤ shift), so neither move touches it.
	copy(x[b+sp.fade:], x[b-sp.shift+sp.fade:e])
	crossfade(x[b:b+sp.fade], x[b-sp.shift:b-sp.shift+sp.fade])
	f.end += sp.shift
}

// crossfade fades dst (in place) out and to in, linearly, over len(dst)
// samples, with weights at sample centres: the fade never reaches exactly
// either end, so it is symmetric and each output lies between its two
// inputs (inclusive), which cannot overflow.
func crossfade(dst, to []int16) {
	to = to[:len(dst)] // bounds check hint: to is as long as dst
	if len(dst) == 0 {
		return
	}
	// w = (2j+1)/(2n) in Q15, stepped in Q32 so it stays exact for any n.
	// a·(2^15-w) + b·w is a convex combination: within int32 for int16 a, b.
	step := (uint64(1) << 32) / uint64(len(dst))
	acc := step / 2
	for j, a := range dst {
		w := int32(acc >> 17)
		dst[j] = int16((int32(a)*(1<<15-w) + int32(to[j])*w + 1<<14) >> 15)
		acc += step
	}
}

// planSilent finds the largest change up to maxN inside a run of blocks at
// or below the noise threshold. A shortening must lie in pending audio; a
// lengthening repeats audio that may start in the history. The change is
// centred in its run, away from the speech on either side.
func (f *FIFO) planSilent(o op, maxN int) (splice, bool) {
	x, o0 := f.ctx()
	e := f.Len()
	lo := 0
	if o == lengthen {
		lo = -f.hist
	}
	var best splice
	found := false
	consider := func(a, b int) {
		sp, ok := f.fitSilent(o, a, b, maxN)
		if ok && (!found || sp.shift > best.shift) {
			best, found = sp, true
		}
	}
	run := lo - 1 // start of the current run of silent blocks; < lo: none
	bl := f.block
	// Blocks are aligned on the first pending sample, so a decision about
	// pending audio does not depend on how much history there is.
	first := -((-lo + bl - 1) / bl) * bl
	for b0 := first; b0 < e; b0 += bl {
		s, t := max(b0, lo), min(b0+bl, e)
		if f.floor.silent(pcm.Energy(x[o0+s:o0+t]), t-s) {
			if run < lo {
				run = s
			}
			continue
		}
		if run >= lo {
			consider(run, s)
			run = lo - 1
		}
	}
	if run >= lo {
		consider(run, e)
	}
	return best, found
}

// fitSilent places the largest change up to maxN in the silent run [a, b).
func (f *FIFO) fitSilent(o op, a, b, maxN int) (splice, bool) {
	usable := b - a
	// The change and its fade must both fit: shift+fade ≤ usable, with the
	// fade no longer than the change.
	r := min(maxN, max(usable-f.fade, usable/2))
	if r < 1 {
		return splice{}, false
	}
	l := min(f.fade, r)
	slack := usable - r - l
	if o == shorten {
		return splice{at: a + slack/2, shift: r, fade: l}, true
	}
	at := a + r + slack/2
	if at < 0 {
		// The run starts deep in the history: the fade must still be in
		// pending audio.
		at = 0
		l = min(l, b)
		if l < 1 || at-r < a {
			return splice{}, false
		}
	}
	return splice{at: at, shift: r, fade: l}, true
}

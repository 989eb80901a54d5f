// Package audiocmp compares speech that went through a real-time path (a
// jitter buffer, a mixer, a codec) with the speech that was sent, after
// aligning the two under a delay that changes over time: segmental SNR
// and log-spectral distance, window by window, and the delay each window
// was found at.
//
// It is test-only support (the listening checks of the mixer's tests and
// bench's network runs); nothing in the library's production paths
// imports it.
//
// # Alignment
//
// Each signal is cut into windows (20 ms, every 10 ms by default, so that
// a discontinuity falls inside some window wherever it is) and each window
// is matched in the other signal by normalised cross-correlation: within
// Options.Band of the delay of the last window that matched well, and,
// when the delay is unknown or the last few windows found nothing near
// it, over every delay from Options.MinDelay to Options.MaxDelay on a
// 2 kHz copy, refined at the full rate and taken only if the next window
// continues there (one window of speech can resemble another elsewhere).
// A window found nowhere (concealment, speech that never arrived) is
// scored at the last delay, as a listener hears it: badly.
//
// # Scores
//
// Both ways are scored (Result.Heard and Result.Sent): each window of
// what was heard against what was sent, which catches what a listener
// hears that was never sent (concealment, noise, a bad splice); and each
// window of what was sent against what was heard, which catches speech
// dropped or lost. Each way scores its own windows that are audible:
// within Options.ActiveDB of the loudest window sent. So a pause played
// longer or shorter counts nowhere, and speech replaced by silence counts
// as sent and not heard.
//
// A window's SNR is the sent window's energy over that of the
// difference, clamped to [−10, 35] dB as segmental SNR usually is; its
// log-spectral distance is the RMS difference of the two Hann-windowed
// log power spectra in dB, within 50 dB of the sent window's strongest
// bin. A time-scaler's splice of one pitch period moves the waveform
// within a window, which SNR punishes and the spectral distance much
// less; a frame dropped or concealed is far from anything either way.
//
// Nothing here is safe for concurrent use of one value; Compare is
// reentrant.
package audiocmp

import (
	"math"
	"time"
)

// Options tune Compare. Zero fields take the defaults noted.
type Options struct {
	Window time.Duration // default 20 ms
	// Hop between windows; default half a window, so that a
	// discontinuity (a dropped frame) falls inside a window wherever it
	// is, not on the border of two that each match well.
	Hop      time.Duration
	MaxDelay time.Duration // the longest delay searched; default 2 s
	// MinDelay is the shortest: 0 unless the two signals' sample clocks
	// differ (a sender clock running fast makes the delay in samples fall
	// below zero over a long run).
	MinDelay time.Duration
	Band     time.Duration // local search around the last delay; default 30 ms
	// ActiveDB: a window of sent speech counts when its level is within
	// this many dB of the loudest window's. Default 35.
	ActiveDB float64
	// MinMatch is the normalised cross-correlation a window needs to be
	// taken as found at a delay (and to move the delay later windows are
	// searched around). Default 0.8.
	MinMatch float64
}

func (o Options) withDefaults() Options {
	if o.Window == 0 {
		o.Window = 20 * time.Millisecond
	}
	if o.Hop == 0 {
		o.Hop = o.Window / 2
	}
	if o.MaxDelay == 0 {
		o.MaxDelay = 2 * time.Second
	}
	if o.Band == 0 {
		o.Band = 30 * time.Millisecond
	}
	if o.ActiveDB == 0 {
		o.ActiveDB = 35
	}
	if o.MinMatch == 0 {
		o.MinMatch = 0.8
	}
	return o
}

// Window is one window of one signal, and where it was found in the
// other.
type Window struct {
	Got, Ref int     // start of the window in the received and the sent signal
	Match    float64 // normalised cross-correlation at that alignment
	Found    bool    // Match ≥ MinMatch
	Active   bool    // the sent speech there is active: the window is scored
	SNR      float64 // dB, clamped to [−10, 35]
	LSD      float64 // log-spectral distance, dB
}

// Delay returns the window's delay in samples (received − sent).
func (w Window) Delay() int { return w.Got - w.Ref }

// Direction is the comparison of one signal's windows with the other.
type Direction struct {
	Windows []Window
	// Active is the number of windows scored; SegSNR and LSD their mean
	// SNR and log-spectral distance; Found the share of them matched at
	// MinMatch or better.
	Active      int
	SegSNR, LSD float64
	Found       float64
}

// Result is what Compare found, both ways: each window of what was heard
// against the speech sent (Heard: a listener hears concealment, noise or
// a bad splice as a window that matches nothing sent), and each window of
// the speech sent against what was heard (Sent: speech dropped or lost is
// a window that was never heard). A splice of one pitch period, or of
// silence, leaves a close match both ways.
type Result struct {
	Heard, Sent Direction
}

// Playout is when each window of heard speech was played and how late:
// what a playout-delay measurement takes from a comparison.
type Playout struct {
	At    []time.Duration // when each window was heard
	Delay []time.Duration // how long after it was sent, less the base
}

// Playout maps the windows of r.Heard that hold active speech and were
// found to when they were heard and their delay, for received audio that
// starts at phase on the listener's clock and sent audio from a sender
// whose clock runs drift fast (0.0001 is 100 ppm): the window at sample
// Got of what was received was heard at phase + Got/rate, its speech at
// sample Ref of what was sent left the sender at Ref/rate/(1+drift), and
// its delay is the difference less base (the network's smallest transit,
// say, to leave what a jitter buffer adds).
func (r Result) Playout(rate int, phase time.Duration, drift float64, base time.Duration) Playout {
	var p Playout
	for _, w := range r.Heard.Windows {
		if !w.Active || !w.Found {
			continue
		}
		heard := phase + time.Duration(w.Got)*time.Second/time.Duration(rate)
		sent := time.Duration(float64(time.Duration(w.Ref)*time.Second/time.Duration(rate)) / (1 + drift))
		p.At = append(p.At, heard)
		p.Delay = append(p.Delay, heard-sent-base)
	}
	return p
}

// MeanBetween is the mean delay of the windows heard in [from, to), 0 if
// there are none.
func (p Playout) MeanBetween(from, to time.Duration) time.Duration {
	var sum time.Duration
	n := 0
	for i, at := range p.At {
		if at >= from && at < to {
			sum += p.Delay[i]
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// Compare aligns got (received) with ref (sent), both mono at rate Hz,
// window by window, both ways, and scores each window of active speech.
func Compare(ref, got []int16, rate int, opt Options) Result {
	opt = opt.withDefaults()
	w := int(int64(opt.Window) * int64(rate) / int64(time.Second))
	maxLag := int(int64(opt.MaxDelay) * int64(rate) / int64(time.Second))
	minLag := int(int64(opt.MinDelay) * int64(rate) / int64(time.Second))
	band := int(int64(opt.Band) * int64(rate) / int64(time.Second))
	hop := int(int64(opt.Hop) * int64(rate) / int64(time.Second))
	if w <= 0 || hop <= 0 || len(ref) < w || len(got) < w {
		return Result{}
	}
	heard := newComparer(got, ref, rate, w, hop)
	threshold := heard.loudestY() - opt.ActiveDB
	sent := newComparer(ref, got, rate, w, hop)
	return Result{
		Heard: heard.match(opt, minLag, maxLag, band, threshold, false),
		Sent:  sent.match(opt, -maxLag, -minLag, band, threshold, true),
	}
}

// relocateAfter is how many windows in a row must miss near the last
// delay before the delay is searched for everywhere.
// While they go on missing, it is searched for every relocateEvery
// windows (the search costs a hundred local ones).
const (
	relocateAfter = 3
	relocateEvery = 4
)

// comparer matches the windows of x in y, with the 2 kHz copies of both
// and the FFT scratch.
type comparer struct {
	x, y      []int16
	w, hop    int
	dec       int
	x2, y2    []float64 // 2 kHz copies (box-car means of dec samples)
	hann      []float64
	re, im, p []float64 // FFT scratch and one log power spectrum
	specFloor float64
}

func newComparer(x, y []int16, rate, w, hop int) *comparer {
	c := &comparer{x: x, y: y, w: w, hop: hop, dec: max(rate/2000, 1)}
	c.x2, c.y2 = decimate(x, c.dec), decimate(y, c.dec)
	n := 1
	for n < w {
		n <<= 1
	}
	c.hann = make([]float64, w)
	for i := range c.hann {
		c.hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/float64(w))
	}
	c.re, c.im, c.p = make([]float64, n), make([]float64, n), make([]float64, n/2)
	// A floor 100 dB below a full-scale window keeps silent bins finite.
	c.specFloor = float64(w) * float64(w) * (1 << 30) * 1e-10
	return c
}

// match finds each window of x in y at a lag (x index − y index) between
// minLag and maxLag and scores it when it is at least threshold dB; x is
// the sent signal when xIsSent.
func (c *comparer) match(opt Options, minLag, maxLag, band int, threshold float64, xIsSent bool) Direction {
	var d Direction
	w := c.w
	lag, haveLag, misses := 0, false, 0
	var snr, lsd float64
	found := 0
	for j := 0; j+w <= len(c.x); j += c.hop {
		var win Window
		match := -1.0
		if c.energy(c.x[j:j+w]) > 0 {
			bm := 0
			if haveLag {
				match, bm = c.search(j, j-lag-band, j-lag+band)
			}
			if match < opt.MinMatch {
				misses++
			}
			// Search everywhere only when the delay is unknown or has not
			// been found near the last one for relocateAfter windows: one
			// window of speech can resemble another somewhere else, and a
			// lost or concealed window must be scored where it was due.
			if match < opt.MinMatch && (!haveLag || misses >= relocateAfter && (misses-relocateAfter)%relocateEvery == 0) {
				if m, ok := c.coarse(j, minLag, maxLag); ok {
					// Taken only when the window after it continues
					// there too: one window of speech can resemble
					// another somewhere else; two in a row rarely do.
					if v, vm := c.search(j, m-c.dec, m+c.dec); v > match && c.continues(j+w, j-vm, opt.MinMatch) {
						match, bm = v, vm
					}
				}
			}
			if match >= opt.MinMatch {
				lag, haveLag = j-bm, true
				win.Found = true
				misses = 0
			}
		}
		if !haveLag {
			continue // nothing matched yet: the path's delay is unknown
		}
		m := j - lag
		if m < 0 || m+w > len(c.y) {
			continue
		}
		xs, ys := c.x[j:j+w], c.y[m:m+w]
		win.Match = match
		sentW, gotW := ys, xs
		win.Got, win.Ref = j, m
		if xIsSent {
			sentW, gotW = xs, ys
			win.Got, win.Ref = m, j
		}
		// Each way scores its own audible windows: what was heard that
		// is not what was sent (noise, concealment, a bad splice), and
		// what was sent that was not heard (dropped or lost speech). A
		// pause made longer or shorter is silence either way, scored
		// nowhere; speech lost to silence is scored as sent.
		if c.levelDB(xs) >= threshold {
			win.Active = true
			win.SNR = segSNR(sentW, gotW)
			win.LSD = c.lsd(sentW, gotW)
			d.Active++
			snr += win.SNR
			lsd += win.LSD
			if win.Found {
				found++
			}
		}
		d.Windows = append(d.Windows, win)
	}
	if d.Active > 0 {
		d.SegSNR = snr / float64(d.Active)
		d.LSD = lsd / float64(d.Active)
		d.Found = float64(found) / float64(d.Active)
	}
	return d
}

func decimate(x []int16, d int) []float64 {
	out := make([]float64, len(x)/d)
	for i := range out {
		var s float64
		for k := range d {
			s += float64(x[i*d+k])
		}
		out[i] = s / float64(d)
	}
	return out
}

func (c *comparer) energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// levelDB is the window's mean power in dB relative to full scale.
func (c *comparer) levelDB(x []int16) float64 {
	return 10 * math.Log10(c.energy(x)/float64(len(x))/(1<<30)+1e-15)
}

// loudestY is the level of the loudest window of y.
func (c *comparer) loudestY() float64 {
	top := -150.0
	for s := 0; s+c.w <= len(c.y); s += c.hop {
		top = max(top, c.levelDB(c.y[s:s+c.w]))
	}
	return top
}

// search returns the best normalised cross-correlation of the window of x
// at j with y starting anywhere in [lo, hi], and where.
func (c *comparer) search(j, lo, hi int) (float64, int) {
	g := c.x[j : j+c.w]
	eg := c.energy(g)
	lo, hi = max(lo, 0), min(hi, len(c.y)-c.w)
	best, at := -1.0, lo
	for m := lo; m <= hi; m++ {
		r := c.y[m : m+c.w]
		var xy, er float64
		for i, v := range r {
			f := float64(v)
			xy += f * float64(g[i])
			er += f * f
		}
		if er == 0 {
			continue
		}
		if v := xy / math.Sqrt(er*eg); v > best {
			best, at = v, m
		}
	}
	return best, at
}

// continues says whether the window of x at j is found in y at lag
// (within a sample), or lies beyond either signal's end.
func (c *comparer) continues(j, lag int, minMatch float64) bool {
	if j+c.w > len(c.x) || j-lag+1+c.w > len(c.y) {
		return true
	}
	if c.energy(c.x[j:j+c.w]) == 0 {
		return false
	}
	v, _ := c.search(j, j-lag-1, j-lag+1)
	return v >= minMatch
}

// coarse finds the window of x at j in y at any lag from minLag to
// maxLag on the 2 kHz copies, and returns where (full rate).
func (c *comparer) coarse(j, minLag, maxLag int) (int, bool) {
	wd := c.w / c.dec
	jd := j / c.dec
	if wd < 4 || jd+wd > len(c.x2) {
		return 0, false
	}
	g := c.x2[jd : jd+wd]
	var eg float64
	for _, v := range g {
		eg += v * v
	}
	if eg == 0 {
		return 0, false
	}
	lo, hi := max(jd-maxLag/c.dec, 0), min(jd-minLag/c.dec, len(c.y2)-wd)
	best, at := -1.0, -1
	for m := lo; m <= hi; m++ {
		r := c.y2[m : m+wd]
		var xy, er float64
		for i, v := range r {
			xy += v * g[i]
			er += v * v
		}
		if er == 0 {
			continue
		}
		if v := xy / math.Sqrt(er*eg); v > best {
			best, at = v, m
		}
	}
	return at * c.dec, at >= 0
}

// segSNR is the SNR of got against ref, clamped to [−10, 35] dB.
func segSNR(ref, got []int16) float64 {
	var s, e float64
	for i, v := range ref {
		f := float64(v)
		d := f - float64(got[i])
		s += f * f
		e += d * d
	}
	if e == 0 {
		return 35
	}
	return min(max(10*math.Log10(s/e+1e-12), -10), 35)
}

// lsd is the log-spectral distance (dB) of two windows.
//
// Both spectra are floored dynamicRange below the sent window's
// strongest bin: how much a bin 70 dB down changes is not heard, and on
// a log scale it would weigh as much as a change in the formants.
func (c *comparer) lsd(a, b []int16) float64 {
	c.spectrum(a)
	n := len(c.p)
	top := c.p[0]
	for _, v := range c.p {
		top = max(top, v)
	}
	floor := top - dynamicRange
	var s float64
	c.transform(b)
	for k := 1; k <= n; k++ {
		d := max(c.p[k-1], floor) - max(c.power(k), floor)
		s += d * d
	}
	return math.Sqrt(s / float64(n))
}

// dynamicRange is the span of a window's spectrum the log-spectral
// distance looks at.
const dynamicRange = 50

// spectrum puts the log power spectrum (dB) of the Hann-windowed x, bins
// 1 to N/2, in c.p.
func (c *comparer) spectrum(x []int16) {
	c.transform(x)
	for k := range c.p {
		c.p[k] = c.power(k + 1)
	}
}

// transform takes the FFT of the Hann-windowed x into c.re, c.im.
func (c *comparer) transform(x []int16) {
	clear(c.re)
	clear(c.im)
	for i, v := range x {
		c.re[i] = float64(v) * c.hann[i]
	}
	FFT(c.re, c.im)
}

// power is bin k's power in dB.
func (c *comparer) power(k int) float64 {
	return 10 * math.Log10(c.re[k]*c.re[k]+c.im[k]*c.im[k]+c.specFloor)
}

// FFT is an in-place radix-2 discrete Fourier transform of the complex
// signal re + i·im; len(re) == len(im) must be a power of two. It is here
// for other tests' spectral checks too (internal/tsm's), not only Compare.
func FFT(re, im []float64) {
	n := len(re)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			re[i], re[j] = re[j], re[i]
			im[i], im[j] = im[j], im[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		ang := -2 * math.Pi / float64(size)
		wr, wi := math.Cos(ang), math.Sin(ang)
		for s := 0; s < n; s += size {
			cr, ci := 1.0, 0.0
			for k := 0; k < size/2; k++ {
				a, b := s+k, s+k+size/2
				tr := re[b]*cr - im[b]*ci
				ti := re[b]*ci + im[b]*cr
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a] += tr
				im[a] += ti
				cr, ci = cr*wr-ci*wi, cr*wi+ci*wr
			}
		}
	}
}

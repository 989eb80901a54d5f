package jitter

import "math"

// burstFit measures the jitter of the path from the packets of a burst.
// A source that sends faster than real time (see earlyRun) sends a burst
// back to back, at a steady pace of its own: each packet's key (transit,
// drift-corrected) then falls along a straight line in its timestamp,
// and the scatter about that line is the path's jitter. Only the first
// packet of each burst, sent at its own pace, is measured by the
// histogram, a dozen a minute; a burst shows the jitter in hundreds of
// packets, which is what sizes the margin for the first packet of the
// next burst (estimator.burstTarget).
//
// The line is a least-squares fit kept online (Welford's updates of the
// means and co-moments), so the cost is a few multiplications a packet,
// with no memory but these sums.
type burstFit struct {
	n               float64
	mx, my          float64 // means of x (timestamp, ns from x0) and y (key, ns from y0)
	sxx, syy, sxy   float64 // co-moments about the means
	x0, y0          int64
	maxRes, tail    float64 // the largest residual of this burst, and of those before (decaying), ns
	varPrev, nPrev  float64 // the residual variance of the bursts before, and how many
	levelN          float64 // first packets measured, for the level
	levelD, levelTS float64 // their mean transit (ns) and timestamp (ticks)
	top             float64 // the largest excess of their key over the level, ns, decaying
}

// burstFitMin is the least number of packets of a burst whose fit gives
// the jitter: the residual variance of 32 packets is within about a
// quarter of the true one.
const burstFitMin = 32

func (f *burstFit) reset() { *f = burstFit{} }

// start begins the fit of a new burst, keeping what the bursts before
// gave.
func (f *burstFit) start() {
	f.end()
	f.n, f.mx, f.my, f.sxx, f.syy, f.sxy, f.maxRes = 0, 0, 0, 0, 0, 0, 0
}

// end folds the burst being fitted into the variance of the bursts
// before, when it had enough packets.
func (f *burstFit) end() {
	if f.n < burstFitMin {
		return
	}
	v := f.resVar()
	if f.nPrev == 0 {
		f.varPrev = v
	} else {
		// The path's jitter changes: the last few bursts count most.
		f.varPrev += (v - f.varPrev) / min(f.nPrev+1, 4)
	}
	f.nPrev++
	f.tail = max(f.maxRes, f.tail*(1-1.0/4))
	f.n, f.maxRes = 0, 0
}

// add fits an early packet of the burst with timestamp ts (ticks) and key
// k (ns).
func (f *burstFit) add(ts, k int64, npt float64) {
	if f.n == 0 {
		f.x0, f.y0 = ts, k
	}
	x, y := float64(ts-f.x0)*npt, float64(k-f.y0)
	f.n++
	dx, dy := x-f.mx, y-f.my
	f.mx += dx / f.n
	f.my += dy / f.n
	f.sxx += dx * (x - f.mx)
	f.syy += dy * (y - f.my)
	f.sxy += dx * (y - f.my)
	if f.n > burstFitMin {
		// The largest excess over the line as fitted so far: the
		// tail of the jitter, whatever its distribution.
		f.maxRes = max(f.maxRes, y-f.my-f.sxy/f.sxx*(x-f.mx))
	}
}

// resVar is the residual variance about the fitted line (n ≥ 3).
func (f *burstFit) resVar() float64 {
	r := f.syy
	if f.sxx > 0 {
		r -= f.sxy * f.sxy / f.sxx
	}
	return max(r, 0) / (f.n - 2)
}

// sigma returns the path's jitter as the bursts show it (ns), the larger
// of the bursts before and the one being fitted, and whether any burst
// has shown it.
func (f *burstFit) sigma() (float64, bool) {
	v, ok := f.varPrev, f.nPrev > 0
	if f.n >= burstFitMin {
		v, ok = max(v, f.resVar()), true
	}
	return math.Sqrt(v), ok
}

// tailRes is the largest residual of the recent bursts, ns.
func (f *burstFit) tailRes() float64 { return max(f.tail, f.maxRes) }

// first measures a packet its source sent at its own pace, the first of
// a burst, with transit d (ns) and timestamp ts (ticks), keyed k (ns):
// their mean is the level the next one is expected at. The mean is kept
// of the transit and the timestamp, which the key is linear in, so that
// it can be keyed again with the drift fit's slope of the moment
// (levelKey); the largest excess over it, decaying, as it stood.
func (f *burstFit) first(d, ts, k int64, slope, npt float64) {
	f.levelN++
	w := 1 / min(f.levelN, 16)
	f.levelD += (float64(d) - f.levelD) * w
	f.levelTS += (float64(ts) - f.levelTS) * w
	f.top = max(float64(k)-f.levelKey(slope, npt), f.top*(1-1.0/16))
}

// levelKey is the level keyed with slope.
func (f *burstFit) levelKey(slope, npt float64) float64 {
	return f.levelD - slope*f.levelTS*npt
}

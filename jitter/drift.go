package jitter

import (
	"math"
	"time"
)

// driftFit estimates a sender clock's rate error as the slope of the
// transit floor. A sender clock off by 1% makes transits climb or fall by
// 10 ms a second, and a plain minimum over a 2 s window then lags the
// path's real floor by up to 20 ms, in steps (an outlier-low packet holds
// the minimum until it leaves the window); with the slope known, the
// estimator keys packets by drift-corrected transits, transit −
// slope·timestamp, whose floor stays level.
//
// Transits are taken in blocks of a quarter of the window of timestamps
// (0.5 s by default, so a first estimate comes after a second); blocks
// with fewer packets than blockMinPackets (DTX, outages) are not trusted;
// the slope is the least-squares fit through the minima of the last
// fitBlocks blocks (a clock's rate error is constant, so a long baseline is
// what beats jitter: with 30 ms of normal jitter a 16 s fit is good to
// about 0.1%), bounded by maxSlope (5%, far beyond any real clock).
//
// A route change steps the floor up or down at once; a line through blocks
// on both sides of the step would read it as drift (300 ms over 16 s is
// 2%). So a block minimum further from the fitted line than the step
// threshold restarts the fit, and the slope found before is kept until
// refitMin blocks on the new level support a new one.
//
// Producer-owned, as part of the estimator. Packets go in through add;
// estimator.measure, which runs per packet, does add's steps written out
// (TestMeasureDrift holds the two to the same result).
type driftFit struct {
	slope float64 // transit change per ns of timestamp (+0.01: sender 1% slow)
	// The block being measured: timestamps [blk.ts, blk.end), ticks.
	blk driftBlock
	// Minima of the last complete blocks (timestamp in ns, transit in
	// ns), a ring the slope is fitted to.
	x, y   [fitBlocks]float64
	n      int
	head   int
	refit  bool // the fit restarted after a step: keep the slope until it has refitMin points
	blocks int  // blocks fitted, to refit every refitEvery

	blockLen  int64 // ticks
	nsPerTick float64
	window    float64 // the estimator's window in ticks, for rekeyMin
}

// driftBlock is a block of timestamps and the minimum transit of its
// packets. The empty block (ts 1, end 0) holds no timestamp.
type driftBlock struct {
	ts, end int64 // ticks
	min     int64 // ns
	n       int
}

const (
	blockMinPackets = 8
	fitBlocks       = 32 // a power of two
	refitMin        = 8
	refitEvery      = 4
	maxSlope        = 0.05
	// A new slope is taken only if it moves the keys across the window by
	// more than this; less is noise.
	rekeyMin = int64(50 * time.Microsecond)
)

// holds reports whether timestamp ts (ticks) falls in the block.
func (b driftBlock) holds(ts int64) bool { return ts >= b.ts && ts < b.end }

// with returns the block with a packet of transit d (ns) folded in.
func (b driftBlock) with(d int64) driftBlock {
	b.min = min(b.min, d)
	b.n++
	return b
}

// init sizes the blocks from the window (ticks).
func (f *driftFit) init(window int64, nsPerTick float64) {
	f.blockLen, f.nsPerTick, f.window = window/4, nsPerTick, float64(window)
	f.reset()
}

func (f *driftFit) reset() {
	f.slope, f.n, f.head, f.refit, f.blocks = 0, 0, 0, false, 0
	f.blk = driftBlock{ts: 1}
}

// restartFit drops the fitted points and the open block, keeping the
// slope until refitMin blocks support a new one (as after a step).
func (f *driftFit) restartFit() {
	f.n, f.head, f.refit = 0, 0, true
	f.blk = driftBlock{ts: 1}
}

// add folds a packet with timestamp ts (ticks) and transit d (ns) into
// the open block, or completes it (see complete). It reports whether the
// slope changed, after which every key made with the old one must be made
// again.
func (f *driftFit) add(ts, d, stepThr int64) bool {
	if f.blk.holds(ts) {
		f.blk = f.blk.with(d)
		return false
	}
	return f.complete(ts, d, stepThr)
}

// complete is add for a packet outside the open block. Past it, the block
// is complete: its minimum joins the fit (restarting it if it lies further
// than stepThr ns from the fitted line) and ts opens the next block; before
// it, the packet is ignored (reordered from an earlier block).
func (f *driftFit) complete(ts, d, stepThr int64) bool {
	b := &f.blk
	if b.end < b.ts { // the first packet, or after reset
		*b = driftBlock{ts: ts, end: ts + f.blockLen, min: d, n: 1}
		return false
	}
	if ts < b.ts {
		return false
	}
	changed := false
	if b.n >= blockMinPackets {
		changed = f.point(float64(b.ts)*f.nsPerTick, float64(b.min), stepThr)
	}
	*b = driftBlock{ts: ts, end: ts + f.blockLen, min: d, n: 1}
	return changed
}

// point adds a block minimum y (ns) at timestamp x (ns) to the fit and
// refits, reporting whether the slope changed.
func (f *driftFit) point(x, y float64, stepThr int64) bool {
	if f.n > 0 {
		last := (f.head + f.n - 1) % fitBlocks
		if off := y - (f.y[last] + f.slope*(x-f.x[last])); math.Abs(off) > float64(stepThr) {
			f.n, f.head, f.refit = 0, 0, true
		}
	}
	i := (f.head + f.n) % fitBlocks
	if f.n == fitBlocks {
		f.head = (f.head + 1) % fitBlocks
	} else {
		f.n++
	}
	f.x[i], f.y[i] = x, y
	need := 2
	if f.refit {
		need = refitMin
	}
	// Refit every block while the fit is young, then every few: the slope
	// of a 16 s fit hardly moves in half a second, and each change re-keys
	// the whole window.
	f.blocks++
	if f.n >= need && (f.n < refitMin || f.blocks%refitEvery == 0) {
		s := min(max(f.fit(), -maxSlope), maxSlope)
		if math.Abs(s-f.slope)*f.window*f.nsPerTick > float64(rekeyMin) {
			f.slope = s
			return true
		}
	}
	return false
}

// fit returns the least-squares slope through the stored block minima
// (the current slope when they do not determine one).
func (f *driftFit) fit() float64 {
	var mx, my float64
	for j := range f.n {
		i := (f.head + j) & (fitBlocks - 1)
		mx += f.x[i]
		my += f.y[i]
	}
	n := float64(f.n)
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for j := range f.n {
		i := (f.head + j) & (fitBlocks - 1)
		dx := f.x[i] - mx
		sxy += dx * (f.y[i] - my)
		sxx += dx * dx
	}
	if sxx == 0 {
		return f.slope
	}
	return sxy / sxx
}

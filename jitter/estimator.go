package jitter

import (
	"math"
	"time"
)

// The delay estimate follows WebRTC NetEq's delay manager in outline (the
// code is our own):
//
//   - Each packet's transit d = arrival − timestamp (both in nanoseconds;
//     the offset between the two clocks cancels out).
//   - Its relative arrival delay is r = d − min(d over the packets of the
//     last Window of RTP time). Measuring against a recent minimum rather
//     than the first packet keeps a drifting sender clock from smearing the
//     distribution: over a 2 s window a 1% drift moves it by 20 ms only.
//   - r goes into a histogram with exponential forgetting; the target delay
//     is the bucket holding the Quantile (upper edge), so about 1−Quantile
//     of packets arrive after their playout time.
//
// Everything here runs on the producer, which sees every arrival, including
// the late ones the consumer never gets to play: they are the evidence that
// the delay is too short.

// histogram is a quantile tracker over fixed-width buckets with exponential
// forgetting. Instead of multiplying every bucket by the forget factor on
// each sample (O(buckets)), each new sample is added with a weight 1/f
// larger than the one before; the ratio of old to new is the same. Weights
// are renormalised when they grow large. The quantile bucket is tracked
// incrementally, so an update is O(1) amortised.
type histogram struct {
	b      []float64
	total  float64 // sum of b
	below  float64 // sum of b[:qi]
	qi     int     // bucket holding the quantile
	w      float64 // weight of the next sample
	q      float64 // quantile tracked now
	qFinal float64 // quantile configured
	rampN  float64 // samples over which q relaxes to qFinal
	invF   float64 // 1/forget factor once warm
	forget float64
	n      int
	warm   bool
	// steady: warm, and the quantile has relaxed to qFinal, so add takes
	// its short path.
	steady bool
}

// startForgetWeight makes early samples forget faster (NetEq's
// start_forget_weight): sample n forgets with factor 1−2/(n+1) until that
// exceeds the steady factor, so the first packets are weighted about
// equally and the estimate is useful after a few dozen.
const startForgetWeight = 2

// rescaleAt keeps weights far from float64 overflow; the period is
// thousands of packets, so the O(buckets) rescale costs nothing on average.
const rescaleAt = 1e60

func (h *histogram) init(buckets int, q, forget float64) {
	if cap(h.b) >= buckets {
		h.b = h.b[:buckets]
	} else {
		h.b = make([]float64, buckets)
	}
	h.qFinal, h.forget, h.invF = q, forget, 1/forget
	h.rampN = rampSamples / (1 - q)
	h.reset()
}

func (h *histogram) reset() {
	clear(h.b)
	h.total, h.below, h.qi, h.w, h.n, h.warm, h.steady = 0, 0, 0, 1, 0, false, false
	h.q = h.qFinal
}

// rampSamples: a high quantile of a few samples is underestimated (99.5%
// of 100 samples is usually below the true one), so until the histogram
// has seen rampSamples/(1−q) packets the tracked quantile starts near the
// maximum and relaxes towards the configured one. Without this the delay
// starts short and creeps up as the tail of the distribution shows itself.
const rampSamples = 4

// addYoung counts a sample in bucket i, after the caller counted it in n,
// while the forgetting and the quantile are still ramping up, or when the
// weights need rescaling; estimator.add has the short path for the rest.
// It returns the weight the sample was given and the factor by which
// earlier weights were scaled (1 normally, 0 when the history was
// cleared), so that a caller remembering weights can follow.
func (h *histogram) addYoung(i int) (w, scaled float64) {
	scaled = 1
	if h.warm {
		h.w *= h.invF
	} else {
		f := 1 - startForgetWeight/float64(h.n+1)
		switch {
		case f <= 0:
			clear(h.b)
			h.total, h.below, h.w, scaled = 0, 0, 1, 0
		case f >= h.forget:
			h.warm = true
			h.w *= h.invF
		default:
			h.w /= f
		}
	}
	if h.w > rescaleAt {
		scaled = 1 / h.w
		h.scale(scaled)
	}
	if float64(h.n) < h.rampN {
		h.q = 1 - (1-h.qFinal)*float64(h.n)/h.rampN
	} else {
		h.q = h.qFinal
		h.steady = h.warm
	}
	h.b[i] += h.w
	h.total += h.w
	if i < h.qi {
		h.below += h.w
	}
	h.walk()
	return h.w, scaled
}

// walk moves the quantile bucket to where the counts put it.
func (h *histogram) walk() {
	want := h.q * h.total
	b, qi, below := h.b, h.qi, h.below
	if qi >= len(b) {
		return // not reached: qi < len(b) always; this spares bounds checks
	}
	if below+b[qi] < want {
		for qi < len(b)-1 && below+b[qi] < want {
			below += b[qi]
			qi++
		}
	} else {
		for qi > 0 && below >= want {
			qi--
			below -= b[qi]
		}
	}
	h.qi, h.below = qi, below
}

// scale multiplies every count by s and the next weight to match.
func (h *histogram) scale(s float64) {
	h.total, h.below = 0, 0
	for i := range h.b {
		h.b[i] *= s
		h.total += h.b[i]
		if i < h.qi {
			h.below += h.b[i]
		}
	}
	h.w *= s
}

// move shifts weight w from bucket from to bucket to; retrack must follow
// a series of moves.
func (h *histogram) move(from, to int, w float64) {
	h.b[from] = max(h.b[from]-w, 0)
	h.b[to] += w
}

// retrack recomputes the running sums after moves.
func (h *histogram) retrack() {
	h.total, h.below = 0, 0
	for i, c := range h.b {
		h.total += c
		if i < h.qi {
			h.below += c
		}
	}
	h.walk()
}

// minWindow keeps the minimum of a key over the packets of the last window
// of RTP time. Entries are in arrival order in a ring and leave it from the
// front once older than the window; with reordering one may outlive the
// window by the reordering depth, which only makes the minimum a little
// older.
//
// The minimum is kept the way a queue is built from two stacks: the
// entries are split into a front part, [head, split), in which each entry
// holds the minimum key from itself to the end of the part (so the front
// part's minimum is at head, and stays right as entries leave), and a back
// part, [split, end), of which only the minimum is kept as entries join.
// When the front part runs out, the back part becomes the front, its
// suffix minima computed in one pass. Each entry is passed over once that
// way, so an arrival costs O(1) amortised, with none of a monotonic deque's
// stores. Positions (head, split) count up without wrapping; the ring
// index is the position & mask.
// estimator.add expires entries, takes the minimum and adds the packet.
type minWindow struct {
	all     []winEntry
	head    int // position of the oldest entry
	n       int // entries in the window
	split   int // first position of the back part
	backMin int64
	mask    int
	window  int64 // ticks
	newest  int64
	valid   bool
}

// winEntry is a packet in the window: timestamp (ticks), transit (ns),
// key, the minimum key from it to the end of the front part (valid in the
// front part only), and the histogram bucket and weight it was counted
// with.
type winEntry struct {
	ts, d, k, suf int64
	w             float64
	bin           int
}

const noKey = math.MaxInt64

func (m *minWindow) init(size int, window int64) {
	m.all = make([]winEntry, size)
	m.mask, m.window = size-1, window
	m.reset()
}

func (m *minWindow) reset() {
	m.head, m.n, m.split, m.backMin, m.newest, m.valid = 0, 0, 0, noKey, 0, false
}

// rebuild makes every entry part of the front, computing suffix minima.
func (m *minWindow) rebuild() {
	all, mask, head, end := m.all, m.mask, m.head, m.head+m.n
	k := int64(noKey)
	for p := end - 1; p >= head; p-- {
		en := &all[p&mask]
		k = min(k, en.k)
		en.suf = k
	}
	m.split, m.backMin = end, noKey
}

// scaleWeights follows a rescaled histogram.
func (m *minWindow) scaleWeights(s float64) {
	for p := m.head; p < m.head+m.n; p++ {
		m.all[p&m.mask].w *= s
	}
}

// rekey sets the keys to d − slope·ts·nsPerTick.
func (m *minWindow) rekey(slope, nsPerTick float64) {
	f := slope * nsPerTick
	for p := m.head; p < m.head+m.n; p++ {
		en := &m.all[p&m.mask]
		en.k = en.d - int64(f*float64(en.ts))
	}
	m.rebuild()
}

// estimator turns arrivals into a target delay, the reference transit and
// the RFC 3550 jitter. Producer-owned.
//
// Drift: a sender clock off by 1% makes transits climb or fall by 10 ms a
// second, and a plain minimum over a 2 s window then lags the path's real
// floor by up to 20 ms, in steps (an outlier-low packet holds the minimum
// until it leaves the window). The estimator therefore measures the slope of
// the transit floor (the change of per-window minima, smoothed) and works
// with drift-corrected transits, transit − slope·timestamp, whose floor stays
// level; the reference it publishes is that floor projected to the newest
// timestamp.
type estimator struct {
	hist  histogram
	win   minWindow
	minT  int64 // ns, projected to the newest timestamp
	haveT bool

	// After the floor drops (a shorter route), packets sent before the
	// drop are still in flight on the old path; they are measured against
	// the old floor until a window has passed.
	stepU     int64 // first position on the new path
	stepTS    int64 // its timestamp
	stepFloor int64 // the old floor, ns
	stepOn    bool
	jitter    float64 // RFC 3550 J, in ticks
	last      float64 // previous transit in ticks
	haveJ     bool

	slope     float64 // transit change per ns of timestamp (+0.01: sender 1% slow)
	blockTS   int64   // first timestamp of the block being measured
	blockEnd  int64   // blockTS + window/4: the first timestamp after it
	blockMin  int64   // its minimum raw transit
	blockN    int
	haveBlock bool
	// Minima of the last complete blocks (timestamp in ns, transit in
	// ns), a ring the slope is fitted to.
	fitX, fitY [fitBlocks]float64
	fitN       int
	fitHead    int
	refit      bool // the fit restarted after a step: keep the slope until it has refitMin points
	blocks     int  // blocks fitted, to refit every refitEvery

	nsPerTick  float64
	ticksPerNs float64
	window     int64 // ticks
	minDelay   int64
	maxDelay   int64
	start      int64
	jf         float64 // jitter factor, 0 when off
}

// warmupPackets: the target stays at least StartDelay until this many
// packets have been measured, so a quiet first second cannot talk it down
// before the network has shown its jitter.
const warmupPackets = 50

// Drift estimation: a block is a quarter of the window of timestamps
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

func (e *estimator) key(ts, d int64) int64 {
	return d - int64(e.slope*float64(ts)*e.nsPerTick)
}

// add measures one arrival, at position u with timestamp ts, and returns
// the new target and reference transit.
//
// It runs for every packet, so the common case is written out here rather
// than in calls, with the state it uses in locals: a packet in the block
// being measured for the drift fit, a floor that moved by less than any
// step threshold, a histogram past its warm-up.
func (e *estimator) add(now, u, ts int64) (target, minT int64) {
	d := now - int64(float64(ts)*e.nsPerTick)
	if ts >= e.blockTS && ts < e.blockEnd {
		e.blockMin = min(e.blockMin, d)
		e.blockN++
	} else {
		e.trackSlope(ts, d)
	}
	kd := d - int64(e.slope*float64(ts)*e.nsPerTick)

	// Expire the window, then take its minimum key with this packet's
	// (if it is to join the window, which is pushed below).
	m := &e.win
	newest := m.newest
	if ts > newest || !m.valid {
		newest = ts
		m.newest, m.valid = ts, true
	}
	oldest := newest - m.window
	all, mask := m.all, m.mask
	head, n := m.head, m.n
	for n > 0 && all[head&mask].ts < oldest {
		head++
		n--
	}
	keep := ts >= oldest
	if keep && n == len(all) {
		head++ // make room for it
		n--
	}
	m.head, m.n = head, n
	if head > m.split {
		// Entries of the back part left: it becomes the front.
		m.rebuild()
	}
	k := kd
	if n > 0 {
		km := m.backMin
		if head < m.split {
			km = min(km, all[head&mask].suf)
		}
		if !keep || km < kd {
			k = km
		}
	}

	// The corrected floor, projected to the newest timestamp: for the
	// newest packet the correction is the one just applied to it.
	floor := k + (d - kd)
	if ts != newest {
		floor = k + int64(e.slope*float64(newest)*e.nsPerTick)
	}
	if diff := floor - e.minT; (diff > stepMin || diff < -stepMin) && e.haveT {
		// Possibly a step (the threshold is at least stepMin).
		if thr := e.stepThreshold(); diff > thr {
			// The floor rose by far more than the jitter: not an outlier
			// leaving the window but the path getting longer (a route
			// change). The packets of the last window were measured
			// against the old floor, which made them look late; measure
			// them again.
			e.rebin(k)
		} else if -diff > thr {
			e.stepU, e.stepTS, e.stepFloor, e.stepOn = u, ts, e.minT, true
		}
	}
	e.minT, e.haveT = floor, true
	r := kd - k
	if e.stepOn {
		if ts > e.stepTS+e.window {
			e.stepOn = false
		} else if u < e.stepU {
			r = d - e.stepFloor
		}
	}

	h := &e.hist
	i := 0
	if r > 0 {
		i = int(min(r/int64(bucketWidth), int64(len(h.b)-1)))
	}
	h.n++
	var w float64
	if w = h.w * h.invF; h.steady && w <= rescaleAt {
		// histogram.add's short path: see addYoung for the rest.
		h.w = w
		b := h.b
		b[i] += w
		total := h.total + w
		h.total = total
		qi, below := h.qi, h.below
		if i < qi {
			below += w
			h.below = below
		}
		// The quantile bucket moves only now and then: walk when it does.
		if want := h.q * total; qi >= len(b) || below+b[qi] < want || below >= want {
			h.walk()
		}
	} else {
		var scaled float64
		w, scaled = h.addYoung(i)
		if scaled != 1 {
			m.scaleWeights(scaled)
		}
	}
	if keep {
		en := &all[(head+n)&mask]
		en.ts, en.d, en.k, en.w, en.bin = ts, d, kd, w, i
		m.n = n + 1
		m.backMin = min(m.backMin, kd)
	}

	tr := float64(now)*e.ticksPerNs - float64(ts)
	if e.haveJ {
		e.jitter += (math.Abs(tr-e.last) - e.jitter) / 16
	}
	e.last, e.haveJ = tr, true

	t := int64(h.qi+1) * int64(bucketWidth)
	if e.jf > 0 {
		if j := int64(e.jf * e.jitter * e.nsPerTick); j > t {
			t = j
		}
	}
	if h.n < warmupPackets && t < e.start {
		t = e.start
	}
	return min(max(t, e.minDelay), e.maxDelay), floor
}

// bucket returns the histogram bucket of relative delay r (ns). The width
// is a constant so that the division is a multiplication.
func (e *estimator) bucket(r int64) int {
	if r <= 0 {
		return 0
	}
	return int(min(r/int64(bucketWidth), int64(len(e.hist.b)-1)))
}

// stepMin is the least move of the floor taken for a route change. With
// more jitter it must also exceed half the delay quantile: the minimum of a
// noisy window jumps by a fair part of the spread when an outlier leaves
// it. (Not the RFC 3550 jitter: packets interleaving across the old and the
// new path during a route change inflate that very measure.)
const stepMin = int64(20 * time.Millisecond)

func (e *estimator) stepThreshold() int64 {
	return max(stepMin, int64(e.hist.qi+1)*int64(bucketWidth)/2)
}

// rebin moves the samples still in the window to the buckets their delay
// relative to the new minimum key k puts them in.
func (e *estimator) rebin(k int64) {
	m := &e.win
	for p := m.head; p < m.head+m.n; p++ {
		en := &m.all[p&m.mask]
		if nb := e.bucket(e.key(en.ts, en.d) - k); nb != en.bin {
			e.hist.move(en.bin, nb, en.w)
			en.bin = nb
		}
	}
	e.hist.retrack()
}

// trackSlope folds a packet into the current block and, when the block is
// complete, refits the slope through the block minima.
func (e *estimator) trackSlope(ts, d int64) {
	block := e.window / 4
	if !e.haveBlock {
		e.blockTS, e.blockMin, e.blockN, e.haveBlock = ts, d, 1, true
		e.blockEnd = ts + block
		return
	}
	if ts < e.blockTS {
		return // reordered from before the block
	}
	if ts < e.blockTS+block {
		e.blockMin = min(e.blockMin, d)
		e.blockN++
		return
	}
	if e.blockN >= blockMinPackets {
		x, y := float64(e.blockTS)*e.nsPerTick, float64(e.blockMin)
		if e.fitN > 0 {
			last := (e.fitHead + e.fitN - 1) % fitBlocks
			if off := y - (e.fitY[last] + e.slope*(x-e.fitX[last])); math.Abs(off) > float64(e.stepThreshold()) {
				e.fitN, e.fitHead, e.refit = 0, 0, true
			}
		}
		i := (e.fitHead + e.fitN) % fitBlocks
		if e.fitN == fitBlocks {
			e.fitHead = (e.fitHead + 1) % fitBlocks
		} else {
			e.fitN++
		}
		e.fitX[i], e.fitY[i] = x, y
		need := 2
		if e.refit {
			need = refitMin
		}
		// Refit every block while the fit is young, then every few: the
		// slope of a 16 s fit hardly moves in half a second, and each
		// change re-keys the whole window.
		e.blocks++
		if e.fitN >= need && (e.fitN < refitMin || e.blocks%refitEvery == 0) {
			s := min(max(e.fit(), -maxSlope), maxSlope)
			if math.Abs(s-e.slope)*float64(e.window)*e.nsPerTick > float64(rekeyMin) {
				e.slope = s
				e.win.rekey(e.slope, e.nsPerTick)
			}
		}
	}
	e.blockTS, e.blockMin, e.blockN = ts, d, 1
	e.blockEnd = ts + block
}

// fit returns the least-squares slope through the stored block minima.
func (e *estimator) fit() float64 {
	var mx, my float64
	for j := range e.fitN {
		i := (e.fitHead + j) & (fitBlocks - 1)
		mx += e.fitX[i]
		my += e.fitY[i]
	}
	n := float64(e.fitN)
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for j := range e.fitN {
		i := (e.fitHead + j) & (fitBlocks - 1)
		dx := e.fitX[i] - mx
		sxy += dx * (e.fitY[i] - my)
		sxx += dx * dx
	}
	if sxx == 0 {
		return e.slope
	}
	return sxy / sxx
}

// restart forgets the previous packet for the RFC 3550 jitter, which is
// meaningless across a resync.
func (e *estimator) restart() { e.haveJ = false }

func (e *estimator) reset() {
	e.hist.reset()
	e.win.reset()
	e.minT, e.haveT, e.jitter, e.last, e.haveJ = 0, false, 0, 0, false
	e.stepOn = false
	e.slope, e.haveBlock, e.fitN, e.fitHead, e.refit = 0, false, 0, 0, false
	e.blockTS, e.blockEnd = 1, 0 // no timestamp is in this block
}

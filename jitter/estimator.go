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
// the delay is too short. Arrivals are measured in batches of up to eight
// (see flush).

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
	// invFMax bounds the growth of the weight over a batch, invF^batchMax
	invFMax float64
	forget  float64
	n       int
	warm    bool
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
	h.invFMax = math.Pow(h.invF, batchMax)
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
// weights need rescaling; estimator.flush has the short path for the rest.
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
//
// Push stages arrivals in the ring right after the window's entries;
// estimator.flush measures them, expires old entries, takes the minimum
// and makes the staged entries part of the window.
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

// winEntry is a packet in the window: as Push staged it, arrival (ns),
// position and timestamp (ticks); as flush measured it, transit (ns), key,
// and the histogram bucket and weight it was counted with; and the
// minimum key from it to the end of the front part (valid in the front
// part only). 64 bytes, a cache line.
type winEntry struct {
	t, u, ts  int64
	d, k, suf int64
	w         float64
	bin       int
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
	// Backwards over the entries, which occupy at most two runs of the
	// ring: from the start of the ring to the end's index, then from the
	// head's index on.
	all, head, end := m.all, m.head, m.head+m.n
	k := int64(noKey)
	if m.n > 0 {
		h, e := head&m.mask, (end-1)&m.mask+1 // [h, e) or [h, len) + [0, e)
		if e <= h {
			for i := e - 1; i >= 0; i-- {
				k = min(k, all[i].k)
				all[i].suf = k
			}
			e = len(all)
		}
		for i := e - 1; i >= h; i-- {
			k = min(k, all[i].k)
			all[i].suf = k
		}
	}
	m.split, m.backMin = end, noKey
}

// scaleWeights follows a rescaled histogram: the weights of the entries
// from position head to end (exclusive) are multiplied by s.
func (m *minWindow) scaleWeights(end int, s float64) {
	for p := m.head; p < end; p++ {
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
	tgt   int64 // target delay, ns
	minT  int64 // ns, projected to the newest timestamp
	haveT bool

	next   int   // ring position of the next arrival to stage
	nBatch int   // arrivals staged
	firstT int64 // arrival time of the first of them

	// After the floor drops (a shorter route), packets sent before the
	// drop are still in flight on the old path; they are measured against
	// the old floor until a window has passed.
	stepU     int64 // first position on the new path
	stepTS    int64 // its timestamp
	stepFloor int64 // the old floor, ns
	stepOn    bool
	j16       int64 // RFC 3550 J, in ns, times 16
	lastD     int64 // previous transit, ns
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

// Arrivals are measured in batches: Push only records each one (stage),
// in the window's ring right after its entries, and every batchMax
// arrivals, or once the first recorded one is batchSpan old, flush
// measures the batch. Per packet that leaves the transit, the drift block,
// the RFC 3550 jitter, the key, the bucket and the histogram count; the
// window's expiry and minimum, the step checks, the quantile walk, the
// target and the publication happen once a batch. The price is that the
// target and the reference transit the consumer steers by lag the newest
// arrivals by up to a batch (at most 160 ms: far less than the histogram's
// memory), that within a batch every packet is measured against the
// minimum of the window as it stands at the end of the batch, and that the
// last few packets before a pause (DTX) are measured when the next one
// arrives.
const (
	batchMax  = 8
	batchSpan = int64(160 * time.Millisecond)
)

// stage records an arrival at t (ns) of position u with timestamp ts
// (ticks) and reports whether the batch is due for flush. flush always
// leaves room for a whole batch in the ring.
func (e *estimator) stage(t, u, ts int64) bool {
	m := &e.win
	a := &m.all[e.next&m.mask]
	a.t, a.u, a.ts = t, u, ts
	e.next++
	if e.nBatch++; e.nBatch == 1 {
		e.firstT = t
	}
	return e.nBatch == batchMax || t-e.firstT >= batchSpan
}

// flush measures the staged arrivals, updating the target delay (tgt)
// and the reference transit (minT).
func (e *estimator) flush() {
	m := &e.win
	all := m.all
	mask := len(all) - 1 // = m.mask, in a form that spares bounds checks
	start, end := e.next-e.nBatch, e.next
	e.nBatch = 0
	if start == end {
		return
	}
	npt := e.nsPerTick

	// Per packet, in arrival order: transit, drift block, key, jitter.
	// (The loop keeps what it updates in locals.)
	slope := e.slope
	newest := m.newest
	if !m.valid {
		newest = math.MinInt64
	}
	kMin := int64(noKey)
	j16, lastD := e.j16, e.lastD
	if !e.haveJ {
		// No earlier packet of this stream: the first one's difference
		// is zero, as if it were.
		a := &all[start&mask]
		lastD = a.t - int64(float64(a.ts)*npt)
		e.haveJ = true
	}
	// The drift block is tracked here while the packets fall in it; from
	// the first that does not, trackSlope takes over after the loop, so
	// that the loop makes no call (which would keep its state in memory).
	blockTS, blockEnd, blockMin, blockN := e.blockTS, e.blockEnd, e.blockMin, e.blockN
	slow := end
	for p := start; p < end; p++ {
		a := &all[p&mask]
		ts := a.ts
		d := a.t - int64(float64(ts)*npt)
		a.d = d
		if ts >= blockTS && ts < blockEnd {
			blockMin = min(blockMin, d)
			blockN++
		} else if slow == end {
			slow = p
			blockTS, blockEnd = 1, 0 // no more of the batch here
		}
		k := d - int64(slope*float64(ts)*npt)
		a.k = k
		kMin = min(kMin, k)
		// RFC 3550 6.4.1, in ns scaled by 16 as in its appendix A.8.
		dd := d - lastD
		if dd < 0 {
			dd = -dd
		}
		j16 += dd - (j16+8)>>4
		lastD = d
		newest = max(newest, ts)
	}
	e.blockMin, e.blockN = blockMin, blockN
	e.j16, e.lastD = j16, lastD
	m.newest, m.valid = newest, true
	for p := slow; p < end; p++ {
		a := &all[p&mask]
		if a.ts >= e.blockTS && a.ts < e.blockEnd {
			e.blockMin = min(e.blockMin, a.d)
			e.blockN++
		} else {
			e.trackSlope(a.ts, a.d) // may change e.slope: see below
		}
	}
	if e.slope != slope {
		// A new drift estimate came with the batch: key it all with that.
		kMin = noKey
		for p := start; p < end; p++ {
			a := &all[p&mask]
			a.k = a.d - int64(e.slope*float64(a.ts)*npt)
			kMin = min(kMin, a.k)
		}
	}

	// Expire the window, and take its minimum with the batch.
	oldest := newest - m.window
	head, n := m.head, m.n
	for n > 0 && all[head&mask].ts < oldest {
		head++
		n--
	}
	m.head, m.n = head, n
	if head > m.split {
		// Entries of the back part left: it becomes the front.
		m.rebuild()
	}
	k := kMin
	if n > 0 {
		k = min(k, m.backMin)
		if head < m.split {
			k = min(k, all[head&mask].suf)
		}
	}

	// The corrected floor, projected to the newest timestamp.
	floor := k + int64(e.slope*float64(newest)*npt)
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
			// It fell: the fastest packet of the batch is the first seen
			// on the shorter path.
			first := &all[start&mask]
			for p := start; p < end; p++ {
				if all[p&mask].k == kMin {
					first = &all[p&mask]
					break
				}
			}
			e.stepU, e.stepTS, e.stepFloor, e.stepOn = first.u, first.ts, e.minT, true
		}
	}
	e.minT, e.haveT = floor, true

	// Per packet: the relative delay into the histogram. The short loop
	// is the histogram's steady state (see addYoung for the rest) when no
	// weight can need rescaling in this batch and no packet is measured
	// against an old floor.
	h := &e.hist
	if h.steady && !e.stepOn && h.w*h.invFMax <= rescaleAt {
		b, last := h.b, int64(len(h.b)-1)
		w, invF, total, below, qi := h.w, h.invF, h.total, h.below, h.qi
		for p := start; p < end; p++ {
			a := &all[p&mask]
			i := 0
			if r := a.k - k; r > 0 {
				i = int(min(r/int64(bucketWidth), last))
			}
			w *= invF
			b[i] += w
			total += w
			if i < qi {
				below += w
			}
			a.w, a.bin = w, i
		}
		h.w, h.total, h.below = w, total, below
		h.n += end - start
	} else {
		e.histSlow(start, end, k)
	}
	h.walk()

	// The batch joins the window (its back part), leaving room in the
	// ring for the next batch.
	m.n = end - head
	m.backMin = min(m.backMin, kMin)
	if over := m.n - (len(all) - batchMax); over > 0 {
		m.head += over // and the next flush rebuilds, if need be
		m.n -= over
	}

	t := int64(h.qi+1) * int64(bucketWidth)
	if e.jf > 0 {
		if j := int64(e.jf * float64(e.j16) / 16); j > t {
			t = j
		}
	}
	if h.n < warmupPackets && t < e.start {
		t = e.start
	}
	e.tgt = min(max(t, e.minDelay), e.maxDelay)
}

// histSlow is flush's per-packet histogram loop outside the steady state.
func (e *estimator) histSlow(start, end int, k int64) {
	m, h := &e.win, &e.hist
	for p := start; p < end; p++ {
		a := &m.all[p&m.mask]
		r := a.k - k
		if e.stepOn {
			if a.ts > e.stepTS+e.window {
				e.stepOn = false
			} else if a.u < e.stepU {
				r = a.d - e.stepFloor
			}
		}
		i := e.bucket(r)
		h.n++
		var w float64
		if w = h.w * h.invF; h.steady && w <= rescaleAt {
			h.w = w
			h.b[i] += w
			h.total += w
			if i < h.qi {
				h.below += w
			}
		} else {
			var scaled float64
			w, scaled = h.addYoung(i)
			if scaled != 1 {
				m.scaleWeights(p, scaled)
			}
		}
		a.w, a.bin = w, i
	}
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
// meaningless across a resync. The batch must have been flushed.
func (e *estimator) restart() { e.haveJ = false }

func (e *estimator) reset() {
	e.hist.reset()
	e.win.reset()
	e.tgt, e.nBatch = e.start, 0
	e.minT, e.haveT, e.j16, e.lastD, e.haveJ = 0, false, 0, 0, false
	e.next = 0
	e.stepOn = false
	e.slope, e.haveBlock, e.fitN, e.fitHead, e.refit = 0, false, 0, 0, false
	e.blockTS, e.blockEnd = 1, 0 // no timestamp is in this block
}

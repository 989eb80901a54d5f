package jitter

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// White-box tests of the estimator's parts: the histogram and count, the
// window minimum, the drift fit, the RFC 3550 jitter, the route step and
// the target, each against a plain model of what it should compute.

// newEstimator returns the estimator of a new Buffer for cfg (ClockRate
// 8000 when zero).
func newEstimator(t *testing.T, cfg Config) *estimator {
	t.Helper()
	if cfg.ClockRate == 0 {
		cfg.ClockRate = 8000
	}
	b, err := New(cfg)
	require.NoError(t, err)
	return &b.p.est
}

// clone returns a copy of e that shares no memory with it.
func (e *estimator) clone() *estimator {
	c := *e
	c.hist.b = slices.Clone(e.hist.b)
	c.win.all = slices.Clone(e.win.all)
	return &c
}

// refHist is the histogram the obvious way: every count multiplied by the
// forget factor on each sample, the quantile found by a scan.
type refHist struct {
	b                 []float64
	n                 int
	warm              bool
	forget, q, qFinal float64
	rampN, total      float64
}

func newRefHist(buckets int, q, forget float64) *refHist {
	return &refHist{b: make([]float64, buckets), forget: forget, qFinal: q, q: q, rampN: rampSamples / (1 - q)}
}

func (r *refHist) add(i int) {
	r.n++
	f := r.forget
	if !r.warm {
		f = 1 - startForgetWeight/float64(r.n+1)
		switch {
		case f <= 0:
			f = 0
		case f >= r.forget:
			r.warm, f = true, r.forget
		}
	}
	r.total = 0
	for j := range r.b {
		r.b[j] *= f
		r.total += r.b[j]
	}
	r.b[i]++
	r.total++
	if float64(r.n) < r.rampN {
		r.q = 1 - (1-r.qFinal)*float64(r.n)/r.rampN
	} else {
		r.q = r.qFinal
	}
}

// qi is the first bucket whose cumulative count reaches the quantile.
func (r *refHist) qi() int {
	want, sum := r.q*r.total, 0.0
	for i, c := range r.b {
		if sum += c; sum >= want {
			return i
		}
	}
	return len(r.b) - 1
}

// TestCount drives flush's histogram pass (count, and through it
// countSlow, addYoung, walk and scale) with random delays in random
// batches and checks it against refHist: the same shares per bucket, the
// same quantile bucket, running sums that match the counts, and weights
// remembered in the window's entries that add up to the counts, rescales
// included. Each batch also runs on a copy through countSlow alone: where
// count takes its short steady-state loop, the two must agree to the bit.
func TestCount(t *testing.T) {
	cases := []struct {
		name      string
		q, forget float64
		samples   int
	}{
		// invF = 2 rescales every ~200 samples.
		{"fast forgetting, rescales", 0.9, 0.5, 900},
		// Steady from about 2860 samples.
		{"defaults", DefaultQuantile, DefaultForgetFactor, 5000},
		{"short memory", 0.99, 0.95, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEstimator(t, Config{})
			h, m := &e.hist, &e.win
			h.init(len(h.b), tc.q, tc.forget)
			// A ring that holds every sample, so the weights its entries
			// remember can be checked against the counts at the end.
			m.init(8192, m.window)
			ref := newRefHist(len(h.b), tc.q, tc.forget)
			rng := rand.New(rand.NewPCG(1, uint64(tc.samples)))
			const k = int64(3 * time.Second) // the floor the delays are over
			fast, slow := 0, 0
			for p := 0; p < tc.samples; {
				start, end := p, min(p+1+rng.IntN(batchMax), tc.samples)
				for ; p < end; p++ {
					// Mostly small delays, sometimes large ones (and
					// beyond the last bucket, and below the floor), so
					// the quantile moves both ways.
					r := int64(rng.ExpFloat64() * float64(15*time.Millisecond))
					switch rng.IntN(40) {
					case 0:
						r += int64(time.Duration(rng.IntN(400)) * time.Millisecond)
					case 1:
						r = int64(2 * time.Second)
					case 2:
						r = -int64(time.Millisecond)
					}
					a := &m.all[p&m.mask]
					a.k, a.u, a.ts = k+r, int64(p), int64(p)*160
					ref.add(e.bucket(r))
				}
				if h.steady && !e.step.on && h.w*h.invFMax <= rescaleAt {
					fast++
					c := e.clone()
					e.count(start, end, k)
					c.countSlow(start, end, k)
					c.hist.walk()
					require.Equal(t, c.hist, e.hist, "count's short loop and countSlow disagree at %d", p)
					for q := start; q < end; q++ {
						require.Equal(t, c.win.all[q&m.mask], m.all[q&m.mask], "entry %d", q)
					}
				} else {
					slow++
					e.count(start, end, k)
				}
				m.join(end, noKey, end-start)

				require.Equal(t, ref.n, h.n)
				require.Equal(t, ref.qi(), h.qi, "quantile bucket after %d samples", p)
				var worst float64
				for i, c := range h.b {
					worst = max(worst, math.Abs(ref.b[i]/ref.total-c/h.total))
				}
				require.Less(t, worst, 1e-9, "largest error in a bucket's share after %d samples", p)
				checkSums(t, h)
			}
			// Every sample is still in the window (it is never slid here):
			// its remembered weight must be its share of the counts, as
			// rebin needs.
			require.Equal(t, tc.samples, m.n)
			sums := make([]float64, len(h.b))
			for p := m.head; p < m.head+m.n; p++ {
				a := &m.all[p&m.mask]
				sums[a.bin] += a.w
			}
			for i := range sums {
				assert.InDelta(t, h.b[i]/h.total, sums[i]/h.total, 1e-9, "bucket %d", i)
			}
			t.Logf("%d batches on the short loop, %d on countSlow", fast, slow)
			assert.Positive(t, fast)
			assert.Positive(t, slow)
		})
	}
}

// checkSums fails unless h's running sums (total, below the quantile
// bucket) match its counts.
func checkSums(t *testing.T, h *histogram) {
	t.Helper()
	var total, below float64
	for i, c := range h.b {
		total += c
		if i < h.qi {
			below += c
		}
	}
	require.InEpsilon(t, total, h.total, 1e-9)
	require.InDelta(t, below/total, h.below/h.total, 1e-9)
}

// refWindow is the window the obvious way: a slice in arrival order.
type refWindow struct {
	es []winEntry
}

func (r *refWindow) live() int {
	n := 0
	for _, e := range r.es {
		if e.k != noKey {
			n++
		}
	}
	return n
}

func (r *refWindow) min(extra int64) int64 {
	k := extra
	for _, e := range r.es {
		k = min(k, e.k)
	}
	return k
}

// TestWindowSlide: slide, join and rekey give the least key of the window
// and the batch that a plain scan gives, over random keys, early entries
// (noKey), timestamps out of order, gaps longer than the window, a full
// ring and re-keying.
func TestWindowSlide(t *testing.T) {
	for _, size := range []int{16, 64} {
		var m minWindow
		window := int64(100 * 160) // 100 packets of 20 ms at 8 kHz
		m.init(size, window)
		var ref refWindow
		rng := rand.New(rand.NewPCG(2, uint64(size)))
		next, ts := 0, int64(0)
		rebuilds := 0
		for range 5000 {
			n := 1 + rng.IntN(batchMax)
			start := next
			kMin := int64(noKey)
			newest := m.newest
			if !m.valid {
				newest = math.MinInt64
			}
			var batch []winEntry
			live := 0
			for range n {
				ts += 160
				switch rng.IntN(50) {
				case 0:
					ts += window + int64(rng.IntN(3))*window // a gap: the window empties
				case 1:
					ts -= 160 * 5 // reordered
				}
				a := &m.all[next&m.mask]
				*a = winEntry{ts: ts, k: int64(rng.IntN(1000))}
				switch rng.IntN(20) {
				case 0:
					a.k = -int64(rng.IntN(100)) // a new minimum
				case 1, 2:
					a.k = noKey // early
				}
				kMin = min(kMin, a.k)
				newest = max(newest, ts)
				batch = append(batch, *a)
				if a.k != noKey {
					live++
				}
				next++
			}
			m.newest, m.valid = newest, true
			split := m.split
			k := m.slide(kMin)
			if m.split != split {
				rebuilds++
			}
			// The model: entries leave from the front once older than the
			// window, but minKeep keyed ones.
			for len(ref.es) > 0 && ref.es[0].ts < newest-window && (ref.es[0].k == noKey || ref.live() > minKeep) {
				ref.es = ref.es[1:]
			}
			require.Equal(t, ref.min(kMin), k)
			require.Equal(t, len(ref.es), m.n)
			require.Equal(t, ref.live(), m.live)
			m.join(next, kMin, live)
			ref.es = append(ref.es, batch...)
			if over := len(ref.es) - (size - batchMax); over > 0 {
				ref.es = ref.es[over:] // a full ring drops its oldest
			}
			require.Equal(t, len(ref.es), m.n)
			require.Equal(t, ref.live(), m.live)
			require.Equal(t, start+n, m.head+m.n)

			if rng.IntN(100) == 0 {
				// A new drift slope keys every entry again.
				slope := (rng.Float64() - 0.5) / 10
				m.rekey(slope, 125000)
				for i := range ref.es {
					if e := &ref.es[i]; e.k != noKey {
						e.k = e.d - int64(slope*125000*float64(e.ts))
					}
				}
			}
		}
		assert.Positive(t, rebuilds)
	}
}

// driftTransits returns n packets 20 ms apart at 8 kHz whose transit
// floor rises by slope (ns per ns) plus up to 30 ms of uniform jitter
// above it.
func driftTransits(rng *rand.Rand, n int, slope float64, base int64) (ts, d []int64) {
	for i := range n {
		tsi := int64(i) * 160
		ns := float64(tsi) * 125000
		ts = append(ts, tsi)
		d = append(d, base+int64(slope*ns)+rng.Int64N(int64(30*time.Millisecond)))
	}
	return ts, d
}

// TestDriftFit: the fit finds a sender clock's rate error from block
// minima, bounded by maxSlope; it ignores sparse blocks and packets
// reordered from before the open block; and a step of the floor (a route
// change) restarts the fit without being taken for drift.
func TestDriftFit(t *testing.T) {
	const window = 2 * 8000 // 2 s at 8 kHz
	newFit := func() *driftFit {
		f := &driftFit{}
		f.init(window, 125000)
		return f
	}
	thr := stepMin

	for _, slope := range []float64{-0.01, -0.001, 0, 0.002, 0.01, 0.03} {
		f := newFit()
		rng := rand.New(rand.NewPCG(3, math.Float64bits(slope)))
		ts, d := driftTransits(rng, 3000, slope, int64(time.Second)) // 60 s
		changes := 0
		for i := range ts {
			before := f.slope
			changed := f.add(ts[i], d[i], thr)
			require.Equal(t, before != f.slope, changed, "add reports a change exactly when the slope moved")
			if changed {
				changes++
			}
		}
		assert.InDelta(t, slope, f.slope, 0.0005, "slope %v", slope)
		assert.Equal(t, fitBlocks, f.n)
		if slope != 0 {
			assert.Positive(t, changes)
		}
	}

	t.Run("bounded", func(t *testing.T) {
		f := newFit()
		ts, d := driftTransits(rand.New(rand.NewPCG(4, 0)), 1000, 0.08, 0)
		for i := range ts {
			// 40 ms a block: a threshold that high keeps it from reading
			// as a step.
			f.add(ts[i], d[i], int64(time.Second))
		}
		assert.Equal(t, maxSlope, f.slope)
	})

	t.Run("sparse blocks", func(t *testing.T) {
		// DTX: one packet every 400 ms never fills a block.
		f := newFit()
		for i := range int64(200) {
			f.add(i*3200, int64(float64(i*3200)*125000*0.01), thr)
		}
		assert.Zero(t, f.n)
		assert.Zero(t, f.slope)
	})

	t.Run("reordered from an earlier block", func(t *testing.T) {
		// Packets from a second ago, far below the floor, in among the
		// others change nothing: not the block minima, not the blocks.
		clean, f := newFit(), newFit()
		ts, d := driftTransits(rand.New(rand.NewPCG(5, 0)), 500, 0.01, 0)
		for i := range ts {
			clean.add(ts[i], d[i], thr)
			f.add(ts[i], d[i], thr)
			if i > 50 && i%7 == 0 {
				f.add(ts[i]-8000, -int64(time.Second), thr)
			}
		}
		assert.Equal(t, clean, f)
		assert.InDelta(t, 0.01, f.slope, 0.0005)
	})

	t.Run("route change", func(t *testing.T) {
		f := newFit()
		rng := rand.New(rand.NewPCG(6, 0))
		ts, d := driftTransits(rng, 3000, 0.005, 0)
		for i := range ts {
			if i >= 1500 {
				d[i] += int64(300 * time.Millisecond) // the path gets longer
			}
		}
		// Packet 1500, the first on the longer path, completes the last
		// block on the shorter one.
		for i := range 1501 {
			f.add(ts[i], d[i], thr)
		}
		before := f.slope
		require.InDelta(t, 0.005, before, 0.0005)
		// The first block after the step restarts the fit and keeps the
		// slope until refitMin blocks support a new one.
		for i := 1501; i < 1500+25*(refitMin-1); i++ {
			f.add(ts[i], d[i], thr)
		}
		assert.True(t, f.refit)
		assert.Equal(t, before, f.slope)
		for i := 1500 + 25*(refitMin-1); i < len(ts); i++ {
			f.add(ts[i], d[i], thr)
		}
		assert.InDelta(t, 0.005, f.slope, 0.001, "the step is not read as drift")
	})

	t.Run("fit", func(t *testing.T) {
		f := newFit()
		f.slope = 0.25
		f.n, f.head = 1, fitBlocks-1
		f.x[fitBlocks-1], f.y[fitBlocks-1] = 1e9, 5
		assert.Equal(t, 0.25, f.fit(), "one point: the slope stays")
		// Exact points across the ring's wrap.
		f.n = 4
		for j := range 4 {
			i := (f.head + j) % fitBlocks
			f.x[i] = float64(j) * 5e8
			f.y[i] = 7e6 - 0.004*f.x[i]
		}
		assert.InDelta(t, -0.004, f.fit(), 1e-12)
	})
}

// TestMeasure: flush's per-packet pass agrees with its parts taken one
// packet at a time: driftFit.add (measure folds the open block itself),
// jitterStep in arrival order, the newest timestamp, and keys made with
// the slope in force (re-keyed, window included, when it changes).
func TestMeasure(t *testing.T) {
	for _, slope := range []float64{0, 0.01, -0.02} {
		e := newEstimator(t, Config{})
		model := e.drift // its configuration; the state is the same empty one
		rng := rand.New(rand.NewPCG(7, math.Float64bits(slope)))
		var j16, lastD int64
		haveJ := false
		newest := int64(math.MinInt64)
		var u int64
		clock := int64(time.Second)
		changes, early := 0, 0
		for batch := range 3000 {
			thr := e.stepThreshold()
			start := e.next
			// Packets keyed the step threshold below the anchor are early, left out
			// of everything but the jitter (see earlyRun). Without flush
			// the anchor is each batch's first packet in timestamp order.
			for range 1 + rng.IntN(batchMax) {
				u++
				ts := u * 160
				if rng.IntN(30) == 0 {
					ts -= 160 * int64(1+rng.IntN(30)) // reordered, up to 600 ms
				}
				if rng.IntN(200) == 0 {
					u += 50 // a second of DTX
					clock += int64(time.Second)
				}
				clock += int64(20 * time.Millisecond)
				at := int64(float64(clock)*(1+slope)) + rng.Int64N(int64(40*time.Millisecond))
				e.stage(at, u, ts)
			}
			end := e.next
			first := &e.win.all[start&e.win.mask]
			for p := start; p < end; p++ {
				if a := &e.win.all[p&e.win.mask]; a.ts < first.ts {
					first = a
				}
			}
			// A batch whose timestamps run far ahead of its arrivals
			// (first staged to last) is a burst: its early packets stay
			// out of the drift fit too.
			a0, z := &e.win.all[start&e.win.mask], &e.win.all[(end-1)&e.win.mask]
			burst := float64(abs(z.ts-a0.ts))*e.nsPerTick > 2*float64(z.t-a0.t)+float64(stepMin)
			before := e.drift.slope
			keyBefore := func(ts, d int64) int64 { return d - int64(before*float64(ts)*e.nsPerTick) }
			anchor := keyBefore(first.ts, first.t-int64(float64(first.ts)*e.nsPerTick))
			below := anchor - thr
			kMin := e.measure(start, end)
			e.nBatch = 0
			e.win.join(end, kMin, e.live) // as flush would, without the other phases
			if e.drift.slope != before {
				changes++
			}

			m := &e.win
			want := int64(noKey)
			for p := start; p < end; p++ {
				a := &m.all[p&m.mask]
				d := a.t - int64(float64(a.ts)*e.nsPerTick)
				require.Equal(t, d, a.d, "transit")
				if !haveJ {
					lastD, haveJ = d, true
				}
				j16 = jitterStep(j16, d-lastD)
				lastD = d
				if k := keyBefore(a.ts, d); k < below || burst && k < anchor && a != first {
					require.Equal(t, int64(noKey), a.k, "early packet in batch %d", batch)
					early++
					if !burst {
						model.add(a.ts, d, thr)
					}
					continue
				}
				newest = max(newest, a.ts)
				model.add(a.ts, d, thr)
				require.Equal(t, e.key(a.ts, d), a.k, "key in batch %d", batch)
				want = min(want, a.k)
			}
			require.Equal(t, want, kMin)
			require.Equal(t, model, e.drift, "drift fit after batch %d", batch)
			require.Equal(t, j16, e.j16)
			require.Equal(t, newest, m.newest)
			if e.drift.slope != before {
				// The window was re-keyed too (rekey rounds its product
				// differently from key, by at most a nanosecond).
				for p := m.head; p < m.head+m.n; p++ {
					if a := &m.all[p&m.mask]; a.k != noKey {
						require.InDelta(t, e.key(a.ts, a.d), a.k, 1)
					}
				}
			}
		}
		if slope != 0 {
			assert.Positive(t, changes, "the slope changed during the run")
		}
		t.Logf("slope %v: %d early packets", slope, early)
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestJitterStep: the integer update follows RFC 3550's J += (|D| − J)/16
// to within a nanosecond or so, and restart makes the next packet's
// difference zero.
func TestJitterStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 0))
	var j16 int64
	var j float64
	for i := range 10000 {
		dd := rng.Int64N(int64(60*time.Millisecond)) - int64(30*time.Millisecond)
		if i > 5000 {
			dd /= 10 // and calmer: J must come down
		}
		j16 = jitterStep(j16, dd)
		j += (math.Abs(float64(dd)) - j) / 16
		require.InDelta(t, j, float64(j16)/16, 2, "after %d", i)
	}
	assert.Equal(t, int64(0), jitterStep(0, 0))
	assert.Equal(t, jitterStep(0, 160), jitterStep(0, -160))

	e := newEstimator(t, Config{})
	e.stage(int64(time.Second), 1, 0)
	e.stage(int64(time.Second+25*time.Millisecond), 2, 160)
	e.flush()
	assert.Equal(t, int64(5*time.Millisecond), e.j16, "the first packet counts as no difference, the second as 5 ms")
	e.restart()
	before := e.j16
	e.stage(int64(5*time.Second), 3, 8000)
	e.flush()
	assert.Equal(t, jitterStep(before, 0), e.j16, "after restart, a jump in transit is no difference")
}

// arrive stages an arrival of position u (timestamp u·160, 20 ms at
// 8 kHz) with transit d, and flushes if the batch is due.
func arrive(e *estimator, u, d int64) {
	ts := u * 160
	if e.stage(ts*125000+d, u, ts) {
		e.flush()
	}
}

// feed has positions from..to−1 arrive in order with transits d().
func feed(e *estimator, from, to int64, d func() int64) {
	for u := from; u < to; u++ {
		arrive(e, u, d())
	}
}

// TestRouteStep: a fall of the floor starts a routeStep at the first
// packet on the new path, and the packets still on the old path are
// measured against the old floor until a window has passed; a rise rebins
// the window against the new floor; a move below the step threshold does
// neither.
func TestRouteStep(t *testing.T) {
	const base = int64(100 * time.Millisecond)
	ms := int64(time.Millisecond)

	t.Run("fall", func(t *testing.T) {
		e := newEstimator(t, Config{})
		rng := rand.New(rand.NewPCG(9, 0))
		old := func() int64 { return base + rng.Int64N(10*ms) }
		short := func() int64 { return base - 60*ms + ms + rng.Int64N(10*ms) }
		feed(e, 1, 497, old)
		e.flush()
		floor := e.minT
		require.False(t, e.step.on)
		// The path gets 60 ms shorter: the first packet on it (500, the
		// fastest of all) overtakes the last three on the old one. The
		// packets on it come early, and are measured once they have come
		// at the pace of their timestamps for earlyConfirm.
		arrive(e, 500, base-60*ms)
		feed(e, 497, 500, old)
		feed(e, 501, 510, short)
		e.flush()
		require.False(t, e.step.on, "not yet confirmed")
		assert.InDelta(t, floor, e.minT, float64(ms), "the floor did not fall")
		floor = e.minT
		feed(e, 510, 512, short)
		e.flush()
		require.True(t, e.step.on)
		assert.Equal(t, int64(500), e.step.u)
		assert.Equal(t, int64(500*160), e.step.ts)
		assert.Equal(t, floor, e.step.floor)
		assert.Less(t, e.minT, floor-50*ms)
		// The three went into the buckets of their delay over the old
		// floor (about 0), not over the new one (about 60 ms).
		m := &e.win
		seen := 0
		for p := m.head; p < m.head+m.n; p++ {
			if a := &m.all[p&m.mask]; a.u >= 497 && a.u < 500 {
				assert.Equal(t, e.bucket(a.d-floor), a.bin, "old-path packet %d", a.u)
				assert.Less(t, a.bin, 3)
				seen++
			}
		}
		assert.Equal(t, 3, seen)
		// A window later the step is over.
		feed(e, 512, 620, short)
		e.flush()
		assert.False(t, e.step.on)
	})

	// settled returns an estimator that has measured packets 1..n−1 with
	// 10 ms of jitter over base.
	settled := func(seed uint64, n int64) (*estimator, *rand.Rand) {
		e := newEstimator(t, Config{})
		rng := rand.New(rand.NewPCG(seed, 0))
		feed(e, 1, n, func() int64 { return base + rng.Int64N(10*ms) })
		e.flush()
		return e, rng
	}

	t.Run("rise", func(t *testing.T) {
		e, rng := settled(10, 3001)
		floor := e.minT
		// 300 ms longer: once the window holds only the new path, the
		// floor rises, and what was measured against the old one is
		// measured again.
		u := int64(3001)
		for ; e.minT < floor+250*ms; u++ {
			require.Less(t, u, int64(3200), "the floor never rose")
			arrive(e, u, base+300*ms+rng.Int64N(10*ms))
		}
		m := &e.win
		k := e.minT - int64(e.drift.slope*float64(m.newest)*e.nsPerTick)
		for p := m.head; p < m.head+m.n; p++ {
			a := &m.all[p&m.mask]
			assert.Equal(t, e.bucket(e.key(a.ts, a.d)-k), a.bin, "packet %d", a.u)
		}
		checkSums(t, &e.hist)
		// Without the rebin, the ~100 packets counted 300 ms late would
		// hold the target up for the histogram's memory. (The first two
		// on the new path left the window in the slide that found the
		// rise, so they keep their late buckets: 0.2% of the weight with
		// this much history, enough to hold the 99.5% quantile up when
		// the history is only a few hundred packets.)
		assert.Less(t, e.tgt, 100*ms)
	})

	t.Run("small move", func(t *testing.T) {
		e, _ := settled(11, 497)
		floor := e.minT
		bins := map[int64]int{}
		m := &e.win
		for p := m.head; p < m.head+m.n; p++ {
			bins[m.all[p&m.mask].u] = m.all[p&m.mask].bin
		}
		feed(e, 497, 505, func() int64 { return base - 15*ms })
		e.flush()
		assert.False(t, e.step.on)
		assert.InDelta(t, floor-15*ms, e.minT, float64(ms))
		for p := m.head; p < m.head+m.n; p++ {
			if a := &m.all[p&m.mask]; a.u < 497 {
				assert.Equal(t, bins[a.u], a.bin, "packet %d was not moved", a.u)
			}
		}
	})
}

// TestTarget: the target is the quantile bucket's upper edge, at least
// JitterFactor jitters when set, at least StartDelay while warming up,
// within [MinDelay, MaxDelay].
func TestTarget(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	cases := []struct {
		name   string
		cfg    Config
		qi, n  int
		span   time.Duration // of arrivals measured
		fill   float64       // the share of the quantile bucket's weight the quantile needs (0: an empty bucket)
		j16    int64
		target int64
	}{
		{"bucket edge", Config{}, 7, 100, time.Second, 0, 0, ms(40)},
		{"within the bucket", Config{}, 7, 100, time.Second, 0.4, 0, ms(37)},
		{"warming up", Config{}, 2, 10, time.Second, 0, 0, ms(80)},
		{"warm", Config{}, 2, warmupPackets, time.Second, 0, 0, ms(15)},
		{"warming up above start", Config{}, 30, 10, time.Second, 0, 0, ms(155)},
		{"bursty, few packets over a long span", Config{}, 2, warmupMin, 5 * time.Second, 0, 0, ms(30)},
		{"bursty, doubled up to start", Config{}, 10, warmupMin, 5 * time.Second, 0, 0, ms(80)},
		{"bursty, too few packets", Config{}, 2, warmupMin - 1, 5 * time.Second, 0, 0, ms(80)},
		{"jitter factor", Config{JitterFactor: 4}, 2, 100, time.Second, 0, 16 * ms(10), ms(40)},
		{"jitter factor below the quantile", Config{JitterFactor: 4}, 20, 100, time.Second, 0, 16 * ms(10), ms(105)},
		{"jitter off", Config{}, 2, 100, time.Second, 0, 16 * ms(10), ms(15)},
		{"min delay", Config{MinDelay: 60 * time.Millisecond}, 2, 100, time.Second, 0, 0, ms(60)},
		{"max delay", Config{MaxDelay: 200 * time.Millisecond}, 40, 100, time.Second, 0, 0, ms(200)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEstimator(t, tc.cfg)
			h := &e.hist
			h.qi, h.n, e.j16 = tc.qi, tc.n, tc.j16
			e.t0, e.t1 = int64(time.Second), int64(time.Second+tc.span)
			if tc.fill > 0 {
				// Bucket qi holds weight 1, and the quantile needs
				// tc.fill of it beyond the buckets below.
				h.b[tc.qi], h.total = 1, 10
				h.below = h.q*h.total - tc.fill
			}
			assert.InDelta(t, tc.target, e.target(), float64(time.Microsecond))
		})
	}
}

// TestStage: a batch is due after batchMax arrivals or once its first is
// batchSpan old, whichever comes first; flush empties it.
func TestStage(t *testing.T) {
	e := newEstimator(t, Config{})
	for i := range int64(batchMax - 1) {
		require.False(t, e.stage(i, i, i*160))
	}
	require.True(t, e.stage(batchMax, batchMax, batchMax*160))
	e.flush()
	require.Zero(t, e.nBatch)
	require.False(t, e.stage(int64(time.Second), 20, 3200))
	require.False(t, e.stage(int64(time.Second)+batchSpan-1, 21, 3360))
	require.True(t, e.stage(int64(time.Second)+batchSpan, 22, 3520))
	e.flush()
	e.flush() // nothing staged: no change
	require.Equal(t, e.win.head+e.win.n, e.next)
}

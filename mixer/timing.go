package mixer

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// timingHist records how long ticks take, in log-spaced buckets of 1/8 octave
// (about 9% wide) from 1 µs to about 17 s. One goroutine records; any may
// read: every field is atomic, so a reader sees a slightly torn but never
// corrupt picture.
//
// Beside the fine buckets, which serve the quantiles, it keeps the coarse
// fixed buckets of TickHistogram, which serve exporters.
type timingHist struct {
	buckets  [timingBuckets]atomic.Uint64
	count    atomic.Uint64
	sumNanos atomic.Uint64
	maxNanos atomic.Int64
	fixed    [TickHistogramBuckets]atomic.Uint64
}

const (
	timingSub     = 8 // sub-buckets per octave
	timingOctaves = 24
	timingBuckets = timingSub * timingOctaves
)

// bucketOf maps a duration to its bucket: octave from the leading bit of the
// microsecond count, sub-bucket from the next three bits.
func bucketOf(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us < timingSub {
		return int(us) // below 8 µs every microsecond has its own bucket
	}
	oct := bits.Len64(us) - 1 // ≥ 3
	sub := (us >> (oct - 3)) & (timingSub - 1)
	b := (oct-2)*timingSub + int(sub)
	if b >= timingBuckets {
		b = timingBuckets - 1
	}
	return b
}

// bucketUpper returns the upper edge of bucket b.
func bucketUpper(b int) time.Duration {
	if b < timingSub {
		return time.Duration(b+1) * time.Microsecond
	}
	oct := b/timingSub + 2
	sub := uint64(b % timingSub)
	us := (timingSub + sub + 1) << (oct - 3)
	return time.Duration(us) * time.Microsecond
}

func (h *timingHist) record(d time.Duration) {
	h.buckets[bucketOf(d)].Add(1)
	h.fixed[tickBucketOf(d)].Add(1)
	h.count.Add(1)
	h.sumNanos.Add(uint64(d))
	if int64(d) > h.maxNanos.Load() {
		h.maxNanos.Store(int64(d))
	}
}

// quantile returns the upper edge of the bucket holding quantile q (0..1).
func (h *timingHist) quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for b := range h.buckets {
		seen += h.buckets[b].Load()
		if seen >= rank {
			return bucketUpper(b)
		}
	}
	return time.Duration(h.maxNanos.Load())
}

// TimingStats summarises how long ticks took.
type TimingStats struct {
	Ticks uint64
	// P50 and P99 are upper bucket edges: within 9% above the true value.
	P50, P99, Max, Mean time.Duration
	// Histogram is the same ticks in fixed buckets, for exporters and for
	// summing over conferences and processes.
	Histogram TickHistogram
}

func (h *timingHist) stats() TimingStats {
	n := h.count.Load()
	s := TimingStats{Ticks: n, P50: h.quantile(0.5), P99: h.quantile(0.99), Max: time.Duration(h.maxNanos.Load()),
		Histogram: h.histogram()}
	if n > 0 {
		s.Mean = time.Duration(h.sumNanos.Load() / n)
	}
	return s
}

func (h *timingHist) histogram() TickHistogram {
	var t TickHistogram
	for i := range h.fixed {
		t.Counts[i] = h.fixed[i].Load()
		t.Count += t.Counts[i]
	}
	t.Sum = time.Duration(h.sumNanos.Load())
	return t
}

// TickHistogramBuckets is the number of buckets of a TickHistogram: one
// per bound of TickBucketBounds and one for longer ticks.
const TickHistogramBuckets = len(tickBounds) + 1

// tickBounds are the fixed bucket bounds: a 1-2.5-5 series from 10 µs
// (a small room) to 10 ms, then every ptime (10, 20, 30, 40, 60 ms: past
// its ptime a tick is late) and 100 ms (the Engine's default MaxLag).
var tickBounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond,
	100 * time.Millisecond,
}

// TickBucketBounds returns the inclusive upper bounds of TickHistogram's
// buckets, in ascending order. They are fixed: every conference, every
// process running this version and every scrape use the same ones, which
// is what lets histograms be summed.
func TickBucketBounds() [TickHistogramBuckets - 1]time.Duration { return tickBounds }

// tickBucketOf maps a duration to its TickHistogram bucket.
func tickBucketOf(d time.Duration) int {
	for i, b := range tickBounds {
		if d <= b {
			return i
		}
	}
	return len(tickBounds)
}

// TickHistogram counts ticks by how long their work took, in the fixed
// buckets of TickBucketBounds, since the conference was created. Counts
// only ever grow, so histograms of several conferences, or of one
// conference at several times, combine by addition (Merge) and rates come
// from differences, as Prometheus histograms do.
//
// A snapshot is taken while the tick may be recording: Count is the sum of
// Counts (always consistent with them), while Sum may include or miss the
// tick being recorded.
type TickHistogram struct {
	// Counts[i] counts ticks that took more than TickBucketBounds()[i-1]
	// (0 for i = 0) and at most TickBucketBounds()[i]; the last one those
	// longer than every bound. Per bucket, not cumulative: see Cumulative.
	Counts [TickHistogramBuckets]uint64
	// Count is the number of ticks, Sum the time their work took.
	Count uint64
	Sum   time.Duration
}

// Merge adds o's ticks to h: h then describes both conferences (or both
// processes) as if one had ticked all of their work.
func (h *TickHistogram) Merge(o TickHistogram) {
	for i := range h.Counts {
		h.Counts[i] += o.Counts[i]
	}
	h.Count += o.Count
	h.Sum += o.Sum
}

// Cumulative returns the number of ticks at most each bound takes, the
// form of Prometheus's "le" buckets; the last element, for no bound, is
// Count.
func (h TickHistogram) Cumulative() [TickHistogramBuckets]uint64 {
	var c [TickHistogramBuckets]uint64
	var n uint64
	for i, v := range h.Counts {
		n += v
		c[i] = n
	}
	return c
}

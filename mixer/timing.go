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
type timingHist struct {
	buckets  [timingBuckets]atomic.Uint64
	count    atomic.Uint64
	sumNanos atomic.Uint64
	maxNanos atomic.Int64
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
}

func (h *timingHist) stats() TimingStats {
	n := h.count.Load()
	s := TimingStats{Ticks: n, P50: h.quantile(0.5), P99: h.quantile(0.99), Max: time.Duration(h.maxNanos.Load())}
	if n > 0 {
		s.Mean = time.Duration(h.sumNanos.Load() / n)
	}
	return s
}

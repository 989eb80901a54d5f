package mixer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBucketEdgesContainValues(t *testing.T) {
	for _, d := range []time.Duration{0, time.Microsecond, 7 * time.Microsecond, 8 * time.Microsecond,
		9 * time.Microsecond, 100 * time.Microsecond, 1234 * time.Microsecond, 20 * time.Millisecond, time.Second} {
		b := bucketOf(d)
		assert.LessOrEqual(t, d, bucketUpper(b), d)
		if b > 0 {
			assert.Greater(t, d, bucketUpper(b-1)-time.Microsecond, d)
		}
		assert.LessOrEqual(t, float64(bucketUpper(b)), float64(d)*1.13+float64(time.Microsecond), d)
	}
}

func TestQuantiles(t *testing.T) {
	var h timingHist
	for i := 1; i <= 100; i++ {
		h.record(time.Duration(i) * 10 * time.Microsecond)
	}
	s := h.stats()
	assert.EqualValues(t, 100, s.Ticks)
	assert.InDelta(t, 500, float64(s.P50/time.Microsecond), 50)
	assert.InDelta(t, 990, float64(s.P99/time.Microsecond), 100)
	assert.Equal(t, time.Millisecond, s.Max)
	assert.Equal(t, 505*time.Microsecond, s.Mean)
}

// TestTickBuckets: the fixed bounds ascend, each bound falls in its own
// bucket and the next nanosecond in the next one.
func TestTickBuckets(t *testing.T) {
	b := TickBucketBounds()
	require.Len(t, b, TickHistogramBuckets-1)
	for i := range b {
		if i > 0 {
			require.Greater(t, b[i], b[i-1])
		}
		assert.Equal(t, i, tickBucketOf(b[i]), b[i])
		assert.Equal(t, i+1, tickBucketOf(b[i]+1), b[i]+1)
	}
	assert.Equal(t, 0, tickBucketOf(0))
	assert.Equal(t, TickHistogramBuckets-1, tickBucketOf(time.Hour))
}

// workload is a script of tick durations.
func workload(seed uint64, n int) []time.Duration {
	out := make([]time.Duration, n)
	x := seed
	for i := range out {
		x = x*6364136223846793005 + 1442695040888963407
		// Log-uniform from 5 µs to about 330 ms: every bucket gets some.
		out[i] = (5*time.Microsecond + time.Duration(x>>44)%(5*time.Microsecond)) << ((x >> 59) % 16)
	}
	return out
}

// scripted makes c's ticks take the given durations, in order.
func scripted(c *Conference, works []time.Duration) {
	var now time.Duration
	var i, calls int
	c.workClock = func() time.Duration {
		calls++
		if calls%2 == 0 { // the end of a tick's work
			now += works[i]
			i++
		}
		return now
	}
}

// TestTickHistogramMerge: two rooms' histograms merged equal the histogram
// of one room that ticked both rooms' work; and each is consistent with
// itself and with the quantile stats beside it.
func TestTickHistogramMerge(t *testing.T) {
	wa, wb := workload(1, 700), workload(2, 500)
	a := newTestConference(t, ConferenceConfig{Name: "a"})
	b := newTestConference(t, ConferenceConfig{Name: "b"})
	both := newTestConference(t, ConferenceConfig{Name: "both"})
	scripted(a, wa)
	scripted(b, wb)
	scripted(both, append(append([]time.Duration(nil), wa...), wb...))
	for i := range wa {
		a.Tick(time.Duration(i) * 20 * time.Millisecond)
		both.Tick(time.Duration(i) * 20 * time.Millisecond)
	}
	for i := range wb {
		b.Tick(time.Duration(i) * 20 * time.Millisecond)
		both.Tick(time.Duration(len(wa)+i) * 20 * time.Millisecond)
	}
	ha, hb := a.Stats().Timing.Histogram, b.Stats().Timing.Histogram
	merged := ha
	merged.Merge(hb)
	assert.Equal(t, both.Stats().Timing.Histogram, merged)

	var sum time.Duration
	for _, d := range wa {
		sum += d
	}
	assert.Equal(t, sum, ha.Sum)
	assert.Equal(t, uint64(len(wa)), ha.Count)
	assert.Equal(t, a.Stats().Ticks, ha.Count)
	for i, n := range ha.Counts {
		assert.Positive(t, n, "workload covers bucket %d", i)
	}
	cum := merged.Cumulative()
	assert.Equal(t, merged.Count, cum[TickHistogramBuckets-1])
	for i := 1; i < TickHistogramBuckets; i++ {
		assert.Equal(t, cum[i-1]+merged.Counts[i], cum[i])
	}
}

// TestTickHistogramGrows: snapshots only grow, so a later scrape minus an
// earlier one is what happened in between.
func TestTickHistogramGrows(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	w := workload(3, 300)
	scripted(c, w)
	var prev TickHistogram
	for i := range w {
		c.Tick(time.Duration(i) * 20 * time.Millisecond)
		h := c.Stats().Timing.Histogram
		for j := range h.Counts {
			require.GreaterOrEqual(t, h.Counts[j], prev.Counts[j])
		}
		require.Equal(t, prev.Count+1, h.Count)
		require.Equal(t, prev.Sum+w[i], h.Sum)
		require.Equal(t, prev.Counts[tickBucketOf(w[i])]+1, h.Counts[tickBucketOf(w[i])])
		prev = h
	}
}

// TestTimingRecordAllocs: recording a tick allocates nothing.
func TestTimingRecordAllocs(t *testing.T) {
	var h timingHist
	d := time.Duration(0)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { h.record(d); d += 7 * time.Microsecond }))
}

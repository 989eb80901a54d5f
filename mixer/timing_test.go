package mixer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

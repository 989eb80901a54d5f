package rtcpsession

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestScheduler(t testing.TB, cfg IntervalConfig, rnd func() float64) Scheduler {
	t.Helper()
	s, err := NewScheduler(cfg)
	require.NoError(t, err)
	if rnd != nil {
		s.rnd = rnd
	}
	return s
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// TestIntervalBounds: the interval is Tmin times 0.5..1.5, divided by
// e − 3/2 (A.7), the first one from half of Tmin.
func TestIntervalBounds(t *testing.T) {
	for _, tc := range []struct {
		rnd  float64
		want float64 // times Tmin
	}{{0, 0.5}, {0.5, 1}, {0.999999, 1.5}} {
		s := newTestScheduler(t, IntervalConfig{}, func() float64 { return tc.rnd })
		s.Start(0, 2, 1, true)
		assert.InDelta(t, seconds(2.5*tc.want/compensation), s.Next(), float64(time.Millisecond), "initial, rnd %v", tc.rnd)
		s.Sent(10*time.Second, 100, 2, 1, true)
		assert.InDelta(t, seconds(10+5*tc.want/compensation), s.Next(), float64(time.Millisecond), "rnd %v", tc.rnd)
	}
	s := newTestScheduler(t, IntervalConfig{Min: time.Second}, func() float64 { return 0.5 })
	s.Start(0, 2, 0, false)
	s.Sent(0, 100, 2, 0, false)
	assert.InDelta(t, seconds(1/compensation), s.Next(), float64(time.Millisecond))
}

// TestReconsideration: at expiry the interval is drawn again from the last
// report; a longer draw moves the timer instead of sending.
func TestReconsideration(t *testing.T) {
	draws := []float64{0, 1, 0}
	s := newTestScheduler(t, IntervalConfig{}, func() float64 { r := draws[0]; draws = draws[1:]; return r })
	s.Start(0, 2, 1, true) // initial: 1.03 s
	first := s.Next()
	assert.False(t, s.Due(first-1, 2, 1, true), "before expiry: one comparison")
	assert.False(t, s.Due(first, 2, 1, true), "reconsidered: 3.08 s from the start, not yet")
	assert.InDelta(t, seconds(2.5*1.5/compensation), s.Next(), float64(time.Millisecond))
	assert.True(t, s.Due(s.Next(), 2, 1, true), "a short draw: due")
}

// TestIntervalMean: over many reports in a two-party session, reports go
// out about once per Tmin, never closer than 0.5/(e−1.5) Tmin nor further
// apart than 1.5/(e−1.5) Tmin.
func TestIntervalMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newTestScheduler(t, IntervalConfig{}, rng.Float64)
	s.Start(0, 2, 2, true)
	var sent []time.Duration
	for now := time.Duration(0); now < 5000*time.Second; now += 20 * time.Millisecond {
		if s.Due(now, 2, 2, true) {
			s.Sent(now, 100, 2, 2, true)
			sent = append(sent, now)
		}
	}
	require.Greater(t, len(sent), 500)
	var sum time.Duration
	for i := 1; i < len(sent); i++ {
		d := sent[i] - sent[i-1]
		sum += d
		assert.GreaterOrEqual(t, d, seconds(5*0.5/compensation)-20*time.Millisecond)
		assert.LessOrEqual(t, d, seconds(5*1.5/compensation)+20*time.Millisecond)
	}
	mean := sum / time.Duration(len(sent)-1)
	t.Logf("%d reports, mean interval %v", len(sent), mean)
	assert.InDelta(t, 5*time.Second, mean, float64(600*time.Millisecond))
}

// TestIntervalBandwidth: A.7's deterministic interval grows with the
// session and shrinks with its bandwidth; the reduced minimum (§6.2) is
// 360 s / kbit/s.
func TestIntervalBandwidth(t *testing.T) {
	half := func() float64 { return 0.5 }
	// 100 members, 10 kbit/s: RTCP 62.5 B/s; 90 receivers share 75 %.
	s := newTestScheduler(t, IntervalConfig{Bandwidth: 10000}, half)
	s.avgSize = 100
	s.initial = false
	got := s.interval(100, 10, false)
	want := seconds(100 * 90 / (0.05 * 10000 / 8 * 0.75) / compensation)
	assert.InDelta(t, want, got, float64(time.Millisecond))
	// A sender among few senders: a quarter of it for the 10 senders.
	got = s.interval(100, 10, true)
	want = seconds(100 * 10 / (0.05 * 10000 / 8 * 0.25) / compensation)
	assert.InDelta(t, want, got, float64(time.Millisecond))
	// Two parties at 64 kbit/s: the minimum.
	assert.InDelta(t, seconds(5/compensation), s.interval(2, 2, true), float64(time.Millisecond))

	r := newTestScheduler(t, IntervalConfig{Bandwidth: 1_000_000, ReducedMinimum: true}, half)
	r.initial = false
	assert.InDelta(t, seconds(0.36/compensation), r.interval(2, 2, true), float64(time.Millisecond))
	r = newTestScheduler(t, IntervalConfig{Bandwidth: 64_000, ReducedMinimum: true}, half)
	r.initial = false
	assert.InDelta(t, seconds(5/compensation), r.interval(2, 2, true), float64(time.Millisecond), "never above Min")

	for _, bad := range []IntervalConfig{{Min: -1}, {Bandwidth: -1}, {ReducedMinimum: true}} {
		_, err := NewScheduler(bad)
		assert.ErrorIs(t, err, ErrConfig, "%+v", bad)
	}
}

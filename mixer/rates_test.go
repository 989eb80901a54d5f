package mixer

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAutoRateCounts: the automatic rate follows Update both ways (an
// outbound format changed to Opus lifts the room to 48 kHz, changed back
// it returns to 8 kHz) and leaves, and the counts behind it (rates.go)
// end where they started.
func TestAutoRateCounts(t *testing.T) {
	c, clk := newClockedConference(t, ConferenceConfig{})
	var ps []*Participant
	for i := range 3 {
		p, err := c.Join(ParticipantConfig{ID: fmt.Sprint("p", i), In: pcmu, Out: pcmu, Sink: &countSink{}})
		require.NoError(t, err)
		ps = append(ps, p)
	}
	now := time.Duration(0)
	tick := func() {
		clk.set(now)
		c.Tick(now)
		now += 20 * time.Millisecond
	}
	tick()
	assert.Equal(t, 8000, c.Stats().SampleRate)
	assert.Equal(t, rateCount{8000: 6}, c.rates)
	require.NoError(t, ps[1].Update(func(cfg *ParticipantConfig) { cfg.Out = opf }))
	tick()
	assert.Equal(t, 48000, c.Stats().SampleRate)
	assert.Equal(t, rateCount{8000: 5, 48000: 1}, c.rates)
	require.NoError(t, ps[1].Update(func(cfg *ParticipantConfig) { cfg.Out = pcmu }))
	tick()
	assert.Equal(t, 8000, c.Stats().SampleRate)
	require.NoError(t, ps[2].Update(func(cfg *ParticipantConfig) { cfg.In = opf }))
	tick()
	assert.Equal(t, 48000, c.Stats().SampleRate)
	ps[2].Leave()
	tick()
	assert.Equal(t, 8000, c.Stats().SampleRate)
	ps[0].Leave()
	ps[1].Leave()
	tick()
	assert.Empty(t, c.rates)
}

// BenchmarkJoinBig fills a room: N participants (PCMU, SRTP both ways)
// Join, then one tick applies every join. join-µs/participant is the
// Join calls (keys, codecs, buffers: per participant, independent of N);
// apply-µs/participant is the tick that adds them to the room, which
// used to rescan every participant per join (quadratic in N).
func BenchmarkJoinBig(b *testing.B) {
	for _, n := range []int{100, 1000, 4000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			var join, apply time.Duration
			for range b.N {
				c, err := NewConference(ConferenceConfig{EventBuffer: 1})
				require.NoError(b, err)
				t0 := time.Now()
				for i := range n {
					in, out := splitKeys(i, 0), splitKeys(i, 0x55)
					_, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, InSRTP: &in, OutSRTP: &out, Sink: &countSink{}})
					require.NoError(b, err)
				}
				t1 := time.Now()
				c.Tick(0)
				apply += time.Since(t1)
				join += t1.Sub(t0)
				b.StopTimer()
				require.NoError(b, c.Close())
				b.StartTimer()
			}
			b.ReportMetric(float64(join.Microseconds())/float64(b.N*n), "join-µs/participant")
			b.ReportMetric(float64(apply.Microseconds())/float64(b.N*n), "apply-µs/participant")
		})
	}
}

package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRoom checks that every room the benchmarks time does the work they
// claim: every participant's packet is accepted (SRTP authenticates, the
// jitter buffer takes it), three speakers are mixed, and every participant
// is sent one packet per tick.
func TestRoom(t *testing.T) {
	cs := testClips(t)
	for _, c := range Codecs {
		for _, sc := range Scenarios {
			t.Run(c+"/"+sc, func(t *testing.T) {
				const n, ticks = 12, 20
				r, err := NewRoom(RoomConfig{N: n, Codec: c, Scenario: sc, Clips: cs})
				require.NoError(t, err)
				defer r.Close()
				before := r.Out.Packets
				for i := 0; i < ticks; i++ {
					r.Prepare()
					r.Tick()
				}
				assert.Equal(t, n*ticks, r.Out.Packets-before, "one packet per participant per tick")
				assert.Equal(t, 3, r.Conf.Stats().Speakers)
				for _, p := range r.Conf.Participants() {
					st := p.Stats()
					assert.Equal(t, uint64(100+ticks), st.PacketsIn, p.ID())
					assert.Zero(t, st.Refused.Packets, p.ID())
					assert.Zero(t, st.DecodeErrors+st.EncodeErrors+st.ProtectErrors+st.SinkErrors, p.ID())
					assert.Zero(t, st.Jitter.Late, p.ID())
				}
			})
		}
	}
}

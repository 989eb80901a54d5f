package bench

import (
	"math/bits"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTurnSchedule: mostly one talker at a time, with overlaps of two and
// pauses of nobody, every participant getting turns, no turn shorter than
// 2 s; the same seed gives the same schedule.
func TestTurnSchedule(t *testing.T) {
	m := TurnSchedule(3, SmallRoomSize, TurnCycle)
	require.Len(t, m, TurnCycle)
	var count [3]int
	var per [SmallRoomSize]int
	for _, x := range m {
		n := bits.OnesCount8(x)
		require.LessOrEqual(t, n, 2, "at most two talk at once")
		count[n]++
		for i := range per {
			if x&(1<<i) != 0 {
				per[i]++
			}
		}
	}
	assert.Greater(t, count[1], TurnCycle*3/4, "mostly one talker: %v", count)
	assert.Positive(t, count[0], "pauses")
	assert.Positive(t, count[2], "overlaps")
	for i, n := range per {
		assert.Positive(t, n, "participant %d gets turns", i)
	}
	assert.Equal(t, m, TurnSchedule(3, SmallRoomSize, TurnCycle))
	assert.NotEqual(t, m, TurnSchedule(4, SmallRoomSize, TurnCycle))
}

// TestRoomSet: a set of small rooms does the work it claims: every
// packet accepted, one packet out per participant per tick (silent mixes
// send silence frames), talkers follow the schedule (one speaker per room
// most of the time) or all talk (All4: three speakers of four).
func TestRoomSet(t *testing.T) {
	cs := testClips(t)
	for _, sc := range SmallScenarios {
		t.Run(sc, func(t *testing.T) {
			const n, ticks = 10, 300
			s, err := NewRoomSet(RoomConfig{N: n, Codec: CodecOpus, Scenario: sc, Clips: cs, Seed: 5})
			require.NoError(t, err)
			defer s.Close()
			require.Len(t, s.Rooms, 3)
			before := 0
			for _, r := range s.Rooms {
				before += r.Out.Packets
			}
			speakers := 0
			for range ticks {
				s.Prepare()
				s.Tick()
				for _, r := range s.Rooms {
					speakers += r.Conf.Stats().Speakers
				}
			}
			out := 0
			for _, r := range s.Rooms {
				out += r.Out.Packets
				for _, p := range r.Conf.Participants() {
					st := p.Stats()
					assert.Equal(t, uint64(100+ticks), st.PacketsIn, p.ID())
					assert.Zero(t, st.Refused.Packets, p.ID())
					assert.Zero(t, st.DecodeErrors+st.EncodeErrors+st.ProtectErrors+st.SinkErrors, p.ID())
				}
			}
			assert.Equal(t, n*ticks, out-before, "one packet per participant per tick")
			perRoom := float64(speakers) / float64(ticks*len(s.Rooms))
			if sc == Turns4 {
				assert.InDelta(t, 1.0, perRoom, 0.35, "speakers per room")
			} else {
				assert.InDelta(t, 8.0/3, perRoom, 0.01, "speakers per room: 3, 3 and 2")
			}
		})
	}
	_, err := NewRoom(RoomConfig{N: 5, Codec: CodecOpus, Scenario: Turns4, Clips: cs})
	assert.Error(t, err, "small-room scenarios have rooms of four")
}

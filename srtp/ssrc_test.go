package srtp

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tableModel is the obvious implementation of ssrcTable: a slice, most
// recent first.
type tableModel struct {
	max   int
	order []uint32
}

func (m *tableModel) touch(ssrc uint32) {
	i := slices.Index(m.order, ssrc)
	m.order = slices.Insert(slices.Delete(m.order, i, i+1), 0, ssrc)
}

func (m *tableModel) admit(ssrc uint32) (evicted uint32, ok bool) {
	m.order = slices.Insert(m.order, 0, ssrc)
	if len(m.order) <= m.max {
		return 0, false
	}
	evicted = m.order[len(m.order)-1]
	m.order = m.order[:len(m.order)-1]
	return evicted, true
}

// checkTable holds t to the model: same members in the same order, each
// found by lookup, the index never more than half full.
func checkTable(t *testing.T, tab *ssrcTable, m *tableModel) {
	t.Helper()
	got := []uint32{}
	tab.each(func(s *ssrcState) {
		require.True(t, s.live)
		require.Equal(t, s == tab.head, s.recent, "recent is the head alone")
		require.Same(t, s, tab.lookup(s.ssrc), "lookup %#x", s.ssrc)
		got = append(got, s.ssrc)
	})
	require.Equal(t, append([]uint32{}, m.order...), got)
	require.Equal(t, len(m.order), tab.Len())
	require.LessOrEqual(t, 2*tab.Len(), len(tab.slots))
	var n int
	for _, s := range tab.slots {
		if s != nil {
			n++
		}
	}
	require.Equal(t, tab.Len(), n, "index entries")
}

// TestSSRCTableModel drives a table and the model with the same random
// operations: admissions of new SSRCs (some of them colliding in the
// index on purpose, around its end), touches of members, lookups of strangers, explicit
// removals.
func TestSSRCTableModel(t *testing.T) {
	for _, max := range []int{1, 2, 3, 7, 64, 200} {
		rng := rand.New(rand.NewPCG(uint64(max), 9))
		tab := newSSRCTable(max)
		m := &tableModel{max: max}
		states := map[uint32]*ssrcState{}
		next := uint32(1)
		for op := 0; op < 20000; op++ {
			switch r := rng.IntN(10); {
			case r < 4 || len(m.order) == 0: // a new SSRC
				ssrc := next
				next++
				if rng.IntN(2) == 0 && len(tab.slots) > 0 {
					// One whose home slot is among the last two or the
					// first: a probe run that wraps, and deletions that
					// must shift entries back across the end.
					for h := tab.home(ssrc); h > 0 && h < len(tab.slots)-2; h = tab.home(ssrc) {
						ssrc = next
						next++
					}
				}
				if tab.lookup(ssrc) != nil {
					continue
				}
				s := &ssrcState{ssrc: ssrc}
				states[ssrc] = s
				ev := tab.admit(s)
				want, evicted := m.admit(ssrc)
				require.Equal(t, evicted, ev != nil)
				if evicted {
					require.Equal(t, want, ev.ssrc)
					require.False(t, ev.live)
					require.False(t, ev.recent)
					require.Nil(t, tab.lookup(want))
				}
			case r < 8:
				ssrc := m.order[rng.IntN(len(m.order))]
				tab.touch(states[ssrc])
				m.touch(ssrc)
			case r < 9:
				require.Nil(t, tab.lookup(next+1000), "stranger")
			default:
				i := rng.IntN(len(m.order))
				ssrc := m.order[i]
				tab.remove(states[ssrc])
				require.False(t, states[ssrc].recent)
				m.order = slices.Delete(m.order, i, i+1)
			}
			if op%97 == 0 || max <= 3 {
				checkTable(t, &tab, m)
			}
		}
		checkTable(t, &tab, m)
		// The index stops growing at the power of two above 2*(max+1).
		limit := 8
		for limit < 2*(max+1) {
			limit *= 2
		}
		assert.LessOrEqual(t, len(tab.slots), limit, "max %d", max)
	}
}

// Steady state allocates nothing: lookups, touches, and churn once the
// index has reached its size.
func TestSSRCTableAllocs(t *testing.T) {
	tab := newSSRCTable(16)
	states := make([]*ssrcState, 64)
	for i := range states {
		states[i] = &ssrcState{ssrc: uint32(i * 7919)}
	}
	for _, s := range states[:16] {
		tab.admit(s)
	}
	i := 0
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		s := states[i%16]
		if tab.lookup(s.ssrc) == s {
			tab.touch(s)
		}
		i++
	}))
	// Cycle all 64 through the 16 places: every admission evicts.
	j := 16
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		s := states[j%64]
		if !s.live {
			tab.admit(s)
		} else {
			tab.touch(s)
		}
		j++
	}))
	assert.Equal(t, 16, tab.Len())
}

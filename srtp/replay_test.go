package srtp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/pion/transport/v5/replaydetector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var windowSizes = []int{1, 2, 63, 64, 65, 100, 128, 129, 1000, MaxReplayWindow}

// diffWindows runs ops against replayWindow and pion's detector, which
// must agree on every check. Each op is (step, auth): the index moves by
// step (floored at 0) and, when auth is set and the check passed, the
// index is accepted as an authenticated packet would be.
type windowPair struct {
	ours  *ssrcState
	pion  replaydetector.CheckAccepter
	index uint64
	hooks pionHooks
}

func newWindowPair(size int) *windowPair {
	p := &windowPair{}
	p.hooks.window = uint64(size)
	p.ours = p.hooks.factory().(*ssrcState)
	p.pion = replaydetector.New(uint(size), 1<<48-1).(replaydetector.CheckAccepter)
	return p
}

func (p *windowPair) step(t testing.TB, step int64, auth bool) {
	next := int64(p.index) + step
	if next < 0 {
		next = 0
	}
	p.index = uint64(next)
	p.hooks.replayed, p.hooks.accepted = false, nil
	a, b := p.ours.CheckSeq(p.index), p.pion.CheckSeq(p.index)
	if a.Passed() != b.Passed() {
		t.Fatalf("index %d: ours passed=%v, pion passed=%v", p.index, a.Passed(), b.Passed())
	}
	if p.hooks.replayed == a.Passed() {
		t.Fatalf("index %d: replay flag %v with passed=%v", p.index, p.hooks.replayed, a.Passed())
	}
	if auth {
		latest := p.ours.Accept(a)
		if latest != p.pion.Accept(b) {
			t.Fatalf("index %d: ours and pion disagree on whether it is the latest", p.index)
		}
		if a.Passed() && (p.hooks.accepted != p.ours || p.ours.index < p.index) {
			t.Fatalf("index %d: acceptance not reported (index %d)", p.index, p.ours.index)
		}
	}
}

func TestReplayWindowMatchesPion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range windowSizes {
		p := newWindowPair(size)
		for i := 0; i < 20000; i++ {
			var step int64
			switch rng.IntN(10) {
			case 0:
				step = int64(rng.IntN(4*size+2)) - int64(2*size) // around the window
			case 1:
				step = int64(rng.IntN(200)) - 100
			case 2:
				step = int64(rng.IntN(3*size + 1)) // a jump ahead
			case 3:
				step = 0 // exact replay
			default:
				step = int64(rng.IntN(3)) // in order, small gaps
			}
			p.step(t, step, rng.IntN(8) != 0)
		}
	}
}

func TestReplayWindowEdges(t *testing.T) {
	for _, size := range []int{64, 200} {
		w := &replayWindow{size: uint64(size)}
		assert.True(t, w.check(1000), "empty window passes anything")
		assert.Nil(t, w.bits, "no bitmap before the first acceptance")
		w.accept(1000)
		assert.False(t, w.check(1000))
		assert.True(t, w.check(1000-uint64(size)+1), "last slot")
		assert.False(t, w.check(1000-uint64(size)), "behind the window")
		w.accept(1000 + 70) // slide across a word boundary
		assert.False(t, w.check(1000) && size <= 70, "1000 now 70 behind")
		if size > 70 {
			assert.False(t, w.check(1000), "still remembered after the slide")
			assert.True(t, w.check(1001))
		}
		w.accept(1000 + 70 + uint64(size)) // slide by the whole window
		assert.True(t, w.check(1000+70+1))
		assert.False(t, w.check(1000+70), "exactly size behind")
	}
}

// FuzzReplayWindow holds replayWindow to pion's detector on arbitrary
// sequences of index steps and acceptances.
func FuzzReplayWindow(f *testing.F) {
	f.Add(byte(3), []byte{0, 5, 1, 0, 0, 1, 0xff, 0xf0, 1, 0, 1, 1})
	f.Add(byte(8), []byte{1, 0, 1, 0x7f, 0xff, 1, 0x80, 0x01, 1, 0, 0, 0})
	f.Add(byte(4), []byte{0, 64, 1, 0xff, 0xc0, 1, 0, 1, 0})
	f.Fuzz(func(t *testing.T, sizeSel byte, ops []byte) {
		p := newWindowPair(windowSizes[int(sizeSel)%len(windowSizes)])
		for len(ops) >= 3 {
			step := int64(int16(binary.BigEndian.Uint16(ops)))
			p.step(t, step, ops[2]&1 == 1)
			ops = ops[3:]
		}
	})
}

func TestReplayWindowOneAllocation(t *testing.T) {
	for _, size := range []int{64, 1000} {
		h := pionHooks{window: uint64(size)}
		w := h.newState()
		w.window.accept(1)
		i := uint64(2)
		allocs := testing.AllocsPerRun(100, func() {
			tok := w.CheckSeq(i)
			require.True(t, tok.Passed())
			w.Accept(tok)
			i += 3
		})
		assert.Zero(t, allocs)
	}
}

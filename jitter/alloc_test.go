package jitter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/jitter"
)

// TestAllocs: Push and Pop allocate nothing, on the steady path and on every
// refusal path (a flood of bad packets must not cost garbage either).
var big = jitter.Packet{SSRC: 1, Payload: make([]byte, 1300)}

func TestAllocs(t *testing.T) {
	cases := []struct {
		name string
		// step is run AllocsPerRun times after a warm-up; i counts calls.
		step func(b *jitter.Buffer, p *jitter.Packet, i int)
	}{
		{"push and pop", func(b *jitter.Buffer, p *jitter.Packet, i int) {
			now := time.Duration(i) * ptime
			p.SequenceNumber, p.Timestamp = uint16(i), uint32(i)*tick
			_ = b.Push(now, p)
			_ = b.Pop(now)
		}},
		{"push duplicate", func(b *jitter.Buffer, p *jitter.Packet, i int) {
			p.SequenceNumber, p.Timestamp = 5, 5*tick
			_ = b.Push(time.Duration(i)*time.Microsecond, p)
		}},
		{"push late", func(b *jitter.Buffer, p *jitter.Packet, i int) {
			p.SequenceNumber, p.Timestamp = 0, 0
			_ = b.Push(time.Duration(i)*time.Microsecond, p)
		}},
		{"push too large", func(b *jitter.Buffer, p *jitter.Packet, i int) {
			_ = b.Push(0, &big)
		}},
		{"push, pop and time-scale", func(b *jitter.Buffer, p *jitter.Packet, i int) {
			now := time.Duration(i) * ptime
			p.SequenceNumber, p.Timestamp = uint16(i), uint32(i)*tick
			_ = b.Push(now, p)
			if f := b.Pop(now); f.Stretch != 0 {
				b.Stretched(f.Stretch / 2)
			}
		}},
		{"stretched", func(b *jitter.Buffer, p *jitter.Packet, i int) {
			b.Stretched(time.Duration(i%7-3) * time.Millisecond)
		}},
		{"pop underrun", func(b *jitter.Buffer, p *jitter.Packet, i int) {
			_ = b.Pop(time.Hour + time.Duration(i)*ptime)
		}},
		{"stats", func(b *jitter.Buffer, p *jitter.Packet, i int) {
			_ = b.Stats()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := jitter.New(jitter.Config{ClockRate: rate})
			require.NoError(t, err)
			p := &jitter.Packet{SSRC: 1, AudioLevel: -1, Payload: make([]byte, 160)}
			// Warm up: a stream that has started and played.
			for i := range 200 {
				now := time.Duration(i) * ptime
				p.SequenceNumber, p.Timestamp = uint16(i), uint32(i)*tick
				_ = b.Push(now, p)
				_ = b.Pop(now)
			}
			i := 200
			allocs := testing.AllocsPerRun(1000, func() {
				tc.step(b, p, i)
				i++
			})
			require.Zero(t, allocs)
		})
	}
}

// TestAllocsBurst: a source that sends 5 s of audio in one go every 5 s,
// played by a caller that time-scales as asked (popping until its tick
// is covered, as the mixer does), so that the delay dips while each
// burst is buffered (see burstDip), allocates nothing either.
func TestAllocsBurst(t *testing.T) {
	b, err := jitter.New(jitter.Config{ClockRate: rate, MaxDelay: 6 * time.Second})
	require.NoError(t, err)
	p := &jitter.Packet{SSRC: 1, AudioLevel: -1, Payload: make([]byte, 160)}
	const burst = 250 // packets of 20 ms: 5 s
	sent := 0
	var carry time.Duration
	step := func(i int) {
		now := time.Duration(i) * ptime
		if i%burst == 0 {
			// The whole burst at once, the first at its own time or
			// 10 ms after, in turn.
			at := now - time.Duration(i/burst%2)*10*time.Millisecond
			for range burst {
				p.SequenceNumber, p.Timestamp = uint16(sent), uint32(sent)*tick
				_ = b.Push(at, p)
				sent++
			}
		}
		pos := carry
		for pos < ptime {
			f := b.Pop(now)
			if f.Kind == jitter.KindEmpty {
				break
			}
			d := time.Duration(f.Duration) * time.Second / rate
			if a := max(f.Stretch, -d); a != 0 {
				b.Stretched(a)
				d += a
			}
			pos += d
		}
		carry = max(pos-ptime, 0)
	}
	i := 0
	for ; i < 6*burst; i++ {
		step(i)
	}
	before := b.Stats()
	allocs := testing.AllocsPerRun(2*burst, func() {
		step(i)
		i++
	})
	require.Zero(t, allocs)
	st := b.Stats()
	// (AllocsPerRun runs the function once more than it is told.)
	t.Logf("over two bursts: shortened %v, lengthened %v", st.Shortened-before.Shortened, st.Lengthened-before.Lengthened)
	require.GreaterOrEqual(t, st.Shortened-before.Shortened, 2*ptime, "the delay dipped a tick in each burst")
	require.GreaterOrEqual(t, st.Lengthened-before.Lengthened, ptime, "and came back")
	require.Zero(t, st.Late+st.Dropped+st.Overflow+st.Concealed+st.Lost, "%+v", st)
}

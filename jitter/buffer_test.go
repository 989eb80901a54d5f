package jitter_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/jitter"
)

func TestConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  jitter.Config
		err  string // "" when valid
	}{
		{"defaults", jitter.Config{ClockRate: 8000}, ""},
		{"no clock rate", jitter.Config{}, "ClockRate"},
		{"capacity not power of two", jitter.Config{ClockRate: 8000, Capacity: 48}, "Capacity"},
		{"capacity too small", jitter.Config{ClockRate: 8000, Capacity: 4}, "Capacity"},
		{"capacity too large", jitter.Config{ClockRate: 8000, Capacity: 8192}, "Capacity"},
		{"payload too large", jitter.Config{ClockRate: 8000, MaxPayload: 70000}, "MaxPayload"},
		{"min above max", jitter.Config{ClockRate: 8000, MinDelay: time.Second, MaxDelay: 500 * time.Millisecond}, "MinDelay"},
		{"start outside bounds", jitter.Config{ClockRate: 8000, MaxDelay: 200 * time.Millisecond, StartDelay: 300 * time.Millisecond}, "StartDelay"},
		{"start follows min", jitter.Config{ClockRate: 8000, MinDelay: 150 * time.Millisecond}, ""},
		{"quantile out of range", jitter.Config{ClockRate: 8000, Quantile: 1}, "Quantile"},
		{"forget factor out of range", jitter.Config{ClockRate: 8000, ForgetFactor: 0.5}, "ForgetFactor"},
		{"frame shorter than a tick", jitter.Config{ClockRate: 8000, FrameDuration: time.Microsecond}, "FrameDuration"},
		{"quiet level", jitter.Config{ClockRate: 8000, QuietLevel: 200}, "QuietLevel"},
		{"resync below max delay", jitter.Config{ClockRate: 8000, ResyncThreshold: 100 * time.Millisecond}, "ResyncThreshold"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := jitter.New(tc.cfg)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			c := b.Config()
			assert.Equal(t, jitter.DefaultCapacity, c.Capacity)
			assert.Equal(t, jitter.DefaultFrameDuration, c.FrameDuration)
			assert.Equal(t, jitter.DefaultQuantile, c.Quantile)
			assert.GreaterOrEqual(t, c.StartDelay, c.MinDelay)
			assert.Equal(t, c.StartDelay, b.Stats().TargetDelay)
		})
	}
}

func TestStartDelay(t *testing.T) {
	cases := []struct {
		name  string
		start time.Duration
	}{
		{"40ms", 40 * time.Millisecond},
		{"default 80ms", 0},
		{"200ms", 200 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, jitter.Config{StartDelay: tc.start})
			want := s.b.Config().StartDelay
			// The first packet arrives at 50 ms; nothing plays before it
			// has waited the start delay.
			next := 0
			arr := steady(0, 50)
			for now := time.Duration(0); now < 2*time.Second; now += ptime {
				for ; next < len(arr) && arr[next].at <= now; next++ {
					require.NoError(t, s.b.Push(arr[next].at, s.packet(arr[next].i)))
				}
				f := s.b.Pop(now)
				if f.Kind == jitter.KindEmpty {
					assert.Zero(t, f.Duration)
					continue
				}
				assert.Equal(t, jitter.KindPacket, f.Kind)
				assert.Equal(t, 0, index(f.Payload))
				waited := now - 50*time.Millisecond
				assert.GreaterOrEqual(t, waited, want)
				assert.Less(t, waited, want+ptime)
				return
			}
			t.Fatal("never started")
		})
	}
}

func TestPlayoutInOrder(t *testing.T) {
	cases := []struct {
		name     string
		arrivals []arrival
		reorder  uint64
	}{
		{"in order", steady(0, 99), 0},
		{"adjacent pairs swapped", swapPairs(steady(0, 99)), 50},
		{"bursts of five reversed", reverseBursts(steady(0, 99), 5), 80},
		{"one packet 40 ms late", delayOne(steady(0, 99), 30, 40*time.Millisecond), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, pinned)
			frames, errs := run(s, tc.arrivals, 3*time.Second)
			assert.Empty(t, errs)
			assert.Equal(t, seq(0, 99), played(frames))
			st := s.b.Stats()
			assert.Zero(t, st.Lost)
			assert.Zero(t, st.Late)
			assert.Equal(t, tc.reorder, st.Reordered)
			for _, f := range frames {
				if f.kind == jitter.KindPacket {
					assert.Equal(t, uint32(tick), f.dur)
				}
			}
			balanced(t, st)
		})
	}
}

func TestDuplicates(t *testing.T) {
	cases := []struct {
		name  string
		dupOf int
		at    time.Duration
	}{
		{"right after the original", 10, 10*ptime + 51*time.Millisecond},
		{"while buffered", 10, 10*ptime + 80*time.Millisecond},
		{"after it was played", 10, 10*ptime + 400*time.Millisecond},
		{"long after", 3, 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, pinned)
			arr := insertSorted(steady(0, 99), arrival{i: tc.dupOf, at: tc.at})
			frames, errs := run(s, arr, 3*time.Second)
			assert.Equal(t, seq(0, 99), played(frames), "played once")
			require.Len(t, errs, 1)
			st := s.b.Stats()
			// A copy still in the ring is a duplicate; once its slot is
			// reused the buffer can only tell it is too old: late.
			assert.True(t, errors.Is(errs[tc.dupOf], jitter.ErrDuplicate) || errors.Is(errs[tc.dupOf], jitter.ErrLate), "%v", errs[tc.dupOf])
			assert.Equal(t, uint64(1), st.Duplicate+st.Late)
			balanced(t, st)
		})
	}
}

func TestWraparound(t *testing.T) {
	// The stream starts at sequence 65500 and timestamp 0xFFFF0000, so
	// both wrap within the first 100 packets, in order and reordered.
	cases := []struct {
		name     string
		arrivals []arrival
	}{
		{"in order", steady(0, 199)},
		{"reordered across the wrap", swapPairs(steady(0, 199))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, pinned)
			frames, errs := run(s, tc.arrivals, 5*time.Second)
			assert.Empty(t, errs)
			assert.Equal(t, seq(0, 199), played(frames))
			assert.Zero(t, s.b.Stats().Resyncs)
		})
	}
}

func TestLoss(t *testing.T) {
	cases := []struct {
		name      string
		lost      []int
		wantLost  int
		fecOfNext []int // KindLost frames with Next = these packets
	}{
		{"single", []int{20}, 1, []int{21}},
		{"burst of three", []int{20, 21, 22}, 3, []int{23}},
		{"two apart", []int{20, 22}, 2, []int{21, 23}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, pinned)
			arr := without(steady(0, 99), tc.lost...)
			frames, _ := run(s, arr, 3*time.Second)
			var fec []int
			for _, f := range frames {
				if f.kind == jitter.KindLost && f.i >= 0 {
					fec = append(fec, f.i)
				}
			}
			assert.Equal(t, tc.wantLost, count(frames, jitter.KindLost))
			assert.Equal(t, tc.fecOfNext, fec)
			assert.Equal(t, uint64(tc.wantLost), s.b.Stats().Lost)
			assert.Equal(t, 100-len(tc.lost), len(played(frames)))
			balanced(t, s.b.Stats())
		})
	}
}

func TestLate(t *testing.T) {
	cases := []struct {
		name  string
		late  int
		delay time.Duration
	}{
		{"300 ms late", 30, 300 * time.Millisecond},
		{"2 s late", 30, 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, pinned)
			frames, errs := run(s, delayOne(steady(0, 99), tc.late, tc.delay), 4*time.Second)
			st := s.b.Stats()
			assert.Equal(t, uint64(1), st.Late)
			if err, ok := errs[tc.late]; ok {
				assert.ErrorIs(t, err, jitter.ErrLate)
			}
			p := played(frames)
			assert.NotContains(t, p, tc.late)
			assert.Len(t, p, 99)
			balanced(t, st)
		})
	}
}

func TestSilenceGaps(t *testing.T) {
	// Sequence numbers continue while timestamps jump: DTX or a voice
	// activity gap. The gap is played as KindGap, nothing is lost.
	cases := []struct {
		name string
		gap  int // packet times skipped after packet 49
		dtx  int // with a DTX packet every dtx packet times during the gap (0: none)
	}{
		{"one second, no packets", 50, 0},
		{"two seconds of DTX every 400 ms", 100, 20},
		{"one packet time", 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, pinned)
			// Position k on the sender's timeline holds packet number i.
			var arr []arrival
			pos := map[int]int{}
			i := 0
			for k := 0; k < 150+tc.gap; k++ {
				inGap := k >= 50 && k < 50+tc.gap
				if inGap && (tc.dtx == 0 || (k-50)%tc.dtx != 0) {
					continue
				}
				pos[i] = k
				arr = append(arr, arrival{i: i, at: time.Duration(k)*ptime + 50*time.Millisecond})
				i++
			}
			orig := s.packet
			_ = orig
			var frames []frame
			next := 0
			m := &mixer{b: s.b}
			for now := time.Duration(0); now <= time.Duration(170+tc.gap)*ptime; now += ptime {
				for ; next < len(arr) && arr[next].at <= now; next++ {
					p := s.packet(arr[next].i)
					p.Timestamp = s.ts + uint32(pos[arr[next].i])*tick
					require.NoError(t, s.b.Push(arr[next].at, p))
				}
				frames = append(frames, m.tick(now, tick)...)
			}
			assert.Equal(t, seq(0, i-1), played(frames))
			st := s.b.Stats()
			assert.Zero(t, st.Lost)
			assert.Zero(t, st.Late)
			// Between the last packet before the gap and the first after
			// it the buffer plays the gap: at most 100 ms of concealment
			// first (it cannot tell a pause from late packets when the
			// sender gives no levels), then silence; never a loss. The
			// total is the gap, give or take the delay steering.
			var gapTicks, concealTicks uint32
			in := false
			for _, f := range frames {
				switch {
				case f.kind == jitter.KindPacket && f.i == 49:
					in = true
				case f.kind == jitter.KindPacket && f.i == 50:
					in = false
				case in && f.kind == jitter.KindConceal:
					assert.Zero(t, gapTicks, "concealment only before the silence")
					concealTicks += f.dur
				case in:
					assert.Equal(t, jitter.KindGap, f.kind)
					gapTicks += f.dur
				}
			}
			assert.LessOrEqual(t, concealTicks, uint32(5*tick))
			if tc.dtx == 0 {
				assert.InDelta(t, tc.gap*tick, float64(gapTicks+concealTicks), 3*tick)
			}
		})
	}
}

func TestPacketDuration(t *testing.T) {
	cases := []struct {
		name  string
		steps []uint32 // timestamp step of each packet in turn (cycled)
		given bool     // Packet.Duration set
		want  []uint32 // Duration of the played frames, in order, from the 5th
	}{
		{"20 ms learnt", []uint32{960}, false, []uint32{960, 960, 960}},
		{"40 ms learnt", []uint32{1920}, false, []uint32{1920, 1920, 1920}},
		{"10 ms learnt", []uint32{480}, false, []uint32{480, 480, 480}},
		{"60 ms given", []uint32{2880}, true, []uint32{2880, 2880, 2880}},
		{"alternating 20/40 given", []uint32{960, 1920}, true, []uint32{960, 1920, 960}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, pinned)
			var ts uint32
			var at time.Duration
			var durs []uint32
			next := 0
			m := &mixer{b: s.b}
			type pk struct {
				p  *jitter.Packet
				at time.Duration
			}
			var pks []pk
			for i := range 60 {
				step := tc.steps[i%len(tc.steps)]
				p := s.packet(i)
				p.Timestamp = s.ts + ts
				if tc.given {
					p.Duration = step
				}
				pks = append(pks, pk{p, at + 50*time.Millisecond})
				ts += step
				at += time.Duration(step) * time.Second / rate
			}
			for now := time.Duration(0); now < at+time.Second; now += 10 * time.Millisecond {
				for ; next < len(pks) && pks[next].at <= now; next++ {
					require.NoError(t, s.b.Push(pks[next].at, pks[next].p))
				}
				for _, f := range m.tick(now, 480) {
					if f.kind == jitter.KindPacket {
						durs = append(durs, f.dur)
					}
				}
			}
			require.Len(t, durs, 60)
			assert.Equal(t, tc.want, durs[4:4+len(tc.want)])
			assert.Zero(t, s.b.Stats().Lost)
		})
	}
}

func TestResync(t *testing.T) {
	type change struct {
		ssrc  uint32
		dseq  int   // added to sequence numbers from packet 50 on
		dts   int64 // added to timestamps from packet 50 on
		stray bool  // only packet 50 is changed
	}
	cases := []struct {
		name    string
		c       change
		resyncs uint64
		invalid uint64
	}{
		{"new SSRC", change{ssrc: 0xBEEF, dseq: 12345, dts: 987654321}, 1, 0},
		{"sequence jump forward", change{dseq: 20000}, 1, 0},
		{"sequence jump backward", change{dseq: -20000}, 1, 0},
		{"timestamp jump forward", change{dts: 3600 * rate}, 1, 0},
		{"timestamp jump backward", change{dts: -10 * rate}, 1, 0},
		{"lone stray sequence number", change{dseq: 20000, stray: true}, 0, 1},
		{"lone stray SSRC", change{ssrc: 0xBEEF, stray: true}, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, pinned)
			arr := steady(0, 149)
			var frames []frame
			next := 0
			m := &mixer{b: s.b}
			for now := time.Duration(0); now <= 4*time.Second; now += ptime {
				for ; next < len(arr) && arr[next].at <= now; next++ {
					i := arr[next].i
					p := s.packet(i)
					if i >= 50 && (!tc.c.stray || i == 50) {
						if tc.c.ssrc != 0 {
							p.SSRC = tc.c.ssrc
						}
						p.SequenceNumber += uint16(tc.c.dseq)
						p.Timestamp += uint32(tc.c.dts)
					}
					require.NoError(t, s.b.Push(arr[next].at, p))
				}
				frames = append(frames, m.tick(now, tick)...)
			}
			st := s.b.Stats()
			assert.Equal(t, tc.resyncs, st.Resyncs)
			assert.Equal(t, tc.invalid, st.Invalid)
			want := seq(0, 149)
			if tc.c.stray {
				want = append(seq(0, 49), seq(51, 149)...)
			}
			assert.Equal(t, want, played(frames), "plays on across the change without a long gap")
			assert.Less(t, count(frames, jitter.KindGap)+count(frames, jitter.KindConceal), 60)
			balanced(t, st)
		})
	}
}

func TestAdaptiveDelay(t *testing.T) {
	cases := []struct {
		name           string
		cfg            jitter.Config
		jitter         time.Duration // uniform in [0, jitter)
		minT, maxT     time.Duration // expected target after 20 s
		maxLatePercent float64
	}{
		{"no jitter", jitter.Config{}, 0, 0, 20 * time.Millisecond, 0},
		{"20 ms jitter", jitter.Config{}, 20 * time.Millisecond, 15 * time.Millisecond, 40 * time.Millisecond, 1},
		{"80 ms jitter", jitter.Config{}, 80 * time.Millisecond, 70 * time.Millisecond, 120 * time.Millisecond, 1},
		{"bounded by MaxDelay", jitter.Config{MaxDelay: 60 * time.Millisecond, StartDelay: 60 * time.Millisecond}, 200 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond, 100},
		{"held up by MinDelay", jitter.Config{MinDelay: 100 * time.Millisecond}, 0, 100 * time.Millisecond, 100 * time.Millisecond, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, tc.cfg)
			var arr []arrival
			x := uint64(1)
			for i := range 1000 {
				x = x*6364136223846793005 + 1442695040888963407
				j := time.Duration(0)
				if tc.jitter > 0 {
					j = time.Duration(x>>33) % tc.jitter
				}
				arr = insertSorted(arr, arrival{i: i, at: time.Duration(i)*ptime + 50*time.Millisecond + j})
			}
			_, _ = run(s, arr, 21*time.Second)
			st := s.b.Stats()
			assert.GreaterOrEqual(t, st.TargetDelay, tc.minT)
			assert.LessOrEqual(t, st.TargetDelay, tc.maxT)
			assert.LessOrEqual(t, float64(st.Late)/10, tc.maxLatePercent, "late %%")
			if tc.jitter > 0 && tc.jitter < time.Second/10 {
				assert.Greater(t, st.JitterDuration, tc.jitter/8, "RFC 3550 jitter")
			}
			balanced(t, st)
		})
	}
}

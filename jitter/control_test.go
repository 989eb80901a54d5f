package jitter_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/jitter"
)

// TestDelaySteps: the path's delay steps up (a longer route), then back
// down. Going up, the buffer holds the cursor (concealing, or inserting
// silence when the talker is quiet) until the packets come the new way,
// so none is lost; the packets measured against the old floor are measured
// again once it leaves the window, so the target does not stay inflated.
// Going down, packets still in flight the old way play before the buffer
// sheds the delay it no longer needs, which it does without a flush:
// audible packets are dropped one at a time, spaced out.
func TestDelaySteps(t *testing.T) {
	cases := []struct {
		name   string
		step   time.Duration
		levels bool // RFC 6464 levels: quiet every other second
	}{
		{"100 ms, no levels", 100 * time.Millisecond, false},
		{"100 ms, with levels", 100 * time.Millisecond, true},
		{"300 ms, with levels", 300 * time.Millisecond, true},
		{"300 ms, no levels", 300 * time.Millisecond, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := jitter.New(jitter.Config{ClockRate: rate})
			require.NoError(t, err)
			s := &stream{t: t, b: b, seq: 1, ts: 1}
			// Packets 300..899 take the long way; the first short-way packet
			// (900) overtakes the last long-way ones.
			transit := func(i int) time.Duration {
				if i >= 300 && i < 900 {
					return 50*time.Millisecond + tc.step
				}
				return 50 * time.Millisecond
			}
			var arr []arrival
			for i := range 1500 {
				arr = insertSorted(arr, arrival{i: i, at: time.Duration(i)*ptime + transit(i)})
			}
			m := &mixer{b: b}
			next := 0
			lastForced := time.Duration(-time.Hour)
			var prevDropped uint64
			var targetBefore, targetAfterUp, delayEnd time.Duration
			for now := time.Duration(0); now < 29*time.Second; now += ptime {
				for ; next < len(arr) && arr[next].at <= now; next++ {
					p := s.packet(arr[next].i)
					if tc.levels {
						p.Voice = arr[next].i/50%2 == 0
						p.AudioLevel = 30
						if !p.Voice {
							p.AudioLevel = 90
						}
					}
					_ = b.Push(arr[next].at, p)
				}
				m.tick(now, tick)
				st := b.Stats()
				if d := st.Dropped - prevDropped; d > 0 && !tc.levels {
					assert.Equal(t, uint64(1), d, "one audible drop at a time")
					assert.GreaterOrEqual(t, now-lastForced, 100*time.Millisecond, "audible drops spaced out")
					lastForced = now
				}
				prevDropped = st.Dropped
				switch now {
				case 5 * time.Second:
					targetBefore = st.TargetDelay
				case 15 * time.Second:
					targetAfterUp = st.TargetDelay
				}
				delayEnd = st.Delay
			}
			st := b.Stats()
			assert.Zero(t, st.Late, "nothing lost to the steps")
			assert.Zero(t, st.Lost)
			held := time.Duration(st.Concealed)*ptime + st.SilenceInserted
			// (less what was already buffered)
			assert.GreaterOrEqual(t, held, tc.step-2*ptime, "the step up was bridged by holding")
			assert.LessOrEqual(t, targetAfterUp, targetBefore+10*time.Millisecond, "target not inflated by the step")
			assert.Less(t, delayEnd, st.TargetDelay+60*time.Millisecond, "the delay the step down freed was shed")
			balanced(t, st)
		})
	}
}

// TestDrift: a sender clock 1% fast or slow must not make the delay grow or
// shrink without bound, with or without audio levels, DTX or not.
func TestDrift(t *testing.T) {
	talk := netsim.Talk{MeanTalk: 1500 * time.Millisecond, MeanSilence: time.Second}
	mild := netsim.Jitter{Kind: netsim.JitterNormal, Sigma: 5 * time.Millisecond}
	cases := []struct {
		name     string
		sc       netsim.Scenario
		maxTrend time.Duration // per minute
	}{
		{"+1% with levels", netsim.Scenario{Seed: 21, Drift: 0.01, Talk: talk, Jitter: mild}, 15 * time.Millisecond},
		{"-1% with levels", netsim.Scenario{Seed: 22, Drift: -0.01, Talk: talk, Jitter: mild}, 15 * time.Millisecond},
		{"+1% without levels", netsim.Scenario{Seed: 23, Drift: 0.01, NoLevels: true, Jitter: mild}, 15 * time.Millisecond},
		{"-1% without levels", netsim.Scenario{Seed: 24, Drift: -0.01, NoLevels: true, Jitter: mild}, 15 * time.Millisecond},
		{"+1% DTX", netsim.Scenario{Seed: 25, Drift: 0.01, Jitter: mild,
			Talk: netsim.Talk{MeanTalk: 1500 * time.Millisecond, MeanSilence: time.Second, DTX: true}}, 15 * time.Millisecond},
		{"+3% with levels", netsim.Scenario{Seed: 26, Drift: 0.03, Talk: talk, Jitter: mild}, 20 * time.Millisecond},
		{"-3% with levels", netsim.Scenario{Seed: 27, Drift: -0.03, Talk: talk, Jitter: mild}, 20 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := netsim.Run(tc.sc, jitter.Config{}, creepOptions)
			require.NoError(t, err)
			assert.Less(t, r.Trend.Abs(), tc.maxTrend, "trend per minute")
			assert.Less(t, r.P95Delay, 150*time.Millisecond)
			assert.LessOrEqual(t, r.LatePct, 0.5)
			assert.InDelta(t, tc.sc.Drift, r.Stats.ClockDrift, 0.002, "drift estimate")
		})
	}
}

// TestNoFlush: the consumer stalls for a second while packets keep
// arriving (a blocked mixer); afterwards the buffer works the backlog off
// in steps, never by discarding a run of speech at once.
func TestNoFlush(t *testing.T) {
	b, err := jitter.New(jitter.Config{ClockRate: rate})
	require.NoError(t, err)
	s := &stream{t: t, b: b, seq: 7, ts: 7}
	m := &mixer{b: b}
	var prev uint64
	var last time.Duration = -time.Hour
	for i := 0; i < 500; i++ {
		now := time.Duration(i) * ptime
		_ = b.Push(now+50*time.Millisecond, s.packet(i))
		if i >= 100 && i < 150 {
			continue // stalled
		}
		m.tick(now+50*time.Millisecond, tick)
		st := b.Stats()
		if st.Dropped > prev {
			assert.Equal(t, uint64(1), st.Dropped-prev)
			assert.GreaterOrEqual(t, now-last, 100*time.Millisecond)
			last = now
		}
		prev = st.Dropped
	}
	st := b.Stats()
	assert.Greater(t, st.Dropped, uint64(40), "the backlog was worked off")
	assert.Less(t, st.Delay, 100*time.Millisecond)
	balanced(t, st)
}

// TestStallBeyondRing: the consumer stalls for longer than the ring holds,
// so the packet it waits for next is refused as overflow, and so is every
// packet after it while the consumer waits at that position. The buffer
// must not wait forever: once it has played what it holds, it starts over
// from the packets arriving now, within about the target delay.
func TestStallBeyondRing(t *testing.T) {
	for _, capacity := range []int{8, 64} {
		t.Run(fmt.Sprint("capacity ", capacity), func(t *testing.T) {
			s := newStream(t, jitter.Config{Capacity: capacity})
			m := &mixer{b: s.b}
			stall := 100 + capacity + 10 // ticks 100.. stall-1 are missed
			var after []int
			for i := range 500 {
				now := time.Duration(i)*ptime + 50*time.Millisecond
				_ = s.b.Push(now, s.packet(i))
				if i >= 100 && i < stall {
					continue
				}
				for _, p := range played(m.tick(now, tick)) {
					if i >= stall+capacity+10 {
						after = append(after, p)
					}
				}
			}
			// Well after the backlog, every packet plays, in order, at
			// a short delay again.
			require.NotEmpty(t, after, "nothing played after the stall: %+v", s.b.Stats())
			assert.Equal(t, seq(after[0], after[0]+len(after)-1), after)
			assert.Greater(t, after[len(after)-1], 490)
			st := s.b.Stats()
			assert.Less(t, st.Delay, 200*time.Millisecond)
			balanced(t, st)
		})
	}
}

func TestPushErrors(t *testing.T) {
	cases := []struct {
		name  string
		cfg   jitter.Config
		do    func(s *stream) error // the last call's error is checked
		want  error
		stats func(t *testing.T, st jitter.Stats)
	}{
		{"nil packet", jitter.Config{}, func(s *stream) error { return s.b.Push(0, nil) }, nil,
			func(t *testing.T, st jitter.Stats) { assert.Equal(t, uint64(1), st.Invalid) }},
		{"payload too large", jitter.Config{MaxPayload: 8}, func(s *stream) error { return s.b.Push(0, s.packet(0)) }, jitter.ErrTooLarge,
			func(t *testing.T, st jitter.Stats) { assert.Equal(t, uint64(1), st.Invalid) }},
		{"full while nobody pops", jitter.Config{Capacity: 16}, func(s *stream) error {
			var err error
			// Before playback a ring too small for MaxDelay holds 8
			// packets from the first on (16 less the 8 kept for packets
			// reordered before it).
			for i := range 12 {
				err = s.b.Push(time.Duration(i)*ptime, s.packet(i))
			}
			return err
		}, jitter.ErrFull,
			func(t *testing.T, st jitter.Stats) {
				assert.Equal(t, uint64(4), st.Overflow)
				assert.Equal(t, uint64(8), st.Buffered)
			}},
		{"full before playback, sized for MaxDelay", jitter.Config{MaxDelay: 200 * time.Millisecond}, func(s *stream) error {
			// 16 slots for 200 ms of 20 ms packets: 14 from the first on.
			var err error
			for i := range 20 {
				err = s.b.Push(time.Duration(i)*time.Millisecond, s.packet(i))
			}
			return err
		}, jitter.ErrFull,
			func(t *testing.T, st jitter.Stats) {
				assert.Equal(t, uint64(6), st.Overflow)
				assert.Equal(t, uint64(14), st.Buffered)
			}},
		{"duplicate", jitter.Config{}, func(s *stream) error {
			_ = s.b.Push(0, s.packet(0))
			return s.b.Push(time.Millisecond, s.packet(0))
		}, jitter.ErrDuplicate,
			func(t *testing.T, st jitter.Stats) { assert.Equal(t, uint64(1), st.Duplicate) }},
		{"late", jitter.Config{}, func(s *stream) error {
			m := &mixer{b: s.b}
			for i := 1; i < 20; i++ {
				_ = s.b.Push(time.Duration(i)*ptime, s.packet(i))
				m.tick(time.Duration(i)*ptime, tick)
			}
			// Packet 0, older than the start and than the cursor.
			for i := 20; i < 30; i++ {
				_ = s.b.Push(time.Duration(i)*ptime, s.packet(i))
				m.tick(time.Duration(i)*ptime, tick)
			}
			return s.b.Push(30*ptime, s.packet(0))
		}, jitter.ErrLate,
			func(t *testing.T, st jitter.Stats) { assert.Equal(t, uint64(1), st.Late) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, tc.cfg)
			err := tc.do(s)
			if tc.want == nil {
				assert.Error(t, err)
			} else {
				assert.True(t, errors.Is(err, tc.want), "got %v, want %v", err, tc.want)
			}
			st := s.b.Stats()
			tc.stats(t, st)
			balanced(t, st)
		})
	}
}

func TestReset(t *testing.T) {
	s := newStream(t, pinned)
	frames, _ := run(s, steady(0, 49), time.Second)
	require.NotEmpty(t, played(frames))
	s.b.Reset()
	st := s.b.Stats()
	assert.Equal(t, jitter.Stats{TargetDelay: 80 * time.Millisecond, FrameDuration: ptime}, st)

	// A different stream, with its own numbering and a clock that starts
	// over, plays from its first packet, and is not a resync.
	s.ssrc, s.seq, s.ts = 99, 3, 5
	frames, errs := run(s, steady(0, 49), 2*time.Second)
	assert.Empty(t, errs)
	assert.Equal(t, seq(0, 49), played(frames))
	assert.Zero(t, s.b.Stats().Resyncs)
}

// TestLossInPause: packets lost while the talker is quiet (RFC 6464
// levels say so before and after the loss) are played as silence, not
// concealed: concealing background noise is no better than silence, and
// would count as concealment of speech. A loss in speech is still
// concealed, and every loss is counted.
func TestLossInPause(t *testing.T) {
	s := newStream(t, pinned)
	m := &mixer{b: s.b}
	lost := map[int]bool{100: true, 300: true, 301: true}
	var frames []frame
	next := 0
	for now := time.Duration(0); now <= 13*time.Second; now += ptime {
		for ; next < 600 && time.Duration(next)*ptime+50*time.Millisecond <= now; next++ {
			if lost[next] {
				continue
			}
			p := s.packet(next)
			p.Voice = next < 200 || next >= 400
			p.AudioLevel = 30
			if !p.Voice {
				p.AudioLevel = 90
			}
			require.NoError(t, s.b.Push(now, p))
		}
		frames = append(frames, m.tick(now, tick)...)
	}
	var pos int // packets played before the frame
	concealedAt := map[int]int{}
	for _, f := range frames {
		switch f.kind {
		case jitter.KindPacket:
			pos = f.i + 1
		case jitter.KindLost, jitter.KindConceal:
			if pos < 600 { // (not the end of the stream)
				concealedAt[pos]++
			}
		}
	}
	assert.Equal(t, map[int]int{100: 1}, concealedAt, "concealed where (the packet due), how many frames")
	st := s.b.Stats()
	assert.EqualValues(t, 3, st.Lost)
	assert.Len(t, played(frames), 597)
}

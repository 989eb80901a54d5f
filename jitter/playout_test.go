package jitter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/jitter"
)

// player pops like the mixer: every tick, frames until the tick is
// covered, what a frame spills over carried into the next tick; with
// honour set it time-scales as each frame asks (in whole ticks of the
// stream's 48 kHz clock) and reports it.
type player struct {
	b      *jitter.Buffer
	honour bool
	carry  time.Duration
	frames []jitter.Frame // every frame, its payloads not kept
}

func (p *player) tick(now time.Duration) {
	have := p.carry
	for have < ptime {
		f := p.b.Pop(now)
		f.Payload, f.Next = nil, nil
		p.frames = append(p.frames, f)
		if f.Kind == jitter.KindEmpty {
			have = ptime
			break
		}
		have += time.Duration(f.Duration) * time.Second / rate
		if p.honour && f.Stretch != 0 {
			a := f.Stretch / (time.Second / rate) * (time.Second / rate)
			p.b.Stretched(a)
			have += a
		}
	}
	p.carry = have - ptime
}

func (p *player) count(k jitter.Kind) int {
	n := 0
	for _, f := range p.frames {
		if f.Kind == k {
			n++
		}
	}
	return n
}

// TestTalkspurtEnds: a talkspurt that ends with a DTX or comfort noise
// packet is followed by silence (KindGap), not by concealment, with or
// without audio levels; the next talkspurt (a timestamp gap, the marker
// bit) plays from its first packet.
func TestTalkspurtEnds(t *testing.T) {
	cases := []struct {
		name string
		cfg  jitter.Config
		last func(p *jitter.Packet) // makes the last packet of a talkspurt
	}{
		{"Opus DTX (1 byte)", jitter.Config{}, func(p *jitter.Packet) { p.Payload = p.Payload[:1] }},
		{"Opus DTX (2 bytes)", jitter.Config{}, func(p *jitter.Packet) { p.Payload = p.Payload[:2] }},
		{"RFC 3389 static PT 13", jitter.Config{}, func(p *jitter.Packet) { p.PayloadType = 13 }},
		{"RFC 3389 dynamic PT", jitter.Config{CNPayloadType: 118}, func(p *jitter.Packet) { p.PayloadType = 118 }},
		{"RFC 6464 quiet", jitter.Config{}, func(p *jitter.Packet) { p.AudioLevel, p.Voice = 90, false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStream(t, tc.cfg)
			pl := &player{b: s.b}
			// Three talkspurts of 40 packets, each followed by one
			// silence packet and a second with nothing at all.
			i, at := 0, time.Duration(0)
			type push struct {
				at time.Duration
				p  *jitter.Packet
			}
			var pushes []push
			for spurt := range 3 {
				for k := range 41 {
					p := s.packet(i)
					p.Timestamp = s.ts + uint32(at/ptime)*tick
					p.PayloadType = 0
					p.Marker = k == 0 && spurt > 0
					if k == 40 {
						tc.last(p)
					}
					pushes = append(pushes, push{at + 30*time.Millisecond, p})
					i++
					at += ptime
				}
				at += time.Second
			}
			next := 0
			for now := time.Duration(0); now < at+time.Second; now += ptime {
				for ; next < len(pushes) && pushes[next].at <= now; next++ {
					require.NoError(t, s.b.Push(pushes[next].at, pushes[next].p))
				}
				pl.tick(now)
			}
			assert.Zero(t, pl.count(jitter.KindConceal), "silence is not concealed")
			assert.Zero(t, pl.count(jitter.KindLost))
			// Every packet played, but for silence packets the buffer may
			// skip to set its delay.
			st := s.b.Stats()
			assert.Equal(t, uint64(123), st.Played+st.Dropped, "%+v", st)
			assert.LessOrEqual(t, st.Dropped, uint64(3))
			assert.Zero(t, st.Late+st.Lost)
			assert.Positive(t, pl.count(jitter.KindGap))
		})
	}
}

// TestPausesWithoutWord: a sender that just stops sending in silence (no
// DTX or comfort noise packet, no levels) is taken, once it has paused a
// couple of times, to pause rather than lose packets: its first pause is
// concealed for at most overdueMax (40 ms) past the deadline, the later
// ones not at all. A sender that loses packets and never pauses is still
// concealed.
func TestPausesWithoutWord(t *testing.T) {
	t.Run("pauses", func(t *testing.T) {
		s := newStream(t, jitter.Config{})
		pl := &player{b: s.b}
		var concealed []int // per pause
		i, at, next := 0, time.Duration(0), time.Duration(0)
		for spurt := range 8 {
			before := pl.count(jitter.KindConceal)
			for k := range 50 {
				p := s.packet(i)
				p.Timestamp = s.ts + uint32(at/ptime)*tick
				p.Marker = k == 0 && spurt > 0
				for ; next <= at+30*time.Millisecond; next += ptime {
					pl.tick(next)
				}
				require.NoError(t, s.b.Push(at+30*time.Millisecond, p))
				i++
				at += ptime
			}
			at += 800 * time.Millisecond
			for ; next < at; next += ptime {
				pl.tick(next)
			}
			concealed = append(concealed, pl.count(jitter.KindConceal)-before)
		}
		assert.LessOrEqual(t, concealed[0], 3, "the first pause: %v", concealed)
		for _, c := range concealed[2:] {
			assert.Zero(t, c, "later pauses: %v", concealed)
		}
		assert.Equal(t, uint64(400), s.b.Stats().Played)
	})
	t.Run("losses", func(t *testing.T) {
		s := newStream(t, jitter.Config{})
		pl := &player{b: s.b}
		var arr []arrival
		for i := range 500 {
			if i > 100 && i%50 < 3 {
				continue // bursts of three lost: 150-152, 200-202, ...
			}
			arr = append(arr, arrival{i: i, at: time.Duration(i)*ptime + 30*time.Millisecond})
		}
		next, gapsFirst := 0, 0
		for now := time.Duration(0); now < 11*time.Second; now += ptime {
			for ; next < len(arr) && arr[next].at <= now; next++ {
				require.NoError(t, s.b.Push(arr[next].at, s.packet(arr[next].i)))
			}
			pl.tick(now)
			if now == 3500*time.Millisecond {
				gapsFirst = pl.count(jitter.KindGap)
			}
		}
		// The first burst, with nothing known yet, is concealed for
		// 40 ms; then, the talker known to lose packets and never to
		// pause, every burst is concealed (or rebuilt from the next
		// packet), none played as silence.
		assert.LessOrEqual(t, gapsFirst, 1)
		assert.Equal(t, gapsFirst, pl.count(jitter.KindGap)-countTrailingGaps(pl.frames), "losses are not taken for pauses")
	})
}

// countTrailingGaps counts the KindGap frames after the last packet.
func countTrailingGaps(frames []jitter.Frame) int {
	n := 0
	for i := len(frames) - 1; i >= 0 && frames[i].Kind != jitter.KindPacket; i-- {
		if frames[i].Kind == jitter.KindGap {
			n++
		}
	}
	return n
}

// TestBurstySource: a text-to-speech engine sends 5 s of audio in 200 ms,
// every 5 s. With MaxDelay above the burst, every packet is kept (before
// playback starts as during it) and played in order from the first, with
// nothing skipped, dropped, concealed or late, and the delay the buffer
// reports stays that of the packets sent at the source's own pace.
func TestBurstySource(t *testing.T) {
	for _, honour := range []bool{false, true} {
		s := newStream(t, jitter.Config{MaxDelay: 6 * time.Second})
		assert.Equal(t, 512, s.b.Config().Capacity, "6 s of 20 ms packets")
		pl := &player{b: s.b, honour: honour}
		const perBurst = 250
		var arr []arrival
		for i := range 3 * perBurst {
			burst := time.Duration(i/perBurst) * 5 * time.Second
			arr = append(arr, arrival{i: i, at: burst + time.Duration(i%perBurst)*800*time.Microsecond + 40*time.Millisecond})
		}
		next := 0
		var played []int
		for now := time.Duration(0); now < 17*time.Second; now += ptime {
			for ; next < len(arr) && arr[next].at <= now; next++ {
				require.NoError(t, s.b.Push(arr[next].at, s.packet(arr[next].i)), "packet %d", arr[next].i)
			}
			n := len(pl.frames)
			pl.tick(now)
			for _, f := range pl.frames[n:] {
				if f.Kind == jitter.KindPacket {
					played = append(played, int(f.SequenceNumber-s.seq))
				}
			}
			if st := s.b.Stats(); now > 2*time.Second && now < 15*time.Second {
				assert.Less(t, st.Delay, 200*time.Millisecond, "delay at %v", now)
			}
		}
		assert.Equal(t, seq(0, 3*perBurst-1), played, "every packet, in order, from the first")
		st := s.b.Stats()
		assert.Zero(t, st.Late+st.Dropped+st.Overflow+st.Lost, "%+v", st)
		// (After the last packet, the buffer conceals a little: the
		// stream ended, which it cannot know.)
		last := len(pl.frames) - 1
		for pl.frames[last].Kind != jitter.KindPacket {
			last--
		}
		for _, f := range pl.frames[:last] {
			assert.True(t, f.Kind == jitter.KindPacket || f.Kind == jitter.KindEmpty, "honour %v: %v frame", honour, f.Kind)
		}
	}
}

// TestStretchRequests: with a network that does not jitter, the start
// delay (80 ms) is far above what is needed. A caller that time-scales is
// asked to shed it a few milliseconds at a time (never more than 15 ms a
// request, nor more than a quarter of the audio over time) and the buffer
// drops nothing; the delay settles within a tick of the target, the frames
// starting right at the ticks. A caller that ignores the requests gets the
// same frames as before the requests existed: the excess goes by whole
// frames, one at a time, spaced out.
func TestStretchRequests(t *testing.T) {
	for _, honour := range []bool{true, false} {
		s := newStream(t, jitter.Config{})
		pl := &player{b: s.b, honour: honour}
		next := 0
		arr := steady(0, 499)
		var applied []time.Duration // per second
		var last jitter.Stats
		for now := time.Duration(0); now < 11*time.Second; now += ptime {
			for ; next < len(arr) && arr[next].at <= now; next++ {
				require.NoError(t, s.b.Push(arr[next].at, s.packet(arr[next].i)))
			}
			pl.tick(now)
			if now%time.Second == 0 {
				st := s.b.Stats()
				applied = append(applied, st.Shortened+st.Lengthened-last.Shortened-last.Lengthened)
				last = st
			}
			if now == 9*time.Second {
				if honour {
					assert.Less(t, last.Delay, last.TargetDelay+ptime, "settled: %+v", last)
				} else {
					assert.Less(t, last.Delay, last.TargetDelay+ptime+45*time.Millisecond, "by whole frames: %+v", last)
				}
			}
		}
		for _, f := range pl.frames {
			assert.LessOrEqual(t, f.Stretch.Abs(), 15*time.Millisecond, "one request")
		}
		for _, a := range applied {
			assert.LessOrEqual(t, a, time.Second/4+15*time.Millisecond, "a quarter of the audio at most")
		}
		st := s.b.Stats()
		assert.Equal(t, uint64(500), st.Played+st.Dropped)
		if honour {
			assert.Zero(t, st.Dropped, "nothing dropped for a caller that time-scales")
			assert.Positive(t, st.Shortened)
			assert.Zero(t, st.Lengthened)
		} else {
			assert.Positive(t, st.Dropped, "whole frames")
			assert.Zero(t, st.Shortened+st.Lengthened)
		}
	}
}

// TestStretchedAccounting: what the caller reports moves where the buffer
// thinks the audio plays: shortening a frame by 5 ms makes the next one
// start 5 ms sooner, lengthening later, and Stats adds them up.
func TestStretchedAccounting(t *testing.T) {
	s := newStream(t, pinned)
	for i := range 20 {
		require.NoError(t, s.b.Push(time.Duration(i)*ptime, s.packet(i)))
	}
	now := 200 * time.Millisecond
	f := s.b.Pop(now)
	require.Equal(t, jitter.KindPacket, f.Kind)
	before := s.b.Stats().Delay
	s.b.Stretched(-5 * time.Millisecond)
	// The next frame, in the same tick, starts at 15 ms, not 20: its
	// delay is 5 ms less than the frame before's.
	f = s.b.Pop(now)
	require.Equal(t, jitter.KindPacket, f.Kind)
	assert.InDelta(t, before-5*time.Millisecond, s.b.Stats().Delay, float64(time.Microsecond))
	s.b.Stretched(8 * time.Millisecond)
	st := s.b.Stats()
	assert.Equal(t, 5*time.Millisecond, st.Shortened)
	assert.Equal(t, 8*time.Millisecond, st.Lengthened)
}

// TestHoldThenPlay: packets held up well past the target while the talker
// talks (the link stalls for 100 ms, then releases them together) are
// waited for, and played when they come, not discarded as excess delay;
// the delay they added is then shed.
func TestHoldThenPlay(t *testing.T) {
	for _, honour := range []bool{true, false} {
		s := newStream(t, jitter.Config{})
		pl := &player{b: s.b, honour: honour}
		arr := steady(0, 499)
		for i := 300; i < 305; i++ {
			arr[i].at = 305*ptime + 50*time.Millisecond
		}
		next := 0
		played := map[int]bool{}
		for now := time.Duration(0); now < 10*time.Second+time.Second; now += ptime {
			for ; next < len(arr) && arr[next].at <= now; next++ {
				require.NoError(t, s.b.Push(arr[next].at, s.packet(arr[next].i)))
			}
			n := len(pl.frames)
			pl.tick(now)
			for _, f := range pl.frames[n:] {
				if f.Kind == jitter.KindPacket {
					played[int(f.SequenceNumber-s.seq)] = true
				}
			}
			if now == 9*time.Second {
				st := s.b.Stats()
				assert.Less(t, st.Delay, st.TargetDelay+ptime+45*time.Millisecond, "the hold was shed: %+v", st)
			}
		}
		for i := 300; i < 305; i++ {
			assert.True(t, played[i], "packet %d was waited for and played", i)
		}
		st := s.b.Stats()
		assert.Zero(t, st.Late+st.Lost, "%+v", st)
		if honour {
			assert.Zero(t, st.Dropped, "%+v", st)
		}
	}
}

// TestTargetFollowsLateness: when packets start coming late (a path that
// queues), the target takes them in within a second, and a caller that
// time-scales follows it, lengthening the audio rather than concealing.
func TestTargetFollowsLateness(t *testing.T) {
	s := newStream(t, jitter.Config{})
	pl := &player{b: s.b, honour: true}
	var arr []arrival
	for i := range 1000 {
		at := time.Duration(i)*ptime + 30*time.Millisecond
		if i >= 500 && i%4 == 0 {
			at += 120 * time.Millisecond // from 10 s on, every fourth packet 120 ms late
		}
		arr = insertSorted(arr, arrival{i: i, at: at})
	}
	next := 0
	var reacted, followed time.Duration
	for now := time.Duration(0); now < 20*time.Second; now += ptime {
		for ; next < len(arr) && arr[next].at <= now; next++ {
			_ = s.b.Push(arr[next].at, s.packet(arr[next].i))
		}
		pl.tick(now)
		st := s.b.Stats()
		if now > 10*time.Second && reacted == 0 && st.TargetDelay >= 100*time.Millisecond {
			reacted = now
		}
		if reacted != 0 && followed == 0 && st.Delay >= st.TargetDelay-ptime {
			followed = now
		}
	}
	require.NotZero(t, reacted, "the target never took the late packets in")
	assert.Less(t, reacted, 11*time.Second, "target within a second")
	require.NotZero(t, followed)
	assert.Less(t, followed, 12*time.Second, "delay within another second")
	st := s.b.Stats()
	assert.Positive(t, st.Lengthened)
	assert.Less(t, st.Late, uint64(10), "%+v", st)
}

// TestTickPhase: with a network that does not jitter, whatever the phase
// of the caller's ticks against the packets' arrivals, talkspurts after a
// pause play through without a wait: the delay is set, in the silence,
// so that each packet is there at the Pop of the tick its audio starts
// in.
func TestTickPhase(t *testing.T) {
	for phase := time.Duration(0); phase < ptime; phase += 3 * time.Millisecond {
		s := newStream(t, jitter.Config{})
		pl := &player{b: s.b, honour: true}
		i, at := 0, time.Duration(0)
		var pushes []arrival
		for range 10 {
			for range 50 {
				pushes = append(pushes, arrival{i: i, at: at + 37*time.Millisecond})
				i++
				at += ptime
			}
			at += 700 * time.Millisecond
		}
		ts := func(k int) uint32 { // the timestamps run on through the pauses
			return s.ts + uint32((pushes[k].at-37*time.Millisecond)/ptime)*tick
		}
		next := 0
		for now := phase; now < at+time.Second; now += ptime {
			for ; next < len(pushes) && pushes[next].at <= now; next++ {
				p := s.packet(pushes[next].i)
				p.Timestamp = ts(next)
				p.Marker = pushes[next].i%50 == 0
				require.NoError(t, s.b.Push(pushes[next].at, p))
			}
			pl.tick(now)
			if f := pl.frames[len(pl.frames)-1]; f.Kind == jitter.KindPacket && f.SequenceNumber-s.seq > 100 {
				st := s.b.Stats()
				assert.Less(t, st.Delay, st.TargetDelay+ptime, "phase %v, packet %d: %+v", phase, f.SequenceNumber-s.seq, st)
			}
		}
		assert.Zero(t, pl.count(jitter.KindLost), "phase %v", phase)
		assert.LessOrEqual(t, pl.count(jitter.KindConceal), 3, "phase %v: only at the first pause", phase)
		assert.Equal(t, uint64(500), s.b.Stats().Played, "phase %v", phase)
	}
}

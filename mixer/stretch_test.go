package mixer

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/jitter"
)

// mildJitter is the everyday jitter of a good path.
var mildJitter = netsim.Jitter{Kind: netsim.JitterNormal, Sigma: 5 * time.Millisecond}

// TestTimeScaleAccount: whatever the number of reports, what the buffer
// was told adds up to the samples applied, converted once, to within a
// nanosecond, in each direction; a second's worth is folded away without
// changing that.
func TestTimeScaleAccount(t *testing.T) {
	jb, err := jitter.New(jitter.Config{ClockRate: 48000})
	require.NoError(t, err)
	var ts timeScale
	ts.setRate(48000)
	total := 0
	for i := range 100_000 {
		s := 1 + i%7 // 1–7 samples: 20.8 µs each, never a whole ns
		ts.report(jb, s, stretchSplice)
		ts.report(jb, -s, stretchUnheard)
		total += s
	}
	want := time.Duration(int64(total) * int64(time.Second) / 48000)
	st := jb.Stats()
	assert.Equal(t, want, st.Lengthened)
	assert.Equal(t, want, st.Shortened)
	assert.Equal(t, want, ts.stats().Lengthened)
	assert.Equal(t, want, ts.stats().Shortened)
	assert.Equal(t, want, ts.stats().Unheard)
	assert.Less(t, ts.lenS, int64(48000), "whole seconds folded")
}

// TestTimeScaleNote: a frame's request is kept only from packet frames,
// the last one of the tick; a new SSRC or a jump of a second or more in
// timestamps marks a new stream, a pause does not.
func TestTimeScaleNote(t *testing.T) {
	var ts timeScale
	ts.setRate(8000)
	ts.startTick()
	f := jitter.Frame{Kind: jitter.KindPacket, SSRC: 1, Timestamp: 1000, Duration: 160, Stretch: -5 * time.Millisecond}
	ts.note(&f, 0, 8000)
	assert.Equal(t, -5*time.Millisecond, ts.req)
	assert.Equal(t, -1, ts.newStream, "the first packet starts nothing new")
	g := jitter.Frame{Kind: jitter.KindConceal, Timestamp: 1160, Duration: 160}
	ts.note(&g, 1, 8000)
	assert.Equal(t, -5*time.Millisecond, ts.req, "only packet frames carry a request")
	f = jitter.Frame{Kind: jitter.KindPacket, SSRC: 1, Timestamp: 1320 + 4000, Duration: 160}
	ts.note(&f, 2, 8000)
	assert.Zero(t, ts.req, "the last packet's request supersedes")
	assert.Equal(t, -1, ts.newStream, "half a second of skipped silence is a pause")

	for _, tc := range []struct {
		name string
		f    jitter.Frame
	}{
		{"new SSRC", jitter.Frame{Kind: jitter.KindPacket, SSRC: 2, Timestamp: 5480, Duration: 160}},
		{"jump ahead", jitter.Frame{Kind: jitter.KindPacket, SSRC: 1, Timestamp: 5480 + 8000, Duration: 160}},
		{"jump back", jitter.Frame{Kind: jitter.KindPacket, SSRC: 1, Timestamp: 5480 - 8000 + 1<<32, Duration: 160}},
	} {
		saved := ts.nextTS
		ts.startTick()
		ts.note(&tc.f, 3, 8000)
		assert.Equal(t, 3, ts.newStream, tc.name)
		ts.ssrc, ts.nextTS = 1, saved
	}
	ts.off = true
	ts.startTick()
	f = jitter.Frame{Kind: jitter.KindPacket, SSRC: 1, Timestamp: 5480, Duration: 160, Stretch: 7 * time.Millisecond}
	ts.note(&f, 0, 8000)
	assert.Zero(t, ts.req, "off ignores the requests")
}

// TestTimeScaleUnheard: a request for a participant not decoded is
// applied exactly to what it is owed, never beyond it.
func TestTimeScaleUnheard(t *testing.T) {
	jb, err := jitter.New(jitter.Config{ClockRate: 8000})
	require.NoError(t, err)
	var ts timeScale
	ts.setRate(8000)
	ts.req = -15 * time.Millisecond
	assert.Equal(t, -120, ts.unheard(jb, 160, 8000))
	ts.req = -15 * time.Millisecond
	assert.Equal(t, -50, ts.unheard(jb, 50, 8000), "no more than is owed")
	ts.req = 12 * time.Millisecond
	assert.Equal(t, 96, ts.unheard(jb, 0, 8000))
	assert.Zero(t, ts.unheard(jb, 100, 8000), "the request is used once")
	st := jb.Stats()
	assert.Equal(t, 12*time.Millisecond, st.Lengthened)
	assert.Equal(t, 21250*time.Microsecond, st.Shortened)
	assert.Equal(t, st.Lengthened+st.Shortened, ts.stats().Unheard)
}

// stepScenario is a talker on a path with everyday jitter whose delay
// falls by 120 ms at 10 s (a route change), sending speech all the time
// without audio levels, as most senders do.
func stepScenario() (netsim.Scenario, time.Duration, time.Duration) {
	sc := netsim.Scenario{Name: "delay step down", Seed: 41, Duration: 30 * time.Second, ClockRate: 8000,
		Payload: 160, BaseDelay: 150 * time.Millisecond, NoLevels: true, Jitter: mildJitter}
	return sc, 10 * time.Second, 80 * time.Millisecond
}

// TestPlayoutDelayStepDown: when the network delay falls by 120 ms, the
// buffer holds that much more than it needs; the mixer time-scales the
// talker's speech until the delay is back on target, within a few
// seconds, without dropping a frame or concealing one more than a mixer
// that does not time-scale, and what the listener
// hears stays close to what was sent. A mixer that does not time-scale
// gets there by dropping whole frames. The delay heard is measured on the
// audio (aligned with what was sent), every second.
func TestPlayoutDelayStepDown(t *testing.T) {
	sc, at, step := stepScenario()
	var runs [2]struct {
		h  hearing
		st ParticipantStats
	}
	var sb strings.Builder
	for i, off := range []bool{false, true} {
		tr := stepDown(t, sc, at, step)
		nc := newNetConference(t, ConferenceConfig{Talk: alwaysTalking})
		nt := newNetTalker(t, nc.c, "talker", tr, speechSource(t, 40*8000), 0, ParticipantConfig{})
		nt.p.dq.ts.off = off
		nc.talkers = append(nc.talkers, nt)
		nc.run(t)
		runs[i].h, runs[i].st = nc.hear(nt), nt.p.Stats()
		fmt.Fprintf(&sb, "time-scaling %v: delay heard per second:", !off)
		for s := time.Duration(0); s < sc.Duration; s += time.Second {
			fmt.Fprintf(&sb, " %.0f", ms(runs[i].h.MeanBetween(s, s+time.Second)))
		}
		js := runs[i].st.Jitter
		fmt.Fprintf(&sb, " ms\n  dropped %d, concealed %d, late %d, shortened %v, lengthened %v, severe windows heard/sent %d/%d\n",
			js.Dropped, js.Concealed, js.Late, js.Shortened, js.Lengthened, severe(runs[i].h.cmp.Heard), severe(runs[i].h.cmp.Sent))
	}
	t.Log("\n" + sb.String())
	on, off := runs[0], runs[1]
	js := on.st.Jitter
	assert.Zero(t, js.Dropped, "no frame dropped")
	assert.LessOrEqual(t, js.Concealed, off.st.Jitter.Concealed, "no more concealment than the start costs anyway")
	assert.Zero(t, js.Late, "no packet late")
	assert.Greater(t, js.Shortened, step/2, "the excess went by time-scaling")
	assert.NotZero(t, off.st.Jitter.Dropped, "without time-scaling, whole frames go")

	before := on.h.MeanBetween(at-5*time.Second, at)
	final := on.h.MeanBetween(at+8*time.Second, sc.Duration)
	assert.Less(t, final, before-step+20*time.Millisecond, "the delay came down by the step")
	// Converged: every 2 s from 6 s after the step on are within 10 ms
	// of the final delay. (On the way, for a second at 15 s, the delay is
	// 20 ms below it: the buffer's target, relearning the path, is
	// lower for a while; its requests are followed either way.)
	for s := at + 6*time.Second; s < sc.Duration-2*time.Second; s += 2 * time.Second {
		assert.InDelta(t, ms(final), ms(on.h.MeanBetween(s, s+2*time.Second)), 10, "from %v", s)
	}
	assert.LessOrEqual(t, final, off.h.MeanBetween(at+8*time.Second, sc.Duration)+5*time.Millisecond)
	assert.LessOrEqual(t, severe(on.h.cmp.Sent), severe(off.h.cmp.Sent), "speech lost")
	assert.Greater(t, on.h.cmp.Sent.Found, 0.99)
}

// TestPlayoutFastSender: a sender whose clock runs 1% fast (30 s, no
// levels) sends 300 ms more audio than the listener plays; the
// mixer takes it out by time-scaling, with no frame dropped, and the
// delay neither creeps nor sits above what whole-frame drops give.
func TestPlayoutFastSender(t *testing.T) {
	sc := netsim.Playout()[1]
	sc.Duration = 30 * time.Second
	sc = sc.WithDefaults()
	require.Equal(t, 0.01, sc.Drift)
	on, off := listenOnce(t, sc, false), listenOnce(t, sc, true)
	t.Logf("delay on %v off %v; shortened %v in %d splices (%d declined); off dropped %d",
		on.h.meanDelay, off.h.meanDelay, on.st.TimeScale.Shortened, on.st.TimeScale.Splices, on.st.TimeScale.Declined, off.st.Jitter.Dropped)
	assert.Zero(t, on.st.Jitter.Dropped)
	assert.LessOrEqual(t, on.st.Jitter.Concealed, uint64(3), "at most 0.1% of the frames concealed")
	// 1% of the run, and the start delay's excess, taken out by
	// time-scaling.
	assert.GreaterOrEqual(t, on.st.Jitter.Shortened, 300*time.Millisecond)
	assert.Less(t, on.st.Jitter.Shortened, 420*time.Millisecond)
	assert.Less(t, on.h.meanDelay, off.h.meanDelay)
	first := on.h.MeanBetween(5*time.Second, 7*time.Second)
	last := on.h.MeanBetween(sc.Duration-4*time.Second, sc.Duration-2*time.Second)
	assert.InDelta(t, ms(first), ms(last), 20, "creep")
}

// TestPlayoutAccounting: four talkers with audio levels, two speakers at
// a time, each on its own path whose delay steps down, so that the
// buffers ask speakers and non-speakers alike to play shorter and longer.
// Speakers' requests go to the time-scaler, the others' are applied
// exactly to the silence their undecoded frames are owed as; either way
// what the mixer reports equals what each jitter buffer counted. And for
// a talker alone on a path with a hard minimum (Pareto jitter), the delay
// heard (measured on the audio) equals the buffer's own Delay, through
// splices, spikes and losses: its account of the audio handed out and not
// yet played is the mixer's.
func TestPlayoutAccounting(t *testing.T) {
	t.Run("speakers and non-speakers", func(t *testing.T) {
		nc := newNetConference(t, ConferenceConfig{MaxSpeakers: 2})
		src := speechSource(t, 40*8000)
		for i := range 4 {
			sc := netsim.Scenario{Name: fmt.Sprint("talker ", i), Seed: uint64(50 + i), Duration: 30 * time.Second,
				ClockRate: 8000, Payload: 160, BaseDelay: 150 * time.Millisecond, Jitter: mildJitter,
				Talk: netsim.Talk{MeanTalk: 2 * time.Second, MeanSilence: time.Second}, Drift: 0.005 * float64(i-1)}
			tr := stepDown(t, sc, time.Duration(5+5*i)*time.Second, 100*time.Millisecond)
			nc.talkers = append(nc.talkers, newNetTalker(t, nc.c, sc.Name, tr, src, 1000*i, ParticipantConfig{}))
		}
		nc.run(t)
		var splices uint64
		var unheard, heard time.Duration
		for _, nt := range nc.talkers {
			st := nt.p.Stats()
			ts, js := st.TimeScale, st.Jitter
			t.Logf("%s: lengthened %v shortened %v (unheard %v), splices %d, declined %d, talk time %v, skipped decodes %d",
				st.ID, ts.Lengthened, ts.Shortened, ts.Unheard, ts.Splices, ts.Declined, st.TalkTime, st.SkippedDecodes)
			assert.Equal(t, js.Lengthened, ts.Lengthened, st.ID)
			assert.Equal(t, js.Shortened, ts.Shortened, st.ID)
			splices += ts.Splices
			unheard += ts.Unheard
			heard += ts.Lengthened + ts.Shortened - ts.Unheard
		}
		assert.NotZero(t, splices, "speakers were time-scaled")
		assert.Greater(t, unheard, 100*time.Millisecond, "non-speakers' requests were applied")
		assert.Greater(t, heard, 100*time.Millisecond)
	})
	t.Run("the delay heard is the buffer's", func(t *testing.T) {
		// The Wi-Fi path: Pareto jitter (a hard minimum, so the fastest
		// packet of any 2 s is the trace's), delay spikes, bursty loss.
		sc := netsim.Playout()[5]
		require.Equal(t, netsim.JitterPareto, sc.Jitter.Kind)
		sc.ClockRate, sc.Payload = 8000, 160
		tr, err := sc.Trace()
		require.NoError(t, err)
		nc := newNetConference(t, ConferenceConfig{Talk: alwaysTalking})
		nt := newNetTalker(t, nc.c, "talker", tr, speechSource(t, 40*8000), 0, ParticipantConfig{})
		nc.talkers = append(nc.talkers, nt)
		nc.run(t)
		h := nc.hear(nt)
		st := nt.p.Stats()
		require.Greater(t, st.TimeScale.Splices, uint64(10))
		var diffs []time.Duration
		for k, at := range h.At {
			if at < 3*time.Second {
				continue // the buffer's reference is its first packet
			}
			tick := int((at - nc.phase) / (20 * time.Millisecond))
			diffs = append(diffs, (h.Delay[k] - nt.delays[tick]).Abs())
		}
		slices.Sort(diffs)
		t.Logf("%d windows: |heard − buffer delay| median %v, p90 %v, max %v; splices %d",
			len(diffs), diffs[len(diffs)/2], diffs[len(diffs)*9/10], diffs[len(diffs)-1], st.TimeScale.Splices)
		assert.Less(t, diffs[len(diffs)/2], 500*time.Microsecond)
		assert.Less(t, diffs[len(diffs)*9/10], time.Millisecond)
	})
}

// TestTickAllocsTimeScaling: ticks in which speakers' audio is
// time-scaled and non-speakers' requests are applied to owed silence
// allocate nothing.
func TestTickAllocsTimeScaling(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are checked without -race")
	}
	nc := newNetConference(t, ConferenceConfig{MaxSpeakers: 2})
	src := speechSource(t, 40*8000)
	for i := range 6 {
		sc := netsim.Scenario{Name: fmt.Sprint("talker ", i), Seed: uint64(70 + i), Duration: 20 * time.Second,
			ClockRate: 8000, Payload: 160, BaseDelay: 150 * time.Millisecond, Jitter: mildJitter,
			Talk: netsim.Talk{MeanTalk: 2 * time.Second, MeanSilence: time.Second}, NoLevels: i < 2}
		tr := stepDown(t, sc, 5*time.Second, 120*time.Millisecond)
		nc.talkers = append(nc.talkers, newNetTalker(t, nc.c, sc.Name, tr, src, 1000*i, ParticipantConfig{}))
	}
	now := time.Duration(0)
	tick := func() {
		for _, nt := range nc.talkers {
			nt.deliver(now)
		}
		nc.c.Tick(now)
		now += 20 * time.Millisecond
	}
	for now < 5*time.Second {
		tick()
	}
	stats := func() (splices uint64, unheard time.Duration) {
		for _, nt := range nc.talkers {
			ts := nt.p.dq.ts.stats()
			splices += ts.Splices
			unheard += ts.Unheard
		}
		return
	}
	s0, u0 := stats()
	nc.rec.got = make([]int16, 0, 1<<20) // the recorder appends
	allocs := testing.AllocsPerRun(300, tick)
	s1, u1 := stats()
	t.Logf("over %v: %d splices, %v unheard", 301*20*time.Millisecond, s1-s0, u1-u0)
	assert.Zero(t, allocs)
	assert.NotZero(t, s1-s0, "speakers were time-scaled during the measured ticks")
	assert.NotZero(t, u1-u0, "non-speakers' requests were applied during the measured ticks")
}

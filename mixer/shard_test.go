package mixer

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/cputime"
	"github.com/rtpmix/rtpmix/srtp"
)

// splitClock is an Engine clock that a test moves by hand, so that an Engine's
// ticks fall at the same virtual times as a hand-ticked conference's.
type splitClock struct{ t atomic.Int64 }

func (v *splitClock) now() time.Duration { return time.Duration(v.t.Load()) }

// hashSink takes one participant's packets: it unprotects them, checks
// that sequence numbers follow one another, and hashes each RTP packet
// with its SSRC left out and its sequence number and timestamp counted
// from the first (those start at random). RTCP is left out (its timing is
// randomised).
type hashSink struct {
	u          *srtp.Unprotector
	hdr        rtp.Header
	buf        []byte
	sum        uint64
	n, gaps    int
	bad, rtcp  int
	seq0, last uint16
	ts0        uint32
}

func (s *hashSink) WriteRTP(pkt []byte) error {
	if len(pkt) < 12 || (pkt[1] >= 200 && pkt[1] <= 204) {
		if _, err := s.u.UnprotectRTCP(s.buf[:0], pkt); err != nil {
			s.bad++
		} else {
			s.rtcp++
		}
		return nil // RTCP: counted, not hashed
	}
	plain, err := s.u.UnprotectRTP(s.buf[:0], pkt, &s.hdr)
	if err != nil {
		s.bad++
		return nil
	}
	seq, ts := binary.BigEndian.Uint16(plain[2:]), binary.BigEndian.Uint32(plain[4:])
	if s.n == 0 {
		s.seq0, s.ts0 = seq, ts
	} else if seq != s.last+1 {
		s.gaps++
	}
	s.last = seq
	h := fnv.New64a()
	var rel [8]byte
	binary.BigEndian.PutUint16(rel[0:], seq-s.seq0)
	binary.BigEndian.PutUint32(rel[2:], ts-s.ts0)
	_, _ = h.Write(plain[:2])
	_, _ = h.Write(rel[:6])
	_, _ = h.Write(plain[12:])
	s.sum = s.sum*1099511628211 ^ h.Sum64()
	s.n++
	return nil
}

// splitRoom is a large room on deterministic input: three talkers (speech
// clips with their pauses), everyone else silence with RFC 6464 levels,
// every seventh participant deaf (a second encode group), SRTP both ways
// with keys derived from the participant's index.
type splitRoom struct {
	c       *Conference
	senders []*benchSender
	sinks   []*hashSink
	events  []Event
	tick    func(now time.Duration)
}

func splitKeys(i int, dir byte) srtp.Keys {
	k := srtp.Keys{Profile: srtp.ProfileAESCM128HMACSHA1_80, MasterKey: make([]byte, 16), MasterSalt: make([]byte, 14)}
	for j := range k.MasterKey {
		k.MasterKey[j] = byte(i*31+j) ^ dir
	}
	for j := range k.MasterSalt {
		k.MasterSalt[j] = byte(i*17+j) ^ dir
	}
	return k
}

func joinSplitRoom(t testing.TB, c *Conference, n int, f codec.Format, pt uint8, speech []benchClip, silence *benchClip, hash bool) *splitRoom {
	r := &splitRoom{c: c}
	for i := range n {
		in, out := splitKeys(i, 0), splitKeys(i, 0x55)
		var sink Sink = &countSink{}
		if hash {
			u, err := srtp.NewUnprotector(out)
			require.NoError(t, err)
			hs := &hashSink{u: u, buf: make([]byte, 0, 1600)}
			r.sinks = append(r.sinks, hs)
			sink = hs
		}
		p, err := c.Join(ParticipantConfig{ID: fmt.Sprint("p", i), In: f, InPayloadType: PT(pt), Out: f, OutPayloadType: PT(pt),
			InAudioLevelID: levelExtID, InSRTP: &in, OutSRTP: &out, OutAudioLevelID: 2, OutCSRCLevelsID: 3,
			Deaf: i%7 == 6, Sink: sink})
		require.NoError(t, err)
		prot, err := srtp.NewProtector(in)
		require.NoError(t, err)
		clip := silence
		if i < 3 {
			clip = &speech[i%len(speech)]
		}
		r.senders = append(r.senders, &benchSender{p: p, clip: clip, off: i * 7, ssrc: uint32(i + 1), pt: pt,
			step: uint32(f.FrameSamples(20 * time.Millisecond)), prot: prot, buf: make([]byte, 0, 1600), seq: uint16(i * 100)})
	}
	return r
}

// send writes every participant's packet k, arriving at now.
func (r *splitRoom) send(k int, now time.Duration) {
	for _, s := range r.senders {
		s.prepare(k)
		_ = s.p.WriteRTPAt(now, s.ready)
	}
}

// talkEvents moves the talk events waiting on the channel to r.events.
func (r *splitRoom) talkEvents() {
	for {
		select {
		case e := <-r.c.Events():
			if e.Type == TalkingStarted || e.Type == TalkingStopped {
				r.events = append(r.events, e)
			}
		default:
			return
		}
	}
}

// engineRoom runs r's conference on e, whose clock is v: tick advances v
// to now, wakes the conference's worker and waits for the tick.
func engineRoom(e *Engine, v *splitClock, c *Conference) func(now time.Duration) {
	e.mu.Lock()
	w := e.where[c]
	e.mu.Unlock()
	return func(now time.Duration) {
		want := c.ticks.Load() + 1
		v.t.Store(int64(now))
		w.poke()
		for c.ticks.Load() < want {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// runSplitRoom builds a room of n on an Engine of workers (splitAt as
// EngineConfig.SplitAt; workers 0: ticked by hand), runs it for ticks
// ticks and returns it once every packet has been delivered.
func runSplitRoom(t *testing.T, workers, splitAt, n, ticks int, f codec.Format, pt uint8, speech []benchClip, silence *benchClip) (*splitRoom, *Engine) {
	var c *Conference
	var e *Engine
	var tick func(time.Duration)
	if workers == 0 {
		var err error
		c, err = NewConference(ConferenceConfig{Name: "split", EventBuffer: 1024})
		require.NoError(t, err)
		tick = c.Tick
	} else {
		v := &splitClock{}
		e = NewEngine(EngineConfig{Workers: workers, Clock: v.now, SplitAt: splitAt,
			SinkQueue: 1024, SinkBudget: time.Minute})
		var err error
		c, err = e.NewConference(ConferenceConfig{Name: "split", EventBuffer: 1024})
		require.NoError(t, err)
		// Slow ticks (the race detector) must not make it shed speakers.
		c.workClock = func() time.Duration { return 0 }
		tick = engineRoom(e, v, c)
	}
	r := joinSplitRoom(t, c, n, f, pt, speech, silence, true)
	r.tick = tick
	p := 20 * time.Millisecond
	tick(p) // the joins take effect
	for k := range ticks {
		now := time.Duration(k+2) * p
		r.send(k, now)
		tick(now)
		r.talkEvents()
	}
	if e != nil {
		require.NoError(t, e.Close())
	} else {
		require.NoError(t, c.Close())
	}
	return r, e
}

// TestSplitRoomSameOutput runs one large room three ways — ticked by
// hand, on two workers with splitting off, on two workers split — on the
// same input and requires every participant's stream (decrypted, hashed
// packet by packet) and the talk events to be the same: splitting changes
// nothing a participant receives, nor the order it is received in.
func TestSplitRoomSameOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    codec.Format
		pt   uint8
		n    int
	}{{"PCMU", pcmu, 0, 700}, {"Opus", opf, 111, 600}} {
		t.Run(tc.name, func(t *testing.T) {
			var speech []benchClip
			for _, name := range []string{"alice", "bob", "carol"} {
				speech = append(speech, encodeClip(t, tc.f, loadClip(t, name), 150))
			}
			silence := encodeClip(t, tc.f, make([]int16, 48000), 1)
			const ticks = 120
			serial, _ := runSplitRoom(t, 0, 0, tc.n, ticks, tc.f, tc.pt, speech, &silence)
			off, _ := runSplitRoom(t, 2, -1, tc.n, ticks, tc.f, tc.pt, speech, &silence)
			split, e := runSplitRoom(t, 2, SuggestedSplitAt, tc.n, ticks, tc.f, tc.pt, speech, &silence)
			assert.Positive(t, split.c.sh.phases, "the split room split")
			assert.Zero(t, off.c.sh.phases)
			t.Logf("split phases %d, shards taken by the other worker %d", split.c.sh.phases, e.helped.Load())
			require.NotEmpty(t, serial.events, "talk events")
			for _, r := range []*splitRoom{off, split} {
				assert.Equal(t, serial.events, r.events)
				for i, s := range r.sinks {
					want := serial.sinks[i]
					require.Zero(t, s.bad, "participant %d: packets that failed SRTP", i)
					require.Zero(t, s.gaps, "participant %d: sequence gaps", i)
					require.Equal(t, want.n, s.n, "participant %d: packets", i)
					require.Equal(t, want.sum, s.sum, "participant %d: packet contents", i)
				}
			}
			assert.Greater(t, serial.sinks[10].n, ticks/2, "listeners hear the talkers")
		})
	}
}

// TestSplitRTCP: in a split room the listeners' pass also finds the
// reports due (sendToGroupsSplit); every participant gets its first
// report (due within 3.1 s of joining) as it does unsplit, valid SRTCP.
func TestSplitRTCP(t *testing.T) {
	f := pcmu
	speech := []benchClip{encodeClip(t, f, loadClip(t, "alice"), 150)}
	silence := encodeClip(t, f, make([]int16, 48000), 1)
	const ticks = 200 // 4 s
	serial, _ := runSplitRoom(t, 0, 0, 600, ticks, f, 0, speech, &silence)
	split, _ := runSplitRoom(t, 2, SuggestedSplitAt, 600, ticks, f, 0, speech, &silence)
	assert.Positive(t, split.c.sh.phases, "the split room split")
	total := [2]int{}
	for k, r := range []*splitRoom{serial, split} {
		for i, s := range r.sinks {
			require.Zero(t, s.bad, "participant %d: packets that failed SRTP or SRTCP", i)
			require.Positive(t, s.rtcp, "participant %d: reports", i)
			total[k] += s.rtcp
		}
	}
	t.Logf("reports: serial %d, split %d", total[0], total[1])
	assert.InDelta(t, total[0], total[1], float64(total[0])/5, "as many reports split as serial")
}

// TestSplitTickAllocs: a split tick, on two workers, allocates nothing.
func TestSplitTickAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	f := pcmu
	var speech []benchClip
	for _, name := range []string{"alice", "bob", "carol"} {
		speech = append(speech, encodeClip(t, f, loadClip(t, name), 100))
	}
	silence := encodeClip(t, f, make([]int16, 48000), 1)
	v := &splitClock{}
	e := NewEngine(EngineConfig{Workers: 2, Clock: v.now, SinkQueue: 64, SinkBudget: time.Minute, SplitAt: SuggestedSplitAt})
	defer e.Close()
	c, err := e.NewConference(ConferenceConfig{Name: "split"})
	require.NoError(t, err)
	c.workClock = func() time.Duration { return 0 }
	r := joinSplitRoom(t, c, 1100, f, 0, speech, &silence, false)
	tick := engineRoom(e, v, c)
	p := 20 * time.Millisecond
	k := 0
	step := func() {
		now := time.Duration(k+2) * p
		r.send(k, now)
		tick(now)
		r.talkEvents()
		k++
	}
	tick(p)
	for range 200 { // jitter buffers settle, first RTCP reports, growth done
		step()
	}
	before := c.sh.phases
	allocs := testing.AllocsPerRun(100, step)
	assert.Zero(t, allocs)
	assert.Greater(t, c.sh.phases, before, "it split")
}

// BenchmarkSplitTick runs one large room on an Engine of 1 and of 2
// workers, and on 2 with the other worker not helping (the split code,
// the owner alone: its split-share is the part of the tick that more
// workers can divide), the rounds interleaved so that all see the same
// machine load. Inbound packets are
// written between ticks, untimed (in a server, socket goroutines do that
// in parallel anyway); a tick is timed by the conference itself (its
// Timing, wall time on its worker). Metrics: tick-µs, the mean tick;
// cpu-µs/tick, the process's CPU time over the timed part per tick (every
// goroutine: workers, helpers, delivery).
func BenchmarkSplitTick(b *testing.B) {
	f, pt := opf, uint8(111)
	var speech []benchClip
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		speech = append(speech, encodeClip(b, f, loadClip(b, name), 250))
	}
	silence := encodeClip(b, f, make([]int16, 48000), 1)
	for _, n := range []int{1000, 4000} {
		for round := 1; round <= 3; round++ {
			for _, mode := range []string{"1", "2", "2-owner-alone"} {
				b.Run(fmt.Sprintf("Opus/3talk/N=%d/round=%d/workers=%s", n, round, mode), func(b *testing.B) {
					benchSplit(b, mode, n, f, pt, speech, &silence)
				})
			}
		}
	}
}

func benchSplit(b *testing.B, mode string, n int, f codec.Format, pt uint8, speech []benchClip, silence *benchClip) {
	v := &splitClock{}
	workers := 2
	if mode == "1" {
		workers = 1
	}
	e := NewEngine(EngineConfig{Workers: workers, Clock: v.now, SinkBudget: time.Minute, SplitAt: SuggestedSplitAt})
	defer e.Close()
	e.noHelp.Store(mode == "2-owner-alone")
	c, err := e.NewConference(ConferenceConfig{Name: "bench"})
	require.NoError(b, err)
	c.workClock = Monotonic
	r := joinSplitRoom(b, c, n, f, pt, speech, silence, false)
	tick := engineRoom(e, v, c)
	p := 20 * time.Millisecond
	tick(p)
	k := 0
	step := func() {
		now := time.Duration(k+2) * p
		tick(now)
		k++
	}
	for range 160 {
		r.send(k, time.Duration(k+2)*p)
		step()
		r.talkEvents()
	}
	runtime.GC()
	t0 := c.Stats().Timing
	in0, sh0, h0 := c.sh.inPhases, c.sh.shards, e.helped.Load()
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r.send(k, time.Duration(k+2)*p)
		r.talkEvents()
		c0 := cputime.Process()
		b.StartTimer()
		step()
		b.StopTimer()
		cpu += cputime.Process() - c0
		b.StartTimer()
	}
	b.StopTimer()
	t1 := c.Stats().Timing
	ticks := t1.Ticks - t0.Ticks
	if ticks == 0 {
		b.Fatal("no ticks")
	}
	mean := (time.Duration(t1.Ticks)*t1.Mean - time.Duration(t0.Ticks)*t0.Mean) / time.Duration(ticks)
	b.ReportMetric(float64(mean.Microseconds()), "tick-µs")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/tick")
	// split-share: the share of the tick in the split passes (with the
	// owner alone, what Amdahl's law may divide); helped: the share of
	// shards the other worker took.
	work := time.Duration(t1.Ticks)*t1.Mean - time.Duration(t0.Ticks)*t0.Mean
	b.ReportMetric(float64(c.sh.inPhases-in0)/float64(work), "split-share")
	if sh := c.sh.shards - sh0; sh > 0 {
		b.ReportMetric(float64(e.helped.Load()-h0)/float64(sh), "helped")
	}
}

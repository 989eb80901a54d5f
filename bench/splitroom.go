package bench

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/internal/cputime"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

// A split room: one large conference run by a real mixer.Engine, on one
// worker, or on several with EngineConfig.SplitAt so that the
// other workers take shards of its per-participant passes. Unlike Room,
// whose ticks a benchmark calls by hand, the Engine's own worker ticks
// it on its deadlines, and the room's tick times are the conference's own
// (ConferenceStats.Timing: the wall time of each tick's work on its
// worker).

// SplitConfig describes a split-room measurement.
type SplitConfig struct {
	N        int    // participants; default 4000
	Codec    string // default CodecOpus
	Scenario string // Talk3 or TalkAll; default Talk3
	Clips    *Clips
	// Profile of every leg's SRTP, both ways; 0 means AES_CM_128_HMAC_SHA1_80.
	Profile srtp.Profile
	// Workers is the Engine's worker count (EngineConfig.Workers); SplitAt
	// its EngineConfig.SplitAt (0: no splitting).
	Workers, SplitAt int
	Ticks            int // measured ticks; default 250 (5 s)
	Warmup           int // ticks before measuring; default 50
}

func (c *SplitConfig) defaults() {
	if c.N <= 0 {
		c.N = 4000
	}
	if c.Codec == "" {
		c.Codec = CodecOpus
	}
	if c.Scenario == "" {
		c.Scenario = Talk3
	}
	if c.Profile == 0 {
		c.Profile = srtp.ProfileAESCM128HMACSHA1_80
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Ticks <= 0 {
		c.Ticks = 250
	}
	if c.Warmup <= 0 {
		c.Warmup = 50
	}
}

// SplitPoint is what MeasureSplit measured.
type SplitPoint struct {
	N, Workers, SplitAt int
	Ticks               int // measured ticks
	// Mean is the mean tick over the measured ticks. P99 is the
	// conference's own 99th percentile (within 9% above the true value)
	// over its whole run, the warm-up included but not the tick that
	// applied the joins (the largest of more than 100).
	Mean, P99 time.Duration
	// CPU is the process's CPU time per measured tick (every worker, the
	// delivery goroutines, GC), less the feeding goroutine's: what the
	// tick cost in all. Feed is the feeding goroutine's CPU per tick
	// (building the senders' SRTP packets and writing them to the
	// participants), which a server spreads over its socket goroutines.
	CPU, Feed time.Duration
	// Packets is how many packets the sinks received per measured tick
	// (one per participant when every listener is sent its mix).
	Packets float64
	// Overruns: ticks over the conference's overload share, or skipped.
	Overruns uint64
}

// MeasureSplit runs one room of cfg.N on an Engine of cfg.Workers
// workers and returns its tick times. The Engine's clock is a stepped one:
// it stands at 0 while the participants join, then a feeding goroutine
// steps it one ptime at a time: once a tick has finished, it writes each
// participant's next SRTP packet (arriving at the clock's time, the far
// ends' work and the server's inbound work, untimed) and only then moves
// the clock to the next tick's deadline. The worker waits for that
// deadline on its timer as always (one ptime of real time after it last
// looked), so ticks come every ptime plus the tick's own time, and the
// feeding never runs during a tick, which would take the core a helper
// needs. Sinks count packets and drop them.
func MeasureSplit(cfg SplitConfig) (SplitPoint, error) {
	cfg.defaults()
	var vnow atomic.Int64 // the Engine's clock
	clock := func() time.Duration { return time.Duration(vnow.Load()) }
	var packets atomic.Uint64
	sink := mixer.SinkFunc(func([]byte) error { packets.Add(1); return nil })
	e := mixer.NewEngine(mixer.EngineConfig{Workers: cfg.Workers, SplitAt: cfg.SplitAt, Clock: clock})
	defer e.Close()
	// OverloadShare 1: the overload controller must not change the
	// room's work (it would step complexity down or shed speakers) while
	// it is measured; overruns are reported instead.
	c, err := e.NewConference(mixer.ConferenceConfig{Name: fmt.Sprintf("split/%s/%s/N=%d", cfg.Codec, cfg.Scenario, cfg.N),
		OverloadShare: 1, EventBuffer: 1024})
	if err != nil {
		return SplitPoint{}, err
	}
	go func() { // nobody reads the events otherwise
		for range c.Events() {
		}
	}()
	r, err := joinRoom(c, RoomConfig{N: cfg.N, Codec: cfg.Codec, Scenario: cfg.Scenario, Clips: cfg.Clips, Profile: cfg.Profile}, sink)
	if err != nil {
		return SplitPoint{}, err
	}
	runtime.GC()
	vnow.Store(int64(Ptime)) // the first deadline: that tick applies the joins

	type snap struct {
		ticks     uint64
		sum       time.Duration
		cpu, feed time.Duration
		packets   uint64
		overruns  uint64
	}
	var s0, s1 snap
	done := make(chan error, 1)
	go func() {
		// One OS thread, so that its thread CPU time is the feeder's.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		take := func(s *snap) {
			st := c.Stats()
			s.ticks, s.sum, s.overruns = st.Timing.Ticks, st.Timing.Histogram.Sum, st.Overruns
			s.cpu, s.feed, s.packets = cputime.Process(), cputime.Thread(), packets.Load()
		}
		deadline := time.Now().Add(time.Duration(cfg.Warmup+cfg.Ticks+100) * 2 * Ptime)
		last := c.Stats().Ticks
		for k := 0; ; k++ {
			// Wait for the next tick to finish (polling: a tick's end
			// has no signal, and polling every 200 µs costs little).
			for {
				t := c.Stats().Ticks
				if t > last {
					last = t
					break
				}
				if time.Now().After(deadline) {
					done <- fmt.Errorf("bench: split room: %d ticks in %v", last, time.Duration(cfg.Warmup+cfg.Ticks+100)*2*Ptime)
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
			switch k {
			case cfg.Warmup:
				take(&s0)
			case cfg.Warmup + cfg.Ticks:
				take(&s1)
				done <- nil
				return
			}
			r.Prepare()
			now := clock()
			for _, s := range r.senders {
				_ = s.p.WriteRTPAt(now, s.ready)
			}
			r.ticks++
			vnow.Add(int64(Ptime))
		}
	}()
	if err := <-done; err != nil {
		return SplitPoint{}, err
	}
	ticks := s1.ticks - s0.ticks
	if ticks == 0 {
		return SplitPoint{}, fmt.Errorf("bench: split room: no ticks measured")
	}
	st := c.Stats().Timing
	feed := s1.feed - s0.feed
	return SplitPoint{
		N: cfg.N, Workers: cfg.Workers, SplitAt: cfg.SplitAt, Ticks: int(ticks),
		Mean:     (s1.sum - s0.sum) / time.Duration(ticks),
		P99:      st.P99,
		CPU:      (s1.cpu - s0.cpu - feed) / time.Duration(ticks),
		Feed:     feed / time.Duration(ticks),
		Packets:  float64(s1.packets-s0.packets) / float64(ticks),
		Overruns: s1.overruns - s0.overruns,
	}, nil
}

package bridge

import (
	"fmt"
	"sync"
	"time"

	"github.com/rtpmix/rtpmix/mixer"
)

// loadWindow is how far back a room's recent tick timing reaches, and
// loadSamples how many snapshots cover it. loadMinTicks is how many ticks
// the window must hold before it is judged: a room's first ticks (and a
// start on a busy machine, when the engine skips ticks and counts them as
// overruns) say nothing about what it can carry.
const (
	loadWindow   = 5 * time.Second
	loadSamples  = 6
	loadMinTicks = 50
)

// roomLoad keeps snapshots of a room's cumulative tick counters, taken by
// housekeeping about once a second, so that a join can be judged on the
// last few seconds rather than on the room's whole life.
type roomLoad struct {
	mu      sync.Mutex
	samples [loadSamples]loadSample
	n       int // samples taken
}

type loadSample struct {
	at              time.Duration // mixer.Monotonic
	ticks, overruns uint64
}

// sample records st, at most once per loadWindow/(loadSamples-1).
func (l *roomLoad) sample(now time.Duration, st mixer.ConferenceStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 && now-l.samples[(l.n-1)%loadSamples].at < loadWindow/(loadSamples-1) {
		return
	}
	l.samples[l.n%loadSamples] = loadSample{at: now, ticks: st.Ticks, overruns: st.Overruns}
	l.n++
}

// check refuses a join while the room is over its tick budget now: more
// than 1% of its ticks since the oldest snapshot (up to loadWindow ago, or
// the room's start; at least loadMinTicks of them) took longer than
// budget×ptime, that is its recent tick p99 is over budget (at least two
// such ticks, so that one stall of a busy machine does not refuse joins),
// or the mixer's overload control has taken speakers away. The error
// wraps errBusy.
func (l *roomLoad) check(st mixer.ConferenceStats, budget float64) error {
	l.mu.Lock()
	var base loadSample
	if l.n > 0 {
		base = l.samples[max(0, l.n-loadSamples)%loadSamples]
	}
	l.mu.Unlock()
	ticks, over := st.Ticks-base.ticks, st.Overruns-base.overruns
	limit := time.Duration(float64(st.Ptime) * budget)
	if ticks < loadMinTicks {
		return nil
	}
	if over >= 2 && over*100 > ticks {
		return fmt.Errorf("%w: %d of its last %d ticks took longer than %v (%.0f%% of its %v ptime)",
			errBusy, over, ticks, limit, budget*100, st.Ptime)
	}
	if st.Degraded > 0 {
		return fmt.Errorf("%w: its ticks ran over %v (%.0f%% of its %v ptime) and it mixes %d speakers fewer until they recover",
			errBusy, limit, budget*100, st.Ptime, st.Degraded)
	}
	return nil
}

package bridge

import (
	"fmt"
	"sync"
	"time"

	"github.com/rtpmix/rtpmix/mixer"
)

// A join is judged on the room's ticks since the newest snapshot that is
// at least loadWindow old, that is over the last one to two seconds:
// recent enough to stop a burst of joins (a room that is over budget runs
// fewer ticks, so a window counted in ticks would judge it less often),
// long enough to hold 50-100 ticks at 20 ms. A room younger than
// loadWindow is not judged: its first ticks, or a start on a busy machine
// (when the engine skips ticks and counts them as overruns), say nothing
// about what it can carry. loadSamples snapshots, at least loadWindow/2
// apart, always hold one old enough.
const (
	loadWindow  = time.Second
	loadSamples = 4
)

// roomLoad keeps snapshots of a room's cumulative tick counters, taken at
// its creation and then by housekeeping about once a second.
type roomLoad struct {
	mu      sync.Mutex
	samples [loadSamples]loadSample
	n       int // samples taken
}

type loadSample struct {
	at              time.Duration // mixer.Monotonic
	ticks, overruns uint64
}

// sample records st at now, unless the last snapshot is younger than
// loadWindow/2.
func (l *roomLoad) sample(now time.Duration, st mixer.ConferenceStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 && now-l.samples[(l.n-1)%loadSamples].at < loadWindow/2 {
		return
	}
	l.samples[l.n%loadSamples] = loadSample{at: now, ticks: st.Ticks, overruns: st.Overruns}
	l.n++
}

// base returns the newest snapshot at least loadWindow older than now.
func (l *roomLoad) base(now time.Duration) (loadSample, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := l.n - 1; i >= 0 && i >= l.n-loadSamples; i-- {
		if s := l.samples[i%loadSamples]; now-s.at >= loadWindow {
			return s, true
		}
	}
	return loadSample{}, false
}

// check refuses a join while the room is over its tick budget now: more
// than 1% of its ticks since the base snapshot ran longer than
// budget×ptime or were skipped, that is its recent tick p99 is over
// budget (at least two such ticks, so that one stall of a busy machine
// does not refuse joins). The error wraps errBusy.
func (l *roomLoad) check(now time.Duration, st mixer.ConferenceStats, budget float64) error {
	base, ok := l.base(now)
	if !ok {
		return nil
	}
	ticks, over := st.Ticks-base.ticks, st.Overruns-base.overruns
	if over >= 2 && over*100 > ticks {
		return fmt.Errorf("%w: in the last %.1f s %d of its ticks ran longer than %v (%.0f%% of its %v ptime) or were skipped, against %d run",
			errBusy, (now - base.at).Seconds(), over, time.Duration(float64(st.Ptime)*budget), budget*100, st.Ptime, ticks)
	}
	return nil
}

package jitter_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/jitter"
)

// creepOptions: creep compares the mean delay of the first 2 s after a 5 s
// warm-up (the drift fit and the delay quantile need a few seconds of
// packets) with that of the last 2 s. Two seconds, not one, because
// playout happens on 20 ms ticks and a 1% drifting sender's packets slide
// across the tick grid once every 2 s, so one-second means swing by ±5 ms
// with the phase rather than with the buffer.
var creepOptions = netsim.Options{Warmup: 5 * time.Second, CreepWindow: 2 * time.Second, Check: true}

// tickPhases are the offsets of the consumer's ticks from the sender's
// start that every scenario is played at: where a packet's arrival falls
// between two ticks decides how long it waits, so a buffer must do well
// at all of them, as the fixed-delay oracle (which ticks the same way)
// does.
var tickPhases = []time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond}

// runPhases plays each scenario at every tick phase with the consumer.
func runPhases(t *testing.T, scs []netsim.Scenario, cons netsim.Consumer) []netsim.Result {
	t.Helper()
	var rs []netsim.Result
	for _, sc := range scs {
		for _, ph := range tickPhases {
			sc.TickPhase = ph
			opt := creepOptions
			opt.Consumer = cons
			r, err := netsim.Run(sc, jitter.Config{}, opt)
			require.NoError(t, err, sc.Name)
			// Every packet that arrived is accounted for.
			require.Equal(t, r.Arrived, r.Played+r.Late+r.Dropped+r.Overflow, "%s at %v", sc.Name, ph)
			rs = append(rs, r)
		}
	}
	return rs
}

// playoutTargets holds a result to issue 12's targets: late loss at most
// 1%; concealment beyond what the network's losses in speech and the late
// packets explain at most 0.2% (a sender that pauses without saying so
// included); a mean delay within 1.3 times the tick-aware
// fixed-delay oracle's (where that is 10 ms or more: below, the 80 ms
// start delay over the first second alone adds more than 30%); and for a
// source that sends faster than real time, nothing lost and nothing
// concealed, a delay below MaxDelay, and a mean delay within 1.3 times
// both the trace's oracle and the path's real-time oracle (see
// burstRealTimeRatio).
func playoutTargets(t *testing.T, r netsim.Result, sc netsim.Scenario) {
	t.Helper()
	what := fmt.Sprintf("%s at %v, %v", r.Name, r.Phase, r.Consumer)
	assert.LessOrEqual(t, r.LatePct, 1.0, "late loss: %s", what)
	assert.LessOrEqual(t, r.ExcessConcealPct, 0.2, "concealment beyond the losses: %s", what)
	if sc.Burst != nil {
		assert.Zero(t, r.Late+r.Dropped+r.Overflow, "a bursty source loses nothing: %s", what)
		assert.Zero(t, r.ConcealPct, "nor is any of it concealed: %s", what)
		assert.Less(t, r.P95Delay, sc.Buffer.MaxDelay, "%s", what)
		assert.LessOrEqual(t, r.OracleRatio, 1.3, "mean delay against the oracle: %s", what)
		assert.LessOrEqual(t, r.RealTimeRatio, burstRealTimeRatio, "mean delay against the path's real-time oracle: %s", what)
		return
	}
	if r.Oracle >= 10*time.Millisecond {
		assert.LessOrEqual(t, r.OracleRatio, 1.3, "mean delay against the oracle: %s", what)
	}
}

// burstRealTimeRatio bounds the mean delay of a source that sends in
// bursts (text-to-speech: 5 s of audio in 200 ms every 5 s) against
// netsim.Result.RealTimeOracle as well: the least fixed delay that the
// same path would need for a real-time sender with the late share the
// buffer's quantile allows, 0.5%. The trace's own oracle, which the 1.3
// of the other scenarios holds to, is the largest delay of the only
// packets that can come late, the first of each burst (the rest arrive
// seconds early), a dozen a minute, known in hindsight and rounded to
// the tick grid; a player that must not lose the next first packet
// keeps a margin above their level (see jitter's burstTarget), and where
// that margin crosses a grid line the trace's oracle did not need, it
// plays those packets a whole tick later. It makes up for that within
// the burst, whose audio is buffered: the delay is a tick shorter there
// (see jitter's burstDip). Over 20 traces at 4 phases and 2 consumers
// (TestScenarioSeeds) it loses none, at 0.77 times the trace's oracle
// on average (1 run in 160 above 1.3) and at most 1.14 times the
// real-time one; before the dip, 1.37 (80 in 160 above 1.3) and 1.72.
const burstRealTimeRatio = 1.3

// TestScenarios replays the network scenarios through the buffer in
// virtual time at four tick phases, with a consumer that time-scales as
// asked (exactly, and like a time-scaler on speech: pitch periods, one
// request in five declined) and one that ignores the requests; it prints
// a table for each (go test ./jitter -run TestScenarios -v) and holds the
// targets. The simulation is deterministic, so the figures are the same
// on every run and machine.
func TestScenarios(t *testing.T) {
	playout := map[string]bool{}
	for _, sc := range netsim.Playout() {
		playout[sc.Name] = true
	}
	scs := append(append(netsim.Standard(), netsim.Extra()...), netsim.Playout()...)
	byName := map[string]netsim.Scenario{}
	for _, sc := range scs {
		byName[sc.Name] = sc
	}
	for _, cons := range []netsim.Consumer{netsim.Exact, netsim.Pitch, netsim.Ignore} {
		rs := runPhases(t, scs, cons)
		var sb strings.Builder
		require.NoError(t, netsim.WriteTable(&sb, rs))
		t.Logf("consumer %v:\n%s", cons, sb.String())

		for _, r := range rs {
			sc := byName[r.Name]
			switch {
			case cons != netsim.Ignore:
				playoutTargets(t, r, sc)
			default:
				// Without time-scaling the buffer can change its delay
				// while the talker talks only by whole frames: it keeps
				// the late loss, and loses nothing of a bursty source.
				assert.LessOrEqual(t, r.LatePct, 1.0, "late loss: %s at %v, ignoring", r.Name, r.Phase)
				if sc.Burst != nil {
					assert.Zero(t, r.Late+r.Dropped+r.Overflow, "bursty source, ignoring: at %v", r.Phase)
				}
			}
			if sc.Drift != 0 && (playout[r.Name] || cons == netsim.Ignore) {
				assert.Less(t, r.Creep.Abs(), 20*time.Millisecond, "creep: %s at %v, %v", r.Name, r.Phase, cons)
				assert.Less(t, r.Trend.Abs(), 15*time.Millisecond, "trend per minute: %s at %v, %v", r.Name, r.Phase, cons)
			}
			if r.Name == "clean" {
				assert.Zero(t, r.LatePct, "clean, %v", cons)
			}
			if r.Name == "LTE" && cons != netsim.Ignore {
				// The delay does not swing with the reference transit
				// (see jitter's shrink hysteresis): before, 1.2–1.7% of
				// the audio was time-scaled, back and forth, for nothing.
				assert.LessOrEqual(t, r.StretchedPct, 1.0, "LTE: audio time-scaled at %v, %v", r.Phase, cons)
			}
			if r.Name == "jitter 30ms normal" {
				assert.LessOrEqual(t, r.OracleRatio, 1.5, "30 ms jitter against the oracle at %v, %v", r.Phase, cons)
			}
		}
	}
}

// TestScenarioSeeds holds the targets over 20 different traces of each
// scenario kind, so that they are not met by one lucky seed. Over seeds
// the bounds are looser than TestScenarios' on the published traces (a
// few traces in a hundred come out at up to 1.5 times the oracle, or
// 0.3% of concealment, where a packet's lateness sits on a tick
// boundary); the figures are printed with -v.
func TestScenarioSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("800 runs")
	}
	std := netsim.Standard()
	legacy := []struct {
		sc    netsim.Scenario
		check func(t *testing.T, r netsim.Result)
	}{
		{std[1], func(t *testing.T, r netsim.Result) {
			assert.LessOrEqual(t, r.LatePct, 1.0, "late loss")
			assert.LessOrEqual(t, r.OracleRatio, 1.5, "mean delay / oracle")
		}},
		{std[3], func(t *testing.T, r netsim.Result) {
			assert.Less(t, r.Creep.Abs(), 20*time.Millisecond, "creep")
			assert.Less(t, r.Trend.Abs(), 15*time.Millisecond, "trend per minute")
		}},
		{std[4], func(t *testing.T, r netsim.Result) {
			assert.Less(t, r.Creep.Abs(), 20*time.Millisecond, "creep")
			assert.Less(t, r.Trend.Abs(), 15*time.Millisecond, "trend per minute")
		}},
	}
	for _, tc := range legacy {
		t.Run(tc.sc.Name, func(t *testing.T) {
			for seed := uint64(100); seed < 120; seed++ {
				sc := tc.sc
				sc.Seed = seed
				r, err := netsim.Run(sc, jitter.Config{}, creepOptions)
				require.NoError(t, err)
				t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { tc.check(t, r) })
			}
		})
	}
	// Issue 12's scenarios, and the bursty loss of issue 3 for its
	// concealment (against the losses in speech) with time-scaling.
	for _, base := range append(netsim.Playout(), std[2]) {
		t.Run(base.Name, func(t *testing.T) {
			var worstLate, worstExcess, worstRatio float64
			// A burst source's mean delay against its trace's oracle:
			// the sum, the runs, and those above 1.3.
			var burstSum, burstWorst float64
			var burstRuns, burstOver int
			for seed := uint64(100); seed < 120; seed++ {
				sc := base
				sc.Seed = seed
				for _, cons := range []netsim.Consumer{netsim.Exact, netsim.Pitch} {
					for _, r := range runPhases(t, []netsim.Scenario{sc}, cons) {
						what := fmt.Sprintf("seed %d at %v, %v", seed, r.Phase, cons)
						assert.LessOrEqual(t, r.LatePct, 1.0, "late loss: %s", what)
						assert.LessOrEqual(t, r.ExcessConcealPct, 0.3, "concealment beyond the losses: %s", what)
						if sc.Burst != nil {
							assert.Zero(t, r.Late+r.Dropped+r.Overflow, "a bursty source loses nothing: %s", what)
							assert.Zero(t, r.ConcealPct, "nor is any of it concealed: %s", what)
							assert.Less(t, r.P95Delay, sc.Buffer.MaxDelay, "%s", what)
							assert.LessOrEqual(t, r.RealTimeRatio, burstRealTimeRatio, "mean delay against the path's real-time oracle: %s", what)
							worstRatio = max(worstRatio, r.RealTimeRatio)
							assert.LessOrEqual(t, r.OracleRatio, 1.5, "mean delay against the oracle: %s", what)
							burstSum += r.OracleRatio
							burstWorst = max(burstWorst, r.OracleRatio)
							burstRuns++
							if r.OracleRatio > 1.3 {
								burstOver++
							}
						} else if r.Oracle >= 10*time.Millisecond {
							assert.LessOrEqual(t, r.OracleRatio, 1.5, "mean delay against the oracle: %s", what)
							worstRatio = max(worstRatio, r.OracleRatio)
						}
						if sc.Drift != 0 {
							assert.Less(t, r.Trend.Abs(), 15*time.Millisecond, "trend per minute: %s", what)
						}
						worstLate = max(worstLate, r.LatePct)
						worstExcess = max(worstExcess, r.ExcessConcealPct)
					}
				}
			}
			if burstRuns > 0 {
				// On average well within the 1.3 of TestScenarios (0.77
				// measured), and above it only now and then.
				avg := burstSum / float64(burstRuns)
				t.Logf("mean delay / trace oracle: %.2f on average, %.2f at worst, %d of %d runs above 1.3", avg, burstWorst, burstOver, burstRuns)
				assert.LessOrEqual(t, avg, 1.0, "mean delay / trace oracle, on average")
				assert.LessOrEqual(t, burstOver, burstRuns/20, "runs above 1.3 times the trace oracle")
			}
			t.Logf("over 20 seeds, 4 phases, 2 consumers: worst late %.2f%%, excess concealment %.2f%%, mean/oracle %.2f (for a burst source: against the real-time oracle)",
				worstLate, worstExcess, worstRatio)
		})
	}
}

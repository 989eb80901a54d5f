package mixer

import (
	"math"
	"sync/atomic"
	"time"
)

// talkDetector turns a participant's per-tick level into a smoothed level
// (instant attack, slower release) and a talking state with a start delay
// and a hang-over, the input of speaker selection.
//
// Ownership: the tick goroutine alone. Stats reads the published atomics.
type talkDetector struct {
	level      int     // this tick's level, -dBov
	smooth     float64 // smoothed level, -dBov: smaller is louder
	talking    bool
	aboveTicks int // ticks in a row at least as loud as the start level
	belowTicks int // ticks in a row quieter than the stop level

	// Published for Stats.
	pubTalking atomic.Bool
	pubLevel   atomic.Int32
	talkTicks  atomic.Uint64
}

// talkParams is a conference's TalkConfig in the form the detector uses.
type talkParams struct {
	start, stop          float64 // levels, -dBov
	startDelay, hangOver time.Duration
	ptime                time.Duration
	// alpha is the per-tick smoothing factor for a falling level: a
	// 150 ms time constant whatever the ptime.
	alpha float64
}

func newTalkParams(t TalkConfig, ptime time.Duration) talkParams {
	return talkParams{
		start:      float64(t.StartLevel),
		stop:       float64(t.StopLevel),
		startDelay: t.StartDelay,
		hangOver:   t.HangOver,
		ptime:      ptime,
		alpha:      1 - math.Exp(-float64(ptime)/float64(150*time.Millisecond)),
	}
}

// talkChange is what an update did to the talking state.
type talkChange int

const (
	talkSame talkChange = iota
	talkStarted
	talkStopped
)

// init starts the detector at silence.
func (d *talkDetector) init() {
	d.level, d.smooth = 127, 127
	d.pubLevel.Store(127)
}

// update takes this tick's level and says whether talking started or
// stopped.
func (d *talkDetector) update(level int, tp *talkParams) talkChange {
	d.level = level
	l := float64(level)
	if l < d.smooth {
		d.smooth = l
	} else {
		d.smooth += (l - d.smooth) * tp.alpha
	}
	change := talkSame
	if !d.talking {
		if d.smooth <= tp.start {
			d.aboveTicks++
			if time.Duration(d.aboveTicks)*tp.ptime >= tp.startDelay {
				d.talking, d.belowTicks = true, 0
				d.pubTalking.Store(true)
				change = talkStarted
			}
		} else {
			d.aboveTicks = 0
		}
	} else {
		if d.smooth > tp.stop {
			d.belowTicks++
			if time.Duration(d.belowTicks)*tp.ptime >= tp.hangOver {
				d.talking, d.aboveTicks = false, 0
				d.pubTalking.Store(false)
				change = talkStopped
			}
		} else {
			d.belowTicks = 0
		}
	}
	if d.talking {
		inc(&d.talkTicks)
	}
	d.pubLevel.Store(int32(math.Round(d.smooth)))
	return change
}

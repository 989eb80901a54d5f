package mixer

import (
	"sync/atomic"

	"github.com/rtpmix/rtpmix/internal/pcm"
)

// speakerState is a participant's place in the mix: whether it is one of
// the speakers, and the gain its contribution carried last tick, so that
// starting, stopping and gain changes ramp instead of click.
//
// Ownership: the tick goroutine alone. Stats reads pubSpeaking.
type speakerState struct {
	listenOnly  bool    // the direction does not receive: never mixed
	speaker     bool    // selected this tick
	leaving     bool    // dropped this tick: mixed once more, ramping out
	louderTicks int     // ticks louder than the quietest speaker by SwitchMargin
	gain        int32   // gain applied last tick (Q16)
	contrib     []int16 // this tick's contribution to the sum

	pubSpeaking atomic.Bool
}

func (s *speakerState) init() {
	s.contrib = make([]int16, maxFrame)
}

// start makes the participant a speaker, ramping in from silence.
func (s *speakerState) start() {
	s.speaker, s.leaving, s.louderTicks = true, false, 0
	s.gain = 0
	s.pubSpeaking.Store(true)
}

// stop drops the participant from the speakers; it is mixed once more,
// ramping out.
func (s *speakerState) stop() {
	s.speaker, s.leaving = false, true
	s.pubSpeaking.Store(false)
}

// contribute writes src × gain into the contribution buffer, ramping from
// last tick's gain when it changed, and returns it.
func (s *speakerState) contribute(src []int16, target int32) []int16 {
	dst := s.contrib[:len(src)]
	switch {
	case s.gain != target:
		pcm.GainRamp(dst, src, s.gain, target)
	case target == unity:
		copy(dst, src)
	default:
		pcm.Gain(dst, src, target)
	}
	s.gain = target
	return dst
}

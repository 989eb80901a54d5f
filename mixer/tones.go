package mixer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// ToneConfig turns on a conference's join and leave tones: a short
// rising two-note chime played into the room when a participant joins,
// and a falling one when a participant leaves.
//
// Everyone in the room hears them, the one joining included: the chime
// is the first thing a new participant hears, which tells it that it is
// in and that its audio path works (as FreeSWITCH's enter-sound and
// Asterisk's ConfBridge join sound do); the one leaving is gone and does
// not. They are played by a priority Source of the conference's own, so
// they are mixed on top of the talkers rather than competing with them,
// and recorded in the room's mix. A tone is not queued while another still
// plays: a burst of joins (a call opening with many legs, a conference
// closing) sounds once, not once per participant.
type ToneConfig struct {
	Join, Leave bool
	// Level of the tones in -dBov (RFC 6464's scale: 0 loudest). Default
	// 20, about as loud as speech; 6..60.
	Level int
}

// toneRate is the rate tones are made at: the notes are below 1 kHz.
const toneRate = 16000

// tones is a conference's join and leave tones: the PCM of each, and the
// source that plays them, fed by the tick itself (the add and remove of
// participants), which is then both ends of its ring.
type tones struct {
	src         *Source
	join, leave []int16
}

func (t *tones) init(c *Conference) error {
	tc := c.cfg.Tones
	if !tc.Join && !tc.Leave {
		return nil
	}
	if tc.Level == 0 {
		tc.Level = 20
	}
	if tc.Level < 6 || tc.Level > 60 {
		return fmt.Errorf("%w: tone level %d dBov (want 6..60)", ErrConfig, tc.Level)
	}
	c.cfg.Tones = tc
	// C5 then G5 rising for a join, falling for a leave.
	const lo, hi = 523.25, 783.99
	if tc.Join {
		t.join = chime(tc.Level, lo, hi)
	}
	if tc.Leave {
		t.leave = chime(tc.Level, hi, lo)
	}
	s := newSource(c, SourceConfig{SampleRate: toneRate, Buffer: time.Second, SSRC: rand.Uint32() | 1}, unity)
	s.kind, s.quiet = sourcePriority, true
	t.src = s
	c.ep.srcs = append(c.ep.srcs, s)
	return nil
}

// play queues a tone unless one still plays. Tick only: the tick is the
// ring's producer here.
func (t *tones) play(pcm []int16) {
	if pcm == nil || t.src.ring.queued() > 0 {
		return
	}
	t.src.ring.write(pcm)
}

func (t *tones) joined() {
	if t.src != nil {
		t.play(t.join)
	}
}

func (t *tones) left() {
	if t.src != nil {
		t.play(t.leave)
	}
}

// chime makes two notes of 100 and 130 ms with a 30 ms pause between,
// at level -dBov, each shaped by 10 ms raised-cosine ramps so that it
// starts and ends without a click.
func chime(level int, f1, f2 float64) []int16 {
	ms := func(d int) int { return toneRate * d / 1000 }
	out := make([]int16, ms(100)+ms(30)+ms(130))
	// A sine's RMS is its amplitude over √2; RFC 6464's 0 dBov is the RMS
	// of a full-scale square wave, 32767.
	amp := math.Sqrt2 * 32767 * math.Pow(10, -float64(level)/20)
	note := func(dst []int16, f float64) {
		ramp := ms(10)
		for i := range dst {
			g := 1.0
			if k := min(i, len(dst)-1-i); k < ramp {
				g = 0.5 - 0.5*math.Cos(math.Pi*float64(k)/float64(ramp))
			}
			dst[i] = int16(math.Round(g * amp * math.Sin(2*math.Pi*f*float64(i)/toneRate)))
		}
	}
	note(out[:ms(100)], f1)
	note(out[ms(130):], f2)
	return out
}

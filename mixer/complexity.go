package mixer

import (
	"fmt"

	"github.com/rtpmix/rtpmix/codec"
)

// ComplexityConfig chooses how hard the conference's Opus encoders work, by
// role, and how far overload control lowers that before it sheds speakers.
// Codecs without a complexity setting (G.711, G.722) ignore it.
//
// Roles: a group's shared encode is heard by every listener of the group,
// so it keeps the participant's Encoder.Complexity (default
// DefaultComplexity); a speaker's own mix-minus is heard by that speaker
// alone, so it runs cheaper (Own). In a small room of one talker at a time
// the own encode is mostly skipped anyway (a silent mix-minus sends DTX
// frames without the encoder, see ConferenceConfig.Silence), so Own
// matters when talkers overlap.
//
// Overload: when an Engine-driven conference's ticks run over budget (see
// ConferenceConfig.OverloadShare), every encoder is first stepped down by
// Step complexity per step, not below Floor; only when every encoder that
// runs is at Floor are speakers shed. Recovery goes the other way:
// speakers come back first, then complexity. ConferenceStats reports the
// step and the complexity of each role.
type ComplexityConfig struct {
	// Own is the complexity of a speaker's own mix-minus, capped at the
	// participant's Encoder.Complexity. 0 means DefaultOwnComplexity;
	// -1 means the same as the shared encode.
	Own int
	// Floor is the lowest complexity overload control steps down to, 1..10.
	// 0 means 1.
	Floor int
	// Step is how much complexity one overload step takes away, 1..9.
	// 0 means 2.
	Step int
	// NoStepDown turns the stepping off: overload sheds speakers at once,
	// as before complexity control.
	NoStepDown bool
}

// DefaultOwnComplexity is the complexity of a speaker's own mix-minus
// encode unless ComplexityConfig.Own says otherwise: the same as the
// shared encode's default. Complexity 3 costs about 0.8× of complexity 5
// (libopus 1.3, 48 kHz, the speech clips) but raised the coding noise the
// speaker hears by about 7 dB (the browser test: what a browser heard in
// its own tone's band went from 44–48 to 39–42 dB below the room); the
// people talking are the ones who notice, and their encodes are few, so
// lowering it is left to overload control and to ComplexityConfig.Own.
const DefaultOwnComplexity = 5

func (c ComplexityConfig) withDefaults() (ComplexityConfig, error) {
	if c.Own == 0 {
		c.Own = DefaultOwnComplexity
	}
	if c.Floor == 0 {
		c.Floor = 1
	}
	if c.Step == 0 {
		c.Step = 2
	}
	switch {
	case c.Own < -1 || c.Own > 10:
		return c, fmt.Errorf("%w: own complexity %d (want -1..10)", ErrConfig, c.Own)
	case c.Floor < 1 || c.Floor > 10:
		return c, fmt.Errorf("%w: complexity floor %d (want 1..10)", ErrConfig, c.Floor)
	case c.Step < 1 || c.Step > 9:
		return c, fmt.Errorf("%w: complexity step %d (want 1..9)", ErrConfig, c.Step)
	}
	return c, nil
}

// complexityPolicy is what an encode needs of the conference's complexity
// control: the configuration and overload control's current step.
type complexityPolicy struct {
	cfg  ComplexityConfig
	step int // 0: full complexity; owned by the tick (checkOverload)
}

// complexity is the complexity a chain with the given configured
// complexity (0: DefaultComplexity) runs at in its role at the policy's
// step.
func (p complexityPolicy) complexity(base int, shared bool) int {
	if base == 0 {
		base = DefaultComplexity
	}
	c := base
	if !shared && p.cfg.Own > 0 {
		c = min(c, p.cfg.Own)
	}
	c -= p.step * p.cfg.Step
	// The floor never raises a complexity the participant set lower.
	return max(c, min(p.cfg.Floor, base))
}

// complexitySetter is the optional encoder method complexity control uses
// (codec/opus's Encoder has it).
type complexitySetter interface {
	SetComplexity(c int) error
}

// chainComplexity is an encode chain's part in complexity control.
//
// Ownership: the tick goroutine alone (and setup, before the chain is
// shared).
type chainComplexity struct {
	set    complexitySetter // nil: the codec has no complexity
	base   int              // configured complexity (0: DefaultComplexity)
	shared bool             // a group's chain; otherwise a speaker's own
	cur    int              // the complexity the encoder runs at now
}

// init records the encoder's complexity control; the encoder was built at
// the configured complexity.
func (x *chainComplexity) init(enc codec.Encoder, ec codec.Config) {
	x.set, _ = enc.(complexitySetter)
	x.base = ec.Complexity
	x.cur = ec.Complexity
	if x.cur == 0 {
		x.cur = DefaultComplexity
	}
}

// apply sets the encoder's complexity for the policy before an encode; a
// change is one encoder control call, no allocation. A codec refusing the
// value keeps its old one.
func (x *chainComplexity) apply(p complexityPolicy) {
	if x.set == nil {
		return
	}
	if want := p.complexity(x.base, x.shared); want != x.cur && x.set.SetComplexity(want) == nil {
		x.cur = want
	}
}

// canStepDown says whether another overload step would lower any encoder
// that runs: some group's chain or a speaker's own chain is above the
// floor at the current step (listeners' own chains are idle). Called by checkOverload on the tick goroutine.
func (c *Conference) canStepDown() bool {
	p := c.silence.cx
	if p.cfg.NoStepDown {
		return false
	}
	next := complexityPolicy{cfg: p.cfg, step: p.step + 1}
	lower := func(x *chainComplexity) bool {
		return x.set != nil && next.complexity(x.base, x.shared) < p.complexity(x.base, x.shared)
	}
	for _, g := range c.groupList {
		if lower(&g.chain.cx) {
			return true
		}
	}
	for _, s := range c.mixSet {
		if lower(&s.own.cx) {
			return true
		}
	}
	return false
}

// ComplexityStats is what complexity control decided.
type ComplexityStats struct {
	// Step is overload control's complexity step (0: full complexity).
	Step int
	// Shared and Own are the complexities a group's encode and a speaker's
	// own encode run at now, for participants whose Encoder.Complexity is
	// unset (DefaultComplexity); the others are lowered by the same steps.
	Shared, Own int
	// SilentSkips counts the encodes skipped because the mix was silent
	// (DTX frames sent, or nothing under Encoder.DTX) since the conference
	// started.
	SilentSkips uint64
}

// complexityStats reports the policy; safe from any goroutine.
func (c *Conference) complexityStats() ComplexityStats {
	p := complexityPolicy{cfg: c.cfg.Complexity, step: int(c.cxStep.Load())}
	return ComplexityStats{
		Step:        p.step,
		Shared:      p.complexity(0, true),
		Own:         p.complexity(0, false),
		SilentSkips: c.silentSkips.Load(),
	}
}

// setComplexityStep sets overload control's step; every encoder follows at
// its next encode. Tick goroutine only.
func (c *Conference) setComplexityStep(step int) {
	c.silence.cx.step = step
	c.cxStep.Store(int32(step))
}

// complexityDetail says what the step means, for the Overloaded event.
func (c *Conference) complexityDetail() string {
	p := c.silence.cx
	return fmt.Sprintf("encoder complexity step %d: shared %d, own %d (for the default complexity)",
		p.step, p.complexity(0, true), p.complexity(0, false))
}

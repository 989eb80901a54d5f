package mixer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/srtp"
)

// TestComplexityPolicy: the shared encode keeps the configured complexity,
// a speaker's own runs at Own (never above the configured one), each step
// takes Step away, and the floor never raises what a participant set
// lower.
func TestComplexityPolicy(t *testing.T) {
	def, err := ComplexityConfig{}.withDefaults()
	require.NoError(t, err)
	for _, tc := range []struct {
		cfg          ComplexityConfig
		base, step   int
		shared, own  int
		name         string
		sharedAtStep int
	}{
		{name: "defaults", cfg: def, base: 0, step: 0, shared: DefaultComplexity, own: DefaultOwnComplexity},
		{name: "step 1", cfg: def, base: 0, step: 1, shared: 3, own: 3},
		{name: "step 2", cfg: def, base: 0, step: 2, shared: 1, own: 1},
		{name: "step 9", cfg: def, base: 0, step: 9, shared: 1, own: 1},
		{name: "high base", cfg: def, base: 10, step: 1, shared: 8, own: 3},
		{name: "own 3", cfg: ComplexityConfig{Own: 3, Floor: 1, Step: 2}, base: 0, step: 1, shared: 3, own: 1},
		{name: "low base", cfg: def, base: 2, step: 0, shared: 2, own: 2},
		{name: "own same", cfg: ComplexityConfig{Own: -1, Floor: 1, Step: 2}, base: 7, step: 1, shared: 5, own: 5},
		{name: "floor 4", cfg: ComplexityConfig{Own: 3, Floor: 4, Step: 1}, base: 6, step: 5, shared: 4, own: 4},
		{name: "floor above base", cfg: ComplexityConfig{Own: 3, Floor: 4, Step: 1}, base: 2, step: 3, shared: 2, own: 2},
	} {
		p := complexityPolicy{cfg: tc.cfg, step: tc.step}
		assert.Equal(t, tc.shared, p.complexity(tc.base, true), "%s: shared", tc.name)
		assert.Equal(t, tc.own, p.complexity(tc.base, false), "%s: own", tc.name)
	}
	for _, bad := range []ComplexityConfig{{Own: -2}, {Own: 11}, {Floor: 11}, {Floor: -1}, {Step: 10}, {Step: -1}} {
		_, err := NewConference(ConferenceConfig{Complexity: bad})
		assert.True(t, errors.Is(err, ErrConfig), "%+v: %v", bad, err)
	}
}

// TestComplexityApplied: an Opus chain's encoder is set to its role's
// complexity at the policy's step before it encodes, and keeps it.
func TestComplexityApplied(t *testing.T) {
	def, err := ComplexityConfig{}.withDefaults()
	require.NoError(t, err)
	speech := loadClip(t, "bob")
	for _, shared := range []bool{true, false} {
		ch := newTestChain(t, opf, codec.Config{}, 48000)
		ch.cx.shared = shared
		require.NotNil(t, ch.cx.set, "codec/opus's encoder sets its complexity")
		assert.Equal(t, DefaultComplexity, ch.cx.cur, "built at the configured complexity")
		for step := 0; step <= 2; step++ {
			sp := silencePolicy{cx: complexityPolicy{cfg: def, step: step}}
			copy(ch.mix[:960], speech[48000:])
			_, ok, err := ch.encode(960, false, sp)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, sp.cx.complexity(0, shared), ch.cx.cur, "shared %v step %d", shared, step)
		}
	}
	g := newTestChain(t, pcmu, codec.Config{}, 8000)
	assert.Nil(t, g.cx.set, "G.711 has no complexity")
}

// TestOverloadStepsComplexityFirst: overruns of an Opus room lower the
// encoders' complexity step by step (reported in stats and events) until
// every encoder that runs is at the floor, then shed speakers; calm gives
// speakers back first, then complexity.
func TestOverloadStepsComplexityFirst(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{MaxSpeakers: 3})
	for range 3 {
		_, err := c.Join(ParticipantConfig{In: opf, Out: opf})
		require.NoError(t, err)
	}
	c.Tick(0) // joins applied: one shared group
	slow := 19 * time.Millisecond
	over := func(n int) {
		for range n {
			c.checkOverload(slow, 0)
		}
	}
	over(3)
	st := c.Stats()
	assert.Equal(t, ComplexityStats{Step: 1, Shared: 3, Own: 3}, st.Complexity)
	assert.Zero(t, st.Degraded)
	over(3)
	assert.Equal(t, ComplexityStats{Step: 2, Shared: 1, Own: 1}, c.Stats().Complexity)
	assert.Zero(t, c.Stats().Degraded)
	over(3)
	assert.Equal(t, 2, c.Stats().Complexity.Step, "at the floor: no further step")
	assert.Equal(t, 1, c.Stats().Degraded, "then speakers are shed")
	over(3)
	assert.Equal(t, 2, c.Stats().Degraded)

	calm := func() {
		for range 250 { // 5 s
			c.checkOverload(time.Millisecond, 0)
		}
	}
	calm()
	assert.Equal(t, 1, c.Stats().Degraded, "speakers come back first")
	assert.Equal(t, 2, c.Stats().Complexity.Step)
	calm()
	calm()
	assert.Zero(t, c.Stats().Degraded)
	assert.Equal(t, 1, c.Stats().Complexity.Step, "then complexity")
	calm()
	assert.Zero(t, c.Stats().Complexity.Step)

	var details []string
	var types []EventType
	for len(c.Events()) > 0 {
		ev := <-c.Events()
		if ev.Type == Overloaded || ev.Type == Recovered {
			types = append(types, ev.Type)
			details = append(details, ev.Detail)
		}
	}
	assert.Equal(t, []EventType{Overloaded, Overloaded, Overloaded, Overloaded, Recovered}, types)
	require.Len(t, details, 5)
	assert.True(t, strings.Contains(details[0], "complexity step 1: shared 3, own 3"), details[0])
	assert.True(t, strings.Contains(details[2], "max speakers now 2"), details[2])

	// NoStepDown sheds speakers at once, as before.
	c = newTestConference(t, ConferenceConfig{MaxSpeakers: 3, Complexity: ComplexityConfig{NoStepDown: true}})
	_, err := c.Join(ParticipantConfig{In: opf, Out: opf})
	require.NoError(t, err)
	c.Tick(0)
	over(3)
	assert.Equal(t, 1, c.Stats().Degraded)
	assert.Zero(t, c.Stats().Complexity.Step)
}

// TestSmallRoomTickAllocs: ticks of a four-party Opus room over SRTP
// allocate nothing while talkers take turns and overlap, silent mixes go
// out as DTX frames, and overload control changes the complexity.
func TestSmallRoomTickAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, mode := range []SilenceMode{SilenceFrames, ComfortNoise} {
		c := newTestConference(t, ConferenceConfig{Silence: mode})
		var speech []benchClip
		for _, name := range []string{"alice", "bob", "carol", "dave"} {
			speech = append(speech, encodeClip(t, opf, loadClip(t, name), 100))
		}
		silence := encodeClip(t, opf, make([]int16, 48000), 1)
		sink := &countSink{}
		var senders []*benchSender
		for i := range 4 {
			in, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
			out, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
			p, err := c.Join(ParticipantConfig{In: opf, InPayloadType: PT(111), Out: opf, OutPayloadType: PT(111),
				InAudioLevelID: levelExtID, InSRTP: &in, OutSRTP: &out, Sink: sink})
			require.NoError(t, err)
			prot, err := srtp.NewProtector(in)
			require.NoError(t, err)
			senders = append(senders, &benchSender{p: p, clip: &silence, ssrc: uint32(i + 1), pt: 111, step: 960,
				prot: prot, buf: make([]byte, 0, 1600), seq: uint16(i * 100)})
		}
		turns := turnSchedule(7, 4, 600)
		k := 0
		now := time.Duration(0)
		tick := func() {
			mask := turns[k%len(turns)]
			for i, s := range senders {
				s.clip = &silence
				if mask&(1<<i) != 0 {
					s.clip = &speech[i]
				}
				s.prepare(k)
				_ = s.p.WriteRTPAt(now, s.ready)
			}
			if k%50 == 25 {
				c.setComplexityStep((k / 50) % 3)
			}
			c.Tick(now)
			now += 20 * time.Millisecond
			k++
		}
		for range 200 {
			tick()
		}
		assert.Zero(t, testing.AllocsPerRun(400, tick), "mode %v", mode)
		assert.Positive(t, c.Stats().Complexity.SilentSkips, "silent mixes skipped the encoder")
	}
}

// BenchmarkSmallRoomsStepped is BenchmarkSmallRooms's turn-taking rooms
// with overload control's complexity steps held: what a loaded Engine
// worker carries once it has stepped its encoders down (step 1: both 3;
// step 2: both 1), before it sheds any speaker.
func BenchmarkSmallRoomsStepped(b *testing.B) {
	var speech []benchClip
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		speech = append(speech, encodeClip(b, opf, loadClip(b, name), 500))
	}
	silence := encodeClip(b, opf, make([]int16, 48000), 1)
	for _, step := range []int{1, 2} {
		b.Run(fmt.Sprintf("Opus/turns/rooms=50/step=%d", step), func(b *testing.B) {
			benchSmallRooms(b, 50, 4, false, speech, &silence, func(c *Conference) { c.setComplexityStep(step) })
		})
	}
}

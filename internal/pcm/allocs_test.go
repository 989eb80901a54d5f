package pcm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestZeroAllocs holds every kernel and both Limiter paths (pass-through
// and limiting, with and without own) to zero allocations per call.
func TestZeroAllocs(t *testing.T) {
	const n = 960
	src := sine(n, 30000, 440, 48000)
	own := sine(n, 20000, 300, 48000)
	acc := make([]int32, n)
	acc32 := make([]int32, n)
	dst := make([]int16, n)
	loud := fiveSines(n, 48000)
	var lim, lim2 Limiter
	tests := []struct {
		name string
		f    func()
	}{
		{"Add", func() { Add(acc, src) }},
		{"AddGain", func() { AddGain(acc, src, 3*Unity/2) }},
		{"AddRamp", func() { AddRamp(acc, src, 0, Unity) }},
		{"Gain", func() { Gain(dst, src, Unity/3) }},
		{"GainRamp", func() { GainRamp(dst, src, Unity, 0) }},
		{"Saturate", func() { Saturate(dst, acc) }},
		{"SubSaturate", func() { SubSaturate(dst, acc, own) }},
		{"SubInto", func() { SubInto(acc32, acc, acc32) }},
		{"Zero32", func() { Zero32(acc32) }},
		{"PeakAbs16", func() { PeakAbs16(src) }},
		{"PeakAbs32", func() { PeakAbs32(acc) }},
		{"Energy", func() { Energy(src) }},
		{"LevelDBov", func() { LevelDBov(src) }},
		{"Limiter pass-through", func() { lim.Process(dst, acc32, own, Unity) }},
		{"Limiter gain", func() { lim.Process(dst, acc32, nil, Unity/2) }},
		{"Limiter limiting with own", func() { lim2.Process(dst, loud, own, Unity) }},
		{"Limiter limiting without own", func() { lim2.Process(dst, loud, nil, 2*Unity) }},
		{"Limiter mute", func() { lim2.Process(dst, loud, nil, 0) }},
	}
	forEachLevel(func(level string) {
		for _, tt := range tests {
			t.Run(level+"/"+tt.name, func(t *testing.T) {
				assert.Zero(t, testing.AllocsPerRun(20, tt.f))
			})
		}
	})
}

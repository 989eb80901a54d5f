package pcm

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAddGainRounding(t *testing.T) {
	tests := []struct {
		name string
		src  int16
		gain int32
		want int32
	}{
		{"unity", -1234, Unity, -1234},
		{"mute", 32767, 0, 0},
		{"half of odd rounds half up", 3, Unity / 2, 2},
		{"half of negative odd rounds half up", -3, Unity / 2, -1},
		{"half of -1 is -0.5 → 0", -1, Unity / 2, 0},
		{"max gain full scale", 32767, MaxGain, 32767 * 16},
		{"max gain negative full scale", -32768, MaxGain, -32768 * 16},
		{"above max clamps", 1000, MaxGain + 12345, 16000},
		{"negative gain clamps to mute", 1000, -Unity, 0},
		{"smallest gain", 32767, 1, 0},
		{"3/4", 100, 3 * Unity / 4, 75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc := []int32{7}
			AddGain(acc, []int16{tt.src}, tt.gain)
			assert.Equal(t, 7+tt.want, acc[0])
		})
	}
}

func TestGainSaturates(t *testing.T) {
	tests := []struct {
		name string
		src  int16
		gain int32
		want int16
	}{
		{"unity copies", -32768, Unity, -32768},
		{"double saturates high", 20000, 2 * Unity, 32767},
		{"double saturates low", -20000, 2 * Unity, -32768},
		{"max gain of -1", -1, MaxGain, -16},
		{"mute", 5, 0, 0},
		{"half", 5, Unity / 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []int16{tt.src}
			dst := []int16{99}
			Gain(dst, src, tt.gain)
			assert.Equal(t, tt.want, dst[0])
			Gain(src, src, tt.gain) // in place
			assert.Equal(t, tt.want, src[0])
		})
	}
}

func TestRampEndpoints(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		g0, g1 int32
	}{
		{"fade in 20ms", 960, 0, Unity},
		{"fade out 20ms", 960, Unity, 0},
		{"boost", 160, Unity, MaxGain},
		{"two samples", 2, 0, Unity},
		{"one sample takes g1", 1, 0, Unity},
		{"odd length", 17, Unity / 3, Unity},
		{"60ms", 2880, MaxGain, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := make([]int16, tt.n)
			for i := range src {
				src[i] = 16384
			}
			acc := make([]int32, tt.n)
			AddRamp(acc, src, tt.g0, tt.g1)
			dst := make([]int16, tt.n)
			GainRamp(dst, src, tt.g0, tt.g1)
			at := func(g int32) int32 { return mulQ16(16384, g) }
			if tt.n > 1 {
				assert.Equal(t, at(tt.g0), acc[0], "first sample at g0")
			}
			assert.Equal(t, at(tt.g1), acc[tt.n-1], "last sample at g1")
			for i := 1; i < tt.n; i++ {
				if tt.g1 >= tt.g0 {
					assert.GreaterOrEqual(t, acc[i], acc[i-1], "monotone at %d", i)
				} else {
					assert.LessOrEqual(t, acc[i], acc[i-1], "monotone at %d", i)
				}
				assert.Equal(t, sat16(int64(acc[i])), dst[i], "GainRamp = saturated AddRamp at %d", i)
			}
			// Linear to within n/1024 Q16 units of gain (plus rounding).
			for i := 0; i < tt.n-1; i++ {
				exact := float64(tt.g0) + float64(tt.g1-tt.g0)*float64(i)/float64(tt.n-1)
				assert.InDelta(t, exact*16384/65536, float64(acc[i]), 1+float64(tt.n)/1024*16384/65536+0.5)
			}
		})
	}
}

func TestSaturateAndSubSaturate(t *testing.T) {
	tests := []struct {
		name string
		acc  int32
		own  int16
		want int16
	}{
		{"in range", 1000, 300, 700},
		{"high", 40000, 0, 32767},
		{"brought into range by own", 40000, 10000, 30000},
		{"low", -40000, 0, -32768},
		{"min acc minus min own", -32768, -32768, 0},
		{"max int32", math.MaxInt32, -32768, 32767},
		{"min int32 minus positive: no wrap", math.MinInt32, 32767, -32768},
		{"min int32 minus negative", math.MinInt32, -32768, -32768},
		{"max int32 minus positive", math.MaxInt32, 32767, 32767},
		{"edge 65535-32767", 65535, 32767, 32767},
		{"edge -65536+32767", -65536, -32768, -32768},
		{"edge -65535+32768", -65535, -32768, -32767},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachLevel(func(level string) {
				// Pad to a SIMD block so the fast path is used.
				acc := make([]int32, 16)
				own := make([]int16, 16)
				dst := make([]int16, 16)
				for i := range acc {
					acc[i], own[i] = tt.acc, tt.own
				}
				SubSaturate(dst, acc, own)
				assert.Equal(t, tt.want, dst[5], level)
				Saturate(dst, acc)
				assert.Equal(t, sat16(int64(tt.acc)), dst[5], level)
			})
		})
	}
}

func TestSubInto(t *testing.T) {
	acc := []int32{5, math.MinInt32, math.MaxInt32, 0}
	own := []int32{7, 1, -1, math.MinInt32}
	dst := make([]int32, 4)
	SubInto(dst, acc, own)
	assert.Equal(t, []int32{-2, math.MinInt32, math.MaxInt32, math.MaxInt32}, dst)
	SubInto(acc, acc, own) // in place
	assert.Equal(t, dst, acc)
}

func TestPeaksAndEnergy(t *testing.T) {
	assert.Equal(t, int32(0), PeakAbs16(nil))
	assert.Equal(t, int32(32768), PeakAbs16([]int16{5, -32768, 32767}))
	assert.Equal(t, int32(32767), PeakAbs16([]int16{5, -32767, 32767}))
	assert.Equal(t, int32(0), PeakAbs32(nil))
	assert.Equal(t, int32(math.MaxInt32), PeakAbs32([]int32{math.MinInt32}))
	assert.Equal(t, int32(70000), PeakAbs32([]int32{-70000, 69999}))
	assert.Equal(t, uint64(0), Energy(nil))
	assert.Equal(t, uint64(1<<30)*1000, Energy(make16(1000, -32768)))
	assert.Equal(t, uint64(25), Energy([]int16{3, -4}))
}

func make16(n int, v int16) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func square(n int, amp int16) []int16 {
	s := make([]int16, n)
	for i := range s {
		if i%2 == 0 {
			s[i] = amp
		} else {
			s[i] = -amp
		}
	}
	return s
}

func sine(n int, amp, freq, rate float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/rate)))
	}
	return s
}

func TestLevelDBov(t *testing.T) {
	one := make([]int16, 960)
	one[100] = -1
	tests := []struct {
		name string
		src  []int16
		want int
	}{
		{"full-scale square is 0 dBov", square(960, 32767), 0},
		{"most negative square is 0", make16(960, -32768), 0},
		{"full-scale sine is 3", sine(960, 32767, 1000, 48000), 3},
		{"square at -20 dB is 20", square(960, 3277), 20},
		{"square at -40 dB is 40", square(960, 328), 40},
		{"sine at -20 dBFS peak is 23", sine(960, 3277, 1000, 48000), 23},
		{"one LSB in a 20 ms frame", one, 120},
		{"digital silence is 127", make([]int16, 960), 127},
		{"empty is 127", nil, 127},
		{"below -127 dBov clamps to 127", append(make([]int16, 1<<20), 1), 127},
		{"PCMU frame size, square at -6 dB", square(160, 16422), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, LevelDBov(tt.src))
			assert.Equal(t, tt.want, DBov(Energy(tt.src), len(tt.src)))
		})
	}
	assert.Equal(t, 127, DBov(5, 0), "no samples")
}

func TestGainFromDB(t *testing.T) {
	tests := []struct {
		name string
		db   float64
		want int32
	}{
		{"0 dB is unity", 0, Unity},
		{"-6.0206 dB is half", -6.020599913, Unity / 2},
		{"+24 dB is just below max", 24, 1038676},
		{"+30 dB clamps", 30, MaxGain},
		{"-inf mutes", math.Inf(-1), 0},
		{"NaN mutes", math.NaN(), 0},
		{"-200 dB rounds to 0", -200, 0},
		{"+inf clamps", math.Inf(1), MaxGain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, GainFromDB(tt.db))
		})
	}
}

// TestShortAndNilSlices: every function processes min(len) and never
// panics on nil or mismatched slices.
func TestShortAndNilSlices(t *testing.T) {
	acc := []int32{1, 2, 3}
	src := []int16{10}
	assert.NotPanics(t, func() {
		Add(acc, src)
		AddGain(acc, nil, Unity)
		AddRamp(nil, src, 0, Unity)
		AddRamp(acc, src, 0, Unity)
		Gain(nil, src, 3)
		GainRamp(make([]int16, 2), src, 0, Unity)
		Saturate(nil, acc)
		SubSaturate(make([]int16, 5), acc, src)
		SubSaturate(make([]int16, 5), acc, nil)
		SubInto(make([]int32, 1), acc, nil)
		Zero32(nil)
		var l Limiter
		l.Process(make([]int16, 2), acc, src, Unity)
		l.Process(nil, acc, nil, Unity)
	})
	assert.Equal(t, []int32{10 + 1 + 10, 2, 3}, acc, "Add then AddRamp of one sample (at g1) touched only acc[0]")
}

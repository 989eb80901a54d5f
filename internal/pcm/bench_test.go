package pcm

import (
	"fmt"
	"math"
	"testing"

	"github.com/rtpmix/rtpmix/internal/wav"
)

// Kernel benchmarks: each kernel at 160 and 960 samples (20 ms at 8 and
// 48 kHz), the reference ("generic") beside each fast path this machine has
// ("sse2", "avx2"). SetBytes counts 2 bytes per sample (the int16 stream),
// so MB/s is twice the sample rate in Msamples/s for every kernel alike.
//
//	go test -run '^$' -bench 'Kernel|Limiter|MixMinus' -count 3 ./internal/pcm

type benchKernel struct {
	name    string
	generic func(n int) func()
	fast    func(n int) func()
}

type benchBufs struct {
	src, own, dst []int16
	acc, loud     []int32
}

func newBenchBufs(n int) *benchBufs {
	b := &benchBufs{
		src: sine(n, 20000, 440, 48000),
		own: sine(n, 9000, 300, 48000),
		dst: make([]int16, n),
		acc: make([]int32, n),
	}
	for i := range b.acc {
		b.acc[i] = int32(b.src[i]) + int32(b.own[i])
	}
	b.loud = fiveSines(n, 48000)
	return b
}

var benchKernels = []benchKernel{
	{"Add",
		func(n int) func() { b := newBenchBufs(n); return func() { addGeneric(b.acc, b.src) } },
		func(n int) func() { b := newBenchBufs(n); return func() { Add(b.acc, b.src) } }},
	{"AddGain",
		func(n int) func() { b := newBenchBufs(n); return func() { addGainGeneric(b.acc, b.src, 3*Unity/4) } },
		func(n int) func() { b := newBenchBufs(n); return func() { AddGain(b.acc, b.src, 3*Unity/4) } }},
	{"AddRamp",
		func(n int) func() {
			b := newBenchBufs(n)
			return func() { addRampGeneric(b.acc, b.src, 0, rampStep(0, Unity, n)) }
		},
		func(n int) func() { b := newBenchBufs(n); return func() { AddRamp(b.acc, b.src, 0, Unity) } }},
	{"Gain",
		func(n int) func() { b := newBenchBufs(n); return func() { gainGeneric(b.dst, b.src, 3*Unity/2) } },
		func(n int) func() { b := newBenchBufs(n); return func() { Gain(b.dst, b.src, 3*Unity/2) } }},
	{"GainRamp",
		func(n int) func() {
			b := newBenchBufs(n)
			return func() { gainRampGeneric(b.dst, b.src, Unity<<10, rampStep(Unity, 0, n)) }
		},
		func(n int) func() { b := newBenchBufs(n); return func() { GainRamp(b.dst, b.src, Unity, 0) } }},
	{"Saturate",
		func(n int) func() { b := newBenchBufs(n); return func() { saturateGeneric(b.dst, b.loud) } },
		func(n int) func() { b := newBenchBufs(n); return func() { Saturate(b.dst, b.loud) } }},
	{"SubSaturate",
		func(n int) func() { b := newBenchBufs(n); return func() { subSaturateGeneric(b.dst, b.acc, b.own) } },
		func(n int) func() { b := newBenchBufs(n); return func() { SubSaturate(b.dst, b.acc, b.own) } }},
	{"PeakAbs16",
		func(n int) func() { b := newBenchBufs(n); return func() { peakAbs16Generic(b.src) } },
		func(n int) func() { b := newBenchBufs(n); return func() { PeakAbs16(b.src) } }},
	{"PeakAbs32",
		func(n int) func() { b := newBenchBufs(n); return func() { peakAbs32Generic(b.loud) } },
		func(n int) func() { b := newBenchBufs(n); return func() { PeakAbs32(b.loud) } }},
	{"Energy",
		func(n int) func() { b := newBenchBufs(n); return func() { energyGeneric(b.src) } },
		func(n int) func() { b := newBenchBufs(n); return func() { Energy(b.src) } }},
	{"LevelDBov",
		func(n int) func() { b := newBenchBufs(n); return func() { DBov(energyGeneric(b.src), n) } },
		func(n int) func() { b := newBenchBufs(n); return func() { LevelDBov(b.src) } }},
	{"Zero32",
		func(n int) func() {
			b := newBenchBufs(n)
			return func() {
				for i := range b.acc {
					b.acc[i] = 0
				}
			}
		},
		func(n int) func() { b := newBenchBufs(n); return func() { Zero32(b.acc) } }},
	{"SubInto", // generic only: the fast path is the reference
		func(n int) func() { b := newBenchBufs(n); return func() { subIntoGeneric(b.loud, b.acc, b.loud) } },
		nil},
	{"LimiterPass", // unity, no overload: the SubSaturate fast path plus a peak check
		func(n int) func() {
			b := newBenchBufs(n)
			l := &Limiter{ref: true}
			return func() { l.Process(b.dst, b.acc, b.own, Unity) }
		},
		func(n int) func() {
			b := newBenchBufs(n)
			l := &Limiter{}
			return func() { l.Process(b.dst, b.acc, b.own, Unity) }
		}},
	{"LimiterGain", // constant non-unity gain, no overload
		func(n int) func() {
			b := newBenchBufs(n)
			l := &Limiter{ref: true}
			return func() { l.Process(b.dst, b.acc, b.own, Unity/2) }
		},
		func(n int) func() {
			b := newBenchBufs(n)
			l := &Limiter{}
			return func() { l.Process(b.dst, b.acc, b.own, Unity/2) }
		}},
	{"LimiterLimiting", // five full-scale sines: limiting in every block
		func(n int) func() {
			b := newBenchBufs(n)
			l := &Limiter{ref: true}
			return func() { l.Process(b.dst, b.loud, b.own, Unity) }
		},
		func(n int) func() {
			b := newBenchBufs(n)
			l := &Limiter{}
			return func() { l.Process(b.dst, b.loud, b.own, Unity) }
		}},
}

func BenchmarkKernel(b *testing.B) {
	for _, k := range benchKernels {
		for _, n := range []int{160, 960} {
			run := func(b *testing.B, f func()) {
				b.ReportAllocs()
				b.SetBytes(int64(2 * n))
				for b.Loop() {
					f()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/sample")
			}
			b.Run(fmt.Sprintf("%s/n=%d/generic", k.name, n), func(b *testing.B) { run(b, k.generic(n)) })
			if k.fast == nil {
				continue
			}
			forEachLevel(func(level string) {
				if level == "generic" {
					return
				}
				b.Run(fmt.Sprintf("%s/n=%d/%s", k.name, n, level), func(b *testing.B) { run(b, k.fast(n)) })
			})
		}
	}
}

// mixScene is one tick of an 8-party conference at 48 kHz with 3 speakers:
// each speaker hears the other two (its own mix-minus), the 5 listeners
// share one mix of all three. Sources are 8 frames of each speech clip,
// taken across the clip and cycled, so that they sit in cache as a
// decoder's output would rather than streaming megabytes from memory.
type mixScene struct {
	src     [3][8][]int16 // decoded speaker frames
	contrib [3][]int16    // each speaker's gain-ramped contribution
	acc     []int32
	out     [4][]int16 // 3 speakers' mixes + the listeners' shared mix
	lim     [4]Limiter
	pos     int
	g0, g1  int32 // every speaker's gain ramp in each tick
}

func loadScene(b *testing.B, g0, g1 int32) *mixScene {
	s := &mixScene{acc: make([]int32, 960), g0: g0, g1: g1}
	for i, name := range []string{"alice", "bob", "carol"} {
		a, err := wav.ReadFile("../../testdata/" + name + ".wav")
		if err != nil {
			b.Fatal(err)
		}
		for k := range s.src[i] {
			p := (len(a.Samples) - 960) * k / len(s.src[i])
			s.src[i][k] = a.Samples[p : p+960]
		}
		s.contrib[i] = make([]int16, 960)
	}
	for i := range s.out {
		s.out[i] = make([]int16, 960)
	}
	return s
}

// frame returns speaker i's frame for this tick.
func (s *mixScene) frame(i int) []int16 {
	return s.src[i][s.pos%len(s.src[i])]
}

// tickExact is the recommended sequence: GainRamp writes each speaker's
// exact contribution, Add sums it, Process subtracts it again, so no
// speaker hears any residue of itself.
func (s *mixScene) tickExact() {
	Zero32(s.acc)
	for i := range 3 {
		GainRamp(s.contrib[i], s.frame(i), s.g0, s.g1)
		Add(s.acc, s.contrib[i])
	}
	for i := range 3 {
		s.lim[i].Process(s.out[i], s.acc, s.contrib[i], Unity)
	}
	s.lim[3].Process(s.out[3], s.acc, nil, Unity)
	s.pos++
}

// tickAddRamp adds with AddRamp (one pass per speaker) and subtracts the
// raw decoded frame as own: exact only at unity speaker gain.
func (s *mixScene) tickAddRamp() {
	Zero32(s.acc)
	for i := range 3 {
		AddRamp(s.acc, s.frame(i), s.g0, s.g1)
	}
	for i := range 3 {
		s.lim[i].Process(s.out[i], s.acc, s.frame(i), Unity)
	}
	s.lim[3].Process(s.out[3], s.acc, nil, Unity)
	s.pos++
}

// tickGeneric is tickExact on the reference kernels.
func (s *mixScene) tickGeneric() {
	clear(s.acc)
	step := rampStep(s.g0, s.g1, 960)
	for i := range 3 {
		f, c := s.frame(i), s.contrib[i]
		gainRampGeneric(c[:959], f[:959], s.g0<<10, step)
		c[959] = sat16(int64(mulQ16(f[959], s.g1)))
		addGeneric(s.acc, c)
	}
	for i := range 4 {
		s.lim[i].ref = true
	}
	for i := range 3 {
		s.lim[i].Process(s.out[i], s.acc, s.contrib[i], Unity)
	}
	s.lim[3].Process(s.out[3], s.acc, nil, Unity)
	s.pos++
}

// tickNaive is the obvious alternative, one mixer per listener (as LiveKit
// and VoiceBlender do): each of the 8 participants sums everyone it hears in
// plain Go, clamping the sum.
func (s *mixScene) tickNaive() {
	var frames [3][]int16
	for i := range 3 {
		frames[i] = s.frame(i)
	}
	for p := range 8 {
		out := s.out[min(p, 3)]
		for j := range out {
			var v int32
			for i := range 3 {
				if i != p {
					v += int32(frames[i][j]) * s.g1 >> 16
				}
			}
			out[j] = int16(min(max(v, math.MinInt16), math.MaxInt16))
		}
	}
	s.pos++
}

// BenchmarkMixMinus is the DESIGN.md figure: one 20 ms tick of an 8-party,
// 3-speaker mix-minus at 48 kHz, all kernels included (not decoding or
// encoding). "speech" is three talkers at unity; "ramping" fades all three
// from half to unity gain in every tick, the most a speaker switch costs;
// "loud" puts them at +12 dB so the limiter works in every output.
func BenchmarkMixMinus(b *testing.B) {
	for _, sc := range []struct {
		name   string
		g0, g1 int32
	}{{"speech", Unity, Unity}, {"ramping", Unity / 2, Unity}, {"loud", 4 * Unity, 4 * Unity}} {
		for _, v := range []struct {
			name string
			tick func(*mixScene)
		}{
			{"exact", (*mixScene).tickExact},
			{"addramp", (*mixScene).tickAddRamp},
			{"generic", (*mixScene).tickGeneric},
			{"naive-per-listener", (*mixScene).tickNaive},
		} {
			b.Run(sc.name+"/"+v.name, func(b *testing.B) {
				s := loadScene(b, sc.g0, sc.g1)
				b.ReportAllocs()
				b.SetBytes(3 * 960 * 2) // speaker input per tick
				for b.Loop() {
					v.tick(s)
				}
				us := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1000
				b.ReportMetric(us, "µs/tick")
				b.ReportMetric(us/20000*100, "%realtime")
			})
		}
	}
}

package pcm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/archtest"
)

// TestActiveKernels proves which kernels this build runs: the generic ones
// under -tags noasm and on other architectures, with no assembly linked;
// AVX2 or SSE2 on amd64, as the CPU allows.
func TestActiveKernels(t *testing.T) {
	archtest.Check(t, "github.com/rtpmix/rtpmix/internal/pcm", asmBuild, activeKernels(), wantKernels())
}

// testLengths covers empty, shorter than one SIMD block, every tail length
// around the 8- and 16-sample blocks, and the frame sizes the mixer uses
// (10/20/40/60 ms at 8, 16, 24 and 48 kHz).
var testLengths = []int{0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47, 160, 161, 320, 480, 960, 1920, 2880}

// gen turns a byte stream (fuzz input) or a PRNG into test data. Values are
// drawn from a mix of uniform, extreme and boundary distributions so that
// saturation and rounding edges are hit often.
type gen struct {
	data []byte
	rng  *rand.Rand
}

func (g *gen) u32() uint32 {
	if len(g.data) >= 4 {
		v := uint32(g.data[0]) | uint32(g.data[1])<<8 | uint32(g.data[2])<<16 | uint32(g.data[3])<<24
		g.data = g.data[4:]
		return v
	}
	if g.rng != nil {
		return g.rng.Uint32()
	}
	// Fuzz data ran out: keep deterministic but varied.
	g.data = nil
	g.rng = rand.New(rand.NewPCG(0x9e3779b97f4a7c15, 1))
	return g.rng.Uint32()
}

func (g *gen) intn(n int) int { return int(g.u32() % uint32(n)) }

var edges16 = []int16{math.MinInt16, math.MinInt16 + 1, -1, 0, 1, math.MaxInt16 - 1, math.MaxInt16}

func (g *gen) s16() int16 {
	switch g.intn(8) {
	case 0:
		return edges16[g.intn(len(edges16))]
	case 1:
		return int16(g.intn(65)) - 32 // small values: rounding of tiny products
	default:
		return int16(g.u32())
	}
}

var edges32 = []int32{
	math.MinInt32, math.MinInt32 + 1, math.MinInt32 + 32767, math.MinInt32 + 32768,
	-65537, -65536, -65535, -32769, -32768, -32767, -1, 0, 1,
	32766, 32767, 32768, 65534, 65535, 65536, 65537,
	math.MaxInt32 - 32768, math.MaxInt32 - 32767, math.MaxInt32 - 1, math.MaxInt32,
}

func (g *gen) s32() int32 {
	switch g.intn(6) {
	case 0:
		return edges32[g.intn(len(edges32))]
	case 1: // a sum of up to 20 full-scale speakers
		var s int32
		for range 1 + g.intn(20) {
			s += int32(g.s16())
		}
		return s
	case 2: // around int16 range: the common mixer case
		return int32(g.intn(1<<18)) - 1<<17
	default:
		return int32(g.u32())
	}
}

var edgeGains = []int32{0, 1, 2, 32767, 32768, 32769, 65535, Unity, Unity + 1, 98304, 3 << 16, MaxGain - 1, MaxGain}

func (g *gen) gain() int32 {
	if g.intn(3) == 0 {
		return edgeGains[g.intn(len(edgeGains))]
	}
	return int32(g.intn(int(MaxGain) + 1))
}

// buffers returns slices of length n starting off elements into larger
// backing arrays (to exercise unaligned SIMD access), filled with data, and
// followed by canaries that no kernel may touch.
func (g *gen) buf16(n, off int) []int16 {
	b := make([]int16, off+n+4)
	for i := range b {
		b[i] = g.s16()
	}
	return b[off : off+n : off+n+4]
}

func (g *gen) buf32(n, off int) []int32 {
	b := make([]int32, off+n+4)
	for i := range b {
		b[i] = g.s32()
	}
	return b[off : off+n : off+n+4]
}

// kernelCase is one randomized comparison of a fast kernel with its
// reference; it returns a description of the first difference, or "".
type kernelCase struct {
	name string
	run  func(g *gen, n, off int) string
}

func diff16(what string, got, want []int16) string {
	for i := range want {
		if got[i] != want[i] {
			return fmt.Sprintf("%s[%d] = %d, reference %d", what, i, got[i], want[i])
		}
	}
	return ""
}

func diff32(what string, got, want []int32) string {
	for i := range want {
		if got[i] != want[i] {
			return fmt.Sprintf("%s[%d] = %d, reference %d", what, i, got[i], want[i])
		}
	}
	return ""
}

// check16 compares outputs including the canaries past the end.
func check16(got, want []int16) string {
	return diff16("dst", got[:cap(got)], want[:cap(want)])
}

func check32(got, want []int32) string {
	return diff32("acc", got[:cap(got)], want[:cap(want)])
}

func clone32(s []int32) []int32 {
	c := make([]int32, len(s), cap(s))
	copy(c[:cap(c)], s[:cap(s)])
	return c
}

func clone16(s []int16) []int16 {
	c := make([]int16, len(s), cap(s))
	copy(c[:cap(c)], s[:cap(s)])
	return c
}

// rampParams picks a ramp the way AddRamp does for an n+1 sample frame.
func rampParams(g *gen, n int) (gq, step int32) {
	g0, g1 := g.gain(), g.gain()
	return g0 << 10, rampStep(g0, g1, max(n, 1)+1)
}

// applyParams picks limiter gain-stage parameters: a start gain up to ×16
// and a step that keeps the ramp within [0, 16], or an arbitrary float.
func applyParams(g *gen, n int) (g0, step float32) {
	g0 = float32(g.u32()%(16<<16)) / float32(Unity)
	if g.intn(4) == 0 {
		return g0, 0
	}
	end := float32(g.u32()%(16<<16)) / float32(Unity)
	return g0, (end - g0) / float32(max(n, 1))
}

// testBlocks are limiter block sizes: multiples of 16 (AVX2 batch), of 8
// only (SSE2 batch), and neither (per-block fallback).
var testBlocks = []int{1, 7, 8, 16, 24, 44, 48, 72, 96}

var kernelCases = []kernelCase{
	{"add", func(g *gen, n, off int) string {
		acc, src := g.buf32(n, off), g.buf16(n, (off+1)%4)
		want := clone32(acc)
		addGeneric(want, src)
		add(acc, src)
		return check32(acc, want)
	}},
	{"addGain", func(g *gen, n, off int) string {
		acc, src, k := g.buf32(n, off), g.buf16(n, (off+3)%4), g.gain()
		want := clone32(acc)
		addGainGeneric(want, src, k)
		addGain(acc, src, k)
		return check32(acc, want)
	}},
	{"addRamp", func(g *gen, n, off int) string {
		acc, src := g.buf32(n, off), g.buf16(n, (off+2)%4)
		gq, step := rampParams(g, n)
		want := clone32(acc)
		addRampGeneric(want, src, gq, step)
		addRamp(acc, src, gq, step)
		return check32(acc, want)
	}},
	{"gain", func(g *gen, n, off int) string {
		dst, src, k := g.buf16(n, off), g.buf16(n, (off+1)%4), g.gain()
		want := clone16(dst)
		gainGeneric(want, src, k)
		gain16(dst, src, k)
		return check16(dst, want)
	}},
	{"gainRamp", func(g *gen, n, off int) string {
		dst, src := g.buf16(n, off), g.buf16(n, (off+1)%4)
		gq, step := rampParams(g, n)
		want := clone16(dst)
		gainRampGeneric(want, src, gq, step)
		gainRamp(dst, src, gq, step)
		return check16(dst, want)
	}},
	{"saturate", func(g *gen, n, off int) string {
		dst, acc := g.buf16(n, off), g.buf32(n, (off+3)%4)
		want := clone16(dst)
		saturateGeneric(want, acc)
		saturate(dst, acc)
		return check16(dst, want)
	}},
	{"subSaturate", func(g *gen, n, off int) string {
		dst, acc, own := g.buf16(n, off), g.buf32(n, (off+1)%4), g.buf16(n, (off+2)%4)
		want := clone16(dst)
		subSaturateGeneric(want, acc, own)
		subSaturate(dst, acc, own)
		return check16(dst, want)
	}},
	{"peakAbs16", func(g *gen, n, off int) string {
		src := g.buf16(n, off)
		if got, want := peakAbs16(src), peakAbs16Generic(src); got != want {
			return fmt.Sprintf("peakAbs16 = %d, reference %d", got, want)
		}
		return ""
	}},
	{"peakAbs32", func(g *gen, n, off int) string {
		src := g.buf32(n, off)
		if got, want := peakAbs32(src), peakAbs32Generic(src); got != want {
			return fmt.Sprintf("peakAbs32 = %d, reference %d", got, want)
		}
		return ""
	}},
	{"energy", func(g *gen, n, off int) string {
		src := g.buf16(n, off)
		if got, want := energy(src), energyGeneric(src); got != want {
			return fmt.Sprintf("energy = %d, reference %d", got, want)
		}
		return ""
	}},
	{"peakF", func(g *gen, n, off int) string {
		acc, own := g.buf32(n, off), g.buf16(n, (off+1)%4)
		if g.intn(2) == 0 {
			own = nil
		}
		if got, want := peakF(acc, own), peakFGeneric(acc, own); got != want {
			return fmt.Sprintf("peakF(own nil %v) = %g, reference %g", own == nil, got, want)
		}
		return ""
	}},
	{"blockPeaksF", func(g *gen, n, off int) string {
		block := testBlocks[g.intn(len(testBlocks))]
		nb := min(n/block, maxBatch)
		acc, own := g.buf32(nb*block, off), g.buf16(nb*block, (off+1)%4)
		if g.intn(2) == 0 {
			own = nil
		}
		got, want := make([]float32, nb), make([]float32, nb)
		blockPeaksFGeneric(want, acc, own, block)
		blockPeaksF(got, acc, own, block)
		for j := range want {
			if got[j] != want[j] {
				return fmt.Sprintf("block %d of %d (size %d, own nil %v) = %g, reference %g", j, nb, block, own == nil, got[j], want[j])
			}
		}
		return ""
	}},
	{"applyBlocksF", func(g *gen, n, off int) string {
		block := testBlocks[g.intn(len(testBlocks))]
		nb := min(n/block, maxBatch)
		dst, acc, own := g.buf16(nb*block, off), g.buf32(nb*block, (off+1)%4), g.buf16(nb*block, (off+3)%4)
		if g.intn(2) == 0 {
			own = nil
		}
		g0s, steps := make([]float32, nb), make([]float32, nb)
		for j := range g0s {
			g0s[j], steps[j] = applyParams(g, block)
		}
		want := clone16(dst)
		applyBlocksFGeneric(want, acc, own, block, g0s, steps)
		applyBlocksF(dst, acc, own, block, g0s, steps)
		if d := check16(dst, want); d != "" {
			return fmt.Sprintf("block %d, own nil %v: %s", block, own == nil, d)
		}
		return ""
	}},
	{"applyF", func(g *gen, n, off int) string {
		dst, acc, own := g.buf16(n, off), g.buf32(n, (off+1)%4), g.buf16(n, (off+3)%4)
		if g.intn(2) == 0 {
			own = nil
		}
		g0, step := applyParams(g, n)
		want := clone16(dst)
		applyFGeneric(want, acc, own, g0, step, 0)
		applyF(dst, acc, own, g0, step)
		if d := check16(dst, want); d != "" {
			return fmt.Sprintf("own nil %v g0 %g step %g: %s", own == nil, g0, step, d)
		}
		return ""
	}},
}

// TestKernelsMatchReference runs every fast kernel against its reference on
// random data at every test length and four offsets, on every fast path the
// machine has.
func TestKernelsMatchReference(t *testing.T) {
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	forEachLevel(func(level string) {
		for _, kc := range kernelCases {
			t.Run(level+"/"+kc.name, func(t *testing.T) {
				g := &gen{rng: rand.New(rand.NewPCG(uint64(len(kc.name)), 7))}
				for _, n := range testLengths {
					for off := range 4 {
						for r := range rounds {
							if d := kc.run(g, n, off); d != "" {
								t.Fatalf("n=%d off=%d round %d: %s", n, off, r, d)
							}
						}
					}
				}
			})
		}
	})
}

// TestKernelsExtremes feeds constant extreme inputs, which random data
// rarely produces over a whole vector: all -32768 (PMADDWD's one overflow
// case), all 32767, MinInt32 / MaxInt32 accumulators, and the sum of 20
// full-scale speakers.
func TestKernelsExtremes(t *testing.T) {
	const n = 960 + 13
	fills16 := []int16{math.MinInt16, math.MaxInt16, -1, 1}
	fills32 := []int32{math.MinInt32, math.MaxInt32, 20 * math.MaxInt16, 20 * math.MinInt16, 65535, -65536, 32767, -32768}
	forEachLevel(func(level string) {
		for _, s := range fills16 {
			for _, a := range fills32 {
				for _, k := range []int32{0, Unity, MaxGain, Unity/2 + 1} {
					t.Run(fmt.Sprintf("%s/src=%d/acc=%d/gain=%d", level, s, a, k), func(t *testing.T) {
						src := slices.Repeat([]int16{s}, n)
						acc := slices.Repeat([]int32{a}, n)
						own := slices.Repeat([]int16{-s}, n)

						want32, got32 := clone32(acc), clone32(acc)
						addGainGeneric(want32, src, k)
						addGain(got32, src, k)
						assert.Empty(t, diff32("addGain", got32, want32))

						addRampGeneric(want32, src, k<<10, rampStep(k, MaxGain-k, n+1))
						addRamp(got32, src, k<<10, rampStep(k, MaxGain-k, n+1))
						assert.Empty(t, diff32("addRamp", got32, want32))

						want16, got16 := make([]int16, n), make([]int16, n)
						gainGeneric(want16, src, k)
						gain16(got16, src, k)
						assert.Empty(t, diff16("gain", got16, want16))

						subSaturateGeneric(want16, acc, own)
						subSaturate(got16, acc, own)
						assert.Empty(t, diff16("subSaturate", got16, want16))

						saturateGeneric(want16, acc)
						saturate(got16, acc)
						assert.Empty(t, diff16("saturate", got16, want16))

						g0 := float32(k) / float32(Unity)
						applyFGeneric(want16, acc, own, g0, 0, 0)
						applyF(got16, acc, own, g0, 0)
						assert.Empty(t, diff16("applyF", got16, want16))

						assert.Equal(t, energyGeneric(src), energy(src))
						assert.Equal(t, peakAbs16Generic(src), peakAbs16(src))
						assert.Equal(t, peakAbs32Generic(acc), peakAbs32(acc))
						assert.Equal(t, peakFGeneric(acc, own), peakF(acc, own))
						assert.Equal(t, peakFGeneric(acc, nil), peakF(acc, nil))
					})
				}
			}
		}
	})
}

// TestExportedMatchModel checks the exported functions, which run the fast
// path, against a straightforward int64 model of their documented formulas,
// including n = min(lengths) and untouched elements past n.
func TestExportedMatchModel(t *testing.T) {
	g := &gen{rng: rand.New(rand.NewPCG(5, 5))}
	forEachLevel(func(level string) {
		for _, n := range testLengths {
			t.Run(fmt.Sprintf("%s/n=%d", level, n), func(t *testing.T) {
				for range 4 {
					src := g.buf16(n, 1)
					short := src[:n/2] // shorter input limits n
					acc := g.buf32(n, 2)
					k0, k1 := g.gain(), g.gain()

					m := clone32(acc)
					for i := range n {
						m[i] += int32((int64(src[i])*int64(k0) + 1<<15) >> 16)
					}
					got := clone32(acc)
					AddGain(got, src, k0)
					require.Empty(t, check32(got, m), "AddGain")

					m = clone32(acc)
					for i := range n / 2 {
						m[i] += int32(src[i])
					}
					got = clone32(acc)
					Add(got, short)
					require.Empty(t, check32(got, m), "Add with a shorter src")

					m = clone32(acc)
					m16 := make([]int16, n, n+4)
					for i := range n {
						gi := k1
						if i < n-1 {
							gi = rampModel(k0, k1, i, n)
						}
						v := (int64(src[i])*int64(gi) + 1<<15) >> 16
						m[i] += int32(v)
						m16[i] = sat16(v)
					}
					got = clone32(acc)
					AddRamp(got, src, k0, k1)
					require.Empty(t, check32(got, m), "AddRamp %d→%d", k0, k1)
					got16 := make([]int16, n, n+4)
					GainRamp(got16, src, k0, k1)
					require.Empty(t, check16(got16, m16), "GainRamp %d→%d", k0, k1)

					for i := range n {
						m16[i] = sat16((int64(src[i])*int64(k1) + 1<<15) >> 16)
					}
					Gain(got16, src, k1)
					require.Empty(t, check16(got16, m16), "Gain %d", k1)

					own := g.buf16(n, 3)
					for i := range n {
						m16[i] = sat16(int64(acc[i]) - int64(own[i]))
					}
					SubSaturate(got16, acc, own)
					require.Empty(t, check16(got16, m16), "SubSaturate")
				}
			})
		}
	})
}

// rampModel is AddRamp's documented gain for sample i < n-1, in int64.
func rampModel(g0, g1 int32, i, n int) int32 {
	step := (int64(g1-g0) << 10) / int64(n-1)
	return int32((int64(g0)<<10 + int64(i)*step) >> 10)
}

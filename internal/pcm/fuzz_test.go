package pcm

import (
	"encoding/binary"
	"math"
	"testing"
)

// fuzzSeeds are frames that matter to the mixer: silence, speech-like sine,
// full-scale extremes, and random bytes. The first two bytes pick the
// length (mod 3000, so up to 60 ms at 48 kHz) and offset.
func fuzzSeeds(f *testing.F) {
	frame := func(n, off int, fill func(i int) int16) []byte {
		b := []byte{byte(n), byte(n >> 8), byte(off)}
		for i := range 4 * n {
			b = binary.LittleEndian.AppendUint16(b, uint16(fill(i)))
		}
		return b
	}
	f.Add(frame(960, 0, func(int) int16 { return 0 }))
	f.Add(frame(160, 1, func(i int) int16 { return int16(20000 * math.Sin(float64(i)/7)) }))
	f.Add(frame(15, 3, func(i int) int16 { return []int16{math.MinInt16, math.MaxInt16}[i%2] }))
	f.Add(frame(7, 2, func(int) int16 { return math.MinInt16 }))
	f.Add(frame(320, 0, func(i int) int16 { return int16(i * 7919) }))
	f.Add([]byte{0xff, 0x0b, 1, 2, 3})
}

// FuzzKernels compares every fast kernel with its reference on inputs the
// fuzzer derives, at the length and offset it picks, on every fast path.
func FuzzKernels(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 3 {
			return
		}
		n := int(binary.LittleEndian.Uint16(data)) % 3000
		off := int(data[2]) % 4
		forEachLevel(func(level string) {
			for _, kc := range kernelCases {
				g := &gen{data: data[3:]}
				if d := kc.run(g, n, off); d != "" {
					t.Fatalf("%s %s n=%d off=%d: %s", level, kc.name, n, off, d)
				}
			}
		})
	})
}

// FuzzLimiter drives a fast and a reference Limiter through frames the
// fuzzer derives (any levels, gains, own or not, any lengths) and checks
// that they agree exactly, that no output changes sign against its input
// (no wraparound), and that the envelope stays within (0, 1].
func FuzzLimiter(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		forEachLevel(func(level string) {
			g := &gen{data: data}
			fast, ref := &Limiter{}, &Limiter{ref: true}
			if c := g.intn(len(limiterTestConfigs) + 1); c > 0 {
				l, err := NewLimiter(limiterTestConfigs[c-1])
				if err != nil {
					t.Fatal(err)
				}
				fast, ref = l, new(Limiter)
				*ref = *l
				ref.ref = true
			}
			for frame := range 8 {
				n := testLengths[g.intn(len(testLengths))]
				acc := g.buf32(n, 0)
				own := g.buf16(n, 0)
				if g.intn(3) == 0 {
					own = nil
				}
				k := g.gain()
				got, want := make([]int16, n), make([]int16, n)
				fast.Process(got, acc, own, k)
				ref.Process(want, acc, own, k)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s frame %d n=%d gain=%d: out[%d] = %d, reference %d", level, frame, n, k, i, got[i], want[i])
					}
					x := int64(acc[i])
					if own != nil {
						x -= int64(own[i])
					}
					if y := got[i]; y != 0 && (y > 0) != (x > 0) {
						t.Fatalf("%s frame %d: input %d gave %d: wrapped", level, frame, x, y)
					}
				}
				if fast.env != ref.env || (fast.ready && !(fast.env > 0 && fast.env <= 1)) {
					t.Fatalf("%s frame %d: envelope %v, reference %v", level, frame, fast.env, ref.env)
				}
			}
		})
	})
}

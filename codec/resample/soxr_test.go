//go:build soxr

package resample

import (
	"fmt"
	"testing"

	"github.com/rtpmix/rtpmix/codec/resample/internal/soxrcmp"
	"github.com/stretchr/testify/require"
)

// TestSoxrQuality measures libsoxr's recipes with the same tone sweep as
// TestQuality and logs them beside this package's figures. It asserts
// nothing about libsoxr: it is a comparison, run by hand (see doc.go).
func TestSoxrQuality(t *testing.T) {
	for _, p := range benchPairs {
		res := measureTones(t, p, 170, func() (frameResampler, error) { return New(p.in, p.out, 1) })
		t.Logf("%-8s rtpmix     ripple %+.4f..%+.4f dB  stopband ≥ %5.1f dB", p, res.passMin, res.passMax, res.stopMin)
		for _, q := range []string{"LQ", "MQ", "HQ"} {
			res := measureTones(t, p, 170, func() (frameResampler, error) { return soxrcmp.New(p.in, p.out, 1, q) })
			t.Logf("%-8s soxr %s    ripple %+.4f..%+.4f dB  stopband ≥ %5.1f dB", p, q, res.passMin, res.passMax, res.stopMin)
		}
	}
}

// BenchmarkSoxr runs libsoxr on the same 20 ms frames as BenchmarkProcess.
func BenchmarkSoxr(b *testing.B) {
	for _, p := range benchPairs {
		for _, q := range []string{"LQ", "MQ", "HQ"} {
			b.Run(fmt.Sprintf("%s/%s", p, q), func(b *testing.B) {
				r, err := soxrcmp.New(p.in, p.out, 1, q)
				require.NoError(b, err)
				defer r.Close()
				src := speech(b, p.in/50)
				dst := make([]int16, 0, p.out/50+64)
				b.SetBytes(int64(2 * len(src)))
				benchFrames(b, func() { dst = r.Process(dst, src) })
			})
		}
	}
}

package tsm

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestZeroAllocs holds every method to zero allocations per call, on each
// path a change can take (pitch splice, silent splice, decline), at every
// rate. The stats show each path really ran.
func TestZeroAllocs(t *testing.T) {
	for _, rate := range rates {
		t.Run(strconv.Itoa(rate), func(t *testing.T) {
			x := voicedClip(t, "carol", rate)
			noise := lcgNoise(rate, 10000, 5)
			fr := rate / 50
			out := make([]int16, fr)
			f := newFIFO(t, rate)
			pos := 0
			next := func(src []int16) []int16 {
				if pos+fr > len(src) {
					pos = 0
				}
				pos += fr
				return src[pos-fr : pos]
			}
			var st Stats
			tests := []struct {
				name  string
				run   func()
				check func(before, after Stats) bool
			}{
				{"Write+Read", func() { f.Write(next(x)); f.Read(out) }, nil},
				{"AvailableBuffer+Write", func() {
					b := append(f.AvailableBuffer(), next(x)...)
					f.Write(b)
					f.Read(out)
				}, nil},
				{"WriteZeros+Discard", func() { f.WriteZeros(fr); f.Discard(fr) }, nil},
				{"pitch splices", func() {
					f.Write(next(x))
					f.Shorten(fr / 2)
					f.Write(next(x))
					f.Lengthen(fr / 2)
					f.Read(out)
					f.Read(out)
				}, func(b, a Stats) bool { return a.PitchSplices > b.PitchSplices }},
				{"silent splices", func() {
					f.WriteZeros(fr)
					f.Shorten(fr / 2)
					f.Lengthen(fr / 2)
					f.Read(out)
				}, func(b, a Stats) bool { return a.SilentSplices > b.SilentSplices }},
				{"declined", func() {
					f.Write(next(noise))
					f.Shorten(fr / 2)
					f.Lengthen(fr / 2)
					f.Read(out)
				}, func(b, a Stats) bool { return a.Declined > b.Declined }},
				{"Stats+Len+Reset", func() { st = f.Stats(); _ = f.Len() + f.Available(); f.Reset() }, nil},
			}
			for _, tt := range tests {
				f.Reset()
				f.Write(next(x))
				f.Read(out)
				before := f.Stats()
				assert.Zero(t, testing.AllocsPerRun(100, tt.run), tt.name)
				if tt.check != nil {
					require.True(t, tt.check(before, f.Stats()), "%s: the path ran: %+v", tt.name, f.Stats())
				}
			}
			_ = st
		})
	}
}

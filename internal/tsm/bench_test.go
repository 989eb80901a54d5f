package tsm

import (
	"strconv"
	"testing"
)

// BenchmarkFrame runs what the mixer does for one decoded speaker per
// 20 ms tick: write the decoded frame, ask for a change, read the tick.
// The clip loops; shortening writes an extra frame whenever less than two
// are pending (as a mixer pops ahead when the buffer runs long), and
// lengthening reads an extra one whenever more than three are. ns/op is
// per 20 ms frame; MB/s counts the frame's 16-bit samples.
func BenchmarkFrame(b *testing.B) {
	for _, rate := range []int{16000, 48000} {
		for _, mode := range []string{"none", "shorten", "lengthen", "alternate"} {
			b.Run(strconv.Itoa(rate/1000)+"kHz/"+mode, func(b *testing.B) {
				x := clip(b, "alice", rate)
				f := newFIFO(b, rate)
				fr := rate / 50
				out := make([]int16, fr)
				req := rate * 10 / 1000
				pos := 0
				write := func() {
					if pos+fr > len(x) {
						pos = 0
					}
					f.Write(x[pos : pos+fr])
					pos += fr
				}
				b.SetBytes(int64(2 * fr))
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					write()
					switch mode {
					case "shorten":
						if f.Len() < 2*fr {
							write()
						}
						f.Shorten(min(req, f.Len()-fr))
					case "lengthen":
						f.Lengthen(req)
						if f.Len() > 3*fr {
							f.Read(out)
						}
					case "alternate":
						if i%2 == 0 {
							f.Shorten(req)
						} else {
							f.Lengthen(req)
						}
					}
					f.Read(out)
				}
			})
		}
	}
}

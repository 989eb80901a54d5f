package tsm

import (
	"strconv"
	"testing"

	"github.com/rtpmix/rtpmix/internal/cputime"
)

// measure starts timing the loop and returns the function that ends it,
// which reports, where the OS tells it, the thread's CPU µs per op (per
// 20 ms frame in BenchmarkFrame): what the work costs when other
// processes share the cores, beside ns/op's wall time.
func measure(b *testing.B) func() {
	stop := cputime.Bench(b)
	return func() {
		cpu := stop()
		b.StopTimer()
		if cputime.Available {
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
		}
	}
}

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
				done := measure(b)
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
				done()
			})
		}
	}
}

// BenchmarkChange times one Shorten or Lengthen call alone, on a FIFO
// holding 30 ms of history and one 20 ms frame, restored before every
// call (a copy of 50 ms, included): a voiced frame (the pitch search and
// splice), digital silence (a silent splice) and loud noise (searched and
// declined, the dearest refusal). The frame is the most periodic one of
// the clip's most voiced second; MB/s counts the frame's bytes.
func BenchmarkChange(b *testing.B) {
	for _, rate := range []int{16000, 48000} {
		ms := rate / 1000
		x := voicedClip(b, "bob", rate)
		voiced := x[len(x)/2-30*ms : len(x)/2+20*ms]
		cases := []struct {
			name  string
			audio []int16
			o     op
			want  func(Stats) uint64
		}{
			{"voiced/shorten", voiced, shorten, func(s Stats) uint64 { return s.PitchSplices }},
			{"voiced/lengthen", voiced, lengthen, func(s Stats) uint64 { return s.PitchSplices }},
			{"silence/shorten", make([]int16, 50*ms), shorten, func(s Stats) uint64 { return s.SilentSplices }},
			{"noise/declined", lcgNoise(50*ms, 10000, 9), shorten, func(s Stats) uint64 { return s.Declined }},
		}
		for _, c := range cases {
			b.Run(strconv.Itoa(rate/1000)+"kHz/"+c.name, func(b *testing.B) {
				f := newFIFO(b, rate)
				restore := func() {
					f.start, f.end, f.hist = 30*ms, 50*ms, 30*ms
					copy(f.buf, c.audio)
				}
				f.Write(c.audio) // the background estimate, as in use
				b.SetBytes(int64(2 * 20 * ms))
				b.ReportAllocs()
				done := measure(b)
				for range b.N {
					restore()
					if c.o == shorten {
						f.Shorten(15 * ms)
					} else {
						f.Lengthen(15 * ms)
					}
				}
				done()
				if c.want(f.Stats()) == 0 {
					b.Fatalf("the %s path did not run: %+v", c.name, f.Stats())
				}
			})
		}
	}
}

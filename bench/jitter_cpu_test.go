package bench

import (
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/internal/cputime"
	"github.com/rtpmix/rtpmix/jitter"
)

// BenchmarkJitterPushPopCPU is jitter's BenchmarkPushPop/stretch (one
// packet pushed and the 20 ms tick's frames popped per op, time-scaling
// as the buffer asks) reporting the thread's CPU time per op beside the
// wall time: the jitter push+pop figure, steady on a shared
// machine, for comparing commits in one run.
func BenchmarkJitterPushPopCPU(b *testing.B) {
	const payload = 160
	jb, err := jitter.New(jitter.Config{ClockRate: 8000})
	if err != nil {
		b.Fatal(err)
	}
	p := &jitter.Packet{SSRC: 1, AudioLevel: -1, Payload: make([]byte, payload)}
	b.ReportAllocs()
	const tick = 160 * time.Second / 8000
	var carry time.Duration
	stop := cputime.Bench(b)
	for i := 0; i < b.N; i++ {
		now := time.Duration(i) * tick
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i)*160
		_ = jb.Push(now, p)
		have := carry
		for have < tick {
			f := jb.Pop(now)
			if f.Kind == jitter.KindEmpty {
				have = tick
				break
			}
			have += time.Duration(f.Duration) * time.Second / 8000
			if f.Stretch != 0 {
				a := f.Stretch / (time.Second / 8000) * (time.Second / 8000)
				jb.Stretched(a)
				have += a
			}
		}
		carry = have - tick
	}
	cpu := stop()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

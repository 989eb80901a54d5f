package g722

import (
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/cputime"
)

const benchFrame = 320 // 20 ms at 16 kHz

// benchFrames returns 64 consecutive 20 ms frames of the ITU's speech, so
// that the quantizers see realistic, varying levels.
func benchFrames(b *testing.B) [][]int16 {
	speech := ituSpeech()
	frames := make([][]int16, 64)
	for i := range frames {
		frames[i] = speech[8000+i*benchFrame : 8000+(i+1)*benchFrame]
	}
	return frames
}

func reportFrame(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

// cpuClock measures the process's CPU time (user + system) across a
// benchmark loop. On a shared machine wall time counts the time other
// processes hold the core; CPU time does not, so "cpu-ns/frame" compares
// implementations more steadily (what the loop itself costs, with caches
// still shared).
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{cputime.Process()} }

func (c cpuClock) report(b *testing.B) {
	if d := cputime.Process() - c.start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/frame")
	}
}

// BenchmarkEncode encodes 20 ms frames, the package's code against the
// textbook one (reference_test.go); SetBytes counts the 16-bit PCM
// consumed.
func BenchmarkEncode(b *testing.B) {
	frames := benchFrames(b)
	b.Run("fast", func(b *testing.B) {
		enc, err := NewEncoder(codec.Config{})
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]byte, 0, benchFrame/2)
		b.SetBytes(2 * benchFrame)
		b.ReportAllocs()
		cpu := startCPU()
		for i := 0; b.Loop(); i++ {
			dst, _ = enc.Encode(dst, frames[i&63])
		}
		cpu.report(b)
		reportFrame(b)
	})
	b.Run("reference", func(b *testing.B) {
		ref := newRefCodec(1)
		dst := make([]byte, 0, benchFrame/2)
		b.SetBytes(2 * benchFrame)
		b.ReportAllocs()
		cpu := startCPU()
		for i := 0; b.Loop(); i++ {
			dst = ref.encode(dst[:0], frames[i&63])
		}
		cpu.report(b)
		reportFrame(b)
	})
}

// BenchmarkDecode decodes 160-byte payloads (20 ms); SetBytes counts the
// 16-bit PCM produced.
func BenchmarkDecode(b *testing.B) {
	frames := benchFrames(b)
	enc, err := NewEncoder(codec.Config{})
	if err != nil {
		b.Fatal(err)
	}
	payloads := make([][]byte, len(frames))
	for i, f := range frames {
		payloads[i], _ = enc.Encode(nil, f)
	}
	b.Run("fast", func(b *testing.B) {
		dec, err := NewDecoder(codec.Config{})
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]int16, 0, benchFrame)
		b.SetBytes(2 * benchFrame)
		b.ReportAllocs()
		cpu := startCPU()
		for i := 0; b.Loop(); i++ {
			dst, _ = dec.Decode(dst, payloads[i&63])
		}
		cpu.report(b)
		reportFrame(b)
	})
	b.Run("reference", func(b *testing.B) {
		ref := newRefCodec(1)
		dst := make([]int16, 0, benchFrame)
		b.SetBytes(2 * benchFrame)
		b.ReportAllocs()
		cpu := startCPU()
		for i := 0; b.Loop(); i++ {
			dst = ref.decode(dst[:0], payloads[i&63])
		}
		cpu.report(b)
		reportFrame(b)
	})
}

// BenchmarkConceal measures loss: "20ms" is a frame decoded then one lost
// (the loss's start includes the pitch search), "60ms" a frame decoded then
// three lost, the most that is not silence.
func BenchmarkConceal(b *testing.B) {
	frames := benchFrames(b)
	enc, err := NewEncoder(codec.Config{})
	if err != nil {
		b.Fatal(err)
	}
	payload, _ := enc.Encode(nil, frames[10])
	for _, lost := range []int{1, 3} {
		b.Run([...]string{1: "20ms", 3: "60ms"}[lost], func(b *testing.B) {
			dec, err := NewDecoder(codec.Config{})
			if err != nil {
				b.Fatal(err)
			}
			pcm := make([]int16, 0, benchFrame)
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				pcm, _ = dec.Decode(pcm, payload)
				for range lost {
					pcm, _ = dec.Conceal(pcm, benchFrame)
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkKernels splits a 20 ms frame's work into its parts, per frame:
// each QMF over 160 pairs, the predictor adaptation of both bands for 160
// codes (320 updates), and the lower band's quantizer for 160 samples.
func BenchmarkKernels(b *testing.B) {
	speech := ituSpeech()[8000:]
	var x [qmfHist + 2*chunk]int16
	copy(x[:], speech)
	var xl, xh [chunk]int32
	codes := encodeAll(b, speech[:2*benchFrame/2])
	b.Run("analyze", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			analyze(xl[:], xh[:], x[:], benchFrame/2)
		}
		cpu.report(b)
	})
	b.Run("synthesize", func(b *testing.B) {
		out := make([]int16, benchFrame)
		cpu := startCPU()
		for b.Loop() {
			synthesize(out, x[:], benchFrame/2)
		}
		cpu.report(b)
	})
	b.Run("update", func(b *testing.B) {
		var lo, hi band
		lo.reset(detLowReset)
		hi.reset(detHighReset)
		cpu := startCPU()
		for b.Loop() {
			for _, c := range codes {
				lo.update((lo.det * lowDLT[c&63]) >> 15)
				lo.adaptLow(c)
				hi.update((hi.det * highDH[c>>6]) >> 15)
				hi.adaptHigh(c >> 6)
			}
		}
		cpu.report(b)
	})
	b.Run("quantLow", func(b *testing.B) {
		var sum byte
		cpu := startCPU()
		for b.Loop() {
			for i, v := range speech[:benchFrame/2] {
				sum += quantLow(int32(v), uint32(i))
			}
		}
		cpu.report(b)
		if sum == 1 {
			b.Log(sum) // keeps the loop from being optimised away
		}
	})
}

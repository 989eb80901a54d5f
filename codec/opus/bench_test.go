//go:build cgo

package opus

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/cputime"
	hraban "gopkg.in/hraban/opus.v2"
)

// The benchmarks run the same speech frames (alice, 20 ms, VoIP, 32 kbit/s,
// libopus's default complexity) through this package and through
// gopkg.in/hraban/opus.v2 directly, so the wrapper's overhead shows side by
// side. µs/frame is wall time; cpu-µs/frame is the thread's CPU time, the
// steadier figure on a shared machine. BenchmarkOverhead gives the overhead
// in percent from interleaved calls.

var benchRates = []int{48000, 16000}

const benchFrames = 200 // 4 s of alice, cycled

func benchPCM(b *testing.B, rate int) [][]int16 {
	pcm := clip(b, rate)
	fs := rate / 50
	return frames(pcm[:benchFrames*fs], fs)
}

func benchPackets(b *testing.B, rate int) [][]byte {
	e := mustEncoder(b, codec.Config{SampleRate: rate, Bitrate: 32000})
	var pkts [][]byte
	for _, f := range benchPCM(b, rate) {
		p, err := e.Encode(nil, f)
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	return pkts
}

// measure pins the benchmark to its OS thread and returns a func that
// reports µs/frame of wall time and, where the OS tells, cpu-µs/frame: the
// thread's CPU time, which load from other processes does not inflate.
// Call it after setup; call the result after the loop.
func measure(b *testing.B) func() {
	stop := cputime.Bench(b)
	return func() {
		cpu := stop()
		n := float64(b.N)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/n, "µs/frame")
		if cputime.Available {
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/n, "cpu-µs/frame")
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, rate := range benchRates {
		in := benchPCM(b, rate)
		b.Run(fmt.Sprintf("%dkHz/rtpmix", rate/1000), func(b *testing.B) {
			e := mustEncoder(b, codec.Config{SampleRate: rate, Bitrate: 32000})
			dst := make([]byte, 0, MaxPacketSize)
			b.SetBytes(int64(2 * len(in[0])))
			b.ReportAllocs()
			done := measure(b)
			for i := 0; i < b.N; i++ {
				var err error
				if dst, err = e.Encode(dst, in[i%benchFrames]); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
		b.Run(fmt.Sprintf("%dkHz/hraban", rate/1000), func(b *testing.B) {
			e, err := hraban.NewEncoder(rate, 1, hraban.AppVoIP)
			if err != nil {
				b.Fatal(err)
			}
			if err := e.SetBitrate(32000); err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, MaxPacketSize)
			b.SetBytes(int64(2 * len(in[0])))
			b.ReportAllocs()
			done := measure(b)
			for i := 0; i < b.N; i++ {
				if _, err := e.Encode(in[i%benchFrames], dst); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, rate := range benchRates {
		pkts := benchPackets(b, rate)
		fs := rate / 50
		b.Run(fmt.Sprintf("%dkHz/rtpmix", rate/1000), func(b *testing.B) {
			d := mustDecoder(b, codec.Config{SampleRate: rate})
			out := make([]int16, 0, d.MaxPCMLen())
			b.SetBytes(int64(2 * fs))
			b.ReportAllocs()
			done := measure(b)
			for i := 0; i < b.N; i++ {
				var err error
				if out, err = d.Decode(out, pkts[i%benchFrames]); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
		b.Run(fmt.Sprintf("%dkHz/hraban", rate/1000), func(b *testing.B) {
			d, err := hraban.NewDecoder(rate, 1)
			if err != nil {
				b.Fatal(err)
			}
			// hraban decodes up to cap(pcm): give it the 120 ms a caller
			// must provide when it cannot know the packet's duration.
			out := make([]int16, rate*120/1000)
			b.SetBytes(int64(2 * fs))
			b.ReportAllocs()
			done := measure(b)
			for i := 0; i < b.N; i++ {
				if _, err := d.Decode(pkts[i%benchFrames], out); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

// BenchmarkOverhead interleaves the wrapper and hraban on identical
// encoder and decoder states, frame by frame, and times each call, so that
// load from other processes hits both sides alike (the closures and clock
// reads cost the same on both sides). The times are thread CPU times on
// Linux, which waiting for a shared core does not inflate. It reports each side's
// µs/frame and the wrapper's overhead in percent.
func BenchmarkOverhead(b *testing.B) {
	for _, rate := range benchRates {
		in := benchPCM(b, rate)
		pkts := benchPackets(b, rate)
		b.Run(fmt.Sprintf("encode/%dkHz", rate/1000), func(b *testing.B) {
			w := mustEncoder(b, codec.Config{SampleRate: rate, Bitrate: 32000})
			h, err := hraban.NewEncoder(rate, 1, hraban.AppVoIP)
			if err != nil {
				b.Fatal(err)
			}
			if err := h.SetBitrate(32000); err != nil {
				b.Fatal(err)
			}
			dw, dh := make([]byte, 0, MaxPacketSize), make([]byte, MaxPacketSize)
			var tw, th time.Duration
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := in[i%benchFrames]
				a, c := pair(i, func() { dw, _ = w.Encode(dw, f) }, func() { _, _ = h.Encode(f, dh) })
				tw, th = tw+a, th+c
			}
			reportOverhead(b, tw, th)
		})
		b.Run(fmt.Sprintf("decode/%dkHz", rate/1000), func(b *testing.B) {
			w := mustDecoder(b, codec.Config{SampleRate: rate})
			h, err := hraban.NewDecoder(rate, 1)
			if err != nil {
				b.Fatal(err)
			}
			ow, oh := make([]int16, 0, w.MaxPCMLen()), make([]int16, rate*120/1000)
			var tw, th time.Duration
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p := pkts[i%benchFrames]
				a, c := pair(i, func() { ow, _ = w.Decode(ow, p) }, func() { _, _ = h.Decode(p, oh) })
				tw, th = tw+a, th+c
			}
			reportOverhead(b, tw, th)
		})
	}
}

// pair times a and b, alternating which goes first so that neither
// always runs with the caches the other left behind.
func pair(i int, a, b func()) (ta, tb time.Duration) {
	if i%2 == 0 {
		t0 := clock()
		a()
		t1 := clock()
		b()
		return t1 - t0, clock() - t1
	}
	t0 := clock()
	b()
	t1 := clock()
	a()
	return clock() - t1, t1 - t0
}

// clock is the thread's CPU time where available (see measure), else the
// monotonic wall clock.
func clock() time.Duration {
	if cputime.Available {
		return cputime.Thread()
	}
	return time.Since(epoch)
}

var epoch = time.Now()

func reportOverhead(b *testing.B, wrapper, direct time.Duration) {
	n := float64(b.N)
	b.ReportMetric(float64(wrapper.Nanoseconds())/1e3/n, "cpu-µs/frame-rtpmix")
	b.ReportMetric(float64(direct.Nanoseconds())/1e3/n, "cpu-µs/frame-hraban")
	b.ReportMetric(100*(float64(wrapper)-float64(direct))/float64(direct), "%overhead")
}

func BenchmarkLoss(b *testing.B) {
	const rate = 48000
	e := mustEncoder(b, codec.Config{SampleRate: rate, Bitrate: 32000, FEC: true, PacketLossPercent: 10})
	var pkts [][]byte
	for _, f := range benchPCM(b, rate) {
		p, err := e.Encode(nil, f)
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	b.Run("Conceal/48kHz", func(b *testing.B) {
		d := mustDecoder(b, codec.Config{SampleRate: rate})
		out := make([]int16, 0, d.MaxPCMLen())
		b.ReportAllocs()
		done := measure(b)
		for i := 0; i < b.N; i++ {
			if i%5 == 0 { // concealment fades out; keep feeding it speech
				out, _ = d.Decode(out, pkts[i%benchFrames])
				continue
			}
			out, _ = d.Conceal(out, 960)
		}
		done()
	})
	b.Run("DecodeFEC/48kHz", func(b *testing.B) {
		d := mustDecoder(b, codec.Config{SampleRate: rate})
		out := make([]int16, 0, d.MaxPCMLen())
		b.ReportAllocs()
		done := measure(b)
		for i := 0; i < b.N; i++ {
			out, _ = d.DecodeFEC(out, pkts[i%benchFrames], 960)
		}
		done()
	})
}

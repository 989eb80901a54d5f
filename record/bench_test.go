package record

import (
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/internal/cputime"
)

// The benchmarks count what recording costs per recorded room-second:
// 50 frames of 20 ms at 48 kHz mono (speech: alice, looped), written to a
// destination that discards. ns/op is wall time per room-second;
// cpu-ms/room-s is CPU time (of the thread for the writers, of the
// process for whole recorders, so that other load on a shared machine
// does not count) and %core the share of one core a recording running in
// real time keeps busy.

const benchRate = 48000

// discardAt is a file that keeps nothing: WAV header updates included.
type discardAt struct{}

func (discardAt) Write(p []byte) (int, error)            { return len(p), nil }
func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// benchFrames returns one room-second of 20 ms frames.
func benchFrames(b testing.TB, silent bool) [][]int16 {
	pcm := make([]int16, benchRate)
	if !silent {
		pcm = speech(b, "alice")[benchRate : 2*benchRate]
	}
	frames := make([][]int16, 50)
	for i := range frames {
		frames[i] = pcm[i*960 : (i+1)*960]
	}
	return frames
}

// perRoomSecond reports the metrics; cpu is the CPU time the loop took.
func perRoomSecond(b *testing.B, cpu time.Duration) {
	n := float64(b.N)
	if cputime.Available {
		ms := float64(cpu.Nanoseconds()) / 1e6 / n
		b.ReportMetric(ms, "cpu-ms/room-s")
		b.ReportMetric(ms/10, "%core")
	}
}

// threadMeasure pins the benchmark to its thread and returns the func
// that reports, after the loop.
func threadMeasure(b *testing.B) func() {
	b.ReportAllocs()
	stop := cputime.Bench(b)
	return func() { perRoomSecond(b, stop()) }
}

// BenchmarkRoomSecond: the writers alone, on the goroutine that calls
// them (a recorder's).
func BenchmarkRoomSecond(b *testing.B) {
	speechFrames := benchFrames(b, false)
	b.Run("wav", func(b *testing.B) {
		w, err := NewWAVWriter(discardAt{}, Format{benchRate, 1}, WAVConfig{})
		if err != nil {
			b.Fatal(err)
		}
		done := threadMeasure(b)
		for range b.N {
			for _, f := range speechFrames {
				if err := w.WritePCM(f); err != nil {
					b.Fatal(err)
				}
			}
		}
		done()
	})
	for _, tc := range []struct {
		name   string
		cfg    OggOpusConfig
		silent bool
	}{
		{"opus", OggOpusConfig{}, false},
		{"opus-32k-c5", OggOpusConfig{Bitrate: 32000, Complexity: 5}, false},
		{"opus-silence", OggOpusConfig{}, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			needOpus(b)
			frames := benchFrames(b, tc.silent)
			w, err := NewOggOpusWriter(discardAt{}, Format{benchRate, 1}, tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			done := threadMeasure(b)
			for range b.N {
				for _, f := range frames {
					if err := w.WritePCM(f); err != nil {
						b.Fatal(err)
					}
				}
			}
			done()
		})
	}
	b.Run("opus-packets", func(b *testing.B) {
		needOpus(b)
		pkts := opusPackets(b, speech(b, "alice")[benchRate:2*benchRate])
		w, err := NewOggOpusPacketWriter(discardAt{}, Format{benchRate, 1}, OggOpusConfig{})
		if err != nil {
			b.Fatal(err)
		}
		done := threadMeasure(b)
		for range b.N {
			for _, p := range pkts {
				if err := w.WritePacket(p); err != nil {
					b.Fatal(err)
				}
			}
		}
		done()
	})
}

// BenchmarkRecorderRoomSecond: whole recorders, feeder and writer
// goroutine, in the process's CPU time. The feeder runs faster than real
// time, so it waits for the writer once a room-second (Flush); nothing is
// dropped.
func BenchmarkRecorderRoomSecond(b *testing.B) {
	frames := benchFrames(b, false)
	for _, kind := range []string{"wav", "opus"} {
		b.Run(kind, func(b *testing.B) {
			var w PCMWriter
			var err error
			if kind == "wav" {
				w, err = NewWAVWriter(discardAt{}, Format{benchRate, 1}, WAVConfig{})
			} else {
				needOpus(b)
				w, err = NewOggOpusWriter(discardAt{}, Format{benchRate, 1}, OggOpusConfig{})
			}
			if err != nil {
				b.Fatal(err)
			}
			r, err := NewRecorder(w, Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cputime.Process()
			at := time.Duration(0)
			for range b.N {
				for _, f := range frames {
					if err := r.Write(at, f); err != nil {
						b.Fatal(err)
					}
					at += 20 * time.Millisecond
				}
				if err := r.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			perRoomSecond(b, cputime.Process()-c0)
			b.StopTimer()
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWrite: what the feeder pays per 20 ms frame (48 kHz mono PCM,
// or an Opus packet), the writer goroutine draining meanwhile.
func BenchmarkWrite(b *testing.B) {
	b.Run("pcm", func(b *testing.B) {
		w, err := NewWAVWriter(discardAt{}, Format{benchRate, 1}, WAVConfig{})
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewRecorder(w, Config{})
		if err != nil {
			b.Fatal(err)
		}
		frame := benchFrames(b, false)[0]
		benchFeed(b, func(at time.Duration) error { return r.Write(at, frame) }, r.Flush, r.Stats)
		_ = r.Close()
	})
	b.Run("packet", func(b *testing.B) {
		w, err := NewOggOpusPacketWriter(discardAt{}, Format{benchRate, 1}, OggOpusConfig{})
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewPacketRecorder(w, Config{})
		if err != nil {
			b.Fatal(err)
		}
		pkt := make([]byte, 120)
		pkt[0] = 0x78 // hybrid FB 20 ms
		benchFeed(b, func(at time.Duration) error { return r.Write(at, pkt) }, r.Flush, r.Stats)
		_ = r.Close()
	})
}

// benchFeed writes b.N frames, waiting for the writer (outside the timer)
// every 32 so that the queue never fills.
func benchFeed(b *testing.B, write func(time.Duration) error, flush func() error, stats func() Stats) {
	b.ReportAllocs()
	b.ResetTimer()
	at := time.Duration(0)
	for i := range b.N {
		if err := write(at); err != nil {
			b.Fatal(err)
		}
		at += 20 * time.Millisecond
		if i%32 == 31 {
			b.StopTimer()
			if err := flush(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	if d := stats().Dropped; d != 0 {
		b.Fatalf("%d frames dropped", d)
	}
}

// BenchmarkQueue compares the recorder's queue with the obvious Go
// alternative, a channel of buffers from a free list: one 20 ms frame at
// 48 kHz in (copied) and out again per op, on one goroutine, so that the
// figure is the queue's own cost and not the scheduler's.
func BenchmarkQueue(b *testing.B) {
	frame := make([]int16, 960)
	b.Run("ring", func(b *testing.B) {
		q := newQueue[int16](512, 96000)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if !q.push(itemFrame, int64(i)*960, 960, frame) {
				b.Fatal("full")
			}
			it, _, ok := q.peek()
			if !ok {
				b.Fatal("empty")
			}
			q.pop(it)
		}
	})
	b.Run("channel", func(b *testing.B) {
		free := make(chan []int16, 100)
		full := make(chan []int16, 100)
		for range 100 {
			free <- make([]int16, 960)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			select {
			case buf := <-free:
				copy(buf, frame)
				full <- buf
			default:
				b.Fatal("full")
			}
			free <- <-full
		}
	})
}

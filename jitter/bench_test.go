package jitter_test

import (
	"sync"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/jitter"
)

// The same workload three ways: a steady 20 ms stream of 160-byte payloads
// (G.711), one packet pushed and one frame popped per iteration, so ns/op is
// the cost per packet of getting it through the buffer.
const benchPayload = 160

// BenchmarkPushPop is this package's ring, popped the way the mixer pops
// it: every 20 ms tick, frames until the tick is covered, what a frame
// spills over carried into the next. /stretch time-scales as the buffer
// asks (Frame.Stretch, Buffer.Stretched), as the mixer does for the
// participants it decodes; /ignore does not, so the delay stays some way
// above the target and every frame carries a request to shorten.
func BenchmarkPushPop(b *testing.B) {
	for _, honour := range []bool{true, false} {
		name := "stretch"
		if !honour {
			name = "ignore"
		}
		b.Run(name, func(b *testing.B) {
			jb, err := jitter.New(jitter.Config{ClockRate: 8000})
			if err != nil {
				b.Fatal(err)
			}
			p := &jitter.Packet{SSRC: 1, AudioLevel: -1, Payload: make([]byte, benchPayload)}
			b.SetBytes(benchPayload)
			b.ReportAllocs()
			const tick = 160 * time.Second / 8000
			played := 0
			var carry time.Duration
			for i := 0; b.Loop(); i++ {
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
					if f.Kind == jitter.KindPacket {
						played++
					}
					have += time.Duration(f.Duration) * time.Second / 8000
					if honour && f.Stretch != 0 {
						// Whole samples, as a time-scaler applies them.
						a := f.Stretch / (time.Second / 8000) * (time.Second / 8000)
						jb.Stretched(a)
						have += a
					}
				}
				carry = have - tick
			}
			b.ReportMetric(float64(played)/float64(b.N), "played/op")
		})
	}
}

// mapBuffer is the obvious alternative: a map keyed by sequence number
// behind a mutex, payloads copied into fresh slices.
type mapBuffer struct {
	mu   sync.Mutex
	m    map[uint16][]byte
	next uint16
}

func (m *mapBuffer) push(seq uint16, payload []byte) {
	c := make([]byte, len(payload))
	copy(c, payload)
	m.mu.Lock()
	m.m[seq] = c
	m.mu.Unlock()
}

func (m *mapBuffer) pop() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.m[m.next]
	if ok {
		delete(m.m, m.next)
		m.next++
	}
	return p
}

func BenchmarkPushPopMutexMap(b *testing.B) {
	m := &mapBuffer{m: make(map[uint16][]byte, 64)}
	payload := make([]byte, benchPayload)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	played := 0
	for i := 0; b.Loop(); i++ {
		m.push(uint16(i), payload)
		if m.pop() != nil {
			played++
		}
	}
	b.ReportMetric(float64(played)/float64(b.N), "played/op")
}

// BenchmarkPushPopChannel: a buffered channel of copied payloads (no
// reordering at all, so it does less than the others).
func BenchmarkPushPopChannel(b *testing.B) {
	ch := make(chan []byte, 64)
	payload := make([]byte, benchPayload)
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	played := 0
	for b.Loop() {
		c := make([]byte, len(payload))
		copy(c, payload)
		ch <- c
		select {
		case <-ch:
			played++
		default:
		}
	}
	b.ReportMetric(float64(played)/float64(b.N), "played/op")
}

// BenchmarkPushPopJitter is the ring under a 30 ms normal-jitter arrival
// pattern (reordering, holds, drops), precomputed so the generator is not
// timed.
func BenchmarkPushPopJitter(b *testing.B) {
	jb, err := jitter.New(jitter.Config{ClockRate: 8000})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1 << 12
	type ev struct {
		seq uint16
		at  time.Duration
	}
	// Arrival order from a fixed pseudo-random jitter, sorted per 4 packets
	// (a bounded reordering that repeats every n packets).
	var evs [n]ev
	x := uint64(7)
	for i := range evs {
		x = x*6364136223846793005 + 1442695040888963407
		evs[i] = ev{uint16(i), time.Duration(i)*20*time.Millisecond + time.Duration(x>>40)%(60*time.Millisecond)}
	}
	for i := 0; i+1 < n; i += 2 {
		if evs[i+1].at < evs[i].at {
			evs[i], evs[i+1] = evs[i+1], evs[i]
		}
	}
	p := &jitter.Packet{SSRC: 1, AudioLevel: -1, Payload: make([]byte, benchPayload)}
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e := evs[i%n]
		lap := time.Duration(i/n) * n * 20 * time.Millisecond
		seq := e.seq + uint16(i/n*n)
		p.SequenceNumber, p.Timestamp = seq, uint32(i/n*n+int(e.seq))*160
		_ = jb.Push(lap+e.at, p)
		_ = jb.Pop(lap + time.Duration(i%n)*20*time.Millisecond + 30*time.Millisecond)
	}
}

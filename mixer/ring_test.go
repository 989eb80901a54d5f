package mixer

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPacketRing: capacity rounds up to a power of two; a full ring
// refuses, an empty one has nothing; packets come out in order, whole, each
// with the sink it was published for, across many wraps of the indices.
func TestPacketRing(t *testing.T) {
	for _, tc := range []struct{ ask, want int }{{0, 1}, {1, 1}, {3, 4}, {4, 4}, {5, 8}} {
		assert.Equal(t, tc.want, newPacketRing(tc.ask, 16).capacity(), "ask %d", tc.ask)
	}
	r := newPacketRing(4, 16)
	var ctr sinkCounters
	p, m := r.peek()
	assert.Nil(t, p)
	assert.Nil(t, m)
	next, want := uint32(0), uint32(0)
	for round := range 100 {
		burst := round%4 + 1
		for range burst {
			b := r.reserve()
			require.NotNil(t, b)
			require.Zero(t, len(b))
			require.Equal(t, 16, cap(b))
			n := 4 + int(next%12)
			b = b[:n]
			binary.BigEndian.PutUint32(b, next)
			r.publish(n, tagSink(next), &ctr)
			next++
		}
		assert.Equal(t, burst, r.pending())
		if burst == 4 {
			assert.Nil(t, r.reserve(), "full")
		}
		for p, m := r.peek(); p != nil; p, m = r.peek() {
			require.Equal(t, want, binary.BigEndian.Uint32(p))
			require.Equal(t, tagSink(want), m.sink, "each packet with its sink")
			require.Same(t, &ctr, m.ctr)
			require.Len(t, p, 4+int(want%12))
			r.release()
			want++
		}
		assert.Zero(t, r.pending())
	}
}

// tagSink tells packets' sinks apart.
type tagSink uint32

func (tagSink) WriteRTP([]byte) error { return nil }

// TestPacketRingConcurrent: a producer and a consumer goroutine, as the
// tick and a delivery goroutine run them; every packet arrives intact and
// in order (run with -race).
func TestPacketRingConcurrent(t *testing.T) {
	r := newPacketRing(4, 64)
	const n = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := uint32(0); i < n; {
			p, _ := r.peek()
			if p == nil {
				runtime.Gosched()
				continue
			}
			if binary.BigEndian.Uint32(p) != i || len(p) != 8 || binary.BigEndian.Uint32(p[4:]) != ^i {
				t.Errorf("packet %d: %x", i, p)
				return
			}
			r.release()
			i++
		}
	}()
	for i := uint32(0); i < n; {
		b := r.reserve()
		if b == nil {
			runtime.Gosched()
			continue
		}
		b = b[:8]
		binary.BigEndian.PutUint32(b, i)
		binary.BigEndian.PutUint32(b[4:], ^i)
		r.publish(8, nil, nil)
		i++
	}
	<-done
}

// BenchmarkHandoff compares handing a 200-byte packet from one goroutine to
// another through the ring (built in place) with the obvious alternative, a
// buffered channel of slices (built in a buffer from a free list that the
// consumer returns it to). Single-goroutine "pair" variants time the bare
// operations, which is what delivery pays per packet (its goroutine is
// woken once per conference, not per packet); "spsc" runs producer and
// consumer concurrently, the ring's side yielding when full or empty.
func BenchmarkHandoff(b *testing.B) {
	const size = 200
	b.Run("ring/pair", func(b *testing.B) {
		r := newPacketRing(4, size)
		b.ReportAllocs()
		for range b.N {
			s := r.reserve()[:size]
			s[0] = 1
			r.publish(len(s), nil, nil)
			p, _ := r.peek()
			_ = p[0]
			r.release()
		}
	})
	b.Run("chan/pair", func(b *testing.B) {
		ch, free := make(chan []byte, 4), make(chan []byte, 4)
		for range 4 {
			free <- make([]byte, size)
		}
		b.ReportAllocs()
		for range b.N {
			s := <-free
			s[0] = 1
			ch <- s
			p := <-ch
			_ = p[0]
			free <- p
		}
	})
	b.Run("ring/spsc", func(b *testing.B) {
		r := newPacketRing(4, size)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < b.N; {
				if p, _ := r.peek(); p != nil {
					_ = p[0]
					r.release()
					i++
				} else {
					runtime.Gosched()
				}
			}
		}()
		b.ReportAllocs()
		for i := 0; i < b.N; {
			if s := r.reserve(); s != nil {
				s = s[:size]
				s[0] = 1
				r.publish(len(s), nil, nil)
				i++
			} else {
				runtime.Gosched()
			}
		}
		<-done
	})
	b.Run("chan/spsc", func(b *testing.B) {
		ch, free := make(chan []byte, 4), make(chan []byte, 4)
		for range 4 {
			free <- make([]byte, size)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range b.N {
				p := <-ch
				_ = p[0]
				free <- p
			}
		}()
		b.ReportAllocs()
		for range b.N {
			s := <-free
			s[0] = 1
			ch <- s
		}
		<-done
	})
}

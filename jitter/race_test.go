package jitter_test

import (
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/jitter"
)

// checked payloads: index, filler derived from it, CRC-32 of the rest.
func fillChecked(buf []byte, i int) []byte {
	binary.BigEndian.PutUint64(buf, uint64(i))
	x := uint32(i)*2654435761 + 1
	for k := 8; k < len(buf)-4; k++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		buf[k] = byte(x)
	}
	binary.BigEndian.PutUint32(buf[len(buf)-4:], crc32.ChecksumIEEE(buf[:len(buf)-4]))
	return buf
}

func checkPayload(p []byte) (int, bool) {
	if len(p) < 12 || crc32.ChecksumIEEE(p[:len(p)-4]) != binary.BigEndian.Uint32(p[len(p)-4:]) {
		return 0, false
	}
	return int(binary.BigEndian.Uint64(p)), true
}

// TestRace runs a real producer and a real consumer goroutine (and a third
// reading Stats) over well over 100 000 packets: run it with -race. Every
// payload played must be intact and played once, and at the end every
// packet pushed is accounted for as played, late, duplicate, dropped,
// refused or still buffered.
func TestRace(t *testing.T) {
	cases := []struct {
		name string
		n    int
		// The sides share a virtual clock. In lockstep the consumer waits
		// for the producer to have pushed everything that arrived before
		// its tick; loosely coupled it may run up to 200 ms ahead, so that
		// scheduling makes packets late: the consumer gives positions up
		// while the producer is storing them (the compare-and-swap race).
		lockstep bool
		// stall: every 1000 ticks the consumer misses 90 (1.8 s, more
		// than the ring holds) while time goes on, so it is stranded
		// behind the ring and starts over (restart) while the producer
		// may still be storing behind it.
		stall bool
	}{
		{"lockstep", 120_000, true, false},
		{"loosely coupled", 120_000, false, false},
		{"stalls beyond the ring", 60_000, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := jitter.New(jitter.Config{ClockRate: 8000, Capacity: 64, MaxPayload: 200})
			require.NoError(t, err)

			// Arrivals: 20 ms packets with up to 60 ms of jitter (so they
			// reorder), 1% lost, 1% duplicated.
			type arr struct {
				i  int
				at time.Duration
			}
			arrivals := make([]arr, 0, tc.n+tc.n/50)
			x := uint64(12345)
			rnd := func() uint64 { x = x*6364136223846793005 + 1442695040888963407; return x >> 33 }
			for i := range tc.n {
				if rnd()%100 == 0 {
					continue // lost
				}
				at := time.Duration(i)*20*time.Millisecond + time.Duration(rnd()%60)*time.Millisecond
				arrivals = append(arrivals, arr{i, at})
				if rnd()%100 == 0 {
					arrivals = append(arrivals, arr{i, at + 3*time.Millisecond})
				}
			}
			// Sort by arrival; the disorder is local, an insertion sort is quick.
			for k := 1; k < len(arrivals); k++ {
				for j := k; j > 0 && arrivals[j].at < arrivals[j-1].at; j-- {
					arrivals[j], arrivals[j-1] = arrivals[j-1], arrivals[j]
				}
			}

			var (
				prodClock atomic.Int64 // virtual time the producer has pushed up to
				consClock atomic.Int64 // virtual time the consumer has played up to
				prodDone  atomic.Bool
				consDone  atomic.Bool
				pushed    atomic.Int64
			)
			consClock.Store(-1)
			start := time.Now()
			var wg sync.WaitGroup

			wg.Add(1)
			go func() { // producer
				defer wg.Done()
				defer prodDone.Store(true)
				buf := make([]byte, 160)
				p := &jitter.Packet{SSRC: 7, AudioLevel: -1}
				for _, a := range arrivals {
					// Stay at most 300 ms ahead of the consumer.
					for consClock.Load() < int64(a.at-300*time.Millisecond) && !consDone.Load() {
						runtime.Gosched()
					}
					p.SequenceNumber = uint16(a.i)
					p.Timestamp = uint32(a.i) * 160
					p.Payload = fillChecked(buf[:40+a.i%120], a.i)
					_ = b.Push(a.at, p)
					pushed.Add(1)
					prodClock.Store(int64(a.at))
				}
				prodClock.Store(int64(time.Hour * 1000))
			}()

			played := make([]bool, tc.n)
			var corrupt, twice, playedN int
			wg.Add(1)
			go func() { // consumer
				defer wg.Done()
				defer consDone.Store(true)
				var carry uint32
				for k := 0; ; k++ {
					now := time.Duration(k) * 20 * time.Millisecond
					ahead := time.Duration(0)
					if !tc.lockstep {
						ahead = 200 * time.Millisecond
					}
					for prodClock.Load() < int64(now-ahead) {
						runtime.Gosched()
					}
					if prodDone.Load() && now > arrivals[len(arrivals)-1].at+2*time.Second {
						return
					}
					if tc.stall && k%1000 >= 500 && k%1000 < 590 {
						consClock.Store(int64(now))
						continue
					}
					have := carry
					for have < 160 {
						f := b.Pop(now)
						if f.Kind == jitter.KindEmpty {
							have = 160
							break
						}
						if f.Kind == jitter.KindPacket {
							i, ok := checkPayload(f.Payload)
							switch {
							case !ok || i >= tc.n:
								corrupt++
							case played[i]:
								twice++
							default:
								played[i] = true
								playedN++
							}
						}
						if f.NextAvailable {
							if _, ok := checkPayload(f.Next); !ok {
								corrupt++
							}
						}
						have += f.Duration
					}
					carry = have - 160
					consClock.Store(int64(now))
				}
			}()

			wg.Add(1)
			go func() { // any goroutine may read Stats
				defer wg.Done()
				var last jitter.Stats
				for !consDone.Load() {
					st := b.Stats()
					if st.Received < last.Received || st.Played < last.Played {
						t.Error("counters went backwards")
					}
					last = st
					time.Sleep(time.Millisecond)
				}
			}()
			wg.Wait()

			st := b.Stats()
			t.Logf("%d packets in %v: %+v", len(arrivals), time.Since(start).Round(time.Millisecond), st)
			assert.Zero(t, corrupt, "corrupt payloads")
			assert.Zero(t, twice, "payloads played twice")
			assert.Equal(t, uint64(pushed.Load()), st.Received)
			assert.Equal(t, uint64(playedN), st.Played)
			balanced(t, st)
			switch {
			case tc.lockstep:
				// A real network scenario: almost everything that arrived
				// is played.
				assert.Less(t, float64(st.Late), 0.01*float64(len(arrivals)))
				assert.Greater(t, float64(st.Played), 0.97*float64(tc.n))
			case tc.stall:
				// 9% of the time stalled, and the backlog after each
				// stall dropped or refused: most of the rest plays.
				assert.Greater(t, float64(st.Played), 0.6*float64(tc.n))
			default:
				assert.Greater(t, float64(st.Played), 0.5*float64(tc.n))
			}
		})
	}
}

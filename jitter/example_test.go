package jitter_test

import (
	"fmt"
	"time"

	"github.com/rtpmix/rtpmix/jitter"
)

// A receiver pushes packets as they arrive; the mixer pops a frame every
// 20 ms tick. Packet 2 is lost; packet 3 is already buffered when its turn
// comes, so the lost frame carries it for Opus in-band FEC.
func Example() {
	b, err := jitter.New(jitter.Config{ClockRate: 8000, StartDelay: 40 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	const ptime = 20 * time.Millisecond
	for i := range 6 {
		if i == 2 {
			continue // lost on the way
		}
		p := &jitter.Packet{
			SSRC:           0x1234,
			SequenceNumber: uint16(100 + i),
			Timestamp:      uint32(8000 + 160*i),
			AudioLevel:     -1,
			Payload:        []byte{byte(i), 0xde, 0xad},
		}
		// Every packet takes 30 ms to arrive.
		if err := b.Push(time.Duration(i)*ptime+30*time.Millisecond, p); err != nil {
			panic(err)
		}
	}
	for tick := range 9 {
		now := time.Duration(tick)*ptime + 30*time.Millisecond
		f := b.Pop(now)
		switch f.Kind {
		case jitter.KindPacket:
			fmt.Printf("t=%v packet %d, payload %v\n", now, f.SequenceNumber, f.Payload)
		case jitter.KindLost:
			fmt.Printf("t=%v lost %d, next buffered: %v\n", now, f.SequenceNumber, f.NextAvailable)
		default:
			fmt.Printf("t=%v %v\n", now, f.Kind)
		}
	}
	st := b.Stats()
	fmt.Println("played", st.Played, "lost", st.Lost)
	// Output:
	// t=30ms empty
	// t=50ms empty
	// t=70ms packet 100, payload [0 222 173]
	// t=90ms packet 101, payload [1 222 173]
	// t=110ms lost 102, next buffered: true
	// t=130ms packet 103, payload [3 222 173]
	// t=150ms packet 104, payload [4 222 173]
	// t=170ms packet 105, payload [5 222 173]
	// t=190ms conceal
	// played 5 lost 1
}

// A mixer whose tick is longer than the packets pops until the tick is
// covered; Duration says how much audio each frame stands for.
func ExampleBuffer_Pop() {
	b, _ := jitter.New(jitter.Config{ClockRate: 48000, StartDelay: 20 * time.Millisecond})
	for i := range 6 { // 20 ms Opus packets, 960 ticks each
		p := &jitter.Packet{SequenceNumber: uint16(i), Timestamp: uint32(960 * i), AudioLevel: -1, Payload: make([]byte, 80)}
		_ = b.Push(time.Duration(i)*20*time.Millisecond, p)
	}
	const tick = 2880 // the mixer runs 60 ms ticks
	now := 20 * time.Millisecond
	var have uint32
	for have < tick {
		f := b.Pop(now) // the same now for every Pop of one tick
		if f.Kind == jitter.KindEmpty {
			break // nothing yet: play silence for the rest of the tick
		}
		fmt.Println(f.Kind, f.SequenceNumber, f.Duration)
		have += f.Duration
	}
	// Output:
	// packet 0 960
	// packet 1 960
	// packet 2 960
}

// Shared defaults with a per-stream override: the override's non-zero
// fields win, its zero fields inherit.
func ExampleConfig_Merge() {
	defaults := jitter.Config{MaxDelay: 500 * time.Millisecond, Quantile: 0.99}
	perStream := jitter.Config{ClockRate: 48000, Quantile: 0.95}
	cfg := defaults.Merge(perStream)
	fmt.Println(cfg.ClockRate, cfg.MaxDelay, cfg.Quantile)
	// Output:
	// 48000 500ms 0.95
}

// A mixer tick that time-scales what it decodes. Every 20 ms it pops
// frames until the tick is covered, applies what each frame's Stretch asks
// for (here in full, as whole samples at 48 kHz; a time-scaler on speech
// applies a pitch period or nothing), and reports what it applied, so that
// the buffer knows where its audio really plays. The stream starts at the
// default 80 ms start delay; once the buffer has seen that the network
// does not jitter, it asks for the excess to be played out faster, a few
// milliseconds at a time, and the delay settles on the least that is in
// time for the tick: under one tick, since packets arrive just as a tick
// pops. A caller that cannot time-scale ignores Stretch and never calls
// Stretched; the buffer then changes the delay by whole frames instead.
func ExampleBuffer_Stretched() {
	const rate = 48000
	b, err := jitter.New(jitter.Config{ClockRate: rate})
	if err != nil {
		panic(err)
	}
	const tick = 20 * time.Millisecond
	samples := func(d time.Duration) int { return int(d * rate / time.Second) }
	pending := 0 // decoded audio not yet played (the mixer's FIFO), samples
	p := &jitter.Packet{SSRC: 7, AudioLevel: -1, Payload: make([]byte, 80)}
	for i := range 250 { // 5 s
		now := time.Duration(i) * tick
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i*960)
		_ = b.Push(now, p) // every packet arrives as its tick pops
		for pending < samples(tick) {
			f := b.Pop(now)
			if f.Kind == jitter.KindEmpty {
				pending = samples(tick) // silence for the rest of the tick
				break
			}
			pending += int(f.Duration) // (the stream's clock is 48 kHz too)
			if f.Stretch != 0 {
				applied := samples(f.Stretch)
				pending += applied
				b.Stretched(time.Duration(applied) * time.Second / rate)
			}
		}
		pending -= samples(tick)
		if i%50 == 49 {
			st := b.Stats()
			fmt.Printf("%v: delay %v, shortened %v\n", now+tick, st.Delay.Round(time.Millisecond), st.Shortened.Round(time.Millisecond))
		}
	}
	// Output:
	// 1s: delay 80ms, shortened 0s
	// 2s: delay 21ms, shortened 60ms
	// 3s: delay 21ms, shortened 60ms
	// 4s: delay 21ms, shortened 60ms
	// 5s: delay 21ms, shortened 60ms
}

package pcm_test

import (
	"fmt"

	"github.com/rtpmix/rtpmix/internal/pcm"
)

// One mixer tick: sum the speakers once, then give each speaker the sum
// minus its own contribution and everyone else the whole sum.
func Example() {
	speakers := [][]int16{
		{1000, 2000, 3000, 4000},
		{-500, -500, -500, -500},
		{20000, 20000, -20000, -20000},
	}
	acc := make([]int32, 4)
	own := make([][]int16, len(speakers))
	for i, s := range speakers {
		// The contribution, with this speaker's gain (here unity) applied,
		// is what its mix-minus subtracts again.
		own[i] = make([]int16, 4)
		pcm.GainRamp(own[i], s, pcm.Unity, pcm.Unity)
		pcm.Add(acc, own[i])
	}
	// One Limiter per output stream; zero values are 48 kHz, -1 dBFS.
	var lim [4]pcm.Limiter
	out := make([]int16, 4)
	for i := range speakers {
		lim[i].Process(out, acc, own[i], pcm.Unity)
		fmt.Println("speaker", i, "hears", out)
	}
	lim[3].Process(out, acc, nil, pcm.Unity)
	fmt.Println("listeners hear", out)
	// Output:
	// speaker 0 hears [19500 19500 -20500 -20500]
	// speaker 1 hears [21000 22000 -17000 -16000]
	// speaker 2 hears [500 1500 2500 3500]
	// listeners hear [20500 21500 -17500 -16500]
}

func ExampleAddRamp() {
	// Fade a speaker in over a frame: gain 0 on the first sample, unity on
	// the last, so the next frame continues at unity without a step.
	src := []int16{10000, 10000, 10000, 10000, 10000}
	acc := make([]int32, 5)
	pcm.AddRamp(acc, src, 0, pcm.Unity)
	fmt.Println(acc)
	// Output: [0 2500 5000 7500 10000]
}

func ExampleLevelDBov() {
	silence := make([]int16, 960)
	square := make([]int16, 960)
	for i := range square {
		square[i] = 3277 // -20 dBov
		if i%2 == 1 {
			square[i] = -3277
		}
	}
	fmt.Println(pcm.LevelDBov(silence), pcm.LevelDBov(square))
	// Output: 127 20
}

func ExampleLimiter() {
	l, err := pcm.NewLimiter(pcm.LimiterConfig{SampleRate: 8000})
	if err != nil {
		panic(err)
	}
	// Five full-scale speakers in phase: five times full scale.
	acc := make([]int32, 160)
	for i := range acc {
		acc[i] = 5 * 32767
		if i%40 >= 20 {
			acc[i] = -5 * 32767
		}
	}
	out := make([]int16, 160)
	for range 3 {
		l.Process(out, acc, nil, pcm.Unity)
	}
	fmt.Printf("peak %d, reduction %.1f dB\n", pcm.PeakAbs16(out), l.Reduction())
	// Output: peak 29204, reduction 15.0 dB
}

func ExampleGainFromDB() {
	fmt.Println(pcm.GainFromDB(0), pcm.GainFromDB(-6), pcm.GainFromDB(24), pcm.GainFromDB(40))
	// Output: 65536 32846 1038676 1048576
}

package tsm_test

import (
	"fmt"
	"math"

	"github.com/rtpmix/rtpmix/internal/tsm"
)

// decode stands in for a decoder that appends one 20 ms frame of a
// 200 Hz vowel-like tone at 16 kHz to dst.
func decode(dst []int16, frame int) []int16 {
	for i := range 320 {
		n := float64(frame*320 + i)
		v := 8000*math.Sin(2*math.Pi*200*n/16000) + 3000*math.Sin(2*math.Pi*600*n/16000)
		dst = append(dst, int16(v))
	}
	return dst
}

// A mixer tick for one participant whose jitter buffer holds 30 ms more
// than its target: it decodes straight into the FIFO and asks, every
// tick, for up to what is still in excess, keeping one tick's worth of
// audio to play. The FIFO removes one pitch period a tick (5 ms of a
// 200 Hz voice) and reports exactly how much, so the excess reaches zero
// in six ticks without dropping a frame.
func Example() {
	f, err := tsm.New(16000, tsm.Config{})
	if err != nil {
		panic(err)
	}
	tick := make([]int16, 320) // 20 ms at 16 kHz
	excess := 480              // 30 ms
	frame := 0
	for t := range 6 {
		for f.Len() < 2*len(tick) { // pops and decodes ahead while in excess
			f.Write(decode(f.AvailableBuffer(), frame))
			frame++
		}
		removed := f.Shorten(min(excess, f.Len()-len(tick)))
		excess -= removed
		f.Read(tick)
		fmt.Printf("tick %d: removed %3d samples, excess %3d\n", t, removed, excess)
	}
	// Output:
	// tick 0: removed  80 samples, excess 400
	// tick 1: removed  80 samples, excess 320
	// tick 2: removed  80 samples, excess 240
	// tick 3: removed  80 samples, excess 160
	// tick 4: removed  80 samples, excess  80
	// tick 5: removed  80 samples, excess   0
}

// Lengthening works the same way; in silence any amount fits, so the
// whole shortfall is made up at once.
func ExampleFIFO_Lengthen() {
	f, _ := tsm.New(8000, tsm.Config{})
	f.WriteZeros(160) // a DTX gap: 20 ms of silence
	inserted := f.Lengthen(80)
	fmt.Println(inserted, f.Len(), f.Stats().SilentSplices)
	// Output:
	// 80 240 1
}

package plc_test

import (
	"fmt"
	"math"

	"github.com/rtpmix/rtpmix/internal/plc"
)

// A decoder records what it decoded and asks for concealment when a packet
// is lost; the concealment fades to silence 60 ms into a loss.
func Example() {
	c := plc.New(8000)
	frame := make([]int16, 160) // 20 ms
	for i := range frame {
		frame[i] = int16(4000 * math.Sin(2*math.Pi*float64(i)/40)) // 200 Hz
	}
	c.Received(frame)
	lost := make([]int16, 160)
	for n := range 4 {
		c.Conceal(lost)
		fmt.Printf("%d ms lost: level %.1f\n", 20*(n+1), c.Level())
	}
	// Output:
	// 20 ms lost: level 0.8
	// 40 ms lost: level 0.4
	// 60 ms lost: level 0.0
	// 80 ms lost: level 0.0
}

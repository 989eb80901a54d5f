package g711_test

import (
	"fmt"
	"math"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
)

// Encode a 20 ms frame as PCMU through the codec registry, decode it, and
// conceal the frame after it as if its packet were lost.
func Example() {
	enc, err := codec.NewEncoder("PCMU/8000", codec.Config{Ptime: 20 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	dec, err := codec.NewDecoder("PCMU/8000", codec.Config{})
	if err != nil {
		panic(err)
	}
	pcm := make([]int16, enc.FrameSamples())
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*200*float64(i)/8000))
	}
	payload, err := enc.Encode(nil, pcm)
	if err != nil {
		panic(err)
	}
	out, err := dec.Decode(nil, payload)
	if err != nil {
		panic(err)
	}
	lost, err := dec.Conceal(nil, 160)
	if err != nil {
		panic(err)
	}
	fmt.Println("payload type", enc.Format().PayloadType, "bytes", len(payload))
	fmt.Println("decoded", len(out), "samples, first", out[:4])
	fmt.Println("concealed", len(lost), "samples, first", lost[:4])
	// Output:
	// payload type 0 bytes 160
	// decoded 160 samples, first [0 1244 2492 3644]
	// concealed 160 samples, first [0 1244 2492 3644]
}

func ExampleEncodeUlaw() {
	codes := g711.EncodeUlaw(nil, []int16{0, -1, 1000, 32767, -32768})
	fmt.Printf("% x\n", codes)
	fmt.Println(g711.DecodeUlaw(nil, codes))
	// Output:
	// ff 7f ce 80 00
	// [0 0 988 32124 -32124]
}

func ExampleEncodeAlaw() {
	codes := g711.EncodeAlaw(nil, []int16{0, -1, 1000, 32767, -32768})
	fmt.Printf("% x\n", codes)
	fmt.Println(g711.DecodeAlaw(nil, codes))
	// Output:
	// d5 55 fa aa 2a
	// [8 -8 1008 32256 -32256]
}

package resample_test

import (
	"fmt"

	"github.com/rtpmix/rtpmix/codec/resample"
)

// A decoded 20 ms G.711 frame (8 kHz) becomes a 20 ms frame at the
// conference rate of 48 kHz: exactly 960 samples every call.
func Example() {
	r, err := resample.New(8000, 48000, 1)
	if err != nil {
		panic(err)
	}
	in := make([]int16, 160)     // one decoded frame
	out := make([]int16, 0, 960) // reused every tick: no allocation
	for frame := 0; frame < 3; frame++ {
		out = r.Process(out, in)
		fmt.Println(len(out))
	}
	fmt.Printf("delay %.0f samples at 48 kHz\n", r.Delay())
	// Output:
	// 960
	// 960
	// 960
	// delay 248 samples at 48 kHz
}

// The mix at 48 kHz goes back to a 16 kHz stereo listener.
func ExampleResampler_Process() {
	r, err := resample.New(48000, 16000, 2)
	if err != nil {
		panic(err)
	}
	mix := make([]int16, 2*960) // 20 ms, interleaved L R
	fmt.Println(r.OutLen(len(mix)), len(r.Process(nil, mix)))
	// Output: 640 640
}

func ExampleNew() {
	_, err := resample.New(44100, 48000, 1)
	fmt.Println(err)
	// Output: resample: unsupported sample rate: 44100 Hz to 48000 Hz (want 8000, 16000, 24000, 32000 or 48000)
}

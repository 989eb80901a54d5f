package g722_test

import (
	"fmt"
	"math"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	_ "github.com/rtpmix/rtpmix/codec/g722" // registers G722/8000
)

// Encode a 20 ms frame of 16 kHz audio as G.722 through the codec
// registry, decode it, and conceal the frame after it as if its packet
// were lost: the concealment carries the 400 Hz wave on. The RTP timestamp
// advances by 160 per frame, half the 320 samples, because RFC 3551 clocks
// G.722 at 8000 Hz.
func Example() {
	enc, err := codec.NewEncoder("G722/8000", codec.Config{Ptime: 20 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	dec, err := codec.NewDecoder("G722/8000", codec.Config{})
	if err != nil {
		panic(err)
	}
	var payload []byte
	var out []int16
	pcm := make([]int16, enc.FrameSamples())
	for frame := range 3 {
		for i := range pcm {
			t := float64(frame*len(pcm)+i) / 16000
			pcm[i] = int16(8000 * math.Sin(2*math.Pi*400*t))
		}
		if payload, err = enc.Encode(payload, pcm); err != nil {
			panic(err)
		}
		if out, err = dec.Decode(out, payload); err != nil {
			panic(err)
		}
	}
	lost, err := dec.Conceal(nil, 320)
	if err != nil {
		panic(err)
	}
	f := enc.Format()
	fmt.Println(f, "payload type", f.PayloadType)
	fmt.Println("PCM", enc.SampleRate(), "Hz;", enc.FrameSamples(), "samples in,", len(payload), "bytes out")
	fmt.Println("RTP timestamp step", f.FrameSamples(20*time.Millisecond))
	fmt.Println("decoded", len(out), "samples, last", out[len(out)-4:])
	fmt.Println("concealed", len(lost), "samples, first", lost[:4])
	// Output:
	// G722/8000 payload type 9
	// PCM 16000 Hz; 320 samples in, 160 bytes out
	// RTP timestamp step 160
	// decoded 320 samples, last [6479 5654 4701 3624]
	// concealed 320 samples, first [2464 1246 -3 -1258]
}

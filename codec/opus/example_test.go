//go:build cgo

package opus_test

import (
	"fmt"
	"math"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/opus"
)

// Encode 20 ms frames of 16 kHz speech-band audio, lose one packet, and
// rebuild it from the next packet's in-band FEC.
func Example() {
	enc, err := opus.NewEncoder(codec.Config{
		SampleRate:        16000,
		Bitrate:           24000,
		FEC:               true,
		PacketLossPercent: 20,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dec, err := opus.NewDecoder(codec.Config{SampleRate: 16000})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Buffers are allocated once and reused for every frame.
	pcm := make([]int16, enc.FrameSamples())
	out := make([]int16, 0, dec.MaxPCMLen())
	var packets [][]byte
	for f := 0; f < 10; f++ {
		for i := range pcm { // a vowel-like tone with harmonics
			n := float64(f*len(pcm) + i)
			pcm[i] = int16(6000*math.Sin(2*math.Pi*220*n/16000) + 3000*math.Sin(2*math.Pi*660*n/16000))
		}
		pkt, err := enc.Encode(make([]byte, 0, opus.MaxPacketSize), pcm)
		if err != nil {
			fmt.Println(err)
			return
		}
		packets = append(packets, pkt)
	}
	d, _ := opus.PacketDuration(packets[0])
	fmt.Println("frame:", enc.FrameSamples(), "samples at 16 kHz,", d, "at the 48 kHz RTP clock")

	for i, pkt := range packets {
		if i == 8 { // lost in the network; packet 9 has arrived
			out, err = dec.DecodeFEC(out, packets[9], enc.FrameSamples())
			fmt.Printf("packet 8 lost, packet 9 carries FEC: %v, rebuilt %d samples, error %v\n", opus.HasFEC(packets[9]), len(out), err)
			continue
		}
		if out, err = dec.Decode(out, pkt); err != nil {
			fmt.Println(err)
			return
		}
	}
	_, err = dec.Decode(out, []byte{0x7b}) // a code 3 packet without its frame count
	fmt.Println(err)
	// Output:
	// frame: 320 samples at 16 kHz, 960 at the 48 kHz RTP clock
	// packet 8 lost, packet 9 carries FEC: true, rebuilt 320 samples, error <nil>
	// codec: corrupt payload: opus: code 3 packet has no frame-count byte
}

// Codecs are built by SDP name through package codec once this package is
// imported, so that the mixer needs no cgo import of its own.
func Example_registry() {
	enc, err := codec.NewEncoder("opus/48000/2", codec.Config{Ptime: 40 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	f := enc.Format()
	fmt.Println(f.SDPName(), f.PayloadType, f.Fmtp, enc.FrameSamples())
	// Output: opus/48000/2 111 minptime=10;useinbandfec=1 1920
}

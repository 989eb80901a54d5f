package opus_test

import (
	"errors"
	"fmt"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/opus"
)

// PacketDuration reads only the packet framing, so it works in builds
// without cgo: the jitter buffer uses it to advance RTP time.
func ExamplePacketDuration() {
	for _, p := range [][]byte{
		{0x78},                   // hybrid FB 20 ms, one frame: a DTX packet
		{0x0b, 0x03, 1, 2, 3},    // SILK NB 20 ms, code 3 CBR: 3 frames of 1 byte
		{0xe3, 0x30},             // CELT FB 2.5 ms, code 3: 48 empty frames
		{0x79, 0xaa, 0xbb, 0xcc}, // code 1 needs an even number of bytes
	} {
		d, err := opus.PacketDuration(p)
		switch {
		case errors.Is(err, codec.ErrCorrupt):
			fmt.Println("corrupt:", err)
		default:
			fmt.Printf("%d samples = %.1f ms, DTX %v\n", d, float64(d)/48, opus.IsDTX(p))
		}
	}
	// Output:
	// 960 samples = 20.0 ms, DTX true
	// 2880 samples = 60.0 ms, DTX false
	// 5760 samples = 120.0 ms, DTX true
	// corrupt: codec: corrupt payload: opus: code 1 packet has 3 bytes of frame data, not two equal frames
}

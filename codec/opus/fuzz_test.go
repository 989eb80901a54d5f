//go:build cgo

package opus

import (
	"errors"
	"testing"

	"github.com/rtpmix/rtpmix/codec"
	hraban "gopkg.in/hraban/opus.v2"
)

// FuzzDecode feeds arbitrary bytes to Decode and DecodeFEC: they must return
// a frame or an error wrapping codec.ErrCorrupt, never panic, and leave the
// decoder able to decode the next good packet. The pure-Go framing check
// (PacketDuration) must agree with libopus's own on which packets are valid
// and how long they last.
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	for _, p := range [][]byte{{}, {0x7b}, {0x7b, 0}, {0x79, 1, 2, 3}, {0x7a, 252}, {0x7b, 0x41, 255}} {
		f.Add(p)
	}
	good := seedPackets(f)[0]
	buf := make([]int16, 0, maxPacketSamples)
	rawBuf := make([]int16, maxPacketSamples)
	// One decoder of each kind for the whole run: creating them costs more
	// than the decodes, and a decoder that has swallowed thousands of bad
	// packets is the better test of "stays usable". What is checked does
	// not depend on the decoder's history.
	dec, err := NewDecoder(codec.Config{})
	if err != nil {
		f.Fatal(err)
	}
	raw, err := hraban.NewDecoder(48000, 1)
	if err != nil {
		f.Fatal(err)
	}
	// Plain comparisons, not testify, in the body: testify's reflection
	// adds coverage of its own that the fuzzer would chase and minimise.
	f.Fuzz(func(t *testing.T, p []byte) {
		dur, perr := PacketDuration(p)
		out, err := dec.Decode(buf, p)
		switch {
		case perr != nil && (!errors.Is(err, codec.ErrCorrupt) || len(out) != 0):
			t.Fatalf("malformed packet (%v) decoded to %d samples, error %v", perr, len(out), err)
		case perr == nil && err != nil:
			// Decode only reaches libopus when the framing parsed.
			t.Fatalf("libopus rejects a packet PacketDuration accepts: %v", err)
		case err == nil && len(out) != dur:
			t.Fatalf("libopus decoded %d samples, PacketDuration says %d", len(out), dur)
		}
		// And libopus, straight, must reject what PacketDuration rejects.
		// (Only here: a rejection is cheap, and this keeps the fuzzer fast.)
		if perr != nil && len(p) > 0 {
			n, rerr := raw.Decode(p, rawBuf)
			var oe hraban.Error
			if !errors.As(rerr, &oe) || oe != hraban.ErrInvalidPacket {
				t.Fatalf("PacketDuration rejects (%v) a packet libopus takes: %d samples, %v", perr, n, rerr)
			}
		}

		// As the packet after a loss: always a usable frame.
		if out, err := dec.DecodeFEC(buf, p, 960); err != nil || len(out) != 960 {
			t.Fatalf("DecodeFEC: %d samples, %v", len(out), err)
		}
		if out, err := dec.Decode(buf, good.Data); err != nil || len(out) != good.Samples48 {
			t.Fatalf("good packet after it: %d samples, %v", len(out), err)
		}
	})
}

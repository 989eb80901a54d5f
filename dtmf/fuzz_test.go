package dtmf

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzParsePayload: any bytes parse or fail with ErrShortPayload, never
// panic; what parses marshals back to the same bytes but the R bit.
func FuzzParsePayload(f *testing.F) {
	for _, c := range seedCaptures(f) {
		for _, p := range c.caps {
			var h rtp.Header
			if n, err := h.Unmarshal(p.pkt); err == nil {
				f.Add(p.pkt[n:])
			}
		}
	}
	f.Add([]byte{1, 0x8a, 0x0a, 0, 2, 0x0a, 0, 0xa0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var arr [8]Report
		reps, err := ParsePayload(arr[:0], b)
		if err != nil {
			if len(reps) != 0 {
				t.Fatal("reports returned with an error")
			}
			return
		}
		var out []byte
		for _, r := range reps {
			out = AppendReport(out, r)
		}
		for i := range b {
			want := b[i]
			if i%4 == 1 {
				want &^= 0x40 // R is not kept
			}
			if out[i] != want {
				t.Fatalf("byte %d: %#x after the round trip, was %#x", i, out[i], b[i])
			}
		}
	})
}

type seedCapture struct {
	rate   int
	digits string
	caps   []captured
}

func seedCaptures(f *testing.F) []seedCapture {
	files, _ := filepath.Glob("testdata/gstreamer-*.rtp")
	var out []seedCapture
	for _, path := range files {
		rate, digits, caps := readCapture(f, path)
		out = append(out, seedCapture{rate, digits, caps})
	}
	return out
}

// encodeOps turns captured packets into FuzzReceiver's program format.
func encodeOps(caps []captured) []byte {
	var out []byte
	var prevTS uint32
	var prevMs int
	var h rtp.Header
	for i, c := range caps {
		n, err := h.Unmarshal(c.pkt)
		if err != nil {
			continue
		}
		pl := c.pkt[n:]
		flags := byte(len(pl)) << 4
		if h.Marker {
			flags |= 1
		}
		d := int32(h.Timestamp - prevTS)
		if i == 0 || d != int32(int16(d)) {
			flags |= 8
			out = append(out, flags, byte(min(255, c.ms-prevMs)))
			out = binary.BigEndian.AppendUint32(out, h.Timestamp)
		} else {
			out = append(out, flags, byte(min(255, c.ms-prevMs)))
			out = binary.BigEndian.AppendUint16(out, uint16(int16(d)))
		}
		out = append(out, pl...)
		prevTS, prevMs = h.Timestamp, c.ms
	}
	return out
}

// FuzzReceiver runs a Receiver over a program of packets, audio and
// ticks decoded from the input and checks what it reports: never a panic;
// notices alternate began, ended (never two digits at once, never an end
// without its start); each end is of the digit that began, with the same
// start; durations never shrink from the began notice to the ended one;
// nothing allocates.
//
// Program: per step a flags byte (bit 0 marker, bit 1 audio packet, bit 2
// tick only, bit 3 absolute 32-bit timestamp, else a 16-bit signed delta;
// high nibble payload length), a byte of milliseconds that pass, the
// timestamp, then the payload.
func FuzzReceiver(f *testing.F) {
	for _, c := range seedCaptures(f) {
		f.Add(c.rate == 48000, encodeOps(c.caps))
	}
	f.Add(false, []byte{0x49, 0, 0, 0, 0, 10, 1, 0x0a, 0, 160, 0x40, 20, 0, 0, 3, 0x8a, 1, 64})
	f.Fuzz(func(t *testing.T, wide bool, prog []byte) {
		rate := 8000
		if wide {
			rate = 48000
		}
		r, err := NewReceiver(ReceiverConfig{ClockRate: rate})
		if err != nil {
			t.Fatal(err)
		}
		var now time.Duration
		var ts uint32
		var open *Digit
		check := func() {
			for d, ok := r.Next(); ok; d, ok = r.Next() {
				switch {
				case !d.Ended && open != nil:
					t.Fatalf("%v began while %v was open", d, *open)
				case !d.Ended:
					open = &d
				case open == nil:
					t.Fatalf("%v ended without beginning", d)
				case d.Event != open.Event || d.Start != open.Start:
					t.Fatalf("%v ended, but %v began", d, *open)
				case d.Samples < open.Samples:
					t.Fatalf("%v is shorter than when it began (%v)", d, *open)
				default:
					open = nil
				}
			}
		}
		for len(prog) >= 4 {
			flags, dt := prog[0], prog[1]
			prog = prog[2:]
			if flags&8 != 0 {
				if len(prog) < 4 {
					return
				}
				ts = binary.BigEndian.Uint32(prog)
				prog = prog[4:]
			} else {
				ts += uint32(int32(int16(binary.BigEndian.Uint16(prog))))
				prog = prog[2:]
			}
			n := min(int(flags>>4), len(prog))
			pl := prog[:n]
			prog = prog[n:]
			now += time.Duration(dt) * time.Millisecond
			allocs := testing.AllocsPerRun(1, func() {
				switch {
				case flags&4 != 0:
					r.Tick(now)
				case flags&2 != 0:
					r.Audio(now, ts)
				default:
					r.Tick(now)
					r.Packet(now, ts, flags&1 != 0, pl)
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations for one step", allocs)
			}
			check()
		}
		r.Tick(now + time.Hour)
		check()
		if open != nil {
			t.Fatalf("%v never ended after the timeout", *open)
		}
	})
}

// FuzzReceiverCapture replays a real GStreamer capture with losses,
// duplicates and neighbour swaps chosen by the input (what a jitter
// buffer can leave): the digits reported must be the capture's digits in
// order, some perhaps missing, none twice, none invented.
func FuzzReceiverCapture(f *testing.F) {
	caps := seedCaptures(f)
	if len(caps) == 0 {
		f.Fatal("no captures in testdata")
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{0x12, 0x34, 0xff, 0x00, 0x55})
	f.Add(uint8(0), []byte{3, 3, 3, 3, 3, 3, 1, 1, 2, 2})
	f.Fuzz(func(t *testing.T, which uint8, pattern []byte) {
		c := caps[int(which)%len(caps)]
		var pk []captured
		for i, p := range c.caps {
			op := byte(0)
			if len(pattern) > 0 {
				op = pattern[i%len(pattern)] >> (2 * (i / len(pattern) % 4)) & 3
			}
			switch op {
			case 1: // lost
			case 2: // twice
				pk = append(pk, p, p)
			case 3: // swapped with the one before
				pk = append(pk, p)
				if n := len(pk); n >= 2 {
					pk[n-1], pk[n-2] = pk[n-2], pk[n-1]
				}
			default:
				pk = append(pk, p)
			}
		}
		got := digits(replay(t, c.rate, pk))
		if !isSubsequence(got, c.digits) {
			t.Fatalf("got %q from a capture of %q", got, c.digits)
		}
	})
}

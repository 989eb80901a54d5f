package opuspacket

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/mediatest"
)

// realPackets reads the libopus packets codec/opus keeps in its testdata:
// every mode, bandwidth, frame duration and frame-count code.
func realPackets(tb testing.TB) []mediatest.OpusPacket {
	return mediatest.OpusPackets(tb, "../../codec/opus/testdata/packets.txt")
}

func TestDurationOfRealPackets(t *testing.T) {
	for _, p := range realPackets(t) {
		d, err := Duration(p.Data)
		require.NoError(t, err, "%s %x", p.Name, p.Data)
		assert.Equal(t, p.Samples48, d, p.Name)
	}
}

func TestDurationOfEveryConfig(t *testing.T) {
	ms := []float64{
		10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 40, 60, // SILK NB, MB, WB
		10, 20, 10, 20, // hybrid SWB, FB
		2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, // CELT
	}
	for cfg, want := range ms {
		for _, stereo := range []byte{0, 4} {
			toc := byte(cfg<<3) | stereo
			d, err := Duration([]byte{toc, 0xAA})
			require.NoError(t, err)
			assert.Equal(t, int(want*48), d, "config %d", cfg)
			d, err = Duration([]byte{toc | 1, 0xAA, 0xBB})
			require.NoError(t, err)
			assert.Equal(t, int(2*want*48), d, "config %d, code 1", cfg)
		}
	}
}

// TestParseFraming walks rules R1–R7 of RFC 6716 §3.4 at their edges.
func TestParseFraming(t *testing.T) {
	pad := func(n int) []byte { return make([]byte, n) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	const silk20, celt2_5, silk60 = 1 << 3, 16 << 3, 3 << 3
	tests := []struct {
		name    string
		payload []byte
		want    int // samples at 48 kHz; 0 means an error
		first   int // length of the first frame when valid
	}{
		{name: "code 0 DTX", payload: []byte{silk20}, want: 960},
		{name: "code 0 max frame", payload: cat([]byte{silk20}, pad(1275)), want: 960, first: 1275},
		{name: "code 0 oversize frame", payload: cat([]byte{silk20}, pad(1276))},
		{name: "code 1 two empty frames", payload: []byte{silk20 | 1}, want: 1920},
		{name: "code 1 two frames", payload: []byte{silk20 | 1, 1, 2, 3, 4}, want: 1920, first: 2},
		{name: "code 1 odd", payload: []byte{silk20 | 1, 1, 2, 3}},
		{name: "code 1 two max frames", payload: cat([]byte{silk20 | 1}, pad(2550)), want: 1920, first: 1275},
		{name: "code 1 oversize frames", payload: cat([]byte{silk20 | 1}, pad(2552))},
		{name: "code 1 of 60 ms is 120 ms", payload: []byte{silk60 | 1}, want: 5760},
		{name: "code 2 one-byte length", payload: []byte{silk20 | 2, 2, 9, 9, 7}, want: 1920, first: 2},
		{name: "code 2 empty first", payload: []byte{silk20 | 2, 0, 7, 7}, want: 1920, first: 0},
		{name: "code 2 two-byte length", payload: cat([]byte{silk20 | 2, 252, 1}, pad(256)), want: 1920, first: 256},
		{name: "code 2 length exactly the rest", payload: []byte{silk20 | 2, 3, 1, 2, 3}, want: 1920, first: 3},
		{name: "code 2 length past the end", payload: []byte{silk20 | 2, 4, 1, 2, 3}},
		{name: "code 2 no length", payload: []byte{silk20 | 2}},
		{name: "code 2 cut two-byte length", payload: []byte{silk20 | 2, 253}},
		{name: "code 2 oversize second frame", payload: cat([]byte{silk20 | 2, 1}, pad(1277))},
		{name: "code 3 no count byte", payload: []byte{silk20 | 3}},
		{name: "code 3 zero frames", payload: []byte{silk20 | 3, 0}},
		{name: "code 3 CBR 3 frames", payload: []byte{silk20 | 3, 3, 1, 2, 3, 4, 5, 6}, want: 2880, first: 2},
		{name: "code 3 CBR 48 CELT 2.5 ms frames", payload: []byte{celt2_5 | 3, 48}, want: 5760},
		{name: "code 3 CBR 49 frames", payload: []byte{celt2_5 | 3, 49}},
		{name: "code 3 CBR 2 × 60 ms", payload: []byte{silk60 | 3, 2}, want: 5760},
		{name: "code 3 CBR 3 × 60 ms", payload: []byte{silk60 | 3, 3}},
		{name: "code 3 CBR indivisible", payload: []byte{silk20 | 3, 2, 1, 2, 3}},
		{name: "code 3 CBR oversize", payload: cat([]byte{silk20 | 3, 2}, pad(2552))},
		{name: "code 3 padding", payload: cat([]byte{silk20 | 3, 0x42, 3, 1, 2}, pad(3)), want: 1920, first: 1},
		{name: "code 3 padding 254+10", payload: cat([]byte{silk20 | 3, 0x41, 255, 10, 7}, pad(264)), want: 960, first: 1},
		{name: "code 3 padding 255 exact", payload: cat([]byte{silk20 | 3, 0x41, 255, 0}, pad(254)), want: 960, first: 0},
		{name: "code 3 padding past the end", payload: cat([]byte{silk20 | 3, 0x41, 10}, pad(9))},
		{name: "code 3 padding length cut", payload: cat([]byte{silk20 | 3, 0x41, 255}, pad(254))},
		{name: "code 3 padding byte missing", payload: []byte{silk20 | 3, 0x41}},
		{name: "code 3 VBR", payload: []byte{silk20 | 3, 0x83, 1, 2, 9, 8, 8, 7, 7, 7}, want: 2880, first: 1},
		{name: "code 3 VBR one frame", payload: []byte{silk20 | 3, 0x81, 5, 5}, want: 960, first: 2},
		{name: "code 3 VBR two-byte length", payload: cat([]byte{silk20 | 3, 0x82, 255, 0}, pad(260)), want: 1920, first: 255},
		{name: "code 3 VBR lengths past the end", payload: []byte{silk20 | 3, 0x83, 3, 3, 1, 1, 1, 1, 1}},
		{name: "code 3 VBR length cut", payload: []byte{silk20 | 3, 0x82, 252}},
		{name: "code 3 VBR no length", payload: []byte{silk20 | 3, 0x82}},
		{name: "code 3 VBR oversize last", payload: cat([]byte{silk20 | 3, 0x82, 0}, pad(1276))},
		{name: "code 3 VBR padding", payload: cat([]byte{silk20 | 3, 0xC2, 2, 1, 9, 8}, pad(2)), want: 1920, first: 1},
		{name: "empty", payload: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pk, err := Parse(tc.payload)
			d, derr := Duration(tc.payload)
			tp, ok := TryParse(tc.payload)
			if tc.want == 0 {
				require.ErrorIs(t, err, codec.ErrCorrupt)
				require.ErrorIs(t, derr, codec.ErrCorrupt)
				assert.Equal(t, Packet{}, pk)
				assert.Zero(t, d)
				assert.False(t, ok)
				assert.Zero(t, Samples(tc.payload))
				t.Log(err)
				return
			}
			require.NoError(t, err)
			require.NoError(t, derr)
			require.True(t, ok)
			assert.Equal(t, tc.want, d)
			assert.Equal(t, tc.want, pk.Samples())
			assert.Equal(t, tc.want, Samples(tc.payload))
			assert.Equal(t, pk, tp)
			assert.Len(t, pk.First, tc.first)
		})
	}
}

func TestDurationDoesNotAllocate(t *testing.T) {
	pkts := realPackets(t)
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range pkts {
			d, _ := Duration(p.Data)
			pk, _ := Parse(p.Data)
			sink += d + len(pk.First)
		}
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, sink)
}

func TestSamplesDoesNotAllocateOnBadPackets(t *testing.T) {
	bad := [][]byte{{}, {0x01, 1, 2, 3}, {0x02}, {0x03, 0x00}, {0x1B, 0x04}, {0x03, 0x82, 9, 1}}
	allocs := testing.AllocsPerRun(100, func() {
		for _, p := range bad {
			if _, ok := TryParse(p); ok || Samples(p) != 0 {
				panic("accepted")
			}
		}
	})
	assert.Zero(t, allocs)
}

// FuzzParse checks the parser on arbitrary bytes: no panic, Parse,
// TryParse, Duration and Samples agree, a duration within Opus's bounds in
// whole 2.5 ms units, and a first frame inside the packet within R2.
// (codec/opus's FuzzDecode holds the same parser to libopus.) Plain
// comparisons, not testify, in the body: testify's reflection adds
// coverage of its own that the fuzzer would chase.
func FuzzParse(f *testing.F) {
	for _, p := range realPackets(f) {
		if len(p.Data) <= 64 {
			f.Add(p.Data)
		}
	}
	for _, p := range [][]byte{{}, {0x7b}, {0x03, 0x41, 255, 0}, {0x7a, 252}, {0x7b, 0xC3, 1, 2}, {0x7b, 0xc3, 255, 10, 1, 2, 3, 4}} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		pk, err := Parse(p)
		tp, ok := TryParse(p)
		d, derr := Duration(p)
		if (err == nil) != ok || (err == nil) != (derr == nil) || d != pk.Samples() || Samples(p) != d {
			t.Fatalf("%x: Parse %+v, %v; TryParse %v; Duration %d, %v; Samples %d", p, pk, err, ok, d, derr, Samples(p))
		}
		if err != nil {
			if !errors.Is(err, codec.ErrCorrupt) || !errors.Is(derr, codec.ErrCorrupt) {
				t.Fatalf("error %v does not wrap codec.ErrCorrupt", err)
			}
			return
		}
		if tp.TOC != pk.TOC || tp.Frames != pk.Frames || tp.FrameSamples != pk.FrameSamples || len(tp.First) != len(pk.First) {
			t.Fatalf("%x: TryParse %+v, Parse %+v", p, tp, pk)
		}
		if d <= 0 || d > MaxSamples || d%120 != 0 {
			t.Fatalf("%x: duration %d samples: not whole 2.5 ms units within 120 ms", p, d)
		}
		if pk.TOC != p[0] || pk.FrameSamples != FrameDuration48(p[0]) || pk.Frames < 1 || pk.Frames > 48 {
			t.Fatalf("%x: %+v", p, pk)
		}
		if len(pk.First) > MaxFrameBytes || len(pk.First) >= len(p) {
			t.Fatalf("%x: first frame of %d bytes", p, len(pk.First))
		}
		if len(pk.First) > 0 && !inside(pk.First, p) {
			t.Fatalf("%x: first frame is not part of the packet", p)
		}
	})
}

// inside reports whether sub is a slice of p's array within p.
func inside(sub, p []byte) bool {
	for i := range len(p) - len(sub) + 1 {
		if &p[i] == &sub[0] {
			return true
		}
	}
	return false
}

package opus

import (
	"errors"
	"testing"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const seedPath = "testdata/packets.txt"

// seedPackets reads the real libopus packets recorded in testdata (see
// TestGoldenPackets), so that pure-Go tests run on real input without cgo.
func seedPackets(tb testing.TB) []mediatest.OpusPacket {
	return mediatest.OpusPackets(tb, seedPath)
}

// fuzzSeeds are the real packets of at most 64 bytes: still every mode and
// frame-count code, and short, because Go's fuzzer minimises each new
// input in time that grows with the square of its length.
func fuzzSeeds(f *testing.F) {
	for _, sp := range seedPackets(f) {
		if len(sp.Data) <= 64 {
			f.Add(sp.Data)
		}
	}
}

func TestPacketBandwidthOfEveryConfig(t *testing.T) {
	nb, mb, wb, swb, fb := codec.BandwidthNarrow, codec.BandwidthMedium, codec.BandwidthWide, codec.BandwidthSuperWide, codec.BandwidthFull
	want := []codec.Bandwidth{nb, nb, nb, nb, mb, mb, mb, mb, wb, wb, wb, wb, swb, swb, fb, fb,
		nb, nb, nb, nb, wb, wb, wb, wb, swb, swb, swb, swb, fb, fb, fb, fb}
	for cfg, bw := range want {
		assert.Equal(t, bw, tocBandwidth(byte(cfg<<3)), "config %d", cfg)
	}
}

// TestPacketDuration covers the wrapper; internal/opuspacket's tests cover
// the framing rules.
func TestPacketDuration(t *testing.T) {
	for _, sp := range seedPackets(t) {
		d, err := PacketDuration(sp.Data)
		require.NoError(t, err, sp.Name)
		assert.Equal(t, sp.Samples48, d, sp.Name)
	}
	d, err := PacketDuration(nil)
	require.ErrorIs(t, err, codec.ErrCorrupt)
	assert.Zero(t, d)
	assert.Contains(t, err.Error(), "use Conceal", "an empty payload says what to do instead")
	d, err = PacketDuration([]byte{1<<3 | 1, 1, 2, 3})
	require.ErrorIs(t, err, codec.ErrCorrupt)
	assert.Zero(t, d)
	assert.Equal(t, "codec: corrupt payload: opus: code 1 packet has 3 bytes of frame data, not two equal frames", err.Error())
}

func TestHasFEC(t *testing.T) {
	const silk20, silk40, silk60, hybrid20, celt20 = 1 << 3, 10 << 3, 11 << 3, 13 << 3, 31 << 3
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"mono 20 ms LBRR", []byte{silk20, 0b0100_0000}, true},
		{"mono 20 ms VAD only", []byte{silk20, 0b1011_1111}, false},
		{"mono 40 ms LBRR", []byte{silk40, 0b0010_0000}, true},
		{"mono 40 ms VADs only", []byte{silk40, 0b1101_1111}, false},
		{"mono 60 ms LBRR", []byte{silk60, 0b0001_0000}, true},
		{"mono 60 ms VADs only", []byte{silk60, 0b1110_1111}, false},
		{"stereo 20 ms mid LBRR", []byte{silk20 | 4, 0b0100_0000}, true},
		{"stereo 20 ms side LBRR", []byte{silk20 | 4, 0b0001_0000}, true},
		{"stereo 20 ms VADs only", []byte{silk20 | 4, 0b1010_1111}, false},
		{"stereo 60 ms side LBRR", []byte{silk60 | 4, 0b0000_0001}, true},
		{"hybrid LBRR", []byte{hybrid20, 0b0100_0000}, true},
		{"CELT never", []byte{celt20, 0xFF}, false},
		{"DTX", []byte{silk20}, false},
		{"code 2 empty first frame", []byte{silk20 | 2, 0, 0xFF}, false},
		{"code 2 first frame", []byte{silk20 | 2, 1, 0x40, 0x00}, true},
		{"code 3 VBR first frame", []byte{silk20 | 3, 0x82, 1, 0x40, 0x00}, true},
		{"corrupt", []byte{silk20 | 1, 0x40, 0, 0}, false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, HasFEC(tc.payload))
		})
	}
	withFEC := 0
	for _, sp := range seedPackets(t) {
		if HasFEC(sp.Data) {
			withFEC++
			assert.Contains(t, sp.Name, "fec", "only FEC streams carry LBRR")
		}
	}
	assert.NotZero(t, withFEC)
}

func TestIsDTX(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"toc only", []byte{0x78}, true},
		{"two bytes", []byte{0x78, 0}, true},
		{"three bytes", []byte{0xf8, 0xff, 0xfe}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, IsDTX(tc.payload))
		})
	}
}

func TestPacketHelpersDoNotAllocate(t *testing.T) {
	seeds := seedPackets(t)
	i := 0
	n := testing.AllocsPerRun(100, func() {
		p := seeds[i%len(seeds)].Data
		i++
		_, _ = PacketDuration(p)
		_ = HasFEC(p)
		_ = IsDTX(p)
		_, _ = PacketDuration(nil) // the prebuilt empty-payload error
	})
	assert.Zero(t, n)
}

// BenchmarkPacketDuration is the framing check Decode adds in front of
// libopus: the wrapper's whole per-packet overhead besides a few compares.
func BenchmarkPacketDuration(b *testing.B) {
	seeds := seedPackets(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = PacketDuration(seeds[i%len(seeds)].Data)
	}
}

func BenchmarkHasFEC(b *testing.B) {
	seeds := seedPackets(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = HasFEC(seeds[i%len(seeds)].Data)
	}
}

// FuzzPacketDuration checks the pure-Go packet helpers on arbitrary bytes:
// no panic, durations within Opus's bounds, no FEC where there can be none.
// FuzzDecode (cgo) checks the same parser against libopus itself.
func FuzzPacketDuration(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte{0x7b, 0xc3, 255, 10, 1, 2, 3, 4})
	f.Add([]byte{0x7a, 252, 1, 0})
	// Plain comparisons, not testify, in the body: testify's reflection
	// adds coverage of its own that the fuzzer would chase and minimise.
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := PacketDuration(p)
		fec := HasFEC(p)
		if err != nil {
			if !errors.Is(err, codec.ErrCorrupt) || d != 0 || fec {
				t.Fatalf("error %v: duration %d, FEC %v", err, d, fec)
			}
			return
		}
		if d <= 0 || d > maxPacketSamples || d%120 != 0 {
			t.Fatalf("duration %d samples: not whole 2.5 ms units within 120 ms", d)
		}
		if fec && p[0]>>3 >= 16 {
			t.Fatalf("FEC reported for CELT-only config %d", p[0]>>3)
		}
	})
}

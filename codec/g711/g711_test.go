package g711

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/wav"
)

// law bundles one law's implementations under test with its reference.
type law struct {
	name          string
	encode        func(dst []byte, pcm []int16) []byte
	decode        func(dst []int16, codes []byte) []int16
	encodeGeneric func(dst []byte, src []int16)
	decodeGeneric func(dst []int16, src []byte)
	encodeSample  func(int16) byte
	decodeSample  func(byte) int16
	closedEncode  func(int16) byte
	closedDecode  func(byte) int16
	refEncode     func(int16) byte // G.191 transcription
	refDecode     func(byte) int16
	// step is the quantisation step of a code, in 16-bit units.
	step func(code byte) int
}

var laws = []law{
	{
		name: "ulaw", encode: EncodeUlaw, decode: DecodeUlaw,
		encodeGeneric: encodeUlawGeneric, decodeGeneric: decodeUlawGeneric,
		encodeSample: LinearToUlaw, decodeSample: UlawToLinear,
		closedEncode: ulawCompress, closedDecode: ulawExpand,
		refEncode: g191UlawCompress, refDecode: g191UlawExpand,
		// G.191 ulaw_expand: step = 4 << segment, segment = exponent+1.
		step: func(c byte) int { return 8 << ((^c >> 4) & 7) },
	},
	{
		name: "alaw", encode: EncodeAlaw, decode: DecodeAlaw,
		encodeGeneric: encodeAlawGeneric, decodeGeneric: decodeAlawGeneric,
		encodeSample: LinearToAlaw, decodeSample: AlawToLinear,
		closedEncode: alawCompress, closedDecode: alawExpand,
		refEncode: g191AlawCompress, refDecode: g191AlawExpand,
		// G.191 alaw_expand: the two lowest segments share a step of 16.
		step: func(c byte) int { return 16 << max(int((c^0x55)>>4&7)-1, 0) },
	},
}

func allInt16() []int16 {
	pcm := make([]int16, 1<<16)
	for i := range pcm {
		pcm[i] = int16(i - 1<<15)
	}
	return pcm
}

func allCodes() []byte {
	c := make([]byte, 256)
	for i := range c {
		c[i] = byte(i)
	}
	return c
}

// TestEncodeMatchesG191 checks every encoder against the G.191
// transcription for all 65,536 inputs.
func TestEncodeMatchesG191(t *testing.T) {
	pcm := allInt16()
	for _, l := range laws {
		t.Run(l.name, func(t *testing.T) {
			want := make([]byte, len(pcm))
			for i, x := range pcm {
				want[i] = l.refEncode(x)
			}
			fast := l.encode(nil, pcm)
			generic := make([]byte, len(pcm))
			l.encodeGeneric(generic, pcm)
			bad := 0
			for i, x := range pcm {
				if fast[i] != want[i] || generic[i] != want[i] ||
					l.encodeSample(x) != want[i] || l.closedEncode(x) != want[i] {
					bad++
					if bad <= 5 {
						t.Errorf("x=%d: G.191 %#02x, fast %#02x, generic %#02x, sample %#02x, closed form %#02x",
							x, want[i], fast[i], generic[i], l.encodeSample(x), l.closedEncode(x))
					}
				}
			}
			assert.Zero(t, bad, "inputs that differ from G.191")
		})
	}
}

// TestDecodeMatchesG191 checks every decoder against the G.191
// transcription for all 256 codes.
func TestDecodeMatchesG191(t *testing.T) {
	codes := allCodes()
	for _, l := range laws {
		t.Run(l.name, func(t *testing.T) {
			fast := l.decode(nil, codes)
			generic := make([]int16, len(codes))
			l.decodeGeneric(generic, codes)
			for _, c := range codes {
				want := l.refDecode(c)
				assert.Equal(t, want, fast[c], "fast, code %#02x", c)
				assert.Equal(t, want, generic[c], "generic, code %#02x", c)
				assert.Equal(t, want, l.decodeSample(c), "sample, code %#02x", c)
				assert.Equal(t, want, l.closedDecode(c), "closed form, code %#02x", c)
			}
		})
	}
}

// TestKnownValues pins values that G.711 itself tabulates, so that an error
// shared by the reference transcription and the code cannot hide.
func TestKnownValues(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"ulaw +0 code", int(LinearToUlaw(0)), 0xff},
		{"ulaw -1 code", int(LinearToUlaw(-1)), 0x7f},
		{"ulaw max code", int(LinearToUlaw(32767)), 0x80},
		{"ulaw min code", int(LinearToUlaw(-32768)), 0x00},
		{"ulaw 0x80 value", int(UlawToLinear(0x80)), 32124},
		{"ulaw 0x00 value", int(UlawToLinear(0x00)), -32124},
		{"ulaw 0xff value", int(UlawToLinear(0xff)), 0},
		{"ulaw 0x7f value", int(UlawToLinear(0x7f)), 0},
		{"ulaw 0xfe value", int(UlawToLinear(0xfe)), 8},
		{"alaw +0 code", int(LinearToAlaw(0)), 0xd5},
		{"alaw -1 code", int(LinearToAlaw(-1)), 0x55},
		{"alaw max code", int(LinearToAlaw(32767)), 0xaa},
		{"alaw min code", int(LinearToAlaw(-32768)), 0x2a},
		{"alaw 0xd5 value", int(AlawToLinear(0xd5)), 8},
		{"alaw 0x55 value", int(AlawToLinear(0x55)), -8},
		{"alaw 0xaa value", int(AlawToLinear(0xaa)), 32256},
		{"alaw 0x2a value", int(AlawToLinear(0x2a)), -32256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got)
		})
	}
}

// roundTripException is the code that does not survive decode then encode:
// μ-law has two zeros, +0 (0xff) and -0 (0x7f), both decoding to 0, which
// encodes as +0. Every A-law code decodes to a distinct value (±8 at the
// smallest), so A-law has none.
func roundTripException(l law, c byte) (byte, bool) {
	if l.name == "ulaw" && c == 0x7f {
		return 0xff, true
	}
	return c, false
}

func TestDecodeEncodeRoundTrip(t *testing.T) {
	for _, l := range laws {
		t.Run(l.name, func(t *testing.T) {
			codes := allCodes()
			got := l.encode(nil, l.decode(nil, codes))
			var changed []byte
			for _, c := range codes {
				want, _ := roundTripException(l, c)
				assert.Equal(t, want, got[c], "code %#02x", c)
				if got[c] != c {
					changed = append(changed, c)
				}
			}
			if l.name == "ulaw" {
				assert.Equal(t, []byte{0x7f}, changed)
			} else {
				assert.Empty(t, changed)
			}
		})
	}
}

// TestQuantisationError checks encode then decode for all inputs: within
// half a step inside the coder's range, within a step in the clipped ends,
// and idempotent but for μ-law's -0 (see roundTripException).
func TestQuantisationError(t *testing.T) {
	pcm := allInt16()
	for _, l := range laws {
		t.Run(l.name, func(t *testing.T) {
			codes := l.encode(nil, pcm)
			out := l.decode(nil, codes)
			again := l.encode(nil, out)
			peak := int(l.decodeSample(l.encodeSample(32767)))
			for i, x := range pcm {
				err := abs(int(out[i]) - int(x))
				step := l.step(codes[i])
				if abs(int(x)) <= peak {
					if 2*err > step {
						t.Fatalf("x=%d → %#02x → %d: error %d > half step %d", x, codes[i], out[i], err, step/2)
					}
				} else if err > step {
					t.Fatalf("x=%d → %#02x → %d: clipped error %d > step %d", x, codes[i], out[i], err, step)
				}
				want, _ := roundTripException(l, codes[i])
				require.Equal(t, want, again[i], "re-encoding x=%d", x)
			}
		})
	}
}

// TestLengthsAndOffsets drives the kernels through every length up to a few
// blocks and through unaligned starts, so that the assembly's overlapped
// tail and the generic remainder loops are both covered.
func TestLengthsAndOffsets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pcm := make([]int16, 300)
	codes := make([]byte, 300)
	for i := range pcm {
		pcm[i] = int16(rng.Uint32())
		codes[i] = byte(rng.Uint32())
	}
	for _, l := range laws {
		t.Run(l.name, func(t *testing.T) {
			for off := range 3 {
				for n := 0; n <= 200; n++ {
					p, c := pcm[off:off+n], codes[off:off+n]
					enc := l.encode(make([]byte, 0, n+5), p)
					dec := l.decode(make([]int16, 0, n+5), c)
					require.Len(t, enc, n)
					require.Len(t, dec, n)
					for i := range n {
						require.Equal(t, l.refEncode(p[i]), enc[i], "off %d n %d i %d", off, n, i)
						require.Equal(t, l.refDecode(c[i]), dec[i], "off %d n %d i %d", off, n, i)
					}
				}
			}
		})
	}
}

// TestBuffers checks the append-to-dst[:0] contract: the caller's buffer is
// reused when large enough, replaced when not, and nothing past the result
// is written.
func TestBuffers(t *testing.T) {
	pcm := make([]int16, 160)
	codes := make([]byte, 160)
	tests := []struct {
		name    string
		cap     int
		reuse   bool
		wantLen int
	}{
		{"nil dst", 0, false, 160},
		{"short dst", 100, false, 160},
		{"exact dst", 160, true, 160},
		{"large dst", 400, true, 160},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, 7, max(tt.cap, 7))
			if tt.cap == 0 {
				b = nil
			}
			out := EncodeUlaw(b, pcm)
			assert.Len(t, out, tt.wantLen)
			assert.Equal(t, tt.reuse, tt.cap > 0 && &out[0] == &b[:1][0])
			s := make([]int16, 3, max(tt.cap, 3))
			if tt.cap == 0 {
				s = nil
			}
			dec := DecodeAlaw(s, codes)
			assert.Len(t, dec, tt.wantLen)
			assert.Equal(t, tt.reuse, tt.cap > 0 && &dec[0] == &s[:1][0])
		})
	}
	guard := make([]byte, 40)
	for i := range guard {
		guard[i] = 0xee
	}
	EncodeAlaw(guard[:0], pcm[:33])
	assert.Equal(t, []byte{0xee, 0xee}, guard[33:35], "bytes past the result untouched")
}

func TestAllocs(t *testing.T) {
	pcm := make([]int16, 160)
	codes := make([]byte, 160)
	b := make([]byte, 160)
	s := make([]int16, 160)
	for _, l := range laws {
		assert.Zero(t, testing.AllocsPerRun(100, func() { b = l.encode(b, pcm) }), l.name)
		assert.Zero(t, testing.AllocsPerRun(100, func() { s = l.decode(s, codes) }), l.name)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// speech8k returns alice.wav taken down to 8 kHz: a 6-sample average (a
// crude low-pass, adequate for tests and benchmarks) then every 6th sample.
var speech8k = sync.OnceValues(func() ([]int16, error) {
	a, err := wav.ReadFile("../../testdata/alice.wav")
	if err != nil {
		return nil, err
	}
	if a.SampleRate != 48000 || a.Channels != 1 {
		return nil, assert.AnError
	}
	out := make([]int16, len(a.Samples)/6)
	for i := range out {
		sum := 0
		for _, v := range a.Samples[6*i : 6*i+6] {
			sum += int(v)
		}
		out[i] = int16(sum / 6)
	}
	return out, nil
})

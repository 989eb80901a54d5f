package g722

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
)

// The ITU-T G.722 test sequences (Appendix II) and the G.191 speech check;
// see testdata/itu/README.md. Expected outputs are checked by the CRC-32
// the ITU publishes for each file in testdata/itu/g722-tv-readme.txt
// (little-endian column; codsp.cod is a byte stream, stored as the
// big-endian file).
var ituCRC = map[string]uint32{
	"bt1c1.xmt": 0x0C3BFCA7, "bt1c2.xmt": 0x2D604685, "bt1d3.cod": 0x7398964F,
	"bt2r1.cod": 0xD1DAA1D1, "bt2r2.cod": 0x344EA5D0,
	"bt3h1.rc0": 0xE9250851, "bt3h2.rc0": 0x5330AE2E, "bt3h3.rc0": 0x3731AD7F,
	"bt3l1.rc1": 0xED1B3993, "bt3l1.rc2": 0x8E8C4E2B, "bt3l1.rc3": 0xB7AA5569,
	"bt3l2.rc1": 0xAF00F31F, "bt3l2.rc2": 0x9143E92C, "bt3l2.rc3": 0xAE855C07,
	"bt3l3.rc1": 0xA5374659, "bt3l3.rc2": 0x687B250A, "bt3l3.rc3": 0x3605736B,
	"codsp.cod": 0xE241B6B9, "inpsp.bin": 0xC9BACC0B,
	"outsp1.bin": 0x28E883BA, "outsp2.bin": 0x5EFEEB04, "outsp3.bin": 0x57533121,
}

// ituInput returns a stored input and checks it is the ITU's file.
func ituInput(t *testing.T, name string) []byte {
	t.Helper()
	b := readGz(t, filepath.Join("itu", name))
	require.Equal(t, ituCRC[name], crc32.ChecksumIEEE(b), "%s is not the ITU's file", name)
	return b
}

// checkITUOutput compares an output, in the file's format, with the ITU's
// by CRC-32; with G722_ITU_DIR set it also reports the first differing
// 16-bit word of the distribution's file.
func checkITUOutput(t *testing.T, impl, name string, got []byte) {
	t.Helper()
	if crc := crc32.ChecksumIEEE(got); crc == ituCRC[name] {
		return
	} else {
		t.Errorf("%s: %s: CRC-32 %08X, the ITU's is %08X", impl, name, crc, ituCRC[name])
	}
	dir := os.Getenv("G722_ITU_DIR")
	if dir == "" {
		t.Log("set G722_ITU_DIR to the STL's tstvector/littleendian folder to see where it differs")
		return
	}
	want, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	for i := 0; i+1 < min(len(got), len(want)); i += 2 {
		if g, w := binary.LittleEndian.Uint16(got[i:]), binary.LittleEndian.Uint16(want[i:]); g != w {
			t.Fatalf("%s: %s: word %d is %04x, want %04x", impl, name, i/2, g, w)
		}
	}
	t.Fatalf("%s: %s: %d bytes, want %d", impl, name, len(got), len(want))
}

// subband is a G.722 with its QMFs bypassed, as the test sequences drive
// it: one sub-band sample (or code) per band at a time, and a reset.
type subband interface {
	encode(xl, xh int32) byte
	decode(code byte) (rl, rh int32)
	reset()
}

type fastSubband struct {
	e *Encoder
	d *Decoder
}

func (f fastSubband) encode(xl, xh int32) byte {
	var c [1]byte
	f.e.adpcm(c[:], []int32{xl}, []int32{xh})
	return c[0]
}

func (f fastSubband) decode(code byte) (int32, int32) {
	var h [2]int16
	f.d.adpcm(h[:], []byte{code})
	sum, diff := int32(h[0]), int32(h[1]) // rl+rh, rl-rh
	return (sum + diff) >> 1, (sum - diff) >> 1
}

func (f fastSubband) reset() { f.e.Reset(); f.d.Reset() }

type refSubband struct{ c *refCodec }

func (r refSubband) encode(xl, xh int32) byte {
	il := r.c.lsbcod(xl)
	return r.c.hsbcod(xh)<<6 | il
}

func (r refSubband) decode(code byte) (int32, int32) {
	return r.c.lsbdec(code & 63), r.c.hsbdec(code >> 6)
}

func (r refSubband) reset() { *r.c = *newRefCodec(r.c.mode) }

var modeBitrate = [4]int{1: 64000, 2: 56000, 3: 48000}

func subbands(t *testing.T, mode int) map[string]subband {
	e, err := NewEncoder(codec.Config{})
	require.NoError(t, err)
	d, err := NewDecoder(codec.Config{Bitrate: modeBitrate[mode]})
	require.NoError(t, err)
	return map[string]subband{"fast": fastSubband{e, d}, "reference": refSubband{newRefCodec(mode)}}
}

// TestITUEncoderSequences: T1C1 and T1C2 through the sub-band encoders
// give T2R1 and T2R2. Input words are the sample shifted left once, with
// bit 0 set on the reset words that open and close each sequence (the
// reset word's code is 1).
func TestITUEncoderSequences(t *testing.T) {
	for _, seq := range [][2]string{{"bt1c1.xmt", "bt2r1.cod"}, {"bt1c2.xmt", "bt2r2.cod"}} {
		in := leWords(ituInput(t, seq[0]))
		want := ituInput(t, seq[1])
		for name, sb := range subbands(t, 1) {
			t.Run(seq[0]+"/"+name, func(t *testing.T) {
				out := make([]uint16, len(in))
				for i, w := range in {
					if w&1 == 1 {
						sb.reset()
						out[i] = 1
						continue
					}
					x := int32(int16(w) >> 1)
					out[i] = uint16(sb.encode(x, x)) << 8
				}
				got := leBytes(out)
				if !bytes.Equal(got, want) {
					checkITUOutput(t, name, seq[1], got)
				}
			})
		}
	}
}

// TestITUDecoderSequences: T2R1, T2R2 and T1D3 through the sub-band
// decoders in modes 1, 2 and 3 give the lower band's T3L*.RC1–RC3 and the
// higher band's T3H*.RC0 (outputs shifted left once; reset words give 1).
// The decoder receives all six bits of each code in every mode, as in
// G.191's test program: ignoring the last one or two is its job.
func TestITUDecoderSequences(t *testing.T) {
	for _, seq := range [][3]string{
		{"bt2r1.cod", "bt3l1", "bt3h1.rc0"},
		{"bt2r2.cod", "bt3l2", "bt3h2.rc0"},
		{"bt1d3.cod", "bt3l3", "bt3h3.rc0"},
	} {
		in := leWords(ituInput(t, seq[0]))
		for mode := 1; mode <= 3; mode++ {
			for name, sb := range subbands(t, mode) {
				t.Run(fmt.Sprintf("%s/mode%d/%s", seq[0], mode, name), func(t *testing.T) {
					lo, hi := make([]uint16, len(in)), make([]uint16, len(in))
					for i, w := range in {
						if w&1 == 1 {
							sb.reset()
							lo[i], hi[i] = 1, 1
							continue
						}
						rl, rh := sb.decode(byte(w >> 8))
						lo[i], hi[i] = uint16(rl<<1), uint16(rh<<1)
					}
					checkITUOutput(t, name, fmt.Sprintf("%s.rc%d", seq[1], mode), leBytes(lo))
					checkITUOutput(t, name, seq[2], leBytes(hi))
				})
			}
		}
	}
}

// TestITUSpeech: the whole codec, filters included, on the G.191 speech
// check: inpsp.bin encodes to codsp.cod, which decodes to outsp1–3.bin in
// modes 1–3. The package's codec runs through its public API in 20 ms
// frames; ffmpeg 5.1 produces the same bytes and samples
// (TestFFmpegITUSpeech).
func TestITUSpeech(t *testing.T) {
	pcm := leSamples(ituInput(t, "inpsp.bin"))
	want := ituInput(t, "codsp.cod")

	t.Run("fast", func(t *testing.T) {
		enc, err := NewEncoder(codec.Config{})
		require.NoError(t, err)
		var got, frame []byte
		for i := 0; i+320 <= len(pcm); i += 320 {
			frame, err = enc.Encode(frame, pcm[i:i+320])
			require.NoError(t, err)
			got = append(got, frame...)
		}
		// The speech ends on 16 ms, which no ptime (a multiple of 5 ms)
		// frames: the last samples go through the same code unframed.
		tail := make([]byte, len(pcm)%320/2)
		enc.encode(tail, pcm[len(pcm)-2*len(tail):])
		got = append(got, tail...)
		require.Equal(t, len(want), len(got))
		assert.True(t, bytes.Equal(want, got), "codes differ from codsp.cod")

		for mode := 1; mode <= 3; mode++ {
			dec, err := NewDecoder(codec.Config{Bitrate: modeBitrate[mode]})
			require.NoError(t, err)
			var out []int16
			for i := 0; i < len(want); i += 160 {
				o, err := dec.Decode(nil, want[i:min(i+160, len(want))])
				require.NoError(t, err)
				out = append(out, o...)
			}
			checkITUOutput(t, "fast", fmt.Sprintf("outsp%d.bin", mode), leBytes(out))
		}
	})
	t.Run("reference", func(t *testing.T) {
		got := newRefCodec(1).encode(nil, pcm)
		assert.True(t, bytes.Equal(want, got), "codes differ from codsp.cod")
		for mode := 1; mode <= 3; mode++ {
			out := newRefCodec(mode).decode(nil, want)
			checkITUOutput(t, "reference", fmt.Sprintf("outsp%d.bin", mode), leBytes(out))
		}
	})
}

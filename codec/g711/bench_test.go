package g711

import (
	"testing"

	"github.com/rtpmix/rtpmix/codec"
)

// The obvious alternative to the fast path: G.191's per-sample loop, with
// its segment search and branches (the transcription in reference_test.go),
// appending one sample at a time.

func branchyEncodeUlaw(dst []byte, pcm []int16) []byte {
	dst = dst[:0]
	for _, x := range pcm {
		dst = append(dst, g191UlawCompress(x))
	}
	return dst
}

func branchyEncodeAlaw(dst []byte, pcm []int16) []byte {
	dst = dst[:0]
	for _, x := range pcm {
		dst = append(dst, g191AlawCompress(x))
	}
	return dst
}

func branchyDecodeUlaw(dst []int16, codes []byte) []int16 {
	dst = dst[:0]
	for _, c := range codes {
		dst = append(dst, g191UlawExpand(c))
	}
	return dst
}

func branchyDecodeAlaw(dst []int16, codes []byte) []int16 {
	dst = dst[:0]
	for _, c := range codes {
		dst = append(dst, g191AlawExpand(c))
	}
	return dst
}

// genericEncode and genericDecode wrap the table kernels (what builds
// without the assembly run) in the slice API, for comparison on amd64.
func genericEncode(k func([]byte, []int16)) func([]byte, []int16) []byte {
	return func(dst []byte, pcm []int16) []byte {
		dst = growBytes(dst, len(pcm))
		k(dst, pcm)
		return dst
	}
}

func genericDecode(k func([]int16, []byte)) func([]int16, []byte) []int16 {
	return func(dst []int16, codes []byte) []int16 {
		dst = growInt16(dst, len(codes))
		k(dst, codes)
		return dst
	}
}

const frameLen = 160 // 20 ms at 8 kHz

// benchFrames returns 64 consecutive 20 ms frames of speech, so that the
// table-driven paths see realistic, varying indexes.
func benchFrames(b *testing.B) [][]int16 {
	speech, err := speech8k()
	if err != nil {
		b.Fatal(err)
	}
	frames := make([][]int16, 64)
	for i := range frames {
		frames[i] = speech[8000+i*frameLen : 8000+(i+1)*frameLen]
	}
	return frames
}

func reportFrame(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/frameLen, "ns/sample")
}

// BenchmarkEncode encodes 160-sample frames; SetBytes counts the 16-bit PCM
// consumed, so MB/s is PCM throughput.
func BenchmarkEncode(b *testing.B) {
	frames := benchFrames(b)
	impls := []struct {
		name string
		fn   func([]byte, []int16) []byte
	}{
		{"ulaw/fast", EncodeUlaw},
		{"ulaw/generic", genericEncode(encodeUlawGeneric)},
		{"ulaw/branchy", branchyEncodeUlaw},
		{"alaw/fast", EncodeAlaw},
		{"alaw/generic", genericEncode(encodeAlawGeneric)},
		{"alaw/branchy", branchyEncodeAlaw},
	}
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			dst := make([]byte, frameLen)
			b.SetBytes(2 * frameLen)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dst = im.fn(dst, frames[i&63])
			}
			reportFrame(b)
		})
	}
}

// BenchmarkDecode decodes 160-byte payloads; SetBytes counts the 16-bit PCM
// produced.
func BenchmarkDecode(b *testing.B) {
	frames := benchFrames(b)
	payloads := [2][][]byte{}
	for _, f := range frames {
		payloads[0] = append(payloads[0], EncodeUlaw(nil, f))
		payloads[1] = append(payloads[1], EncodeAlaw(nil, f))
	}
	impls := []struct {
		name string
		law  int
		fn   func([]int16, []byte) []int16
	}{
		{"ulaw/fast", 0, DecodeUlaw},
		{"ulaw/generic", 0, genericDecode(decodeUlawGeneric)},
		{"ulaw/branchy", 0, branchyDecodeUlaw},
		{"alaw/fast", 1, DecodeAlaw},
		{"alaw/generic", 1, genericDecode(decodeAlawGeneric)},
		{"alaw/branchy", 1, branchyDecodeAlaw},
	}
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			dst := make([]int16, frameLen)
			b.SetBytes(2 * frameLen)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dst = im.fn(dst, payloads[im.law][i&63])
			}
			reportFrame(b)
		})
	}
}

// BenchmarkCodec measures one 20 ms frame through the codec interfaces, as
// the mixer calls them, and concealment: "conceal-20ms" is a frame decoded
// then one lost (the loss's start includes the pitch search), "conceal-60ms"
// a frame decoded then three lost, the most that is not silence.
func BenchmarkCodec(b *testing.B) {
	frames := benchFrames(b)
	for _, f := range []codec.Format{PCMU, PCMA} {
		sdp := f.SDPName()
		enc, err := codec.NewEncoder(sdp, codec.Config{})
		if err != nil {
			b.Fatal(err)
		}
		dec, err := codec.NewDecoder(sdp, codec.Config{})
		if err != nil {
			b.Fatal(err)
		}
		payload := make([]byte, frameLen)
		pcm := make([]int16, frameLen)
		b.Run(f.Name+"/encode", func(b *testing.B) {
			b.SetBytes(2 * frameLen)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				payload, _ = enc.Encode(payload, frames[i&63])
			}
			reportFrame(b)
		})
		b.Run(f.Name+"/decode", func(b *testing.B) {
			b.SetBytes(2 * frameLen)
			b.ReportAllocs()
			for b.Loop() {
				pcm, _ = dec.Decode(pcm, payload)
			}
			reportFrame(b)
		})
		b.Run(f.Name+"/conceal-20ms", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pcm, _ = dec.Decode(pcm, payload)
				pcm, _ = dec.Conceal(pcm, frameLen)
			}
		})
		b.Run(f.Name+"/conceal-60ms", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pcm, _ = dec.Decode(pcm, payload)
				for range 3 {
					pcm, _ = dec.Conceal(pcm, frameLen)
				}
			}
		})
	}
}

package g711

import (
	"encoding/binary"
	"testing"

	"github.com/rtpmix/rtpmix/codec"
)

// fuzzSeeds adds real payloads (speech frames in both laws, and the same
// speech as raw little-endian PCM bytes), every code, and the extremes.
func fuzzSeeds(f *testing.F) {
	f.Add(allCodes())
	f.Add([]byte{0x7f, 0xff, 0x00, 0x80, 0x55, 0xd5, 0x2a, 0xaa, 0xff, 0x7f})
	speech, err := speech8k()
	if err != nil {
		f.Fatal(err)
	}
	for _, at := range []int{8000, 16000, 30000} { // voiced frames
		frame := speech[at : at+160]
		f.Add(EncodeUlaw(nil, frame))
		f.Add(EncodeAlaw(nil, frame))
		raw := make([]byte, 2*len(frame))
		for i, v := range frame {
			binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
		}
		f.Add(raw)
	}
}

// FuzzRoundTrip reads the input twice, for both laws. As codes: the fast,
// generic and reference decoders agree, and decoding then encoding gives the
// codes back, except μ-law's -0 (0x7f), which comes back as +0 (0xff). As
// little-endian PCM: the fast, generic and reference encoders agree, and
// decoding the codes lands within a quantisation step of the input (half a
// step inside the coder's range).
func FuzzRoundTrip(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm := make([]int16, len(data)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		for _, l := range laws {
			dec := l.decode(nil, data)
			generic := make([]int16, len(data))
			l.decodeGeneric(generic, data)
			enc := l.encode(nil, dec)
			for i, c := range data {
				ref := l.refDecode(c)
				if dec[i] != ref || generic[i] != ref {
					t.Fatalf("%s decode %#02x: fast %d, generic %d, G.191 %d", l.name, c, dec[i], generic[i], ref)
				}
				if want, _ := roundTripException(l, c); enc[i] != want {
					t.Fatalf("%s: %#02x → %d → %#02x, want %#02x", l.name, c, dec[i], enc[i], want)
				}
			}

			codes := l.encode(nil, pcm)
			genCodes := make([]byte, len(pcm))
			l.encodeGeneric(genCodes, pcm)
			out := l.decode(nil, codes)
			peak := int(l.decodeSample(l.encodeSample(32767)))
			for i, x := range pcm {
				ref := l.refEncode(x)
				if codes[i] != ref || genCodes[i] != ref {
					t.Fatalf("%s encode %d: fast %#02x, generic %#02x, G.191 %#02x", l.name, x, codes[i], genCodes[i], ref)
				}
				err, step := abs(int(out[i])-int(x)), l.step(codes[i])
				if (abs(int(x)) <= peak && 2*err > step) || err > step {
					t.Fatalf("%s: %d → %#02x → %d: error %d, step %d", l.name, x, codes[i], out[i], err, step)
				}
			}
		}
	})
}

// FuzzDecoder drives a Decoder with arbitrary payloads and losses: each
// input byte b < 0x80 decodes the next b+1 bytes as a payload (or what is
// left of them), b >= 0x80 conceals (b-0x7f)*8 samples. Lengths must come
// out right, nothing may panic, and a payload that does not follow a loss
// decodes exactly as DecodeUlaw does.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0x9f, 0x03, 0x7f, 0x00, 0xff, 0x80})
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder(PCMU, codec.Config{})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]int16, 0, 160)
		afterLoss := false
		for len(data) > 0 {
			op := data[0]
			data = data[1:]
			if op >= 0x80 {
				n := int(op-0x7f) * 8
				if buf, err = dec.Conceal(buf, n); err != nil || len(buf) != n {
					t.Fatalf("Conceal(%d): %d samples, %v", n, len(buf), err)
				}
				afterLoss = true
				continue
			}
			n := min(int(op)+1, len(data))
			payload := data[:n]
			data = data[n:]
			buf, err = dec.Decode(buf, payload)
			if n == 0 {
				if err == nil {
					t.Fatal("empty payload accepted")
				}
				continue
			}
			if err != nil || len(buf) != n {
				t.Fatalf("Decode(%d bytes): %d samples, %v", n, len(buf), err)
			}
			if !afterLoss {
				want := DecodeUlaw(nil, payload)
				for i := range want {
					if buf[i] != want[i] {
						t.Fatalf("sample %d: %d, want %d", i, buf[i], want[i])
					}
				}
			}
			afterLoss = false
		}
	})
}

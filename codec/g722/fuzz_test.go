package g722

import (
	"os"
	"testing"

	"github.com/rtpmix/rtpmix/codec"
)

// fuzzSeeds adds real payloads (20 ms frames of ffmpeg's encoding of alice,
// of the ITU's codsp.cod, and the ITU's speech as PCM bytes), every code,
// and the extremes.
func fuzzSeeds(f *testing.F) {
	alice, err := os.ReadFile(goldenAlice)
	if err != nil {
		f.Fatal(err)
	}
	for _, at := range []int{8000, 24000, 40000} { // voiced frames
		f.Add(alice[at : at+160])
	}
	f.Add(readGz(f, "itu/codsp.cod")[4000:4160])
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	f.Add(all)
	f.Add([]byte{0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x3c, 0xc3, 0x04, 0xfb, 0x20, 0xdf, 0x7f, 0x80})
	f.Add(leBytes(ituSpeech()[16000:16320]))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80, 0xff, 0x7f, 0x00, 0x80}) // full-scale square wave as PCM
}

// FuzzDecode feeds arbitrary bytes to the decoder, as a network would:
// it never panics; in every mode it gives two samples per byte, the same
// as the textbook decoder's; and any split of the bytes into payloads,
// with losses concealed in between, gives the right lengths and leaves the
// decoder usable (after a Reset it decodes as a new one).
func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for mode := 1; mode <= 3; mode++ {
			dec, err := NewDecoder(codec.Config{Bitrate: modeBitrate[mode]})
			if err != nil {
				t.Fatal(err)
			}
			out, err := dec.Decode(nil, data)
			if len(data) == 0 {
				if err == nil || len(out) != 0 {
					t.Fatalf("empty payload: %d samples, error %v", len(out), err)
				}
				continue
			}
			if err != nil || len(out) != 2*len(data) {
				t.Fatalf("mode %d: %d samples for %d bytes, error %v", mode, len(out), len(data), err)
			}
			if want := newRefCodec(mode).decode(nil, data); firstDiff(out, want) >= 0 {
				t.Fatalf("mode %d: sample %d is %d, the reference's %d", mode, firstDiff(out, want), out[firstDiff(out, want)], want[firstDiff(out, want)])
			}

			// The bytes again, cut where they say, every other piece lost.
			dec.Reset()
			for i, rest := 0, data; len(rest) > 0; i++ {
				n := min(len(rest), 1+int(rest[0]))
				var got []int16
				if i%2 == 1 {
					got, err = dec.Conceal(nil, 2*n+i%3)
					if err == nil && len(got) != 2*n+i%3 {
						err = errFrameSize
					}
				} else {
					got, err = dec.Decode(nil, rest[:n])
					if err == nil && len(got) != 2*n {
						err = errFrameSize
					}
				}
				if err != nil {
					t.Fatalf("piece %d of %d bytes: %d samples, %v", i, n, len(got), err)
				}
				rest = rest[n:]
			}
			dec.Reset()
			again, err := dec.Decode(nil, data)
			if err != nil || firstDiff(again, out) >= 0 {
				t.Fatalf("mode %d: after Reset the decoder decodes differently (%v)", mode, err)
			}
		}
	})
}

// FuzzRoundTrip reads the input as little-endian 16 kHz PCM: the encoder
// gives the textbook encoder's bytes, in one call or in frames, and those
// decode to the textbook decoder's samples.
func FuzzRoundTrip(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm := leSamples(data)
		pcm = pcm[:len(pcm)&^1]
		if len(pcm) == 0 {
			return
		}
		codes := encodeAll(t, pcm)
		if want := newRefCodec(1).encode(nil, pcm); string(codes) != string(want) {
			t.Fatalf("encoder differs from the reference: % x, want % x", codes, want)
		}
		// The same PCM in 5 ms frames, padded with silence to a whole frame.
		enc, err := NewEncoder(codec.Config{Ptime: 5e6})
		if err != nil {
			t.Fatal(err)
		}
		padded := append(pcm[:len(pcm):len(pcm)], make([]int16, (80-len(pcm)%80)%80)...)
		var framed []byte
		for i := 0; i < len(padded); i += 80 {
			p, err := enc.Encode(nil, padded[i:i+80])
			if err != nil {
				t.Fatal(err)
			}
			framed = append(framed, p...)
		}
		if string(framed[:len(codes)]) != string(codes) {
			t.Fatal("encoding in 5 ms frames differs from one call")
		}
		out := decodeWith(t, 1, codes)
		if want := newRefCodec(1).decode(nil, codes); firstDiff(out, want) >= 0 {
			t.Fatalf("decoder differs from the reference at sample %d", firstDiff(out, want))
		}
	})
}

package record

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/internal/wav"
)

// FuzzRecorderTimeline feeds a Recorder frames of any length at any stamp
// — late, early, overlapping, jittered, far ahead — with WriteSilence and
// Flush between them, through a queue small enough to wrap and overflow,
// and checks the file against a model of the placement rules in doc.go:
// within half a frame of the end, appended; beyond, silence then the
// frame; behind, the overlap cut; a dropped frame leaves its time to
// silence; Close pads to the latest end offered.
func FuzzRecorderTimeline(f *testing.F) {
	f.Add([]byte{0, 20, 0, 20, 20, 0, 20, 40, 1})
	f.Add([]byte{1, 200, 3, 7, 50, 130, 90, 250, 0xff, 0x80, 60, 2, 5})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 1 || len(in) > 400 {
			return
		}
		ch := 1 + int(in[0]&1)
		const rate = 8000
		var out bytes.Buffer
		w, err := NewWAVWriter(&out, Format{rate, ch}, WAVConfig{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewRecorder(w, Config{Queue: 40 * time.Millisecond}) // 320 samples per channel
		if err != nil {
			t.Fatal(err)
		}
		var model []int16 // what the file must hold
		var fedEnd int64
		place := func(pos int64, pcm []int16) {
			dur := int64(len(pcm) / ch)
			cur := int64(len(model) / ch)
			d := pos - cur
			switch {
			case d > dur/2:
				model = append(model, make([]int16, d*int64(ch))...)
			case d < -dur/2:
				if -d >= dur {
					return
				}
				pcm = pcm[-d*int64(ch):]
			}
			model = append(model, pcm...)
		}
		var stamp int64 // ms
		seq := int16(1)
		for i := 1; i+2 < len(in); i += 3 {
			op, n, delta := in[i], int(in[i+1]), int64(int8(in[i+2]))
			stamp += delta
			at := time.Duration(stamp) * time.Millisecond
			pos := samplesIn(at, rate)
			if op&0x80 != 0 {
				err := r.WriteSilence(at)
				if err != nil && !errors.Is(err, ErrQueueFull) {
					t.Fatal(err)
				}
				if pos > fedEnd {
					fedEnd = pos
				}
				if err == nil && pos > int64(len(model)/ch) {
					model = append(model, make([]int16, (pos-int64(len(model)/ch))*int64(ch))...)
				}
				continue
			}
			pcm := make([]int16, n*ch)
			for j := range pcm {
				pcm[j] = seq
				seq++
				if seq == 0 {
					seq = 1
				}
			}
			err := r.Write(at, pcm)
			switch {
			case n == 0 || n > 320:
				if !errors.Is(err, ErrFrame) {
					t.Fatalf("frame of %d samples: %v", n, err)
				}
				continue
			case errors.Is(err, ErrQueueFull):
			case err != nil:
				t.Fatal(err)
			default:
				place(pos, pcm)
			}
			fedEnd = max(fedEnd, pos+int64(n))
			if op&0x40 != 0 {
				if err := r.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if cur := int64(len(model) / ch); fedEnd > cur {
			model = append(model, make([]int16, (fedEnd-cur)*int64(ch))...)
		}
		a, err := wav.Read(&out)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Samples, model) {
			for i := range model {
				if a.Samples[i] != model[i] {
					t.Logf("first difference at %d: %d, model %d; around: %v vs %v", i, a.Samples[i], model[i], a.Samples[max(0, i-3):min(len(model), i+5)], model[max(0, i-3):min(len(model), i+5)])
					break
				}
			}
			t.Fatalf("file of %d samples differs from the model's %d", len(a.Samples), len(model))
		}
		if got := r.Stats().Written; got != durationOf(int64(len(model)/ch), rate) {
			t.Fatalf("Stats.Written %v for %d samples", got, len(model)/ch)
		}
	})
}

// FuzzOggOpusPacketWriter writes whatever packets the input holds (length-
// prefixed), with silences between them: malformed packets are refused
// with codec.ErrCorrupt, the others are in the file as given, and the
// pages parse with the independent parser, granule positions adding up.
func FuzzOggOpusPacketWriter(f *testing.F) {
	f.Add([]byte{3, 0xf8, 0xff, 0xfe, 0x81, 2, 0x03, 0x00, 1, 0x78})
	f.Add([]byte{4, 0x0b, 0xc3, 1, 2, 0x90, 5, 0x09, 0xaa, 0xbb, 0xcc, 0xdd})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		w, err := NewOggOpusPacketWriter(&out, Format{48000, 1}, OggOpusConfig{PageDuration: 100 * time.Millisecond, Serial: 1})
		if err != nil {
			t.Fatal(err)
		}
		var want [][]byte
		var wantDur int64
		for len(in) > 0 {
			n := int(in[0])
			in = in[1:]
			if n&0x80 != 0 { // a silence of (n&0x7f) × 2.5 ms
				if err := w.WriteSilence((n & 0x7f) * 120); err != nil {
					t.Fatal(err)
				}
				for left := (n & 0x7f) * 120; left > 0; {
					for i := len(silenceDurs) - 1; i >= 0; i-- {
						if silenceDurs[i] <= left {
							want = append(want, silencePacket(silenceDurs[i], false))
							wantDur += int64(silenceDurs[i])
							left -= silenceDurs[i]
							break
						}
					}
				}
				continue
			}
			n = min(n, len(in))
			p := in[:n]
			in = in[n:]
			dur, perr := opus.PacketDuration(p)
			err := w.WritePacket(p)
			switch {
			case perr != nil:
				if !errors.Is(err, codec.ErrCorrupt) || !errors.Is(err, ErrFrame) {
					t.Fatalf("malformed packet %x: %v", p, err)
				}
			case err != nil:
				t.Fatalf("packet %x: %v", p, err)
			default:
				want = append(want, bytes.Clone(p))
				wantDur += int64(dur)
			}
		}
		if w.Position() != wantDur {
			t.Fatalf("Position %d, want %d", w.Position(), wantDur)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		file := checkOggOpus(t, out.Bytes())
		if len(want) == 0 {
			if file.samples48 != 0 {
				t.Fatalf("an empty stream decodes to %d samples", file.samples48)
			}
			return
		}
		if len(file.packets) != len(want) {
			t.Fatalf("%d packets in the file, wrote %d", len(file.packets), len(want))
		}
		for i := range want {
			if !bytes.Equal(file.packets[i], want[i]) {
				t.Fatalf("packet %d differs", i)
			}
		}
		if file.granule != wantDur {
			t.Fatalf("last granule %d, want %d", file.granule, wantDur)
		}
	})
}

package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/internal/wav"
)

// ClipNames are the speech clips in testdata/ (48 kHz mono).
var ClipNames = []string{"alice", "bob", "carol", "dave"}

// FindTestdata returns the repository's testdata directory: dir itself
// when it holds the clips, else the nearest testdata/ above the working
// directory (so that go test in bench/ and go run from the root both work).
func FindTestdata(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "testdata", "alice.wav")); err == nil {
			return filepath.Join(d, "testdata"), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("bench: no testdata/alice.wav above " + wd)
		}
	}
}

// Clip is a pre-encoded stream: one payload per 20 ms frame and the RFC 6464
// level (with the V flag) the sender would put beside it.
type Clip struct {
	Payloads [][]byte
	Levels   []byte
}

// Clips holds, per codec, each speech clip encoded and one frame of silence.
type Clips struct {
	Speech  map[string][]Clip // by codec name: "PCMU", "Opus"
	Silence map[string]Clip
}

// Formats the rooms use, by the names the tables print.
var (
	PCMU = g711.PCMU
	Opus = opus.Format
)

// PayloadType returns the RTP payload type the senders use for f.
func PayloadType(f codec.Format) uint8 {
	if f.Name == Opus.Name {
		return 111
	}
	return 0
}

// LoadClips reads the speech clips from dir (see FindTestdata) and encodes
// frames frames of each for PCMU and Opus (complexity 5, as the mixer's own
// encoders use).
func LoadClips(dir string, frames int) (*Clips, error) {
	dir, err := FindTestdata(dir)
	if err != nil {
		return nil, err
	}
	cs := &Clips{Speech: map[string][]Clip{}, Silence: map[string]Clip{}}
	for _, f := range []codec.Format{PCMU, Opus} {
		for _, name := range ClipNames {
			a, err := wav.ReadFile(filepath.Join(dir, name+".wav"))
			if err != nil {
				return nil, err
			}
			if a.SampleRate != 48000 {
				return nil, fmt.Errorf("bench: %s.wav is %d Hz, want 48000", name, a.SampleRate)
			}
			c, err := encodeClip(f, a.Samples, frames)
			if err != nil {
				return nil, err
			}
			cs.Speech[f.Name] = append(cs.Speech[f.Name], c)
		}
		s, err := encodeClip(f, make([]int16, 48000/50), 1)
		if err != nil {
			return nil, err
		}
		cs.Silence[f.Name] = s
	}
	return cs, nil
}

// encodeClip encodes frames 20 ms frames of src (48 kHz), looping it.
func encodeClip(f codec.Format, src []int16, frames int) (Clip, error) {
	rate := f.ClockRate
	if f.Name == Opus.Name {
		rate = 48000
	}
	if rate != 48000 {
		r, err := resample.New(48000, rate, 1)
		if err != nil {
			return Clip{}, err
		}
		src = r.Process(nil, src)
	}
	enc, err := codec.NewEncoder(f.SDPName(), codec.Config{SampleRate: rate, Complexity: 5})
	if err != nil {
		return Clip{}, err
	}
	n := enc.FrameSamples()
	var c Clip
	fr := make([]int16, n)
	for i := 0; i < frames; i++ {
		off := (i * n) % len(src)
		clear(fr)
		copy(fr, src[off:min(off+n, len(src))])
		p, err := enc.Encode(nil, fr)
		if err != nil {
			return Clip{}, err
		}
		lvl := byte(pcm.LevelDBov(fr))
		if lvl < 60 { // the V flag: voice, as a sender's VAD would say
			lvl |= 0x80
		}
		c.Payloads = append(c.Payloads, p)
		c.Levels = append(c.Levels, lvl)
	}
	return c, nil
}

package rtpclient

import (
	"fmt"
	"math"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/wav"
)

// SilentLevel is the RFC 6464 level of digital silence (-127 dBov).
const SilentLevel = 127

// Source is audio encoded once, ready to be sent by many Senders: one payload
// and one RFC 6464 level per frame. It is immutable and safe to share.
type Source struct {
	format  codec.Format
	ptime   time.Duration
	frames  [][]byte
	levels  []uint8
	samples uint32 // RTP timestamp increment per frame
}

// Format is the codec the payloads are encoded with.
func (s *Source) Format() codec.Format { return s.format }

// Ptime is the duration of one frame.
func (s *Source) Ptime() time.Duration { return s.ptime }

// Len is the number of frames.
func (s *Source) Len() int { return len(s.frames) }

// Frame returns the payload and the RFC 6464 level (0 loudest, 127 silence)
// of frame i modulo Len, so that a looping sender never runs out.
func (s *Source) Frame(i int) (payload []byte, level uint8) {
	i %= len(s.frames)
	return s.frames[i], s.levels[i]
}

// NewSource encodes pcm (mono, at rate Hz) with the codec registered under
// sdpName (e.g. "PCMU/8000", "opus/48000/2"), resampling first when the
// encoder wants another rate. cfg is passed to codec.NewEncoder; its Ptime
// (default 20 ms) is the frame duration. A trailing partial frame is padded
// with silence.
func NewSource(pcm []int16, rate int, sdpName string, cfg codec.Config) (*Source, error) {
	if len(pcm) == 0 {
		return nil, errEmptySource
	}
	cfg.Channels = 1
	if cfg.Ptime == 0 {
		cfg.Ptime = 20 * time.Millisecond
	}
	enc, err := codec.NewEncoder(sdpName, cfg)
	if err != nil {
		return nil, err
	}
	if er := enc.SampleRate(); er != rate {
		r, err := resample.New(rate, er, 1)
		if err != nil {
			return nil, fmt.Errorf("rtpclient: resample %d → %d Hz: %w", rate, er, err)
		}
		pcm = r.Process(make([]int16, 0, r.OutLen(len(pcm))), pcm)
	}
	n := enc.FrameSamples()
	frames := (len(pcm) + n - 1) / n
	s := &Source{
		format:  enc.Format(),
		ptime:   cfg.Ptime,
		frames:  make([][]byte, frames),
		levels:  make([]uint8, frames),
		samples: uint32(enc.Format().FrameSamples(cfg.Ptime)),
	}
	frame := make([]int16, n)
	for f := 0; f < frames; f++ {
		clear(frame)
		copy(frame, pcm[f*n:min(len(pcm), (f+1)*n)])
		b, err := enc.Encode(nil, frame)
		if err != nil {
			return nil, fmt.Errorf("rtpclient: encode frame %d of %d: %w", f, frames, err)
		}
		s.frames[f], s.levels[f] = b, Level(frame)
	}
	return s, nil
}

// NewToneSource encodes d of a sine at freq Hz and dbfs (≤ 0) dBFS.
func NewToneSource(freq, dbfs float64, d time.Duration, sdpName string, cfg codec.Config) (*Source, error) {
	const rate = 48000
	pcm := Tone(freq, dbfs, rate, int(d.Seconds()*rate))
	return NewSource(pcm, rate, sdpName, cfg)
}

// NewSilenceSource encodes one frame of digital silence, level 127: what a
// participant who is not talking sends.
func NewSilenceSource(sdpName string, cfg codec.Config) (*Source, error) {
	return NewSource(make([]int16, 48000/50), 48000, sdpName, cfg)
}

// NewWAVSource reads a mono 16-bit WAV file and encodes it as NewSource does.
func NewWAVSource(path, sdpName string, cfg codec.Config) (*Source, error) {
	a, err := wav.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if a.Channels != 1 {
		return nil, fmt.Errorf("rtpclient: %s has %d channels, want mono", path, a.Channels)
	}
	return NewSource(a.Samples, a.SampleRate, sdpName, cfg)
}

// Tone returns n samples of a sine at freq Hz and dbfs dBFS, sampled at rate.
func Tone(freq, dbfs float64, rate, n int) []int16 {
	amp := 32767 * math.Pow(10, dbfs/20)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return pcm
}

// Level is the RFC 6464 audio level of pcm: its RMS in -dBov, 0 (full scale)
// to 127 (silence, or quieter than -127 dBov).
func Level(pcm []int16) uint8 {
	var sum float64
	for _, v := range pcm {
		f := float64(v)
		sum += f * f
	}
	if sum == 0 || len(pcm) == 0 {
		return SilentLevel
	}
	db := -20 * math.Log10(math.Sqrt(sum/float64(len(pcm)))/32768)
	switch {
	case db < 0:
		return 0
	case db > SilentLevel:
		return SilentLevel
	}
	return uint8(math.Round(db))
}

package g711

import (
	"fmt"
	"strings"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/plc"
)

// Formats as RTP carries G.711 (RFC 3551): static payload types 0 and 8,
// an 8000 Hz clock, one channel, no fmtp.
var (
	PCMU = codec.Format{Name: "PCMU", ClockRate: 8000, Channels: 1, PayloadType: 0}
	PCMA = codec.Format{Name: "PCMA", ClockRate: 8000, Channels: 1, PayloadType: 8}
)

const (
	sampleRate = 8000
	ptimeStep  = 5 * time.Millisecond
	ptimeMax   = 120 * time.Millisecond
)

func init() {
	for _, f := range []codec.Format{PCMU, PCMA} {
		codec.Register(f,
			func(c codec.Config) (codec.Encoder, error) {
				e, err := NewEncoder(f, c)
				if err != nil {
					return nil, err // not a typed nil in a non-nil interface
				}
				return e, nil
			},
			func(c codec.Config) (codec.Decoder, error) {
				d, err := NewDecoder(f, c)
				if err != nil {
					return nil, err
				}
				return d, nil
			})
	}
}

// lawOf reports whether f is PCMA (true) or PCMU (false). The payload type
// is not checked: it is negotiated, and a dynamic one is legal.
func lawOf(f codec.Format) (alaw bool, err error) {
	if f.ClockRate == sampleRate && (f.Channels == 1 || f.Channels == 0) {
		switch {
		case strings.EqualFold(f.Name, PCMU.Name):
			return false, nil
		case strings.EqualFold(f.Name, PCMA.Name):
			return true, nil
		}
	}
	return false, fmt.Errorf("%w: %w: %s", codec.ErrUnsupported, errNotG711, f)
}

func checkPCM(cfg codec.Config) error {
	if cfg.SampleRate != sampleRate {
		return fmt.Errorf("%w: %w, got %d", codec.ErrConfig, errSampleRate, cfg.SampleRate)
	}
	if cfg.Channels != 1 {
		return fmt.Errorf("%w: %w, got %d channels", codec.ErrConfig, errChannels, cfg.Channels)
	}
	return nil
}

// Encoder encodes 8000 Hz mono PCM frames into PCMU or PCMA payloads.
//
// It keeps no state between frames; still, like every codec.Encoder, one
// Encoder is meant for one goroutine at a time. Distinct Encoders are
// independent.
type Encoder struct {
	format codec.Format
	alaw   bool
	ptime  time.Duration
	frame  int
}

// NewEncoder returns an encoder for f, which must be PCMU or PCMA (by name,
// 8000 Hz, mono), else the error wraps codec.ErrUnsupported. cfg is
// normalised first (zero fields take their defaults: 8000 Hz, mono, 20 ms);
// a sample rate other than 8000, more than one channel, or a ptime that is
// not a multiple of 5 ms between 5 and 120 ms returns an error wrapping
// codec.ErrConfig. Other Config fields do not apply to G.711 and are
// ignored.
func NewEncoder(f codec.Format, cfg codec.Config) (*Encoder, error) {
	alaw, err := lawOf(f)
	if err != nil {
		return nil, err
	}
	canon := PCMU
	if alaw {
		canon = PCMA
	}
	cfg = cfg.Normalized(canon)
	if err := checkPCM(cfg); err != nil {
		return nil, err
	}
	if cfg.Ptime < ptimeStep || cfg.Ptime > ptimeMax || cfg.Ptime%ptimeStep != 0 {
		return nil, fmt.Errorf("%w: %w, got %v", codec.ErrConfig, errPtime, cfg.Ptime)
	}
	return &Encoder{
		format: canon,
		alaw:   alaw,
		ptime:  cfg.Ptime,
		frame:  codec.FrameSamples(sampleRate, cfg.Ptime),
	}, nil
}

// Format returns PCMU or PCMA.
func (e *Encoder) Format() codec.Format { return e.format }

// SampleRate returns 8000.
func (e *Encoder) SampleRate() int { return sampleRate }

// Channels returns 1.
func (e *Encoder) Channels() int { return 1 }

// FrameSamples returns the samples in one frame: 8 per millisecond of ptime.
func (e *Encoder) FrameSamples() int { return e.frame }

// Encode encodes exactly one frame of pcm and appends the payload, one byte
// per sample, to dst[:0]. A pcm length other than FrameSamples returns an
// error wrapping codec.ErrFrameSize. It allocates only when
// cap(dst) < FrameSamples.
func (e *Encoder) Encode(dst []byte, pcm []int16) ([]byte, error) {
	if len(pcm) != e.frame {
		return dst[:0], fmt.Errorf("%w: %w: %d samples, want %d for %v at 8000 Hz",
			codec.ErrFrameSize, errFrameSize, len(pcm), e.frame, e.ptime)
	}
	if e.alaw {
		return EncodeAlaw(dst, pcm), nil
	}
	return EncodeUlaw(dst, pcm), nil
}

// Reset does nothing: G.711 encoding has no state.
func (e *Encoder) Reset() {}

// Decoder decodes PCMU or PCMA payloads into 8000 Hz mono PCM and conceals
// lost packets (see [Decoder.Conceal]).
//
// Not safe for concurrent use: it keeps the recent output for concealment.
// Use one Decoder per stream, from one goroutine at a time.
type Decoder struct {
	format codec.Format
	alaw   bool
	plc    plc.Concealer
}

// NewDecoder returns a decoder for f, which must be PCMU or PCMA, with the
// same errors as [NewEncoder]. The decoder accepts payloads of any length,
// so cfg.Ptime is not used.
func NewDecoder(f codec.Format, cfg codec.Config) (*Decoder, error) {
	alaw, err := lawOf(f)
	if err != nil {
		return nil, err
	}
	canon := PCMU
	if alaw {
		canon = PCMA
	}
	if err := checkPCM(cfg.Normalized(canon)); err != nil {
		return nil, err
	}
	return &Decoder{format: canon, alaw: alaw, plc: plc.New(sampleRate)}, nil
}

// Format returns PCMU or PCMA.
func (d *Decoder) Format() codec.Format { return d.format }

// SampleRate returns 8000.
func (d *Decoder) SampleRate() int { return sampleRate }

// Channels returns 1.
func (d *Decoder) Channels() int { return 1 }

// Decode decodes a payload of any non-zero length (one sample per byte) into
// dst[:0] and returns it; an empty payload returns an error wrapping
// codec.ErrCorrupt and leaves the decoder as it was. After concealment, the
// first samples are cross-faded from the concealed signal into the decoded
// one, so they differ from a plain DecodeUlaw or DecodeAlaw. It allocates
// only when cap(dst) < len(payload).
func (d *Decoder) Decode(dst []int16, payload []byte) ([]int16, error) {
	if len(payload) == 0 {
		return dst[:0], errEmptyPayload
	}
	if d.alaw {
		dst = DecodeAlaw(dst, payload)
	} else {
		dst = DecodeUlaw(dst, payload)
	}
	d.plc.Received(dst)
	return dst, nil
}

// Conceal appends samples of packet-loss concealment for lost audio to
// dst[:0] and returns it. Successive calls continue one loss: the signal
// before it is repeated a pitch period at a time, attenuated from 10 ms
// into the loss and silent from 60 ms (ITU-T G.711 Appendix I's scheme).
// samples must be positive, else the error wraps codec.ErrFrameSize. It
// allocates only when cap(dst) < samples.
func (d *Decoder) Conceal(dst []int16, samples int) ([]int16, error) {
	if samples <= 0 {
		return dst[:0], fmt.Errorf("%w: %w, got %d", codec.ErrFrameSize, errConcealLength, samples)
	}
	dst = growInt16(dst, samples)
	d.plc.Conceal(dst)
	return dst, nil
}

// Reset forgets the stream: the next Conceal before a Decode is silence.
func (d *Decoder) Reset() { d.plc.Reset() }

var (
	_ codec.Encoder = (*Encoder)(nil)
	_ codec.Decoder = (*Decoder)(nil)
)

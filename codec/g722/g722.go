package g722

import (
	"fmt"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/plc"
)

// Format is G.722 as RTP carries it (RFC 3551 §4.5.2): static payload type
// 9, one channel, and an RTP clock of 8000 Hz although the audio is sampled
// at 16 kHz — an error in RFC 1890 kept for compatibility. SampleRate says
// so: PCM is 16 kHz (a 20 ms frame is 320 samples) while timestamps advance
// by 8000 per second (160 per 20 ms frame).
var Format = codec.Format{Name: "G722", ClockRate: 8000, Channels: 1, PayloadType: 9, SampleRate: 16000}

const (
	sampleRate = 16000
	ptimeStep  = 5 * time.Millisecond
	ptimeMax   = 120 * time.Millisecond
	// chunk is how many code bytes (sample pairs) one pass of the filters
	// handles; longer inputs go through in several. 40 ms covers the usual
	// 20 and 30 ms packets in one pass.
	chunk = 320
)

func init() {
	codec.Register(Format,
		func(c codec.Config) (codec.Encoder, error) {
			e, err := NewEncoder(c)
			if err != nil {
				return nil, err // not a typed nil in a non-nil interface
			}
			return e, nil
		},
		func(c codec.Config) (codec.Decoder, error) {
			d, err := NewDecoder(c)
			if err != nil {
				return nil, err
			}
			return d, nil
		})
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

// Encoder encodes 16 kHz mono PCM frames into G.722 payloads at 64 kbit/s,
// one byte per pair of samples.
//
// Not safe for concurrent use: the sub-band coders and the filter keep
// state from frame to frame. Use one Encoder per stream, from one goroutine
// at a time.
type Encoder struct {
	ptime time.Duration
	frame int

	lo, hi band
	// hist holds the transmit QMF's last qmfHist input samples, then the
	// chunk being filtered.
	hist   [qmfHist + 2*chunk]int16
	xl, xh [chunk]int32 // the chunk's sub-band samples
}

// NewEncoder returns an encoder. cfg is normalised first (zero fields take
// their defaults: 16000 Hz, mono, 20 ms). A sample rate other than 16000,
// more than one channel, a ptime that is not a multiple of 5 ms between 5
// and 120 ms, or a Bitrate other than 0 or 64000 returns an error wrapping
// codec.ErrConfig. Other Config fields do not apply to G.722 and are
// ignored.
func NewEncoder(cfg codec.Config) (*Encoder, error) {
	cfg = cfg.Normalized(Format)
	if err := checkPCM(cfg); err != nil {
		return nil, err
	}
	if cfg.Ptime < ptimeStep || cfg.Ptime > ptimeMax || cfg.Ptime%ptimeStep != 0 {
		return nil, fmt.Errorf("%w: %w, got %v", codec.ErrConfig, errPtime, cfg.Ptime)
	}
	if cfg.Bitrate != 0 && cfg.Bitrate != 64000 {
		return nil, fmt.Errorf("%w: %w, got %d", codec.ErrConfig, errEncBitrate, cfg.Bitrate)
	}
	e := &Encoder{ptime: cfg.Ptime, frame: codec.FrameSamples(sampleRate, cfg.Ptime)}
	e.Reset()
	return e, nil
}

// Format returns [Format].
func (e *Encoder) Format() codec.Format { return Format }

// SampleRate returns 16000.
func (e *Encoder) SampleRate() int { return sampleRate }

// Channels returns 1.
func (e *Encoder) Channels() int { return 1 }

// FrameSamples returns the samples in one frame: 16 per millisecond of
// ptime (320 for 20 ms). The RTP timestamp advances by half as much.
func (e *Encoder) FrameSamples() int { return e.frame }

// Encode encodes exactly one frame of pcm and appends the payload, one byte
// per two samples, to dst[:0]. A pcm length other than FrameSamples returns
// an error wrapping codec.ErrFrameSize. It allocates only when
// cap(dst) < FrameSamples/2.
func (e *Encoder) Encode(dst []byte, pcm []int16) ([]byte, error) {
	if len(pcm) != e.frame {
		return dst[:0], fmt.Errorf("%w: %w: %d samples, want %d for %v at 16000 Hz",
			codec.ErrFrameSize, errFrameSize, len(pcm), e.frame, e.ptime)
	}
	dst = growBytes(dst, len(pcm)/2)
	e.encode(dst, pcm)
	return dst, nil
}

// encode codes len(dst) pairs of pcm into dst: the transmit QMF over a
// chunk, then both sub-band coders.
func (e *Encoder) encode(dst []byte, pcm []int16) {
	for len(dst) > 0 {
		n := min(len(dst), chunk)
		copy(e.hist[qmfHist:], pcm[:2*n])
		analyze(e.xl[:], e.xh[:], e.hist[:], n)
		copy(e.hist[:qmfHist], e.hist[2*n:2*n+qmfHist])
		e.adpcm(dst[:n], e.xl[:n], e.xh[:n])
		dst, pcm = dst[n:], pcm[2*n:]
	}
}

// adpcm quantizes the sub-band samples into codes, adapting both coders
// after each pair exactly as the decoder will.
func (e *Encoder) adpcm(dst []byte, xl, xh []int32) {
	lo, hi := &e.lo, &e.hi
	xl, xh = xl[:len(dst)], xh[:len(dst)]
	for j := range dst {
		il := quantLow(sat16(xl[j]-lo.s), uint32(lo.nb)>>6)
		ih := quantHigh(sat16(xh[j]-hi.s), hi.det)
		dlt := (lo.det * lowDLT[il&63]) >> 15 // INVQAL, before the scale adapts
		lo.adaptLow(il)
		lo.update(dlt)
		dh := (hi.det * highDH[ih&3]) >> 15 // INVQAH
		hi.adaptHigh(ih)
		hi.update(dh)
		dst[j] = ih<<6 | il
	}
}

// Reset returns the encoder to its initial state, as for a new stream.
func (e *Encoder) Reset() {
	e.lo.reset(detLowReset)
	e.hi.reset(detHighReset)
	clear(e.hist[:qmfHist])
}

// Decoder decodes G.722 payloads into 16 kHz mono PCM and conceals lost
// packets (see [Decoder.Conceal]).
//
// Not safe for concurrent use: it keeps the sub-band decoders' state, the
// receive filter's history and the recent output for concealment. Use one
// Decoder per stream, from one goroutine at a time.
type Decoder struct {
	mode int
	out  *[64]int32 // the lower band's output levels for the mode

	lo, hi band
	// hist holds the receive QMF's last qmfHist inputs, then the chunk
	// being filtered.
	hist [qmfHist + 2*chunk]int16

	plc plc.Concealer
}

// NewDecoder returns a decoder. cfg is normalised as for [NewEncoder], with
// the same errors for the sample rate and channels. cfg.Bitrate selects the
// mode: 0 or 64000 for mode 1 (all six bits of the lower band's code),
// 56000 for mode 2 and 48000 for mode 3, where the receiver ignores the
// code's last one or two bits because they carry an auxiliary data channel
// (G.722 §1.3). Other bit rates wrap codec.ErrConfig. The decoder accepts
// payloads of any length, so cfg.Ptime is not used.
func NewDecoder(cfg codec.Config) (*Decoder, error) {
	cfg = cfg.Normalized(Format)
	if err := checkPCM(cfg); err != nil {
		return nil, err
	}
	d := &Decoder{plc: plc.New(sampleRate)}
	switch cfg.Bitrate {
	case 0, 64000:
		d.mode = 1
	case 56000:
		d.mode = 2
	case 48000:
		d.mode = 3
	default:
		return nil, fmt.Errorf("%w: %w, got %d", codec.ErrConfig, errDecBitrate, cfg.Bitrate)
	}
	d.out = &lowOut[d.mode-1]
	d.Reset()
	return d, nil
}

// Format returns [Format].
func (d *Decoder) Format() codec.Format { return Format }

// SampleRate returns 16000.
func (d *Decoder) SampleRate() int { return sampleRate }

// Channels returns 1.
func (d *Decoder) Channels() int { return 1 }

// Decode decodes a payload of any non-zero length (two samples per byte)
// into dst[:0] and returns it; an empty payload returns an error wrapping
// codec.ErrCorrupt and leaves the decoder as it was (every byte is a valid
// code, so nothing else is corrupt). After concealment, the first samples
// are cross-faded from the concealed signal into the decoded one. It
// allocates only when cap(dst) < 2·len(payload).
func (d *Decoder) Decode(dst []int16, payload []byte) ([]int16, error) {
	if len(payload) == 0 {
		return dst[:0], errEmptyPayload
	}
	dst = growInt16(dst, 2*len(payload))
	if d.plc.Lost() {
		d.resume()
	}
	d.decode(dst, payload)
	d.plc.Received(dst)
	return dst, nil
}

// decode decodes payload into out (2 samples per byte), a chunk at a time.
func (d *Decoder) decode(out []int16, payload []byte) {
	for len(payload) > 0 {
		n := min(len(payload), chunk)
		d.adpcm(d.hist[qmfHist:qmfHist+2*n], payload[:n])
		synthesize(out, d.hist[:], n)
		copy(d.hist[:qmfHist], d.hist[2*n:2*n+qmfHist])
		payload, out = payload[n:], out[2*n:]
	}
}

// adpcm decodes codes into the receive QMF's input: for each, the lower
// and higher band's reconstructed samples rl and rh become the pair
// (rl+rh, rl-rh) in h.
func (d *Decoder) adpcm(h []int16, codes []byte) {
	lo, hi, out := &d.lo, &d.hi, d.out
	h = h[:2*len(codes)]
	for j, c := range codes {
		il, ih := c&63, c>>6
		rl := limit(sat16(lo.s + (lo.det*out[il])>>15)) // INVQBL, RECONS, LIMIT
		dlt := (lo.det * lowDLT[il]) >> 15              // INVQAL
		lo.adaptLow(il)
		lo.update(dlt)
		dh := (hi.det * highDH[ih&3]) >> 15 // INVQAH
		rh := limit(sat16(hi.s + dh))
		hi.adaptHigh(ih)
		hi.update(dh)
		p := h[2*j : 2*j+2 : 2*j+2]
		p[0], p[1] = int16(rl+rh), int16(rl-rh)
	}
}

// Conceal appends samples of packet-loss concealment for lost audio to
// dst[:0] and returns it. Successive calls continue one loss: the signal
// before it is repeated a pitch period at a time, attenuated from 10 ms
// into the loss and silent from 60 ms (the scheme of G.711 Appendix I),
// and the next Decode resumes at the level the concealment reached (see
// plc.go). samples must be positive, else the error wraps
// codec.ErrFrameSize. It allocates only when cap(dst) < samples.
func (d *Decoder) Conceal(dst []int16, samples int) ([]int16, error) {
	if samples <= 0 {
		return dst[:0], fmt.Errorf("%w: %w, got %d", codec.ErrFrameSize, errConcealLength, samples)
	}
	dst = growInt16(dst, samples)
	d.plc.Conceal(dst)
	return dst, nil
}

// Reset forgets the stream: the decoder starts as new, and the next
// Conceal before a Decode is silence.
func (d *Decoder) Reset() {
	d.lo.reset(detLowReset)
	d.hi.reset(detHighReset)
	clear(d.hist[:qmfHist])
	d.plc.Reset()
}

func growBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func growInt16(b []int16, n int) []int16 {
	if cap(b) < n {
		return make([]int16, n)
	}
	return b[:n]
}

var (
	_ codec.Encoder = (*Encoder)(nil)
	_ codec.Decoder = (*Decoder)(nil)
)

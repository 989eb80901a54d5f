package codec

import "time"

// Application selects the Opus coding mode; other codecs ignore it.
type Application int

// Opus applications (RFC 6716 encoder modes).
const (
	AppVoIP     Application = iota // speech, default
	AppAudio                       // music and mixed content
	AppLowDelay                    // restricted low delay: CELT only
)

// Bandwidth caps the audio bandwidth an encoder may code; 0 means no cap.
type Bandwidth int

// Audio bandwidths, named by their upper edge as Opus does.
const (
	BandwidthAuto      Bandwidth = 0
	BandwidthNarrow    Bandwidth = 4000
	BandwidthMedium    Bandwidth = 6000
	BandwidthWide      Bandwidth = 8000
	BandwidthSuperWide Bandwidth = 12000
	BandwidthFull      Bandwidth = 20000
)

// Config holds the options for building an encoder or decoder. The zero
// value is valid: the format's natural rate, mono, 20 ms, codec defaults.
type Config struct {
	// SampleRate of the PCM given to Encode or returned by Decode, in Hz.
	// 0 means the format's natural rate (Format.NaturalRate: the clock
	// rate, or 16000 for G.722). Opus accepts 8000, 12000, 16000, 24000 and
	// 48000; G.711 only 8000; G.722 only 16000.
	SampleRate int
	// Channels of the PCM, 1 or 2. 0 means 1.
	Channels int
	// Ptime is the frame duration the encoder expects. 0 means 20 ms.
	Ptime time.Duration

	// Encoder options; codecs without them ignore them.

	// Bitrate in bit/s; 0 means the codec's default.
	Bitrate int
	// Complexity 1..10; 0 leaves the codec default (Opus: 9 is
	// libopus's default, 5 is a good trade for servers).
	Complexity int
	// Application selects the Opus mode.
	Application Application
	// FEC turns on in-band forward error correction (Opus LBRR).
	FEC bool
	// PacketLossPercent is the expected loss the encoder protects against.
	PacketLossPercent int
	// DTX lets the encoder send tiny frames in silence.
	DTX bool
	// MaxBandwidth caps the coded bandwidth.
	MaxBandwidth Bandwidth
}

// Normalized returns c with zero fields replaced by the defaults for f.
func (c Config) Normalized(f Format) Config {
	if c.SampleRate == 0 {
		c.SampleRate = f.NaturalRate()
	}
	if c.Channels == 0 {
		c.Channels = 1
	}
	if c.Ptime == 0 {
		c.Ptime = 20 * time.Millisecond
	}
	return c
}

// Encoder turns PCM frames into payloads. Not safe for concurrent use.
type Encoder interface {
	// Format is the RTP format of the payloads produced.
	Format() Format
	// SampleRate and Channels describe the PCM Encode expects.
	SampleRate() int
	Channels() int
	// FrameSamples is the samples per channel of one frame.
	FrameSamples() int
	// Encode encodes one frame (FrameSamples()*Channels() samples) and
	// appends the payload to dst[:0], returning it. It allocates only when
	// cap(dst) is too small.
	Encode(dst []byte, pcm []int16) ([]byte, error)
	// Reset returns the encoder to its initial state, as for a new stream.
	Reset()
}

// Decoder turns payloads into PCM. Not safe for concurrent use.
type Decoder interface {
	// Format is the RTP format of the payloads accepted.
	Format() Format
	// SampleRate and Channels describe the PCM Decode returns.
	SampleRate() int
	Channels() int
	// Decode decodes one payload into dst[:0] and returns it. It allocates
	// only when cap(dst) is too small. A corrupt payload returns an error
	// wrapping ErrCorrupt and leaves the decoder usable.
	Decode(dst []int16, payload []byte) ([]int16, error)
	// Conceal produces samples (per channel) of packet-loss concealment for
	// a lost frame into dst[:0].
	Conceal(dst []int16, samples int) ([]int16, error)
	// Reset returns the decoder to its initial state, as for a new stream.
	Reset()
}

// FECDecoder is a Decoder that can rebuild a lost frame from the in-band
// forward error correction carried by the packet after it (Opus LBRR).
type FECDecoder interface {
	Decoder
	// DecodeFEC reconstructs samples (per channel) of the frame lost just
	// before next into dst[:0]. When next carries no FEC the codec conceals
	// instead; the result is always a usable frame. Decode next afterwards
	// as usual.
	DecodeFEC(dst []int16, next []byte, samples int) ([]int16, error)
}

package opus

import (
	"fmt"
	"time"

	"github.com/rtpmix/rtpmix/codec"
)

// Format is Opus as RFC 7587 names it in SDP: "opus/48000/2" whatever the
// channel count actually sent, clocked at 48 kHz whatever the PCM rate, with
// the conventional dynamic payload type 111 and in-band FEC advertised.
var Format = codec.Format{
	Name:        "opus",
	ClockRate:   48000,
	Channels:    2,
	PayloadType: 111,
	Fmtp:        "minptime=10;useinbandfec=1",
}

// MaxPacketSize is the largest payload Encode can produce (three 20 ms
// frames of 1276 bytes, for a 60 ms packet). A dst with at least this
// capacity never makes Encode allocate; for frames of 20 ms or less, 1276
// bytes suffice.
const MaxPacketSize = 3 * 1276

func init() {
	codec.Register(Format,
		func(cfg codec.Config) (codec.Encoder, error) {
			e, err := NewEncoder(cfg)
			if err != nil {
				return nil, err // not a typed nil inside the interface
			}
			return e, nil
		},
		func(cfg codec.Config) (codec.Decoder, error) {
			d, err := NewDecoder(cfg)
			if err != nil {
				return nil, err
			}
			return d, nil
		})
}

// Available reports whether libopus is linked in, that is whether the
// package was built with cgo. Without it every constructor returns an error
// wrapping [codec.ErrUnsupported].
func Available() bool { return cgoEnabled }

var (
	_ codec.Encoder    = (*Encoder)(nil)
	_ codec.FECDecoder = (*Decoder)(nil)
)

// checkRate accepts the PCM rates libopus works at natively.
func checkRate(rate int) error {
	switch rate {
	case 8000, 12000, 16000, 24000, 48000:
		return nil
	}
	return configf("sample rate %d Hz, want 8000, 12000, 16000, 24000 or 48000", rate)
}

func checkChannels(ch int) error {
	if ch != 1 && ch != 2 {
		return configf("%d channels, want 1 or 2", ch)
	}
	return nil
}

// checkPtime accepts the Opus frame durations libopus encodes in one call
// (the TOC can also say 80–120 ms, but only as several frames in one packet).
func checkPtime(p time.Duration) error {
	switch p {
	case 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
		20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond:
		return nil
	}
	return configf("frame duration %v, want 2.5, 5, 10, 20, 40 or 60 ms", p)
}

func checkBitrate(bps int) error {
	// 0 is libopus's automatic rate; the bounds are libopus's own clamps
	// (500 bit/s up to 256 kbit/s per channel and a little beyond).
	if bps != 0 && (bps < 500 || bps > 512000) {
		return configf("bitrate %d bit/s, want 0 (automatic) or 500..512000", bps)
	}
	return nil
}

func checkComplexity(c int) error {
	if c < 1 || c > 10 {
		return configf("complexity %d, want 1..10", c)
	}
	return nil
}

func checkLoss(p int) error {
	if p < 0 || p > 100 {
		return configf("packet loss %d%%, want 0..100", p)
	}
	return nil
}

func checkBandwidth(bw codec.Bandwidth) error {
	switch bw {
	case codec.BandwidthAuto, codec.BandwidthNarrow, codec.BandwidthMedium,
		codec.BandwidthWide, codec.BandwidthSuperWide, codec.BandwidthFull:
		return nil
	}
	return configf("max bandwidth %d Hz, want one of the codec.Bandwidth constants", int(bw))
}

func checkApplication(a codec.Application) error {
	switch a {
	case codec.AppVoIP, codec.AppAudio, codec.AppLowDelay:
		return nil
	}
	return configf("application %d, want codec.AppVoIP, AppAudio or AppLowDelay", int(a))
}

// Encoder encodes PCM frames into Opus packets with libopus.
//
// Build one with NewEncoder; the zero value returns errors. An Encoder is not
// safe for concurrent use: one goroutine at a time may call its methods,
// including the Set methods, which take effect from the next Encode.
type Encoder struct {
	st       encState
	ready    bool
	rate     int
	channels int
	ptime    time.Duration
	frame    int // samples per channel in one frame
	maxBytes int // the packet bound for this frame duration
}

// NewEncoder builds an encoder for cfg, normalised against [Format]: zero
// fields mean 48 kHz, mono, 20 ms frames, application VoIP and libopus's
// defaults for bitrate (automatic), complexity, bandwidth, FEC (off), DTX
// (off). Out-of-range options return an error wrapping [codec.ErrConfig]; a
// build without cgo returns one wrapping [codec.ErrUnsupported].
func NewEncoder(cfg codec.Config) (*Encoder, error) {
	cfg = cfg.Normalized(Format)
	for _, err := range []error{
		checkRate(cfg.SampleRate), checkChannels(cfg.Channels), checkPtime(cfg.Ptime),
		checkApplication(cfg.Application), checkBitrate(cfg.Bitrate),
		checkLoss(cfg.PacketLossPercent), checkBandwidth(cfg.MaxBandwidth),
	} {
		if err != nil {
			return nil, err
		}
	}
	if cfg.Complexity != 0 {
		if err := checkComplexity(cfg.Complexity); err != nil {
			return nil, err
		}
	}
	frame := codec.FrameSamples(cfg.SampleRate, cfg.Ptime)
	e := &Encoder{
		rate:     cfg.SampleRate,
		channels: cfg.Channels,
		ptime:    cfg.Ptime,
		frame:    frame,
		// libopus splits packets longer than 20 ms into 20 ms frames of at
		// most 1276 bytes each.
		maxBytes: 1276 * max(1, int(cfg.Ptime/(20*time.Millisecond))),
	}
	if err := e.st.init(cfg.SampleRate, cfg.Channels, cfg.Application); err != nil {
		return nil, err
	}
	e.ready = true
	set := []error{
		e.SetFEC(cfg.FEC),
		e.SetPacketLossPercent(cfg.PacketLossPercent),
		e.SetDTX(cfg.DTX),
		e.SetMaxBandwidth(cfg.MaxBandwidth),
	}
	if cfg.Bitrate != 0 {
		set = append(set, e.SetBitrate(cfg.Bitrate))
	}
	if cfg.Complexity != 0 {
		set = append(set, e.SetComplexity(cfg.Complexity))
	}
	for _, err := range set {
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Format returns [Format].
func (e *Encoder) Format() codec.Format { return Format }

// SampleRate is the PCM rate Encode expects, in Hz.
func (e *Encoder) SampleRate() int { return e.rate }

// Channels is the PCM channel count Encode expects (interleaved when 2).
func (e *Encoder) Channels() int { return e.channels }

// FrameSamples is the samples per channel of one frame.
func (e *Encoder) FrameSamples() int { return e.frame }

// Ptime is the frame duration.
func (e *Encoder) Ptime() time.Duration { return e.ptime }

// Encode encodes one frame of exactly FrameSamples()*Channels() interleaved
// samples and returns the packet in dst[:n]. It allocates only when cap(dst)
// is below the packet bound (1276 bytes per started 20 ms, at most
// [MaxPacketSize]). Any other PCM length returns an error wrapping
// [codec.ErrFrameSize]. With DTX on, silent frames come out as one- or
// two-byte packets that need not be sent (see [IsDTX]).
func (e *Encoder) Encode(dst []byte, pcm []int16) ([]byte, error) {
	if !e.ready {
		return dst[:0], errNotReady
	}
	if want := e.frame * e.channels; len(pcm) != want {
		return dst[:0], frameSizef("%d samples, want %d (%v at %d Hz × %d channels)",
			len(pcm), want, e.ptime, e.rate, e.channels)
	}
	if cap(dst) < e.maxBytes {
		dst = make([]byte, MaxPacketSize)
	}
	n, err := e.st.encode(pcm, dst[:cap(dst)])
	if err != nil {
		return dst[:0], fmt.Errorf("opus: encode of %d samples: %w", len(pcm), err)
	}
	return dst[:n], nil
}

// Reset returns the encoder to the state of a new stream. The options, set
// at construction or since, are kept.
func (e *Encoder) Reset() {
	if e.ready {
		e.st.reset()
	}
}

// SetBitrate sets the target bitrate in bit/s; 0 returns to libopus's
// automatic choice. Out of 500..512000 it returns an error wrapping
// [codec.ErrConfig].
func (e *Encoder) SetBitrate(bps int) error {
	if err := checkBitrate(bps); err != nil {
		return err
	}
	return e.ctl(e.st.setBitrate, bps)
}

// SetComplexity sets the encoder's computational complexity, 1..10 (10 is
// the best quality; 5 roughly halves the cost).
func (e *Encoder) SetComplexity(c int) error {
	if err := checkComplexity(c); err != nil {
		return err
	}
	return e.ctl(e.st.setComplexity, c)
}

// SetFEC turns in-band forward error correction (SILK LBRR) on or off.
// libopus adds it only where it expects loss, so set a loss percentage too,
// and only when the bitrate leaves room: with libopus 1.3 at 20% loss,
// speech carries FEC at 24 kbit/s but not at 16 kbit/s. [HasFEC] shows
// what a packet carries.
func (e *Encoder) SetFEC(on bool) error {
	return e.ctl(e.st.setFEC, b2i(on))
}

// SetPacketLossPercent tells the encoder how much loss to expect, 0..100;
// with FEC on, more loss buys more redundancy at the expense of quality.
func (e *Encoder) SetPacketLossPercent(p int) error {
	if err := checkLoss(p); err != nil {
		return err
	}
	return e.ctl(e.st.setLoss, p)
}

// SetDTX turns discontinuous transmission on or off: in silence the encoder
// emits one- or two-byte packets (see [IsDTX]) and a refresh every 400 ms.
func (e *Encoder) SetDTX(on bool) error {
	return e.ctl(e.st.setDTX, b2i(on))
}

// SetMaxBandwidth caps the coded audio bandwidth; [codec.BandwidthAuto]
// removes the cap (full band).
func (e *Encoder) SetMaxBandwidth(bw codec.Bandwidth) error {
	if err := checkBandwidth(bw); err != nil {
		return err
	}
	return e.ctl(e.st.setMaxBandwidth, int(bw))
}

func (e *Encoder) ctl(f func(int) error, v int) error {
	if !e.ready {
		return errNotReady
	}
	if err := f(v); err != nil {
		return fmt.Errorf("%w: opus: encoder setting %d rejected: %v", codec.ErrConfig, v, err)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Decoder decodes Opus packets into PCM with libopus, conceals lost frames
// and rebuilds them from the next packet's in-band FEC.
//
// Build one with NewDecoder; the zero value returns errors. A Decoder is not
// safe for concurrent use: one goroutine at a time may call its methods.
type Decoder struct {
	st       decState
	ready    bool
	rate     int
	channels int
	div      int // 48000 / rate: RTP-clock samples per PCM sample
	maxLen   int // interleaved samples in 120 ms, the longest packet
}

// NewDecoder builds a decoder producing PCM at cfg.SampleRate (8, 12, 16, 24
// or 48 kHz; 0 means 48 kHz) with cfg.Channels (1 or 2; 0 means 1), whatever
// the sender encoded: libopus converts. Other fields are ignored. Out-of-range
// values return an error wrapping [codec.ErrConfig]; a build without cgo
// returns one wrapping [codec.ErrUnsupported].
func NewDecoder(cfg codec.Config) (*Decoder, error) {
	cfg = cfg.Normalized(Format)
	if err := checkRate(cfg.SampleRate); err != nil {
		return nil, err
	}
	if err := checkChannels(cfg.Channels); err != nil {
		return nil, err
	}
	d := &Decoder{
		rate:     cfg.SampleRate,
		channels: cfg.Channels,
		div:      Format.ClockRate / cfg.SampleRate,
		maxLen:   cfg.SampleRate * 120 / 1000 * cfg.Channels,
	}
	if err := d.st.init(cfg.SampleRate, cfg.Channels); err != nil {
		return nil, err
	}
	d.ready = true
	return d, nil
}

// Format returns [Format].
func (d *Decoder) Format() codec.Format { return Format }

// SampleRate is the rate of the PCM Decode returns, in Hz.
func (d *Decoder) SampleRate() int { return d.rate }

// Channels is the channel count of the PCM Decode returns.
func (d *Decoder) Channels() int { return d.channels }

// MaxPCMLen is the interleaved length of 120 ms of PCM, the longest an Opus
// packet lasts: a dst of this capacity never makes Decode, Conceal or
// DecodeFEC allocate.
func (d *Decoder) MaxPCMLen() int { return d.maxLen }

// Decode decodes one packet into dst[:0] and returns the PCM, as long as the
// packet lasts (10 to 120 ms; a DTX packet yields one frame of comfort
// noise). It allocates only when cap(dst) is below the packet's length, and
// then MaxPCMLen samples. An empty or malformed payload returns an error
// wrapping [codec.ErrCorrupt]; the decoder stays usable for the next packet.
func (d *Decoder) Decode(dst []int16, payload []byte) ([]int16, error) {
	if !d.ready {
		return dst[:0], errNotReady
	}
	// Parsing first keeps every bad length away from libopus and hraban
	// and tells the exact output size, so libopus never sees a short buffer.
	samples48, err := PacketDuration(payload)
	if err != nil {
		return dst[:0], err
	}
	n := samples48 / d.div * d.channels
	dst = d.grow(dst, n)
	got, err := d.st.decode(payload, dst[:n:n])
	if err != nil {
		return dst[:0], corruptf("%d-byte payload rejected by libopus: %v", len(payload), err)
	}
	return dst[:got*d.channels], nil
}

// Conceal produces samples (per channel) of packet-loss concealment for a
// lost frame, extrapolated from what was decoded before, into dst[:0].
// samples must be a multiple of 2.5 ms at SampleRate and at most 120 ms;
// otherwise the error wraps [codec.ErrFrameSize].
func (d *Decoder) Conceal(dst []int16, samples int) ([]int16, error) {
	if !d.ready {
		return dst[:0], errNotReady
	}
	if err := d.checkLost(samples); err != nil {
		return dst[:0], err
	}
	n := samples * d.channels
	dst = d.grow(dst, n)
	if err := d.st.conceal(dst[:n:n]); err != nil {
		return dst[:0], fmt.Errorf("opus: concealment of %d samples: %w", samples, err)
	}
	return dst[:n], nil
}

// DecodeFEC rebuilds samples (per channel) of the frame lost just before
// next from next's in-band FEC into dst[:0]. When next carries none (see
// [HasFEC]: FEC off at the sender, CELT-only, DTX, or a malformed packet) it
// conceals instead, so the result is always a usable frame. samples follows
// Conceal's rules. Decode next afterwards as usual.
func (d *Decoder) DecodeFEC(dst []int16, next []byte, samples int) ([]int16, error) {
	if !d.ready {
		return dst[:0], errNotReady
	}
	if err := d.checkLost(samples); err != nil {
		return dst[:0], err
	}
	if !HasFEC(next) {
		return d.Conceal(dst, samples)
	}
	n := samples * d.channels
	dst = d.grow(dst, n)
	if err := d.st.decodeFEC(next, dst[:n:n]); err != nil {
		return d.Conceal(dst, samples)
	}
	return dst[:n], nil
}

// Reset returns the decoder to the state of a new stream. It allocates the
// libopus state anew (hraban/opus has no reset for decoders), so call it on a
// stream change, not per packet.
func (d *Decoder) Reset() {
	if d.ready {
		d.st.reset()
	}
}

func (d *Decoder) checkLost(samples int) error {
	step := d.rate / 400 // 2.5 ms, libopus's concealment granule
	if samples <= 0 || samples%step != 0 || samples*d.channels > d.maxLen {
		return frameSizef("lost frame of %d samples at %d Hz, want a multiple of %d (2.5 ms) up to %d (120 ms)",
			samples, d.rate, step, d.maxLen/d.channels)
	}
	return nil
}

// grow returns dst when it can hold n samples, else a buffer that holds the
// longest packet, so a caller reusing the result never grows again.
func (d *Decoder) grow(dst []int16, n int) []int16 {
	if cap(dst) >= n {
		return dst
	}
	return make([]int16, d.maxLen)
}

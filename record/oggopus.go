package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/ogg"
	"github.com/rtpmix/rtpmix/internal/opuspacket"
)

// Vendor is the vendor string of the OpusTags header of every Ogg/Opus
// file this package writes.
const Vendor = "rtpmix"

// OggOpusConfig holds the options of the Ogg/Opus writers. The zero value
// is valid.
type OggOpusConfig struct {
	// Encoder options (OggOpusWriter only; see codec.Config). Zero values
	// leave libopus's defaults: automatic bitrate, complexity 9 or 10,
	// application VoIP.
	Bitrate     int
	Complexity  int
	Application codec.Application
	// FrameDuration is the duration of each Opus packet: 2.5, 5, 10, 20,
	// 40 or 60 ms; 0 means 20 ms. Longer frames cost a little less CPU
	// and fewer bytes of overhead.
	FrameDuration time.Duration

	// PageDuration is how much audio one Ogg page holds before it is
	// written: what a reader streaming the file waits for, and what a
	// writer that dies loses. 0 means 1 s. A page is also written when its
	// segment table fills (about 250 packets).
	PageDuration time.Duration
	// Serial is the Ogg stream's serial number; 0 picks one at random, as
	// RFC 3533 asks, so that files chained later do not clash.
	Serial uint32
	// Tags are user comments for the OpusTags header (RFC 7845 §5.2), each
	// "NAME=value": a name of printable ASCII without '=', a UTF-8 value.
	Tags []string

	// PreSkip is the pre-skip of OggOpusPacketWriter's OpusHead, in 48 kHz
	// samples: how much of the decoded start players drop. 0, the default,
	// keeps the packets' timing exactly; the encoder that made them is the
	// far end's, and its delay happened before the packets were sent.
	// (OggOpusWriter sets pre-skip from its own encoder's delay.)
	PreSkip int
}

func (c *OggOpusConfig) checkContainer() error {
	if c.PageDuration < 0 {
		return configf("Ogg/Opus: page duration %v is negative", c.PageDuration)
	}
	if c.PreSkip < 0 || c.PreSkip > 0xFFFF {
		return configf("Ogg/Opus: pre-skip %d, want 0..65535", c.PreSkip)
	}
	for _, t := range c.Tags {
		name, value, ok := strings.Cut(t, "=")
		if !ok || name == "" || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r > 0x7D }) >= 0 {
			return configf("Ogg/Opus: tag %q, want NAME=value with a printable ASCII name", t)
		}
		if !utf8.ValidString(value) {
			return configf("Ogg/Opus: tag %q: the value is not UTF-8", name)
		}
	}
	return nil
}

// oggOpus is the Ogg/Opus mapping shared by both writers: the two header
// packets, then audio packets with their granule positions (48 kHz
// samples decoded so far, pre-skip included, RFC 7845 §4), and the
// writer's end state.
type oggOpus struct {
	ogg       *ogg.Writer
	pageDur   int64 // granule span after which a page is written
	granule   int64 // after the last packet written
	pageStart int64 // granule at the start of the page being built
	packets   int64 // audio packets written

	writerState
}

// fail stops the writer with err, from the Ogg layer or the encoder.
func (m *oggOpus) fail(err error) error {
	return m.stop(fmt.Errorf("record: Ogg/Opus: %w", err))
}

// closing marks the writer closed and reports whether Close has work to
// do: not when it was closed before or has failed (Close returns m.err).
func (m *oggOpus) closing() bool {
	done := m.closed || m.err != nil
	m.closed = true
	return !done
}

// finish ends the stream with its EOS page, for Close once the last
// packet is in.
func (m *oggOpus) finish() error {
	if err := m.ogg.Close(); err != nil {
		return m.fail(err)
	}
	return nil
}

// newOggOpus writes the OpusHead page and the OpusTags page(s) to w.
func newOggOpus(w io.Writer, f Format, preSkip int, cfg *OggOpusConfig) (*oggOpus, error) {
	serial := cfg.Serial
	if serial == 0 {
		serial = rand.Uint32()
	}
	m := &oggOpus{ogg: ogg.NewWriter(w, serial), pageDur: samplesIn(time.Second, 48000)}
	if cfg.PageDuration > 0 {
		m.pageDur = max(1, samplesIn(cfg.PageDuration, 48000))
	}
	if err := m.ogg.WritePacket(opusHead(f, preSkip), 0); err != nil {
		return nil, err
	}
	// The ID header is alone on the first page, and audio starts on a
	// fresh page after the comment header (RFC 7845 §3).
	if err := m.ogg.Flush(); err != nil {
		return nil, err
	}
	if err := m.ogg.WritePacket(opusTags(cfg.Tags), 0); err != nil {
		return nil, err
	}
	if err := m.ogg.Flush(); err != nil {
		return nil, err
	}
	return m, nil
}

// opusHead builds the identification header (RFC 7845 §5.1), channel
// mapping family 0 (mono or stereo, no mapping table):
//
//	 0 "OpusHead"   8 version 1   9 channels   10 pre-skip (16 bits)
//	12 input sample rate (32 bits)   16 output gain 0 (16 bits)   18 family 0
func opusHead(f Format, preSkip int) []byte {
	h := make([]byte, 19)
	copy(h, "OpusHead")
	h[8] = 1
	h[9] = byte(f.Channels)
	binary.LittleEndian.PutUint16(h[10:], uint16(preSkip))
	binary.LittleEndian.PutUint32(h[12:], uint32(f.SampleRate))
	return h
}

// opusTags builds the comment header (RFC 7845 §5.2): vendor string and
// user comments, each with a 32-bit length.
func opusTags(tags []string) []byte {
	b := append([]byte("OpusTags"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(Vendor)))
	b = append(b, Vendor...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(tags)))
	for _, t := range tags {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(t)))
		b = append(b, t...)
	}
	return b
}

// packet adds an audio packet lasting dur (48 kHz samples). The page being
// built is written first when it spans PageDuration, so that the page
// being built always holds the newest packet: the one Close marks EOS.
// granule, when not negative, overrides the packet's granule position (the
// end trimming of the last packet, RFC 7845 §4.4). An error stops the
// writer.
func (m *oggOpus) packet(p []byte, dur int, granule int64) error {
	if n, _ := m.ogg.Buffered(); n > 0 && m.granule-m.pageStart >= m.pageDur {
		if err := m.ogg.Flush(); err != nil {
			return m.fail(err)
		}
	}
	m.granule += int64(dur)
	m.packets++
	if granule < 0 {
		granule = m.granule
	}
	if err := m.ogg.WritePacket(p, granule); err != nil {
		return m.fail(err)
	}
	if n, _ := m.ogg.Buffered(); n == 1 {
		m.pageStart = m.granule - int64(dur)
	}
	return nil
}

// silencePacket returns an Opus packet of dur (48 kHz samples: a multiple
// of 120 up to 5760) that decodes to digital silence: CELT-only frames
// (configs 28–31, fullband 2.5–20 ms) whose bytes 0xFF 0xFE code the
// silence flag (RFC 6716 §4.3: the first symbol of a CELT frame, with
// probability 1/32768), so decoders output exact zeros without running
// the codec, at 3 bytes per 20 ms.
func silencePacket(dur int, stereo bool) []byte {
	return opuspacket.AppendSilence(nil, dur, stereo)
}

// OggOpusWriter encodes 16-bit PCM to Opus with libopus and writes it as
// an Ogg/Opus file (RFC 7845): OpusHead with the encoder's delay as
// pre-skip, the input rate and channel mapping 0; OpusTags with vendor
// "rtpmix"; granule positions in 48 kHz samples, pre-skip included; the
// last page marked EOS and end-trimmed so that the file decodes to exactly
// the samples written. Pages are written every PageDuration.
//
// Silence costs no encoding: after a few frames of digital silence have
// gone through the encoder (enough to flush its delay), further all-zero
// frames, and WriteSilence, are written as 3-byte Opus silence frames.
//
// The Opus codec comes from package codec's registry: import
// github.com/rtpmix/rtpmix/codec/opus (which needs cgo; without it
// NewOggOpusWriter returns an error wrapping codec.ErrUnsupported).
//
// An OggOpusWriter is not safe for concurrent use: one goroutine at a time
// (a Recorder's, when it writes through one). After a write fails, every
// method returns that error.
type OggOpusWriter struct {
	m   *oggOpus
	enc codec.Encoder
	f   Format

	preSkip int
	frame   int // samples per channel of one Opus frame at f.SampleRate
	frame48 int // the same at 48 kHz
	scale   int // 48000 / f.SampleRate

	pend    []int16 // the frame being gathered, interleaved
	npend   int
	pkt     []byte
	silence []byte // the packet of one silent frame
	quiet   int    // all-zero frames encoded in a row
	quietOK int    // how many make the encoder's output silent too
	in      int64  // samples per channel taken, silence included
}

// lookaheader is what an encoder may implement to report its delay in
// samples at its PCM rate (libopus's OPUS_GET_LOOKAHEAD). Without it the
// writer uses libopus's documented figure.
type lookaheader interface{ Lookahead() int }

// libopusLookahead is libopus's encoder delay at 48 kHz (opus_encoder.c,
// OPUS_GET_LOOKAHEAD): 2.5 ms of CELT look-ahead, plus 4 ms of delay
// compensation for the SILK resampler in every application but restricted
// low delay. It is the same in 48 kHz units at every input rate: 312 or 120.
func libopusLookahead(app codec.Application) int {
	if app == codec.AppLowDelay {
		return 120
	}
	return 312
}

func checkOpusFrame(d time.Duration) error {
	switch d {
	case 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
		20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond:
		return nil
	}
	return configf("Ogg/Opus: frame duration %v, want 2.5, 5, 10, 20, 40 or 60 ms", d)
}

// NewOggOpusWriter builds an encoder for f (8, 12, 16, 24 or 48 kHz, mono
// or stereo) and writes the Ogg/Opus headers to w. It does not close w.
func NewOggOpusWriter(w io.Writer, f Format, cfg OggOpusConfig) (*OggOpusWriter, error) {
	if err := f.check(opusRates, "Ogg/Opus"); err != nil {
		return nil, err
	}
	if cfg.FrameDuration == 0 {
		cfg.FrameDuration = 20 * time.Millisecond
	}
	if err := checkOpusFrame(cfg.FrameDuration); err != nil {
		return nil, err
	}
	if err := cfg.checkContainer(); err != nil {
		return nil, err
	}
	enc, err := codec.NewEncoder("opus/48000/2", codec.Config{
		SampleRate: f.SampleRate, Channels: f.Channels, Ptime: cfg.FrameDuration,
		Bitrate: cfg.Bitrate, Complexity: cfg.Complexity, Application: cfg.Application,
	})
	switch {
	case errors.Is(err, codec.ErrUnknownFormat):
		return nil, fmt.Errorf("%s: %w", errOpusNotFound, err)
	case err != nil:
		return nil, fmt.Errorf("record: Ogg/Opus encoder: %w", err)
	}
	return newOggOpusWriter(w, f, cfg, enc)
}

// newOggOpusWriter is NewOggOpusWriter with the encoder made; cfg is
// checked and its FrameDuration set.
func newOggOpusWriter(w io.Writer, f Format, cfg OggOpusConfig, enc codec.Encoder) (*OggOpusWriter, error) {
	ow := &OggOpusWriter{
		enc:     enc,
		f:       f,
		frame:   enc.FrameSamples(),
		scale:   48000 / f.SampleRate,
		preSkip: libopusLookahead(cfg.Application),
		pkt:     make([]byte, 0, maxOpusPacket),
	}
	if la, ok := enc.(lookaheader); ok {
		ow.preSkip = la.Lookahead() * ow.scale
	}
	ow.frame48 = ow.frame * ow.scale
	ow.pend = make([]int16, ow.frame*f.Channels)
	ow.silence = silencePacket(ow.frame48, f.Channels == 2)
	// The encoder's output is silent once its delay and the decoder's
	// 2.5 ms overlap have passed through whole frames of silence.
	ow.quietOK = (ow.preSkip+120+ow.frame48-1)/ow.frame48 + 1
	var err error
	if ow.m, err = newOggOpus(w, f, ow.preSkip, &cfg); err != nil {
		return nil, fmt.Errorf("record: Ogg/Opus headers: %w", err)
	}
	return ow, nil
}

// maxOpusPacket bounds one encoded packet: libopus codes at most 1275
// bytes per 20 ms frame and splits 40 and 60 ms packets into 20 ms frames
// (codec/opus.MaxPacketSize).
const maxOpusPacket = 3 * 1276

// Format returns the format the writer was made for.
func (w *OggOpusWriter) Format() Format { return w.f }

// PreSkip returns the pre-skip written in OpusHead: the encoder's delay in
// 48 kHz samples.
func (w *OggOpusWriter) PreSkip() int { return w.preSkip }

// Position returns the samples per channel written so far, silence
// included (some of them wait in the frame being gathered).
func (w *OggOpusWriter) Position() int64 { return w.in }

// WritePCM appends pcm, interleaved when stereo, whose length must be a
// multiple of the channel count. Whole frames are encoded as they fill.
func (w *OggOpusWriter) WritePCM(pcm []int16) error {
	if err := w.m.usable(); err != nil {
		return err
	}
	if len(pcm)%w.f.Channels != 0 {
		return fmt.Errorf("%w: %d samples for %d channels", ErrFrame, len(pcm), w.f.Channels)
	}
	fl := len(w.pend)
	for len(pcm) > 0 {
		if w.npend == 0 && len(pcm) >= fl {
			if err := w.encode(pcm[:fl]); err != nil {
				return err
			}
			w.in += int64(w.frame)
			pcm = pcm[fl:]
			continue
		}
		n := copy(w.pend[w.npend:], pcm)
		w.npend += n
		w.in += int64(n / w.f.Channels)
		pcm = pcm[n:]
		if w.npend == fl {
			w.npend = 0
			if err := w.encode(w.pend); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteSilence appends samples (per channel) of digital silence.
func (w *OggOpusWriter) WriteSilence(samples int) error {
	if err := w.m.usable(); err != nil {
		return err
	}
	if samples <= 0 {
		return nil
	}
	fl := len(w.pend)
	left := samples * w.f.Channels
	w.in += int64(samples)
	if w.npend > 0 {
		n := min(left, fl-w.npend)
		clear(w.pend[w.npend : w.npend+n])
		w.npend += n
		left -= n
		if w.npend < fl {
			return nil
		}
		w.npend = 0
		if err := w.encode(w.pend); err != nil {
			return err
		}
	}
	clear(w.pend)
	for ; left >= fl; left -= fl {
		if err := w.encode(w.pend); err != nil {
			return err
		}
	}
	w.npend = left
	return nil
}

// encode encodes one whole frame, or writes the silence packet when the
// frame and the encoder's output are both silent.
func (w *OggOpusWriter) encode(pcm []int16) error {
	pkt, err := w.code(pcm)
	if err != nil {
		return err
	}
	return w.m.packet(pkt, w.frame48, -1)
}

// code returns the packet for one whole frame.
func (w *OggOpusWriter) code(pcm []int16) ([]byte, error) {
	zero := allZero(pcm)
	if zero && w.quiet >= w.quietOK {
		return w.silence, nil
	}
	pkt, err := w.enc.Encode(w.pkt[:0], pcm)
	if err != nil {
		return nil, w.m.fail(err)
	}
	if zero {
		w.quiet++
	} else {
		w.quiet = 0
	}
	return pkt, nil
}

func allZero(pcm []int16) bool {
	var or int16
	for _, s := range pcm {
		or |= s
	}
	return or == 0
}

// Close encodes what remains (the frame being gathered, padded with
// silence, and as many silent frames as the encoder's delay needs), ends
// the stream with an end-trimmed EOS page so that it decodes to exactly
// Position() samples, and writes it. It does not close the destination.
// Calling it again returns nil, or the error that stopped the writer.
func (w *OggOpusWriter) Close() error {
	if !w.m.closing() {
		return w.m.err
	}
	end := int64(w.preSkip) + w.in*int64(w.scale)
	for {
		clear(w.pend[w.npend:])
		w.npend = 0
		last := w.m.granule+int64(w.frame48) >= end
		if !last {
			if err := w.encode(w.pend); err != nil {
				return err
			}
			continue
		}
		pkt, err := w.code(w.pend)
		if err != nil {
			return err
		}
		if err := w.m.packet(pkt, w.frame48, end); err != nil {
			return err
		}
		break
	}
	return w.m.finish()
}

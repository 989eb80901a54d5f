package record

import (
	"fmt"
	"io"

	"github.com/rtpmix/rtpmix/internal/opuspacket"
)

// OggOpusPacketWriter writes Opus packets that are already encoded (a
// participant's inbound leg, recorded without transcoding) as an Ogg/Opus
// file (RFC 7845). Each packet's duration comes from its TOC byte and
// frame count; granule positions add them up (pre-skip included, 0 by
// default). Gaps are filled with Opus silence frames.
//
// It needs no codec, so it works in builds without cgo.
//
// An OggOpusPacketWriter is not safe for concurrent use: one goroutine at
// a time (a PacketRecorder's, when it writes through one). After a write
// fails, every method returns that error.
type OggOpusPacketWriter struct {
	m       *oggOpus
	f       Format
	preSkip int
	silence [7][]byte // silence packets: 2.5, 5, 10, 20, 40, 60, 120 ms
}

// silenceDurs are the durations of OggOpusPacketWriter.silence, largest
// last.
var silenceDurs = [7]int{120, 240, 480, 960, 1920, 2880, 5760}

// NewOggOpusPacketWriter writes the Ogg/Opus headers to w for packets
// that decode to f.Channels channels (1 or 2; what OpusHead announces —
// decoders mix or split packets coded otherwise). f.SampleRate (8 to 48
// kHz) is recorded in OpusHead as the input rate, for information only:
// Opus packets always count time at 48 kHz. It does not close w.
func NewOggOpusPacketWriter(w io.Writer, f Format, cfg OggOpusConfig) (*OggOpusPacketWriter, error) {
	if err := f.check(opusRates, "Ogg/Opus"); err != nil {
		return nil, err
	}
	if err := cfg.checkContainer(); err != nil {
		return nil, err
	}
	pw := &OggOpusPacketWriter{f: f, preSkip: cfg.PreSkip}
	for i, d := range silenceDurs {
		pw.silence[i] = silencePacket(d, f.Channels == 2)
	}
	var err error
	if pw.m, err = newOggOpus(w, f, cfg.PreSkip, &cfg); err != nil {
		return nil, fmt.Errorf("record: Ogg/Opus headers: %w", err)
	}
	return pw, nil
}

// Format returns the format the writer was made for.
func (w *OggOpusPacketWriter) Format() Format { return w.f }

// Position returns the duration of the packets written so far, silence
// included, less the pre-skip, in samples at 48 kHz: where in the decoded
// file the next packet starts.
func (w *OggOpusPacketWriter) Position() int64 { return w.m.granule - int64(w.preSkip) }

// WritePacket appends one Opus packet. A packet whose framing is malformed
// (RFC 6716 §3.4) is not written: the error wraps ErrFrame and
// codec.ErrCorrupt, and the writer stays usable. p is copied.
func (w *OggOpusPacketWriter) WritePacket(p []byte) error {
	if err := w.m.usable(); err != nil {
		return err
	}
	dur, err := opuspacket.Duration(p)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFrame, err)
	}
	return w.m.packet(p, dur, -1)
}

// WriteSilence appends samples48 (48 kHz samples) of silence, as Opus
// silence frames; Opus frames come in steps of 2.5 ms, so the duration is
// rounded to the nearest 120 samples (Position tells what was written).
func (w *OggOpusPacketWriter) WriteSilence(samples48 int) error {
	if err := w.m.usable(); err != nil {
		return err
	}
	left := (samples48 + 60) / 120 * 120
	for i := len(silenceDurs) - 1; i >= 0 && left > 0; i-- {
		for d := silenceDurs[i]; left >= d; left -= d {
			if err := w.m.packet(w.silence[i], d, -1); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close ends the stream with an EOS page and writes it (a stream that got
// no packet gets one of silence, trimmed to nothing, so that it opens as
// an empty recording). It does not close the destination. Calling it again returns nil, or the error that
// stopped the writer.
func (w *OggOpusPacketWriter) Close() error {
	if !w.m.closing() {
		return w.m.err
	}
	// A stream without audio is not one that players open: give it a
	// silence packet, trimmed to nothing (RFC 7845 §4.4 lets the only
	// page end-trim).
	if w.m.packets == 0 {
		if err := w.m.packet(w.silence[0], silenceDurs[0], int64(w.preSkip)); err != nil {
			return err
		}
	}
	return w.m.finish()
}

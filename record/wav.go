package record

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// The header a WAVWriter writes: 80 bytes, with a JUNK chunk that becomes
// the ds64 chunk of RF64 (EBU Tech 3306) should the data pass 4 GiB, as
// ffmpeg's -rf64 auto does:
//
//	 0 "RIFF" (or "RF64")  size: file size − 8 (or 0xFFFFFFFF)
//	 8 "WAVE"
//	12 "JUNK" (or "ds64")  28: 28 zero bytes (or RIFF size, data size,
//	                           sample frames as 64-bit values, table length 0)
//	48 "fmt "  16: format 1 (PCM), channels, rate, byte rate, block align, 16 bits
//	72 "data"  size: data bytes (or 0xFFFFFFFF)
//	80 samples, 16-bit little-endian, interleaved
const (
	wavHeaderSize = 80
	wavDataSizeAt = 76
	// unknownSize is what the size fields say until they are known: readers
	// such as ffmpeg and libsndfile read such a file to its end.
	unknownSize = 0xFFFFFFFF
)

// rf64Threshold is the RIFF size past which the header turns into RF64; a
// variable so that a test can cross it without writing 4 GiB.
var rf64Threshold int64 = 0xFFFFFFFF

// wavBufBytes is how much PCM a WAVWriter gathers before it writes.
const wavBufBytes = 32 << 10

// WAVConfig holds a WAVWriter's options. The zero value is valid.
type WAVConfig struct {
	// PatchInterval is how much audio is written between two updates of
	// the header's sizes, so that a file whose writer dies (process killed,
	// machine lost) still reads as a valid WAV file of all but at most this
	// much of its audio; readers that read to the end of the file get all
	// of it until the first update. 0 means 1 s; a negative value updates
	// the header only on Close. Updates need the destination to be an
	// io.WriterAt (such as *os.File) or an io.WriteSeeker; on anything else
	// the sizes stay "unknown" (0xFFFFFFFF), which readers take to mean
	// "to the end of the file".
	PatchInterval time.Duration
}

// WAVWriter writes 16-bit PCM as a RIFF/WAVE file: mono or stereo, at 8,
// 12, 16, 24, 32, 44.1 or 48 kHz, with the header's sizes kept up to date
// while it writes (see WAVConfig.PatchInterval) and set on Close. A file
// whose data passes 4 GiB becomes RF64, which ffmpeg, sox and libsndfile
// read.
//
// A WAVWriter is not safe for concurrent use: one goroutine at a time (a
// Recorder's, when it writes through one). After a write to the
// destination fails, every method returns that error.
type WAVWriter struct {
	w      io.Writer
	at     io.WriterAt    // patches the header in place, when w is one
	seeker io.WriteSeeker // or seeks to it, when w is one of these
	f      Format

	buf        []byte // PCM gathered for the next write
	data       int64  // bytes of PCM taken, written or in buf
	patchEvery int64  // bytes of PCM between header updates; 0: only on Close
	patchedAt  int64  // data when the header was last updated
	hdr        [wavHeaderSize]byte

	writerState
}

// NewWAVWriter writes the header of a WAV file of format f to w and returns
// the writer for its samples. It does not close w.
func NewWAVWriter(w io.Writer, f Format, cfg WAVConfig) (*WAVWriter, error) {
	if err := f.check(wavRates, "WAV"); err != nil {
		return nil, err
	}
	ww := &WAVWriter{w: w, f: f, buf: make([]byte, 0, wavBufBytes)}
	if at, ok := w.(io.WriterAt); ok {
		ww.at = at
	} else if s, ok := w.(io.WriteSeeker); ok {
		ww.seeker = s
	}
	if ww.at != nil || ww.seeker != nil {
		switch {
		case cfg.PatchInterval == 0:
			ww.patchEvery = 2 * int64(f.SampleRate*f.Channels)
		case cfg.PatchInterval > 0:
			ww.patchEvery = 2 * int64(f.Channels) * max(1, samplesIn(cfg.PatchInterval, f.SampleRate))
		}
	}
	ww.header(false)
	if _, err := w.Write(ww.hdr[:]); err != nil {
		return nil, fmt.Errorf("record: writing the WAV header: %w", err)
	}
	return ww, nil
}

// Format returns the format the writer was made for.
func (w *WAVWriter) Format() Format { return w.f }

// Position returns the samples per channel written so far, silence
// included.
func (w *WAVWriter) Position() int64 { return w.data / int64(2*w.f.Channels) }

// WritePCM appends pcm, interleaved when stereo, whose length must be a
// multiple of the channel count.
func (w *WAVWriter) WritePCM(pcm []int16) error {
	if err := w.usable(); err != nil {
		return err
	}
	if len(pcm)%w.f.Channels != 0 {
		return fmt.Errorf("%w: %d samples for %d channels", ErrFrame, len(pcm), w.f.Channels)
	}
	for len(pcm) > 0 {
		n := min(len(pcm), (cap(w.buf)-len(w.buf))/2)
		b := w.buf[len(w.buf) : len(w.buf)+2*n]
		for i, s := range pcm[:n] {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
		}
		w.buf = w.buf[:len(w.buf)+2*n]
		if err := w.took(2 * int64(n)); err != nil {
			return err
		}
		pcm = pcm[n:]
	}
	return nil
}

// WriteSilence appends samples (per channel) of digital silence.
func (w *WAVWriter) WriteSilence(samples int) error {
	if err := w.usable(); err != nil {
		return err
	}
	for left := int64(samples) * int64(2*w.f.Channels); left > 0; {
		n := min(left, int64(cap(w.buf)-len(w.buf)))
		b := w.buf[len(w.buf) : len(w.buf)+int(n)]
		clear(b)
		w.buf = w.buf[:len(w.buf)+int(n)]
		if err := w.took(n); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// took accounts for n bytes just put in buf: it writes buf out when full
// and updates the header when PatchInterval has passed.
func (w *WAVWriter) took(n int64) error {
	w.data += n
	if len(w.buf) == cap(w.buf) {
		if err := w.writeBuf(); err != nil {
			return err
		}
	}
	if w.patchEvery > 0 && w.data-w.patchedAt >= w.patchEvery {
		return w.Flush()
	}
	return nil
}

// Flush writes the buffered samples and, where the destination allows,
// brings the header's sizes up to date, so that what was written so far
// reads as a complete file.
func (w *WAVWriter) Flush() error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.writeBuf(); err != nil {
		return err
	}
	return w.patch()
}

// Close writes what is buffered and sets the header's sizes. It does not
// close the destination. Calling it again returns nil, or the error that
// stopped the writer.
func (w *WAVWriter) Close() error {
	if w.closed {
		return w.err
	}
	err := w.Flush()
	w.closed = true
	return err
}

func (w *WAVWriter) writeBuf() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return w.fail("writing samples", err)
	}
	w.buf = w.buf[:0]
	return nil
}

func (w *WAVWriter) fail(what string, err error) error {
	return w.stop(fmt.Errorf("record: WAV: %s: %w", what, err))
}

// patch rewrites the header with the sizes of the data written so far.
func (w *WAVWriter) patch() error {
	if w.at == nil && w.seeker == nil {
		return nil
	}
	w.patchedAt = w.data
	w.header(true)
	if w.at != nil {
		if _, err := w.at.WriteAt(w.hdr[:], 0); err != nil {
			return w.fail("updating the header", err)
		}
		return nil
	}
	if _, err := w.seeker.Seek(0, io.SeekStart); err != nil {
		return w.fail("seeking to the header", err)
	}
	if _, err := w.seeker.Write(w.hdr[:]); err != nil {
		return w.fail("updating the header", err)
	}
	if _, err := w.seeker.Seek(wavHeaderSize+w.data, io.SeekStart); err != nil {
		return w.fail("seeking back to the end", err)
	}
	return nil
}

// header fills w.hdr; with known set, the sizes are those of the data
// written so far, else "unknown".
func (w *WAVWriter) header(known bool) {
	h := w.hdr[:]
	le := binary.LittleEndian
	riff := int64(wavHeaderSize - 8 + w.data)
	rf64 := known && riff > rf64Threshold
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], unknownSize)
	copy(h[8:], "WAVE")
	copy(h[12:], "JUNK")
	le.PutUint32(h[16:], 28)
	clear(h[20:48])
	copy(h[48:], "fmt ")
	le.PutUint32(h[52:], 16)
	le.PutUint16(h[56:], 1) // WAVE_FORMAT_PCM
	le.PutUint16(h[58:], uint16(w.f.Channels))
	le.PutUint32(h[60:], uint32(w.f.SampleRate))
	le.PutUint32(h[64:], uint32(2*w.f.SampleRate*w.f.Channels))
	le.PutUint16(h[68:], uint16(2*w.f.Channels))
	le.PutUint16(h[70:], 16)
	copy(h[72:], "data")
	le.PutUint32(h[76:], unknownSize)
	switch {
	case rf64:
		copy(h[0:], "RF64")
		copy(h[12:], "ds64")
		le.PutUint64(h[20:], uint64(riff))
		le.PutUint64(h[28:], uint64(w.data))
		le.PutUint64(h[36:], uint64(w.Position()))
		le.PutUint32(h[44:], 0) // no table
	case known:
		le.PutUint32(h[4:], uint32(riff))
		le.PutUint32(h[wavDataSizeAt:], uint32(w.data))
	}
}

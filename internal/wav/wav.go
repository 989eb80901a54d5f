// Package wav reads and writes 16-bit PCM RIFF/WAVE files: the speech clips
// in testdata/ and what the demo and interop tests record. It handles only
// what rtpmix needs (format tag 1, 16 bits per sample) and says so clearly
// for anything else.
//
// Not safe for concurrent use of one value; the functions are reentrant.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Audio is interleaved 16-bit PCM with its rate and channel count.
type Audio struct {
	SampleRate int
	Channels   int
	Samples    []int16 // interleaved
}

// Duration returns the length in seconds.
func (a *Audio) Duration() float64 {
	if a.SampleRate == 0 || a.Channels == 0 {
		return 0
	}
	return float64(len(a.Samples)) / float64(a.SampleRate*a.Channels)
}

var (
	errNotRIFF    = errors.New("wav: not a RIFF/WAVE file")
	errNoFormat   = errors.New("wav: no fmt chunk before data")
	errNotPCM16   = errors.New("wav: only 16-bit PCM is supported")
	errNoData     = errors.New("wav: no data chunk")
	errBadChannel = errors.New("wav: channel count or sample rate is zero")
)

// Read parses a WAVE stream.
func Read(r io.Reader) (*Audio, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotRIFF, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, errNotRIFF
	}
	var a Audio
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, errNoData
		}
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch string(ch[0:4]) {
		case "fmt ":
			if size < 16 || size > 1<<16 {
				return nil, fmt.Errorf("wav: fmt chunk of %d bytes", size)
			}
			b := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, fmt.Errorf("wav: fmt chunk: %w", err)
			}
			tag := binary.LittleEndian.Uint16(b[0:2])
			bits := binary.LittleEndian.Uint16(b[14:16])
			if (tag != 1 && tag != 0xFFFE) || bits != 16 {
				return nil, fmt.Errorf("%w (format tag %d, %d bits)", errNotPCM16, tag, bits)
			}
			a.Channels = int(binary.LittleEndian.Uint16(b[2:4]))
			a.SampleRate = int(binary.LittleEndian.Uint32(b[4:8]))
			if a.Channels == 0 || a.SampleRate == 0 {
				return nil, errBadChannel
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, errNoFormat
			}
			// A streaming writer may leave the size at 0 or 0xFFFFFFFF: read to EOF then.
			// A streaming writer may leave the size at 0 or 0xFFFFFFFF: read to
			// EOF then. A truncated file keeps what is there. LimitReader
			// rather than make(size) so a lying header cannot demand 4 GiB.
			lim := int64(size)
			if size == 0 || size == 0xFFFFFFFF {
				lim = 1 << 40
			}
			b, err := io.ReadAll(io.LimitReader(r, lim))
			if err != nil {
				return nil, fmt.Errorf("wav: data chunk: %w", err)
			}
			a.Samples = make([]int16, len(b)/2)
			for i := range a.Samples {
				a.Samples[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
			}
			return &a, nil
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size&1)); err != nil {
				return nil, errNoData
			}
		}
	}
}

// ReadFile reads a WAVE file.
func ReadFile(path string) (*Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Write writes a as a canonical 44-byte-header WAVE stream.
func Write(w io.Writer, a *Audio) error {
	if a.Channels <= 0 || a.SampleRate <= 0 {
		return errBadChannel
	}
	dataLen := uint32(2 * len(a.Samples))
	b := make([]byte, 44+dataLen)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], 36+dataLen)
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], uint16(a.Channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(a.SampleRate))
	binary.LittleEndian.PutUint32(b[28:], uint32(a.SampleRate*a.Channels*2))
	binary.LittleEndian.PutUint16(b[32:], uint16(a.Channels*2))
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], dataLen)
	for i, s := range a.Samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	_, err := w.Write(b)
	return err
}

// WriteFile writes a to path.
func WriteFile(path string, a *Audio) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, a); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

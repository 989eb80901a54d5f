package record

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingDest accepts writes until it is broken, then refuses them all.
type failingDest struct {
	broken bool
	n      int
}

var errDest = errors.New("destination broke")

func (d *failingDest) Write(p []byte) (int, error) {
	if d.broken {
		return 0, errDest
	}
	d.n += len(p)
	return len(p), nil
}

// endStateWriter is what the three writers share: writes, and Close.
type endStateWriter struct {
	name   string
	prefix string                             // of the errors that stop it
	make   func(io.Writer) (io.Closer, error) // headers written by then
	write  func(w io.Closer) error            // enough to reach the destination soon
	needs  func(t testing.TB)
}

// open skips the test if the writer needs what the build lacks, and
// makes one on a working destination.
func (tc endStateWriter) open(t *testing.T) (io.Closer, *failingDest) {
	t.Helper()
	if tc.needs != nil {
		tc.needs(t)
	}
	d := &failingDest{}
	w, err := tc.make(d)
	require.NoError(t, err)
	return w, d
}

func endStateWriters() []endStateWriter {
	return []endStateWriter{
		{
			name: "WAV", prefix: "record: WAV: ",
			make: func(d io.Writer) (io.Closer, error) { return NewWAVWriter(d, Format{8000, 1}, WAVConfig{}) },
			write: func(w io.Closer) error {
				if err := w.(*WAVWriter).WritePCM(make([]int16, 160)); err != nil {
					return err
				}
				return w.(*WAVWriter).Flush()
			},
		},
		{
			name: "OggOpusPacketWriter", prefix: "record: Ogg/Opus: ",
			make: func(d io.Writer) (io.Closer, error) {
				return NewOggOpusPacketWriter(d, Format{48000, 1}, OggOpusConfig{PageDuration: 20 * time.Millisecond})
			},
			write: func(w io.Closer) error { return w.(*OggOpusPacketWriter).WritePacket(silencePacket(960, false)) },
		},
		{
			name: "OggOpusWriter", prefix: "record: Ogg/Opus: ",
			make: func(d io.Writer) (io.Closer, error) {
				return NewOggOpusWriter(d, Format{48000, 1}, OggOpusConfig{PageDuration: 20 * time.Millisecond})
			},
			write: func(w io.Closer) error { return w.(*OggOpusWriter).WritePCM(make([]int16, 960)) },
			needs: needOpus,
		},
	}
}

// TestWriterEndStates: after Close, writes return ErrClosed and Close
// again nil; after the destination fails, that error, wrapped, comes back
// from every write and from every Close.
func TestWriterEndStates(t *testing.T) {
	for _, tc := range endStateWriters() {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := tc.open(t)
			require.NoError(t, tc.write(w))
			require.NoError(t, w.Close())
			assert.ErrorIs(t, tc.write(w), ErrClosed)
			assert.NoError(t, w.Close(), "Close again")

			w, d := tc.open(t)
			d.broken = true
			var err error
			for i := 0; err == nil; i++ {
				require.Less(t, i, 100, "the destination is never written")
				err = tc.write(w)
			}
			require.ErrorIs(t, err, errDest)
			assert.True(t, strings.HasPrefix(err.Error(), tc.prefix), err.Error())
			assert.Equal(t, 1, strings.Count(err.Error(), tc.prefix), "wrapped once: %v", err)
			assert.Equal(t, err, tc.write(w), "a failed writer returns its error")
			assert.Equal(t, err, w.Close())
			assert.Equal(t, err, w.Close(), "Close again")
			assert.Equal(t, err, tc.write(w), "and after Close")
		})
	}
}

// TestWriterCloseFails: a destination that fails only at the end (the Ogg
// writers' EOS page, the WAV writer's buffered samples) makes Close return
// the error, wrapped once, and Close again the same.
func TestWriterCloseFails(t *testing.T) {
	for _, tc := range endStateWriters() {
		t.Run(tc.name, func(t *testing.T) {
			w, d := tc.open(t)
			if ww, ok := w.(*WAVWriter); ok {
				require.NoError(t, ww.WritePCM(make([]int16, 160)), "buffered, not written")
			}
			d.broken = true
			err := w.Close()
			require.ErrorIs(t, err, errDest)
			assert.Equal(t, 1, strings.Count(err.Error(), tc.prefix), err.Error())
			assert.Equal(t, err, w.Close())
			assert.Equal(t, err, tc.write(w))
		})
	}
}

//go:build !cgo

package record

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	_ "github.com/rtpmix/rtpmix/codec/opus"
)

// Without cgo there is no libopus: encoding to Ogg/Opus fails clearly,
// leaves no file behind, and WAV and packet recording work as ever.
func TestOggOpusWithoutCgo(t *testing.T) {
	_, err := NewOggOpusWriter(&bytes.Buffer{}, Format{48000, 1}, OggOpusConfig{})
	assert.ErrorIs(t, err, codec.ErrUnsupported)

	path := filepath.Join(t.TempDir(), "a.opus")
	_, err = Create(path, Format{48000, 1}, FileConfig{})
	assert.ErrorIs(t, err, codec.ErrUnsupported)
	assert.NoFileExists(t, path)

	r, err := Create(filepath.Join(t.TempDir(), "a.wav"), Format{48000, 1}, FileConfig{})
	require.NoError(t, err)
	require.NoError(t, r.Write(0, make([]int16, 960)))
	require.NoError(t, r.Close())

	pr, err := CreatePackets(filepath.Join(t.TempDir(), "b.opus"), Format{48000, 1}, FileConfig{})
	require.NoError(t, err)
	require.NoError(t, pr.Write(0, silencePacket(960, false)))
	require.NoError(t, pr.Close())
}

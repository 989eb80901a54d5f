//go:build !cgo

package opus

import (
	"testing"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Without cgo the package must still register Opus and fail clearly, so
// that a pure-Go build of the mixer can offer the codecs it has.
func TestWithoutCgo(t *testing.T) {
	assert.False(t, Available())
	f, ok := codec.Lookup("opus/48000/2")
	require.True(t, ok)
	assert.Equal(t, Format, f)

	e, err := NewEncoder(codec.Config{})
	assert.ErrorIs(t, err, codec.ErrUnsupported)
	assert.Contains(t, err.Error(), "built without cgo")
	assert.Nil(t, e)
	d, err := NewDecoder(codec.Config{})
	assert.ErrorIs(t, err, codec.ErrUnsupported)
	assert.Nil(t, d)

	ce, err := codec.NewEncoder("opus/48000/2", codec.Config{})
	assert.ErrorIs(t, err, codec.ErrUnsupported)
	assert.True(t, ce == nil, "a true nil, not a typed nil in the interface")
	cd, err := codec.NewDecoder("opus/48000/2", codec.Config{})
	assert.ErrorIs(t, err, codec.ErrUnsupported)
	assert.True(t, cd == nil)

	// A bad config is still reported as such first.
	_, err = NewEncoder(codec.Config{SampleRate: 44100})
	assert.ErrorIs(t, err, codec.ErrConfig)

	// The zero values fail without reaching the stubs.
	var ze Encoder
	_, err = ze.Encode(nil, make([]int16, 960))
	assert.ErrorIs(t, err, errNotReady)
	var zd Decoder
	_, err = zd.Decode(nil, []byte{0x78})
	assert.ErrorIs(t, err, errNotReady)
}

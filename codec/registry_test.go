package codec

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testFormat is registered only by this test binary.
var testFormat = Format{Name: "X-TEST", ClockRate: 16000, Channels: 1, PayloadType: 96}

type testCodec struct{ cfg Config }

func (c *testCodec) Format() Format                                 { return testFormat }
func (c *testCodec) SampleRate() int                                { return c.cfg.SampleRate }
func (c *testCodec) Channels() int                                  { return c.cfg.Channels }
func (c *testCodec) FrameSamples() int                              { return FrameSamples(c.cfg.SampleRate, c.cfg.Ptime) }
func (c *testCodec) Reset()                                         {}
func (c *testCodec) Encode(dst []byte, pcm []int16) ([]byte, error) { return dst[:0], nil }
func (c *testCodec) Decode(dst []int16, p []byte) ([]int16, error)  { return dst[:0], nil }
func (c *testCodec) Conceal(dst []int16, n int) ([]int16, error)    { return dst[:0], nil }

func init() {
	Register(testFormat,
		func(c Config) (Encoder, error) { return &testCodec{c}, nil },
		func(c Config) (Decoder, error) { return &testCodec{c}, nil })
}

func TestLookupNormalisesNames(t *testing.T) {
	for _, name := range []string{"X-TEST/16000", "x-test/16000", "X-Test/16000/1", " X-TEST/16000 "} {
		f, ok := Lookup(name)
		require.True(t, ok, name)
		assert.Equal(t, testFormat, f)
	}
	_, ok := Lookup("X-TEST/8000")
	assert.False(t, ok)
}

func TestNewEncoderAppliesDefaults(t *testing.T) {
	enc, err := NewEncoder("X-TEST/16000", Config{})
	require.NoError(t, err)
	assert.Equal(t, 16000, enc.SampleRate())
	assert.Equal(t, 1, enc.Channels())
	assert.Equal(t, 320, enc.FrameSamples())

	dec, err := NewDecoder("x-test/16000", Config{SampleRate: 8000, Ptime: 10 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 8000, dec.SampleRate())
}

func TestUnknownFormat(t *testing.T) {
	_, err := NewEncoder("G729/8000", Config{})
	assert.True(t, errors.Is(err, ErrUnknownFormat), err)
	_, err = NewDecoder("", Config{})
	assert.True(t, errors.Is(err, ErrUnknownFormat), err)
}

func TestRegisterTwicePanics(t *testing.T) {
	assert.Panics(t, func() { Register(testFormat, nil, nil) })
}

func TestSDPNameAndFrameSamples(t *testing.T) {
	opus := Format{Name: "opus", ClockRate: 48000, Channels: 2}
	assert.Equal(t, "opus/48000/2", opus.SDPName())
	assert.Equal(t, 960, opus.FrameSamples(20*time.Millisecond))
	pcmu := Format{Name: "PCMU", ClockRate: 8000, Channels: 1}
	assert.Equal(t, "PCMU/8000", pcmu.String())
	assert.Equal(t, 480, pcmu.FrameSamples(60*time.Millisecond))
	assert.Contains(t, Formats(), testFormat)
}

func TestNaturalRate(t *testing.T) {
	g722 := Format{Name: "G722", ClockRate: 8000, Channels: 1, SampleRate: 16000}
	assert.Equal(t, 16000, g722.NaturalRate())
	assert.Equal(t, 160, g722.FrameSamples(20*time.Millisecond), "timestamps count the 8000 Hz clock")
	assert.Equal(t, 16000, Config{}.Normalized(g722).SampleRate)
	assert.Equal(t, 8000, Config{SampleRate: 8000}.Normalized(g722).SampleRate, "an explicit rate stays")
	pcmu := Format{Name: "PCMU", ClockRate: 8000, Channels: 1}
	assert.Equal(t, 8000, pcmu.NaturalRate())
	assert.Equal(t, 8000, Config{}.Normalized(pcmu).SampleRate)
}

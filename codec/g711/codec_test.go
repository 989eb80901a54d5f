package g711

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
)

func TestRegistered(t *testing.T) {
	tests := []struct {
		sdp    string
		format codec.Format
		pt     uint8
	}{
		{"PCMU/8000", PCMU, 0},
		{"pcmu/8000/1", PCMU, 0},
		{"PCMA/8000", PCMA, 8},
	}
	for _, tt := range tests {
		t.Run(tt.sdp, func(t *testing.T) {
			f, ok := codec.Lookup(tt.sdp)
			require.True(t, ok)
			assert.Equal(t, tt.format, f)
			assert.Equal(t, tt.pt, f.PayloadType)

			enc, err := codec.NewEncoder(tt.sdp, codec.Config{})
			require.NoError(t, err)
			assert.Equal(t, tt.format, enc.Format())
			assert.Equal(t, 8000, enc.SampleRate())
			assert.Equal(t, 1, enc.Channels())
			assert.Equal(t, 160, enc.FrameSamples(), "default ptime is 20 ms")

			dec, err := codec.NewDecoder(tt.sdp, codec.Config{})
			require.NoError(t, err)
			assert.Equal(t, tt.format, dec.Format())
			assert.Equal(t, 8000, dec.SampleRate())
			assert.Equal(t, 1, dec.Channels())
		})
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		format  codec.Format
		cfg     codec.Config
		frame   int   // for a valid config
		wantErr error // for an invalid one
		decErr  bool  // whether the decoder rejects it too
	}{
		{"defaults", PCMU, codec.Config{}, 160, nil, false},
		{"10 ms", PCMA, codec.Config{Ptime: 10 * time.Millisecond}, 80, nil, false},
		{"30 ms", PCMU, codec.Config{Ptime: 30 * time.Millisecond}, 240, nil, false},
		{"5 ms", PCMU, codec.Config{Ptime: 5 * time.Millisecond}, 40, nil, false},
		{"120 ms", PCMA, codec.Config{Ptime: 120 * time.Millisecond}, 960, nil, false},
		{"explicit 8000 mono", PCMU, codec.Config{SampleRate: 8000, Channels: 1}, 160, nil, false},
		{"lower-case name, dynamic PT", codec.Format{Name: "pcma", ClockRate: 8000, PayloadType: 96}, codec.Config{}, 160, nil, false},
		{"16 kHz", PCMU, codec.Config{SampleRate: 16000}, 0, codec.ErrConfig, true},
		{"stereo", PCMA, codec.Config{Channels: 2}, 0, codec.ErrConfig, true},
		{"ptime 7 ms", PCMU, codec.Config{Ptime: 7 * time.Millisecond}, 0, codec.ErrConfig, false},
		{"ptime 125 ms", PCMU, codec.Config{Ptime: 125 * time.Millisecond}, 0, codec.ErrConfig, false},
		{"negative ptime", PCMU, codec.Config{Ptime: -20 * time.Millisecond}, 0, codec.ErrConfig, false},
		{"not G.711", codec.Format{Name: "opus", ClockRate: 48000, Channels: 2}, codec.Config{}, 0, codec.ErrUnsupported, true},
		{"PCMU at 16 kHz", codec.Format{Name: "PCMU", ClockRate: 16000, Channels: 1}, codec.Config{}, 0, codec.ErrUnsupported, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := NewEncoder(tt.format, tt.cfg)
			dec, derr := NewDecoder(tt.format, tt.cfg)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.NoError(t, derr)
				assert.Equal(t, tt.frame, enc.FrameSamples())
				assert.NotNil(t, dec)
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
			assert.Nil(t, enc)
			if tt.decErr {
				assert.ErrorIs(t, derr, tt.wantErr)
			} else {
				assert.NoError(t, derr, "the decoder takes any payload length, so ptime does not matter")
			}
		})
	}
}

// TestRegistryErrorIsNilInterface guards against a typed nil pointer being
// returned as a non-nil codec.Encoder.
func TestRegistryErrorIsNilInterface(t *testing.T) {
	enc, err := codec.NewEncoder("PCMU/8000", codec.Config{SampleRate: 48000})
	assert.ErrorIs(t, err, codec.ErrConfig)
	assert.Nil(t, enc)
	dec, err := codec.NewDecoder("PCMA/8000", codec.Config{Channels: 2})
	assert.ErrorIs(t, err, codec.ErrConfig)
	assert.Nil(t, dec)
}

func TestEncodeFrameSize(t *testing.T) {
	enc, err := NewEncoder(PCMU, codec.Config{})
	require.NoError(t, err)
	tests := []struct {
		name string
		n    int
		ok   bool
	}{
		{"one frame", 160, true},
		{"empty", 0, false},
		{"one short", 159, false},
		{"one long", 161, false},
		{"two frames", 320, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := enc.Encode(make([]byte, 0, 400), make([]int16, tt.n))
			if tt.ok {
				require.NoError(t, err)
				assert.Len(t, out, tt.n)
				return
			}
			assert.ErrorIs(t, err, codec.ErrFrameSize)
			assert.Contains(t, err.Error(), "want 160")
			assert.Empty(t, out)
		})
	}
}

func TestEncodeDecodeThroughInterface(t *testing.T) {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(i*401 - 30000)
	}
	for _, tc := range []struct {
		format codec.Format
		l      law
	}{{PCMU, laws[0]}, {PCMA, laws[1]}} {
		t.Run(tc.format.Name, func(t *testing.T) {
			enc, err := codec.NewEncoder(tc.format.SDPName(), codec.Config{})
			require.NoError(t, err)
			dec, err := codec.NewDecoder(tc.format.SDPName(), codec.Config{})
			require.NoError(t, err)
			payload, err := enc.Encode(nil, pcm)
			require.NoError(t, err)
			assert.Equal(t, tc.l.encode(nil, pcm), payload)
			out, err := dec.Decode(nil, payload)
			require.NoError(t, err)
			assert.Equal(t, tc.l.decode(nil, payload), out)
		})
	}
}

func TestDecodeLengths(t *testing.T) {
	dec, err := NewDecoder(PCMA, codec.Config{})
	require.NoError(t, err)
	for _, n := range []int{1, 2, 31, 32, 33, 80, 160, 161, 240, 1000, 2000} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		out, err := dec.Decode(nil, payload)
		require.NoError(t, err, n)
		assert.Equal(t, DecodeAlaw(nil, payload), out, n)
	}
	out, err := dec.Decode(make([]int16, 5), nil)
	assert.ErrorIs(t, err, codec.ErrCorrupt)
	assert.Empty(t, out)
	_, err = dec.Decode(nil, []byte{})
	assert.ErrorIs(t, err, codec.ErrCorrupt)
}

func TestConcealLength(t *testing.T) {
	dec, err := NewDecoder(PCMU, codec.Config{})
	require.NoError(t, err)
	for _, n := range []int{0, -1} {
		_, err := dec.Conceal(nil, n)
		assert.ErrorIs(t, err, codec.ErrFrameSize, n)
	}
	for _, n := range []int{1, 80, 160, 1000} {
		out, err := dec.Conceal(nil, n)
		require.NoError(t, err)
		assert.Len(t, out, n)
	}
}

// TestZeroAllocs holds the hot paths, through the codec interfaces, to zero
// allocations per frame, including concealment and the first frame after a
// loss.
func TestZeroAllocs(t *testing.T) {
	for _, sdp := range []string{"PCMU/8000", "PCMA/8000"} {
		t.Run(sdp, func(t *testing.T) {
			enc, err := codec.NewEncoder(sdp, codec.Config{})
			require.NoError(t, err)
			dec, err := codec.NewDecoder(sdp, codec.Config{})
			require.NoError(t, err)
			pcm := make([]int16, 160)
			for i := range pcm {
				pcm[i] = int16(i * 100)
			}
			payload := make([]byte, 0, 160)
			out := make([]int16, 0, 160)
			assert.Zero(t, testing.AllocsPerRun(200, func() {
				payload, _ = enc.Encode(payload, pcm)
			}), "Encode")
			assert.Zero(t, testing.AllocsPerRun(200, func() {
				out, _ = dec.Decode(out, payload)
			}), "Decode")
			assert.Zero(t, testing.AllocsPerRun(200, func() {
				out, _ = dec.Conceal(out, 160)
			}), "Conceal")
			assert.Zero(t, testing.AllocsPerRun(200, func() {
				out, _ = dec.Conceal(out, 160)
				out, _ = dec.Decode(out, payload)
			}), "Conceal then Decode")
			assert.Zero(t, testing.AllocsPerRun(200, func() {
				_, err = dec.Decode(out, nil)
			}), "Decode of an empty payload")
			assert.True(t, errors.Is(err, codec.ErrCorrupt))
		})
	}
}

func TestEncoderReset(t *testing.T) {
	enc, err := NewEncoder(PCMA, codec.Config{})
	require.NoError(t, err)
	pcm := make([]int16, 160)
	a, _ := enc.Encode(nil, pcm)
	enc.Reset()
	b, _ := enc.Encode(nil, pcm)
	assert.Equal(t, a, b)
}

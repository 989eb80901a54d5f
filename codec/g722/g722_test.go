package g722

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
)

func TestRegistered(t *testing.T) {
	f, ok := codec.Lookup("G722/8000")
	require.True(t, ok)
	assert.Equal(t, Format, f)
	f, ok = codec.Lookup("g722/8000/1")
	require.True(t, ok)
	assert.Equal(t, Format, f)

	enc, err := codec.NewEncoder("G722/8000", codec.Config{})
	require.NoError(t, err)
	assert.Equal(t, 16000, enc.SampleRate(), "a zero Config means 16 kHz audio, not the 8000 Hz clock")
	assert.Equal(t, 320, enc.FrameSamples())
	assert.Equal(t, 1, enc.Channels())
	assert.Equal(t, uint8(9), enc.Format().PayloadType)
	assert.Equal(t, 160, enc.Format().FrameSamples(20*time.Millisecond), "RTP timestamp step of 20 ms")

	dec, err := codec.NewDecoder("G722/8000", codec.Config{})
	require.NoError(t, err)
	assert.Equal(t, 16000, dec.SampleRate())
	assert.Equal(t, Format, dec.Format())

	// 30 ms, the desk phones' other ptime: 480 samples, 240 bytes, and a
	// timestamp step of 240.
	enc, err = codec.NewEncoder("G722/8000", codec.Config{Ptime: 30 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 480, enc.FrameSamples())
	p, err := enc.Encode(nil, make([]int16, 480))
	require.NoError(t, err)
	assert.Len(t, p, 240)
	assert.Equal(t, 240, Format.FrameSamples(30*time.Millisecond))
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  codec.Config
		enc  bool // the encoder refuses it
		dec  bool // the decoder refuses it
	}{
		{"8 kHz", codec.Config{SampleRate: 8000}, true, true},
		{"48 kHz", codec.Config{SampleRate: 48000}, true, true},
		{"stereo", codec.Config{Channels: 2}, true, true},
		{"7 ms", codec.Config{Ptime: 7 * time.Millisecond}, true, false},
		{"125 ms", codec.Config{Ptime: 125 * time.Millisecond}, true, false},
		{"32 kbit/s", codec.Config{Bitrate: 32000}, true, true},
		{"56 kbit/s", codec.Config{Bitrate: 56000}, true, false},
		{"48 kbit/s", codec.Config{Bitrate: 48000}, true, false},
		{"64 kbit/s", codec.Config{Bitrate: 64000}, false, false},
		{"Opus options are ignored", codec.Config{Complexity: 5, FEC: true, DTX: true, PacketLossPercent: 10}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEncoder(tc.cfg)
			if tc.enc {
				assert.ErrorIs(t, err, codec.ErrConfig)
			} else {
				assert.NoError(t, err)
			}
			_, err = NewDecoder(tc.cfg)
			if tc.dec {
				assert.ErrorIs(t, err, codec.ErrConfig)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestEncodeFrameSize(t *testing.T) {
	enc, err := NewEncoder(codec.Config{})
	require.NoError(t, err)
	for _, n := range []int{0, 1, 160, 319, 321, 640} {
		_, err := enc.Encode(nil, make([]int16, n))
		assert.ErrorIs(t, err, codec.ErrFrameSize, "%d samples", n)
	}
}

func TestDecodeEmptyLeavesStateAlone(t *testing.T) {
	codes := encodeAll(t, ituSpeech()[:3200])
	a, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	b, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	_, err = a.Decode(nil, codes[:800])
	require.NoError(t, err)
	_, err = b.Decode(nil, codes[:800])
	require.NoError(t, err)
	out, err := a.Decode(make([]int16, 5), nil)
	assert.ErrorIs(t, err, codec.ErrCorrupt)
	assert.Empty(t, out)
	x, _ := a.Decode(nil, codes[800:])
	y, _ := b.Decode(nil, codes[800:])
	assert.Equal(t, y, x)
}

// encodeAll encodes pcm (a whole number of pairs) in one go, through the
// chunked path.
func encodeAll(t testing.TB, pcm []int16) []byte {
	e, err := NewEncoder(codec.Config{})
	require.NoError(t, err)
	out := make([]byte, len(pcm)/2)
	e.encode(out, pcm[:2*len(out)])
	return out
}

// TestChunkBoundaries: one long call, 20 ms frames, 120 ms frames (three
// filter passes each) and odd-sized payloads all give the same stream.
func TestChunkBoundaries(t *testing.T) {
	pcm := ituSpeech()[:96000] // 6 s, a multiple of 120 ms
	whole := encodeAll(t, pcm)
	for _, ptime := range []time.Duration{5, 20, 30, 120} {
		enc, err := NewEncoder(codec.Config{Ptime: ptime * time.Millisecond})
		require.NoError(t, err)
		var got, p []byte
		for i := 0; i < len(pcm); i += enc.FrameSamples() {
			p, err = enc.Encode(p, pcm[i:i+enc.FrameSamples()])
			require.NoError(t, err)
			got = append(got, p...)
		}
		assert.Equal(t, whole, got, "%v frames", ptime)
	}

	dec, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	want, err := dec.Decode(nil, whole)
	require.NoError(t, err)
	for _, size := range []int{1, 7, 160, 319, 320, 321, 961} {
		dec.Reset()
		var got, o []int16
		for i := 0; i < len(whole); i += size {
			o, err = dec.Decode(o, whole[i:min(i+size, len(whole))])
			require.NoError(t, err)
			got = append(got, o...)
		}
		assert.Equal(t, want, got, "payloads of %d bytes", size)
	}
}

func TestReset(t *testing.T) {
	pcm := ituSpeech()
	enc, err := NewEncoder(codec.Config{})
	require.NoError(t, err)
	first, _ := enc.Encode(nil, pcm[16000:16320])
	enc.Reset()
	again, _ := enc.Encode(nil, pcm[16000:16320])
	assert.Equal(t, first, again)

	dec, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	a, _ := dec.Decode(nil, first)
	_, _ = dec.Decode(nil, encodeAll(t, pcm[:8000]))
	_, _ = dec.Conceal(nil, 333)
	dec.Reset()
	b, _ := dec.Decode(nil, first)
	assert.Equal(t, a, b)
	c, _ := dec.Conceal(nil, 320)
	dec.Reset()
	z, _ := dec.Conceal(nil, 320)
	assert.Equal(t, make([]int16, 320), z, "after Reset, concealment has nothing to repeat")
	_ = c
}

// TestMatchesReference holds the fast code to the textbook one on inputs
// the ITU sequences do not cover: speech at every level up to clipping,
// full-scale noise and square waves (which drive the filters and the
// predictor into saturation), and random codes.
func TestMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	speech := speech16k(t, "carol")[:48000] // 3 s; the ITU's speech is TestITUSpeech's
	inputs := map[string][]int16{"carol": speech}
	for _, gain := range []float64{0.01, 4, 40} {
		x := make([]int16, len(speech))
		for i, v := range speech {
			x[i] = int16(max(min(float64(v)*gain, math.MaxInt16), math.MinInt16))
		}
		inputs["carol×"+ftoa(gain)] = x
	}
	noise := make([]int16, 32000)
	for i := range noise {
		noise[i] = int16(rng.Uint32())
	}
	inputs["noise"] = noise
	square := make([]int16, 32000)
	for i := range square {
		square[i] = math.MaxInt16
		if i/(1+i/4000)%2 == 1 { // periods growing from 2 samples
			square[i] = math.MinInt16
		}
	}
	inputs["square"] = square

	for name, pcm := range inputs {
		pcm = pcm[:len(pcm)&^1]
		got := encodeAll(t, pcm)
		want := newRefCodec(1).encode(nil, pcm)
		require.Equal(t, want, got, "%s: encoder", name)
		for mode := 1; mode <= 3; mode++ {
			dec, err := NewDecoder(codec.Config{Bitrate: modeBitrate[mode]})
			require.NoError(t, err)
			out, err := dec.Decode(nil, got)
			require.NoError(t, err)
			require.Equal(t, newRefCodec(mode).decode(nil, got), out, "%s: decoder mode %d", name, mode)
		}
	}
	codes := make([]byte, 32000)
	for i := range codes {
		codes[i] = byte(rng.Uint32())
	}
	for mode := 1; mode <= 3; mode++ {
		dec, err := NewDecoder(codec.Config{Bitrate: modeBitrate[mode]})
		require.NoError(t, err)
		out, err := dec.Decode(nil, codes)
		require.NoError(t, err)
		require.Equal(t, newRefCodec(mode).decode(nil, codes), out, "random codes, mode %d", mode)
	}
}

func ftoa(f float64) string {
	switch f {
	case 0.01:
		return "0.01"
	case 4:
		return "4"
	}
	return "40"
}

func TestAllocs(t *testing.T) {
	pcm := ituSpeech()[16000:16320]
	enc, err := NewEncoder(codec.Config{})
	require.NoError(t, err)
	dec, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	payload := make([]byte, 0, 160)
	out := make([]int16, 0, 320)
	payload, _ = enc.Encode(payload, pcm)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		payload, _ = enc.Encode(payload, pcm)
	}), "Encode")
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		out, _ = dec.Decode(out, payload)
	}), "Decode")
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		out, _ = dec.Conceal(out, 320)
		out, _ = dec.Conceal(out, 321)
		out, _ = dec.Decode(out, payload)
	}), "Conceal and the Decode after it")
}

func TestErrorsWrapSentinels(t *testing.T) {
	dec, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	_, err = dec.Conceal(nil, 0)
	assert.True(t, errors.Is(err, codec.ErrFrameSize), err)
	_, err = dec.Decode(nil, []byte{})
	assert.True(t, errors.Is(err, codec.ErrCorrupt), err)
}

package mixer

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
)

func newTestChain(t *testing.T, out codec.Format, ec codec.Config, rate int) *encodeChain {
	t.Helper()
	ch := newEncodeChain()
	require.NoError(t, ch.setup(out, ec, rate, 20*time.Millisecond, 20*time.Millisecond))
	return &ch
}

// loudSum is the int32 sum of two full-scale tones: past int16, so the
// limiter has work to do.
func loudSum(rate int, tick int, f float64) []int32 {
	n := rate / 50
	acc := make([]int32, n)
	for i := range acc {
		x := float64(tick*n+i) / float64(rate)
		acc[i] = int32(30000*math.Sin(2*math.Pi*f*x) + 30000*math.Sin(2*math.Pi*1.5*f*x))
	}
	return acc
}

// TestEncodeChainSetup: G.711 out of a 48 kHz room resamples to 8 kHz;
// Opus encodes at the room's rate.
func TestEncodeChainSetup(t *testing.T) {
	ch := newTestChain(t, pcmu, codec.Config{}, 48000)
	assert.Equal(t, 8000, ch.encRate)
	assert.NotNil(t, ch.res)
	ch = newTestChain(t, pcmu, codec.Config{}, 8000)
	assert.Nil(t, ch.res)
	ch = newTestChain(t, opf, codec.Config{DTX: true}, 16000)
	assert.Equal(t, 16000, ch.encRate)
	assert.Nil(t, ch.res)
	assert.True(t, ch.dtx)
	assert.False(t, ch.active)
}

// TestEncodeChainSilence: a silent mix is digital silence, comfort noise
// or nothing, as the policy says; an Opus encoder with DTX stops sending;
// a chain without an encoder reports an error and sends nothing.
func TestEncodeChainSilence(t *testing.T) {
	ch := newTestChain(t, pcmu, codec.Config{}, 8000)
	p, ok, err := ch.encode(160, true, silencePolicy{mode: SilenceFrames})
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, p, 160)
	for _, b := range p {
		require.Equal(t, byte(0xFF), b, "μ-law zero")
	}
	p, ok, err = ch.encode(160, true, silencePolicy{mode: ComfortNoise, noiseLevel: 40})
	require.NoError(t, err)
	require.True(t, ok)
	assert.InDelta(t, 40, int(outLevel(ch.mix[:160], false)), 2, "noise at the configured level")
	assert.NotEqual(t, byte(0xFF), p[0])
	p, ok, err = ch.encode(160, true, silencePolicy{mode: DTX})
	assert.NoError(t, err)
	assert.False(t, ok)
	assert.Nil(t, p)

	op := newTestChain(t, opf, codec.Config{DTX: true}, 48000)
	sent := 0
	for range 30 {
		_, ok, err := op.encode(960, true, silencePolicy{})
		require.NoError(t, err)
		if ok {
			sent++
		}
	}
	assert.Less(t, sent, 30, "Opus DTX: silence stops being sent")

	var broken encodeChain = newEncodeChain()
	_, ok, err = broken.encode(160, false, silencePolicy{})
	assert.ErrorIs(t, err, errNoEncoder)
	assert.False(t, ok)
}

// TestEncodeChainLimit: the limiter keeps a sum past full scale inside
// int16 smoothly; with the limiter off the sum is clamped; the own voice is
// subtracted and the gain applied either way.
func TestEncodeChainLimit(t *testing.T) {
	ch := newTestChain(t, pcmu, codec.Config{}, 8000)
	acc := loudSum(8000, 0, 300)
	own := make([]int16, len(acc))
	for i := range own {
		own[i] = int16(acc[i] / 2)
	}
	out := ch.limit(acc, nil, unity, false)
	peak := 0
	for _, v := range out {
		peak = max(peak, abs(int(v)))
	}
	assert.Less(t, peak, 32767, "soft limited below clipping")

	out = ch.limit(acc, nil, unity, true)
	clipped := 0
	for i, v := range out {
		want := min(max(acc[i], -32768), 32767)
		require.Equal(t, int16(want), v, i)
		if want != acc[i] {
			clipped++
		}
	}
	assert.Positive(t, clipped)
	out = ch.limit(acc, own, unity/2, true)
	for i, v := range out {
		rest := min(max(acc[i]-int32(own[i]), -32768), 32767)
		require.InDelta(t, rest/2, int32(v), 1, i)
	}
}

// TestEncodeChainTakeOver: a new speaker's chain continuing from its
// group's state produces what the group's chain would have; a chain
// resuming cold does not (its resampler history is from another time).
func TestEncodeChainTakeOver(t *testing.T) {
	group := newTestChain(t, pcmu, codec.Config{}, 48000)
	own := newTestChain(t, pcmu, codec.Config{}, 48000)
	cold := newTestChain(t, pcmu, codec.Config{}, 48000)
	// Stale state: own and cold last encoded other audio long ago.
	for tick := range 5 {
		for _, ch := range []*encodeChain{own, cold} {
			ch.limit(loudSum(48000, tick, 900), nil, unity, false)
			_, _, err := ch.encode(960, false, silencePolicy{})
			require.NoError(t, err)
		}
	}
	group.resume()
	for tick := range 10 {
		group.limit(loudSum(48000, tick, 300), nil, unity, false)
		_, _, err := group.encode(960, false, silencePolicy{})
		require.NoError(t, err)
	}
	own.active, cold.active = false, false
	own.takeOver(group)
	cold.resume()
	assert.True(t, own.active && cold.active)
	acc := loudSum(48000, 10, 300)
	g := append([]byte(nil), mustEncode(t, group, acc)...)
	assert.Equal(t, g, mustEncode(t, own, acc), "taken over: the same stream")
	assert.NotEqual(t, g, mustEncode(t, cold, acc), "cold: a transient")

	// From an idle group, or one at another rate, there is nothing to
	// continue: encoder and resampler restart, the limiter goes on.
	for _, from := range []*encodeChain{newTestChain(t, pcmu, codec.Config{}, 48000), newTestChain(t, pcmu, codec.Config{}, 16000)} {
		from.active = from.rate == 16000
		fresh := newTestChain(t, pcmu, codec.Config{}, 48000)
		fresh.limiter = own.limiter
		own.active = false
		own.takeOver(from)
		assert.Equal(t, mustEncode(t, fresh, acc), mustEncode(t, own, acc))
	}
	own.active = false
	own.takeOver(nil)
	assert.True(t, own.active)
}

func mustEncode(t *testing.T, ch *encodeChain, acc []int32) []byte {
	t.Helper()
	ch.limit(acc, nil, unity, false)
	p, ok, err := ch.encode(len(acc), false, silencePolicy{})
	require.NoError(t, err)
	require.True(t, ok)
	return p
}

package g711

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
)

// tone returns n samples of a sine at freq Hz and amplitude amp, from
// sample offset start.
func tone(freq, amp float64, start, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(start+i)/8000))
	}
	return out
}

// feed decodes pcm through dec as PCMU frames of 160 samples.
func feed(t *testing.T, dec *Decoder, pcm []int16) []int16 {
	t.Helper()
	var out []int16
	for len(pcm) > 0 {
		n := min(160, len(pcm))
		got, err := dec.Decode(nil, EncodeUlaw(nil, pcm[:n]))
		require.NoError(t, err)
		out = append(out, got...)
		pcm = pcm[n:]
	}
	return out
}

func maxStep(s []int16) int {
	m := 0
	for i := 1; i < len(s); i++ {
		m = max(m, abs(int(s[i])-int(s[i-1])))
	}
	return m
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(s)))
}

// snr returns 10·log10 of the energy of want over that of got-want.
func snr(want, got []int16) float64 {
	var s, n float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		s += float64(want[i]) * float64(want[i])
		n += d * d
	}
	return 10 * math.Log10(s/max(n, 1e-9))
}

func newDecoder(t *testing.T) *Decoder {
	t.Helper()
	dec, err := NewDecoder(PCMU, codec.Config{})
	require.NoError(t, err)
	return dec
}

func TestConcealBeforeAnyAudioIsSilence(t *testing.T) {
	dec := newDecoder(t)
	out, err := dec.Conceal(nil, 480)
	require.NoError(t, err)
	assert.Equal(t, make([]int16, 480), out)
}

// TestConcealContinuesTone: a tone whose period is a whole number of
// samples is continued almost exactly during the first 10 ms, with no step
// at the start of the loss.
func TestConcealContinuesTone(t *testing.T) {
	for _, freq := range []float64{80, 160, 200} { // periods 100, 50, 40 samples
		dec := newDecoder(t)
		past := feed(t, dec, tone(freq, 8000, 0, 800))
		out, err := dec.Conceal(nil, 80)
		require.NoError(t, err)
		want := tone(freq, 8000, 800, 80)
		assert.Greater(t, snr(want, out), 25.0, "%v Hz: SNR of the first 10 ms of concealment", freq)
		joined := append(past[len(past)-40:], out...)
		assert.LessOrEqual(t, maxStep(joined), maxStep(past)+maxStep(past)/10,
			"%v Hz: no sample step larger than the tone's own", freq)
	}
}

// TestConcealFadesToSilence: full level for 10 ms, then falling 10 ms block
// by block, exactly silent from 60 ms on, whatever the call sizes.
func TestConcealFadesToSilence(t *testing.T) {
	dec := newDecoder(t)
	feed(t, dec, tone(125, 10000, 0, 800))
	var out []int16
	for range 5 {
		f, err := dec.Conceal(nil, 160)
		require.NoError(t, err)
		out = append(out, f...)
	}
	level := rms(tone(125, 10000, 0, 800))
	assert.InDelta(t, level, rms(out[:80]), level*0.1, "first 10 ms at full level")
	prev := rms(out[:80])
	for b := 1; b < 6; b++ {
		r := rms(out[80*b : 80*b+80])
		assert.Less(t, r, prev, "block %d quieter than the one before", b)
		prev = r
	}
	assert.Equal(t, make([]int16, 800-480), out[480:], "silent from 60 ms")
}

// TestConcealCallSizes: the schedule runs per sample, so splitting a loss
// into calls of any size gives the same output.
func TestConcealCallSizes(t *testing.T) {
	src := tone(110, 9000, 0, 800)
	run := func(sizes ...int) []int16 {
		dec := newDecoder(t)
		feed(t, dec, src)
		var out []int16
		for _, n := range sizes {
			f, err := dec.Conceal(nil, n)
			require.NoError(t, err)
			out = append(out, f...)
		}
		return out
	}
	whole := run(560)
	assert.Equal(t, whole, run(160, 160, 160, 80))
	assert.Equal(t, whole, run(80, 80, 80, 80, 80, 80, 80))
	assert.Equal(t, whole, run(1, 79, 3, 397, 80))
}

// TestLossEndsWithoutClick: the first frame after a loss is cross-faded in,
// so the join is no steeper than the signal itself, after short and long
// losses (including from silence), and the rest of the frame is exact.
func TestLossEndsWithoutClick(t *testing.T) {
	for _, lost := range []int{80, 160, 320, 800} {
		dec := newDecoder(t)
		src := tone(150, 8000, 0, 800+lost+160)
		past := feed(t, dec, src[:800])
		hidden, err := dec.Conceal(nil, lost)
		require.NoError(t, err)
		next, err := dec.Decode(nil, EncodeUlaw(nil, src[800+lost:]))
		require.NoError(t, err)
		joined := append(append([]int16{}, hidden[len(hidden)-20:]...), next...)
		assert.LessOrEqual(t, maxStep(joined), maxStep(past)+maxStep(past)/10, "after %d lost samples", lost)
		assert.Equal(t, DecodeUlaw(nil, EncodeUlaw(nil, src[800+lost+80:])), next[80:],
			"after the fade the frame is decoded as is")
	}
}

func TestDecoderReset(t *testing.T) {
	dec := newDecoder(t)
	feed(t, dec, tone(150, 8000, 0, 800))
	_, err := dec.Conceal(nil, 30)
	require.NoError(t, err)
	dec.Reset()
	out, err := dec.Conceal(nil, 160)
	require.NoError(t, err)
	assert.Equal(t, make([]int16, 160), out, "no memory of the stream before Reset")
	payload := EncodeUlaw(nil, tone(150, 8000, 0, 160))
	got, err := dec.Decode(nil, payload)
	require.NoError(t, err)
	assert.Len(t, got, 160)
}

// TestConcealSpeech loses every fifth 20 ms frame of real speech and checks
// that concealment is closer to what was lost than silence is (a modest
// margin: waveform repetition drifts from speech whose pitch moves, more so
// in the second, attenuated 10 ms), and that no join makes a step much
// larger than the speech's own steepest.
func TestConcealSpeech(t *testing.T) {
	speech, err := speech8k()
	require.NoError(t, err)
	dec := newDecoder(t)
	var want, got, want10, got10, out []int16
	for f := 0; (f+1)*160 <= len(speech); f++ {
		frame := speech[f*160 : (f+1)*160]
		if f%5 == 4 {
			c, err := dec.Conceal(nil, 160)
			require.NoError(t, err)
			want, got = append(want, frame...), append(got, c...)
			want10, got10 = append(want10, frame[:80]...), append(got10, c[:80]...)
			out = append(out, c...)
			continue
		}
		d, err := dec.Decode(nil, EncodeUlaw(nil, frame))
		require.NoError(t, err)
		out = append(out, d...)
	}
	all, first := snr(want, got), snr(want10, got10)
	t.Logf("SNR of concealment against the lost speech: %.1f dB over 20 ms, %.1f dB over the first 10 ms (silence: 0 dB)", all, first)
	assert.Greater(t, all, 0.5)
	assert.Greater(t, first, 1.5)
	assert.LessOrEqual(t, maxStep(out), maxStep(speech)*5/4)
}

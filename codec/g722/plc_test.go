package g722

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
)

const frame20 = 320 // samples in 20 ms at 16 kHz

// lossStrategy is what a receiver does with a lost 20 ms frame.
type lossStrategy int

const (
	// conceal: Conceal, and Decode after it, as shipped.
	conceal lossStrategy = iota
	// stale: the same concealed waveform and cross-fade, but the decoder
	// resumes with its state exactly as before the loss (a plain
	// waveform-substitution PLC in front of an unchanged decoder).
	stale
	// silence: zeros, and the state left as it was.
	silence
)

func (s lossStrategy) String() string { return [...]string{"conceal", "stale", "silence"}[s] }

// decodeWithLoss decodes 20 ms payloads, replacing those lost[i] marks by
// the strategy's output.
func decodeWithLoss(t testing.TB, payloads [][]byte, lost []bool, s lossStrategy) []int16 {
	t.Helper()
	dec, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	var out []int16
	buf := make([]int16, 0, frame20)
	for i, p := range payloads {
		switch {
		case !lost[i] && s == stale && dec.plc.Lost():
			buf = growInt16(buf, 2*len(p))
			dec.decode(buf, p)
			dec.plc.Received(buf)
		case !lost[i]:
			buf, err = dec.Decode(buf, p)
		case s == silence:
			buf = append(buf[:0], make([]int16, frame20)...)
		default:
			buf, err = dec.Conceal(buf, frame20)
		}
		require.NoError(t, err)
		out = append(out, buf...)
	}
	return out
}

// lossScore compares a lossy decoding with the lossless one. concealLevel
// is the energy of the first lost frame of each loss relative to the
// lossless decoding's, in dB (a concealment that plays on at the talker's
// level is near 0, silence is -Inf; a waveform match is not expected, the
// phase drifts). recoverySNR is the signal-to-error ratio, in dB, of the
// two frames after each loss, and recoveryPeak their loudest sample
// relative to the lossless decoding's loudest there (a burst shows as a
// ratio well above 1).
type lossScore struct {
	concealLevel, recoverySNR, recoveryPeak float64
}

func scoreLoss(ref, got []int16, lost []bool) lossScore {
	var refC, gotC, sigR, errR float64
	var peakRef, peakGot float64
	for i := range lost {
		first := lost[i] && (i == 0 || !lost[i-1])
		after := !lost[i] && ((i > 0 && lost[i-1]) || (i > 1 && lost[i-2]))
		for j := i * frame20; j < (i+1)*frame20; j++ {
			r, g := float64(ref[j]), float64(got[j])
			switch {
			case first:
				refC += r * r
				gotC += g * g
			case after:
				sigR += r * r
				errR += (g - r) * (g - r)
				peakRef, peakGot = max(peakRef, math.Abs(r)), max(peakGot, math.Abs(g))
			}
		}
	}
	return lossScore{
		concealLevel: 10 * math.Log10(gotC/refC),
		recoverySNR:  10 * math.Log10(sigR/max(errR, 1)),
		recoveryPeak: peakGot / max(peakRef, 1),
	}
}

// TestPLCRecovery measures what resuming at the concealment's level buys
// over a decoder left as it was before the loss: on five speech clips with
// losses of 20, 40, 60 and 100 ms every 240 ms, the 40 ms after each loss
// must on average be closer to the lossless decoding, and overshoot it
// less at worst. The concealment itself must play on near the talker's
// level (silence would be -Inf dB).
func TestPLCRecovery(t *testing.T) {
	var sum, peak [3]float64
	var cases int
	for _, clip := range []string{"itu", "alice", "bob", "carol", "dave"} {
		pcm := ituSpeech()
		if clip != "itu" {
			pcm = speech16k(t, clip)
		}
		frames := len(pcm) / frame20
		codes := encodeAll(t, pcm[:frames*frame20])
		payloads := make([][]byte, frames)
		for i := range payloads {
			payloads[i] = codes[i*frame20/2 : (i+1)*frame20/2]
		}
		ref := decodeWithLoss(t, payloads, make([]bool, frames), conceal)
		for _, burst := range []int{1, 2, 3, 5} {
			lost := make([]bool, frames)
			for i := range lost {
				lost[i] = i%12 >= 6 && i%12 < 6+burst
			}
			cases++
			for _, s := range []lossStrategy{conceal, stale, silence} {
				sc := scoreLoss(ref, decodeWithLoss(t, payloads, lost, s), lost)
				sum[s] += sc.recoverySNR
				peak[s] = max(peak[s], sc.recoveryPeak)
				if s != silence {
					assert.InDelta(t, -1.5, sc.concealLevel, 4.5, "%s, %d ms losses, %v: the concealment's level", clip, 20*burst, s)
				}
				t.Logf("%-5s %3d ms %-7v: concealed at %6.2f dB, recovery %5.2f dB, recovery peak ×%.2f",
					clip, 20*burst, s, sc.concealLevel, sc.recoverySNR, sc.recoveryPeak)
			}
		}
	}
	for s := range sum {
		t.Logf("%-7v: mean recovery %.2f dB, worst peak ×%.2f", lossStrategy(s), sum[s]/float64(cases), peak[s])
	}
	assert.Greater(t, sum[conceal], sum[stale], "resuming at the concealment's level brings the audio after a loss closer")
	assert.Less(t, peak[conceal], peak[stale], "and overshoots less")
}

// TestConcealShape: the first 10 ms of a loss continue the signal at full
// level without a jump, the level falls after that, and from 60 ms on the
// output is silence; a fresh decoder conceals with silence.
func TestConcealShape(t *testing.T) {
	pcm := ituSpeech()
	codes := encodeAll(t, pcm[:48000])
	dec, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	var out []int16
	// Find a loud, voiced stretch to stop in.
	at := 0
	for i := 0; i+frame20 <= 48000; i += frame20 {
		if rms(pcm[i:i+frame20]) > 2000 {
			at = i + 3*frame20
			break
		}
	}
	require.NotZero(t, at)
	out, err = dec.Decode(out, codes[:at/2])
	require.NoError(t, err)
	last := out[len(out)-1]
	lastRMS := rms(out[len(out)-frame20:])

	var lostPCM []int16
	for range 4 {
		c, err := dec.Conceal(nil, frame20)
		require.NoError(t, err)
		lostPCM = append(lostPCM, c...)
	}
	assert.Less(t, math.Abs(float64(lostPCM[0])-float64(last)), 0.25*lastRMS+200, "no jump at the start of the loss")
	first10 := rms(lostPCM[:160])
	assert.Greater(t, first10, 0.3*lastRMS, "full level for the first 10 ms")
	assert.Less(t, rms(lostPCM[800:960]), first10, "the level falls")
	assert.Equal(t, make([]int16, 320), lostPCM[960:1280], "silence from 60 ms")

	fresh, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	z, err := fresh.Conceal(nil, 500)
	require.NoError(t, err)
	assert.Equal(t, make([]int16, 500), z)
}

// TestConcealOddLengths: concealment in pieces of any length gives what
// one call of the total length gives, and decoding goes on after it.
func TestConcealOddLengths(t *testing.T) {
	codes := encodeAll(t, ituSpeech()[:32000])
	a, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	b, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	_, _ = a.Decode(nil, codes[:8000])
	_, _ = b.Decode(nil, codes[:8000])
	whole, err := a.Conceal(nil, 1001)
	require.NoError(t, err)
	var pieces []int16
	for _, n := range []int{1, 7, 320, 2, 671} {
		p, err := b.Conceal(nil, n)
		require.NoError(t, err)
		require.Len(t, p, n)
		pieces = append(pieces, p...)
	}
	assert.Equal(t, whole, pieces)
	x, err := a.Decode(nil, codes[8000:8160])
	require.NoError(t, err)
	y, err := b.Decode(nil, codes[8000:8160])
	require.NoError(t, err)
	assert.Equal(t, x, y, "the decoders' states agree after the loss")
	assert.Len(t, x, 320)

	// A long loss: silence after 60 ms, and the decoder comes back with
	// the scale factors of a reset.
	long, err := a.Conceal(nil, 16000)
	require.NoError(t, err)
	assert.Equal(t, make([]int16, 16000-960), long[960:])
	_, err = a.Decode(nil, codes[8160:8161])
	require.NoError(t, err)
	fresh, err := NewDecoder(codec.Config{})
	require.NoError(t, err)
	_, _ = fresh.Decode(nil, codes[8160:8161])
	assert.Equal(t, fresh.lo.nb, a.lo.nb, "lower band scale factor after the first code")
	assert.Equal(t, fresh.hi.nb, a.hi.nb, "higher band scale factor after the first code")
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

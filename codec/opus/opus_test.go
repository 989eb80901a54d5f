//go:build cgo

package opus

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	hraban "gopkg.in/hraban/opus.v2"
)

// codecDelay is libopus's algorithmic delay: 2.5 ms of CELT look-ahead,
// plus 4 ms for the SILK resampler in the modes that may use SILK.
func codecDelay(rate int, app codec.Application) int {
	if app == codec.AppLowDelay {
		return rate * 25 / 10000
	}
	return rate * 65 / 10000
}

func TestRoundTripSpeech(t *testing.T) {
	tests := []struct {
		name     string
		rate     int
		app      codec.Application
		bitrate  int
		minSNR   float64 // dB, waveform SNR after delay compensation
		minCorr  float64
		ptime    time.Duration
		channels int
	}{
		// SILK and hybrid code speech perceptually, not waveform-exactly,
		// so ~10 dB SNR at VoIP rates is a healthy codec; a broken one
		// (misaligned, wrong rate, dropped frames) lands near 0 dB.
		{name: "48k voip 32k", rate: 48000, app: codec.AppVoIP, bitrate: 32000, minSNR: 7, minCorr: 0.92},
		{name: "48k audio 64k", rate: 48000, app: codec.AppAudio, bitrate: 64000, minSNR: 15, minCorr: 0.98},
		{name: "24k voip 24k", rate: 24000, app: codec.AppVoIP, bitrate: 24000, minSNR: 7, minCorr: 0.92},
		{name: "16k voip 24k", rate: 16000, app: codec.AppVoIP, bitrate: 24000, minSNR: 8, minCorr: 0.93},
		{name: "16k audio 32k", rate: 16000, app: codec.AppAudio, bitrate: 32000, minSNR: 15, minCorr: 0.98},
		{name: "12k voip 16k", rate: 12000, app: codec.AppVoIP, bitrate: 16000, minSNR: 7, minCorr: 0.92},
		{name: "8k voip 16k", rate: 8000, app: codec.AppVoIP, bitrate: 16000, minSNR: 7, minCorr: 0.92},
		{name: "8k voip 12k 60ms", rate: 8000, app: codec.AppVoIP, bitrate: 12000, ptime: 60 * time.Millisecond, minSNR: 6, minCorr: 0.9},
		{name: "16k lowdelay 48k 10ms", rate: 16000, app: codec.AppLowDelay, bitrate: 48000, ptime: 10 * time.Millisecond, minSNR: 12, minCorr: 0.96},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pcm := clip(t, tc.rate)
			enc := mustEncoder(t, codec.Config{SampleRate: tc.rate, Application: tc.app, Bitrate: tc.bitrate, Ptime: tc.ptime})
			dec := mustDecoder(t, codec.Config{SampleRate: tc.rate})
			pkts := encodeAll(t, enc, pcm)
			out := decodeAll(t, dec, pkts)
			require.Len(t, out, len(pkts)*enc.FrameSamples())

			lag, snrDB, corr := align(pcm, out, tc.rate, tc.rate/100)
			t.Logf("delay %d samples, SNR %.1f dB, correlation %.3f, %d packets", lag, snrDB, corr, len(pkts))
			assert.InDelta(t, codecDelay(tc.rate, tc.app), lag, float64(tc.rate/1000), "codec delay")
			assert.GreaterOrEqual(t, snrDB, tc.minSNR)
			assert.GreaterOrEqual(t, corr, tc.minCorr)
		})
	}
}

func TestRoundTripStereo(t *testing.T) {
	left := clip(t, 48000)
	b, err := wav.ReadFile("../../testdata/bob.wav")
	require.NoError(t, err)
	right := b.Samples
	n := min(len(left), len(right))
	pcm := make([]int16, 2*n)
	for i := 0; i < n; i++ {
		pcm[2*i], pcm[2*i+1] = left[i], right[i]
	}
	enc := mustEncoder(t, codec.Config{Channels: 2, Bitrate: 64000, Application: codec.AppAudio})
	pkts := encodeAll(t, enc, pcm)
	for _, p := range pkts[10:] {
		require.NotZero(t, p[0]&0x04, "stereo input of two talkers codes stereo packets")
	}
	out := decodeAll(t, mustDecoder(t, codec.Config{Channels: 2}), pkts)
	l, r := make([]int16, len(out)/2), make([]int16, len(out)/2)
	for i := range l {
		l[i], r[i] = out[2*i], out[2*i+1]
	}
	for _, ch := range []struct {
		name     string
		ref, out []int16
	}{{"left", left[:n], l}, {"right", right[:n], r}} {
		lag, snrDB, corr := align(ch.ref, ch.out, 48000, 480)
		t.Logf("%s: delay %d, SNR %.1f dB, correlation %.3f", ch.name, lag, snrDB, corr)
		assert.InDelta(t, codecDelay(48000, codec.AppAudio), lag, 48, ch.name)
		assert.GreaterOrEqual(t, snrDB, 10.0, ch.name)
		// The channels must not have been swapped or mixed down.
		assert.Less(t, ncc(ch.ref, ch.out[lag:]), 1.0)
		assert.Greater(t, ncc(ch.ref, ch.out[lag:]), ncc(ch.ref, other(ch.out, l, r)[lag:])+0.5, ch.name)
	}
	// Decoding the stereo stream to mono mixes both talkers.
	mono := decodeAll(t, mustDecoder(t, codec.Config{}), pkts)
	assert.Len(t, mono, len(out)/2)
}

func other(x, l, r []int16) []int16 {
	if &x[0] == &l[0] {
		return r
	}
	return l
}

// lossRun encodes the clip with FEC and, for each of a set of lost speech
// frames, rebuilds the frame from the next packet with DecodeFEC and with
// Conceal, against the loss-free decode as reference. It returns the SNR of
// each rebuild over all lost frames.
func lossRun(t *testing.T, rate, bitrate int) (fecSNR, plcSNR float64, withFEC int) {
	t.Helper()
	pcm := clip(t, rate)
	enc := mustEncoder(t, codec.Config{SampleRate: rate, Bitrate: bitrate, FEC: true, PacketLossPercent: 20})
	pkts := encodeAll(t, enc, pcm)
	for _, p := range pkts {
		if HasFEC(p) {
			withFEC++
		}
	}
	ref := decodeAll(t, mustDecoder(t, codec.Config{SampleRate: rate}), pkts)
	fs := enc.FrameSamples()

	// Two decoders walk the stream side by side; at each loss one uses
	// FEC, the other PLC, and both then resync on the same next packets.
	fecDec := mustDecoder(t, codec.Config{SampleRate: rate})
	plcDec := mustDecoder(t, codec.Config{SampleRate: rate})
	buf := make([]int16, fecDec.MaxPCMLen())
	var sig, errFEC, errPLC float64
	lost := 0
	for k := 0; k < len(pkts); k++ {
		want := ref[k*fs : (k+1)*fs]
		// Drop every 9th frame that has speech and a successor.
		if k > 0 && k%9 == 0 && k+1 < len(pkts) && energy(want) > 1e6*float64(fs) {
			got, err := fecDec.DecodeFEC(buf, pkts[k+1], fs)
			require.NoError(t, err)
			require.Len(t, got, fs)
			errFEC += sqErr(want, got)
			got, err = plcDec.Conceal(buf, fs)
			require.NoError(t, err)
			require.Len(t, got, fs)
			errPLC += sqErr(want, got)
			sig += energy(want)
			lost++
			continue
		}
		for _, d := range []*Decoder{fecDec, plcDec} {
			_, err := d.Decode(buf, pkts[k])
			require.NoError(t, err)
		}
	}
	require.Greater(t, lost, 20)
	return db(sig / errFEC), db(sig / errPLC), withFEC
}

func sqErr(a, b []int16) float64 {
	var e float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		e += d * d
	}
	return e
}

func TestDecodeFECBeatsConcealment(t *testing.T) {
	tests := []struct {
		name    string
		rate    int
		bitrate int
	}{
		// libopus 1.3 adds LBRR only above roughly 20 kbit/s at 20% loss.
		{name: "48k 32kbit", rate: 48000, bitrate: 32000},
		{name: "16k 24kbit", rate: 16000, bitrate: 24000},
		{name: "8k 24kbit", rate: 8000, bitrate: 24000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fecSNR, plcSNR, withFEC := lossRun(t, tc.rate, tc.bitrate)
			t.Logf("lost speech frames rebuilt: FEC %.1f dB, PLC %.1f dB; %d packets carry FEC", fecSNR, plcSNR, withFEC)
			assert.Greater(t, withFEC, 0)
			assert.Greater(t, fecSNR, plcSNR+3, "FEC must be clearly closer to the loss-free decode than PLC")
		})
	}
}

func TestHasFECMatchesLibopus(t *testing.T) {
	// HasFEC reads the LBRR flag from the first byte; libopus decides by
	// decoding. Where the flag is clear, libopus's FEC decode must equal its
	// concealment; where it is set, it must not.
	pcm := clip(t, 16000)
	for _, tc := range []struct {
		name string
		cfg  codec.Config
	}{
		{"mono 20ms", codec.Config{SampleRate: 16000, Bitrate: 24000, FEC: true, PacketLossPercent: 20}},
		{"mono 60ms", codec.Config{SampleRate: 16000, Bitrate: 24000, FEC: true, PacketLossPercent: 20, Ptime: 60 * time.Millisecond}},
		{"no fec", codec.Config{SampleRate: 16000, Bitrate: 24000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := mustEncoder(t, tc.cfg)
			pkts := encodeAll(t, enc, pcm)
			fs := enc.FrameSamples()
			seen := map[bool]int{}
			for k := 1; k+1 < len(pkts) && k < 120; k += 3 {
				viaFEC, viaPLC := make([]int16, fs), make([]int16, fs)
				for i, out := range [][]int16{viaFEC, viaPLC} {
					raw, err := hraban.NewDecoder(16000, 1)
					require.NoError(t, err)
					buf := make([]int16, 16000*120/1000)
					for _, p := range pkts[:k] {
						_, err := raw.Decode(p, buf)
						require.NoError(t, err)
					}
					if i == 0 {
						require.NoError(t, raw.DecodeFEC(pkts[k+1], out))
					} else {
						require.NoError(t, raw.DecodePLC(out))
					}
				}
				has := HasFEC(pkts[k+1])
				seen[has]++
				assert.Equal(t, has, !slices.Equal(viaFEC, viaPLC), "packet %d", k+1)
			}
			t.Logf("packets with FEC flag: %d, without: %d", seen[true], seen[false])
			if tc.cfg.FEC {
				assert.NotZero(t, seen[true])
			} else {
				assert.Zero(t, seen[true])
			}
		})
	}
}

func TestDTX(t *testing.T) {
	// One second of speech, two seconds of digital silence, speech again.
	speech := clip(t, 16000)[16000 : 2*16000]
	pcm := append(append(append([]int16(nil), speech...), make([]int16, 2*16000)...), speech...)
	tests := []struct {
		name string
		dtx  bool
	}{{"off", false}, {"on", true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := mustEncoder(t, codec.Config{SampleRate: 16000, DTX: tc.dtx})
			pkts := encodeAll(t, enc, pcm)
			require.Len(t, pkts, 200)
			count := func(pkts [][]byte) (n int) {
				for _, p := range pkts {
					if IsDTX(p) {
						n++
					}
				}
				return n
			}
			silence, talk := count(pkts[50:150]), count(pkts[:50])+count(pkts[150:])
			t.Logf("DTX packets: %d of 100 in silence, %d of 100 in speech", silence, talk)
			if tc.dtx {
				// libopus waits 200 ms before it goes quiet and refreshes
				// every 400 ms; the speech has pauses of its own.
				assert.GreaterOrEqual(t, silence, 80)
				assert.Less(t, talk, 40)
			} else {
				assert.Zero(t, silence+talk)
			}
			// DTX packets decode to a whole frame of comfort noise.
			dec := mustDecoder(t, codec.Config{SampleRate: 16000})
			buf := make([]int16, dec.MaxPCMLen())
			for _, p := range pkts {
				out, err := dec.Decode(buf, p)
				require.NoError(t, err)
				require.Len(t, out, 320)
			}
		})
	}
}

func meanBytes(pkts [][]byte) float64 {
	n := 0
	for _, p := range pkts {
		n += len(p)
	}
	return float64(n) / float64(len(pkts))
}

func TestEncoderOptionsApply(t *testing.T) {
	pcm := clip(t, 48000)[:48000*3]
	tests := []struct {
		name  string
		cfg   codec.Config
		check func(t *testing.T, e *Encoder, pkts [][]byte)
	}{
		{"bitrate 12k", codec.Config{Bitrate: 12000}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			assert.InDelta(t, 12000/8/50, meanBytes(pkts), 12)
			br, err := e.st.enc.Bitrate()
			require.NoError(t, err)
			assert.Equal(t, 12000, br)
		}},
		{"bitrate 64k", codec.Config{Bitrate: 64000}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			assert.InDelta(t, 64000/8/50, meanBytes(pkts), 40)
		}},
		{"complexity 1", codec.Config{Complexity: 1}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			c, err := e.st.enc.Complexity()
			require.NoError(t, err)
			assert.Equal(t, 1, c)
		}},
		{"low delay is CELT only", codec.Config{Application: codec.AppLowDelay}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			for _, p := range pkts {
				require.GreaterOrEqual(t, p[0]>>3, byte(16), "TOC config")
			}
		}},
		{"audio application", codec.Config{Application: codec.AppAudio, Bitrate: 64000}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			// At 64 kbit/s the audio mode picks CELT for speech where VoIP
			// would stay in hybrid.
			celt := 0
			for _, p := range pkts {
				if p[0]>>3 >= 16 {
					celt++
				}
			}
			assert.Greater(t, celt, len(pkts)/2)
		}},
		{"voip application", codec.Config{Application: codec.AppVoIP, Bitrate: 64000}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			for _, p := range pkts {
				require.Less(t, p[0]>>3, byte(16), "SILK or hybrid")
			}
		}},
		{"narrowband cap", codec.Config{MaxBandwidth: codec.BandwidthNarrow, Bitrate: 32000}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			for _, p := range pkts {
				require.Equal(t, codec.BandwidthNarrow, tocBandwidth(p[0]))
			}
		}},
		{"wideband cap", codec.Config{MaxBandwidth: codec.BandwidthWide, Bitrate: 64000}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			for _, p := range pkts {
				require.LessOrEqual(t, tocBandwidth(p[0]), codec.BandwidthWide)
			}
		}},
		{"fec and loss", codec.Config{FEC: true, PacketLossPercent: 15, Bitrate: 32000}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			fec, err := e.st.enc.InBandFEC()
			require.NoError(t, err)
			assert.True(t, fec)
			loss, err := e.st.enc.PacketLossPerc()
			require.NoError(t, err)
			assert.Equal(t, 15, loss)
			n := 0
			for _, p := range pkts {
				if HasFEC(p) {
					n++
				}
			}
			assert.Greater(t, n, len(pkts)/2)
		}},
		{"no fec by default", codec.Config{Bitrate: 32000, PacketLossPercent: 15}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			for _, p := range pkts {
				require.False(t, HasFEC(p))
			}
		}},
		{"dtx", codec.Config{DTX: true}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			dtx, err := e.st.enc.DTX()
			require.NoError(t, err)
			assert.True(t, dtx)
		}},
	}
	for _, ptime := range []time.Duration{2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond} {
		tests = append(tests, struct {
			name  string
			cfg   codec.Config
			check func(t *testing.T, e *Encoder, pkts [][]byte)
		}{"ptime " + ptime.String(), codec.Config{Ptime: ptime}, func(t *testing.T, e *Encoder, pkts [][]byte) {
			assert.Equal(t, codec.FrameSamples(48000, ptime), e.FrameSamples())
			for _, p := range pkts {
				d, err := PacketDuration(p)
				require.NoError(t, err)
				require.Equal(t, e.FrameSamples(), d)
			}
		}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEncoder(t, tc.cfg)
			tc.check(t, e, encodeAll(t, e, pcm))
		})
	}
}

func TestEncoderSettersAtRunTime(t *testing.T) {
	pcm := clip(t, 16000)[:16000*4]
	half := len(pcm) / 2
	e := mustEncoder(t, codec.Config{SampleRate: 16000, Bitrate: 12000})
	low := encodeAll(t, e, pcm[:half])

	require.NoError(t, e.SetBitrate(48000))
	require.NoError(t, e.SetFEC(true))
	require.NoError(t, e.SetPacketLossPercent(25))
	require.NoError(t, e.SetComplexity(5))
	require.NoError(t, e.SetDTX(true))
	require.NoError(t, e.SetMaxBandwidth(codec.BandwidthWide))
	high := encodeAll(t, e, pcm[half:])
	t.Logf("mean packet: %.0f B at 12 kbit/s, %.0f B at 48 kbit/s", meanBytes(low), meanBytes(high))
	assert.Greater(t, meanBytes(high), 2.5*meanBytes(low))

	// Reset starts a new stream but keeps what was set.
	e.Reset()
	br, err := e.st.enc.Bitrate()
	require.NoError(t, err)
	assert.Equal(t, 48000, br)
	fec, err := e.st.enc.InBandFEC()
	require.NoError(t, err)
	assert.True(t, fec)
	c, err := e.st.enc.Complexity()
	require.NoError(t, err)
	assert.Equal(t, 5, c)
	bw, err := e.st.enc.MaxBandwidth()
	require.NoError(t, err)
	assert.Equal(t, hraban.Wideband, bw)

	require.NoError(t, e.SetBitrate(0), "0 returns to automatic")
	require.NoError(t, e.SetMaxBandwidth(codec.BandwidthAuto))
	bw, err = e.st.enc.MaxBandwidth()
	require.NoError(t, err)
	assert.Equal(t, hraban.Fullband, bw)
	require.NoError(t, e.SetFEC(false))
	require.NoError(t, e.SetDTX(false))

	for name, err := range map[string]error{
		"bitrate":    e.SetBitrate(100),
		"complexity": e.SetComplexity(11),
		"loss":       e.SetPacketLossPercent(-1),
		"bandwidth":  e.SetMaxBandwidth(codec.Bandwidth(5000)),
	} {
		assert.ErrorIs(t, err, codec.ErrConfig, name)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  codec.Config
		dec  bool // the decoder rejects it too
	}{
		{name: "rate 44100", cfg: codec.Config{SampleRate: 44100}, dec: true},
		{name: "rate 32000", cfg: codec.Config{SampleRate: 32000}, dec: true},
		{name: "negative rate", cfg: codec.Config{SampleRate: -8000}, dec: true},
		{name: "3 channels", cfg: codec.Config{Channels: 3}, dec: true},
		{name: "ptime 30ms", cfg: codec.Config{Ptime: 30 * time.Millisecond}},
		{name: "ptime 120ms", cfg: codec.Config{Ptime: 120 * time.Millisecond}},
		{name: "ptime 1ms", cfg: codec.Config{Ptime: time.Millisecond}},
		{name: "bitrate too low", cfg: codec.Config{Bitrate: 499}},
		{name: "bitrate too high", cfg: codec.Config{Bitrate: 1_000_000}},
		{name: "complexity 11", cfg: codec.Config{Complexity: 11}},
		{name: "negative complexity", cfg: codec.Config{Complexity: -1}},
		{name: "application", cfg: codec.Config{Application: 7}},
		{name: "loss 101", cfg: codec.Config{PacketLossPercent: 101}},
		{name: "bandwidth", cfg: codec.Config{MaxBandwidth: 16000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEncoder(tc.cfg)
			assert.ErrorIs(t, err, codec.ErrConfig)
			assert.Nil(t, e)
			t.Log(err)
			d, err := NewDecoder(tc.cfg)
			if tc.dec {
				assert.ErrorIs(t, err, codec.ErrConfig)
				assert.Nil(t, d)
			} else {
				assert.NoError(t, err, "the decoder ignores encoder options")
			}
			// Through the registry the interface must be a true nil.
			ce, err := codec.NewEncoder("opus/48000/2", tc.cfg)
			assert.ErrorIs(t, err, codec.ErrConfig)
			assert.True(t, ce == nil)
		})
	}
}

func TestEncodeRejectsBadFrameLengths(t *testing.T) {
	tests := []struct {
		name     string
		rate, ch int
		n        int
	}{
		{"empty", 48000, 1, 0},
		{"one short", 48000, 1, 959},
		{"one long", 48000, 1, 961},
		{"two frames", 48000, 1, 1920},
		{"16k given 48k frame", 16000, 1, 960},
		{"stereo odd", 48000, 2, 1919},
		{"stereo given mono frame", 48000, 2, 960},
		{"8k 10ms to 20ms encoder", 8000, 1, 80},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEncoder(t, codec.Config{SampleRate: tc.rate, Channels: tc.ch})
			out, err := e.Encode(make([]byte, 0, MaxPacketSize), make([]int16, tc.n))
			require.ErrorIs(t, err, codec.ErrFrameSize)
			assert.Empty(t, out)
			assert.Contains(t, err.Error(), "want")
			t.Log(err)
			// The encoder is unharmed.
			out, err = e.Encode(out, make([]int16, e.FrameSamples()*e.Channels()))
			require.NoError(t, err)
			assert.NotEmpty(t, out)
		})
	}
}

// goodPacket returns a real 20 ms packet of speech at 48 kHz.
func goodPacket(t testing.TB) []byte {
	e := mustEncoder(t, codec.Config{Bitrate: 32000})
	pcm := clip(t, 48000)
	var p []byte
	for i := 0; i < 60; i++ { // into the speech
		var err error
		p, err = e.Encode(nil, pcm[i*960:(i+1)*960])
		require.NoError(t, err)
	}
	return p
}

func TestDecodeRejectsCorruptPackets(t *testing.T) {
	good := goodPacket(t)
	tests := []struct {
		name    string
		payload []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"code 1 odd length", []byte{0x79, 1, 2, 3}},
		{"code 2 no length", []byte{0x7a}},
		{"code 2 length beyond packet", []byte{0x7a, 200, 1, 2}},
		{"code 2 two-byte length truncated", []byte{0x7a, 252}},
		{"code 3 no count", []byte{0x7b}},
		{"code 3 zero frames", []byte{0x7b, 0x00}},
		{"code 3 over 120 ms", []byte{0x7b, 0x07, 0, 0, 0, 0, 0, 0, 0}}, // 7 × 20 ms
		{"code 3 padding beyond packet", []byte{0x7b, 0x41, 200}},
		{"code 3 padding length truncated", []byte{0x7b, 0x41, 255}},
		{"code 3 CBR not divisible", []byte{0x7b, 0x02, 1, 2, 3}},
		{"code 3 VBR lengths beyond packet", []byte{0x7b, 0x82, 100, 1}},
		{"code 0 frame over 1275 bytes", append([]byte{0x78}, make([]byte, 1276)...)},
	}
	dec := mustDecoder(t, codec.Config{})
	buf := make([]int16, dec.MaxPCMLen())
	want, err := mustDecoder(t, codec.Config{}).Decode(nil, good)
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := dec.Decode(buf, tc.payload)
			require.ErrorIs(t, err, codec.ErrCorrupt)
			assert.Empty(t, out)
			t.Log(err)
			out, err = dec.Decode(buf, good)
			require.NoError(t, err)
			assert.Len(t, out, len(want))
		})
	}
	// Framing errors never reach libopus, so the state is exactly that of a
	// decoder that saw only the good packets.
	fresh := mustDecoder(t, codec.Config{})
	for range tests {
		_, err := fresh.Decode(nil, good)
		require.NoError(t, err)
	}
	a, err := dec.Decode(nil, good)
	require.NoError(t, err)
	b, err := fresh.Decode(nil, good)
	require.NoError(t, err)
	assert.True(t, slices.Equal(a, b), "corrupt packets left a trace in the decoder state")
}

func TestLostFrameArguments(t *testing.T) {
	dec := mustDecoder(t, codec.Config{SampleRate: 16000, Channels: 2})
	for _, n := range []int{0, -320, 39, 321, 16000*120/1000 + 40, 1 << 30} {
		_, err := dec.Conceal(nil, n)
		assert.ErrorIs(t, err, codec.ErrFrameSize, "Conceal %d", n)
		_, err = dec.DecodeFEC(nil, goodPacket(t), n)
		assert.ErrorIs(t, err, codec.ErrFrameSize, "DecodeFEC %d", n)
	}
	for _, n := range []int{40, 160, 320, 960, 1920} {
		out, err := dec.Conceal(nil, n)
		require.NoError(t, err)
		assert.Len(t, out, 2*n)
		// A corrupt or empty next packet falls back to concealment.
		out, err = dec.DecodeFEC(nil, []byte{0x7b}, n)
		require.NoError(t, err)
		assert.Len(t, out, 2*n)
		out, err = dec.DecodeFEC(nil, nil, n)
		require.NoError(t, err)
		assert.Len(t, out, 2*n)
	}
}

func TestDecodeDestination(t *testing.T) {
	good := goodPacket(t)
	dec := mustDecoder(t, codec.Config{})
	big := make([]int16, 5, 960)
	out, err := dec.Decode(big, good)
	require.NoError(t, err)
	require.Len(t, out, 960)
	assert.Same(t, &big[:1][0], &out[0], "a dst with room is reused")

	small := make([]int16, 0, 959)
	out, err = dec.Decode(small, good)
	require.NoError(t, err)
	assert.Len(t, out, 960)
	assert.Equal(t, dec.MaxPCMLen(), cap(out), "growth is to the longest packet, once")

	out, err = dec.Decode(nil, good)
	require.NoError(t, err)
	assert.Len(t, out, 960)

	// A 60 ms packet needs more than a 20 ms buffer.
	e := mustEncoder(t, codec.Config{Ptime: 60 * time.Millisecond})
	p, err := e.Encode(nil, clip(t, 48000)[48000:48000+2880])
	require.NoError(t, err)
	out, err = dec.Decode(make([]int16, 0, 960), p)
	require.NoError(t, err)
	assert.Len(t, out, 2880)
}

func TestEncodeDestination(t *testing.T) {
	e := mustEncoder(t, codec.Config{})
	pcm := clip(t, 48000)[48000 : 48000+960]
	dst := make([]byte, 0, 1276)
	out, err := e.Encode(dst, pcm)
	require.NoError(t, err)
	assert.Same(t, &dst[:1][0], &out[0], "1276 bytes suffice for 20 ms")
	out, err = e.Encode(make([]byte, 0, 100), pcm)
	require.NoError(t, err)
	assert.Equal(t, MaxPacketSize, cap(out))

	e60 := mustEncoder(t, codec.Config{Ptime: 60 * time.Millisecond})
	out, err = e60.Encode(make([]byte, 0, 1500), clip(t, 48000)[48000:48000+2880])
	require.NoError(t, err)
	assert.Equal(t, MaxPacketSize, cap(out), "60 ms may need three frames' worth")
}

func TestZeroValueIsSafe(t *testing.T) {
	var e Encoder
	_, err := e.Encode(nil, make([]int16, 960))
	assert.ErrorIs(t, err, errNotReady)
	for _, err := range []error{e.SetBitrate(32000), e.SetComplexity(5), e.SetFEC(true),
		e.SetPacketLossPercent(5), e.SetDTX(true), e.SetMaxBandwidth(codec.BandwidthWide)} {
		assert.ErrorIs(t, err, errNotReady)
	}
	e.Reset()

	var d Decoder
	_, err = d.Decode(nil, []byte{0x78})
	assert.ErrorIs(t, err, errNotReady)
	_, err = d.Conceal(nil, 960)
	assert.ErrorIs(t, err, errNotReady)
	_, err = d.DecodeFEC(nil, []byte{0x78}, 960)
	assert.ErrorIs(t, err, errNotReady)
	d.Reset()
}

func TestDecoderReset(t *testing.T) {
	good := goodPacket(t)
	d := mustDecoder(t, codec.Config{})
	_, err := d.Decode(nil, good)
	require.NoError(t, err)
	d.Reset()
	// After Reset concealment has no history: silence, as from a new decoder.
	out, err := d.Conceal(nil, 960)
	require.NoError(t, err)
	assert.Zero(t, energy(out))
	out, err = d.Decode(nil, good)
	require.NoError(t, err)
	assert.Len(t, out, 960)
}

func TestRegistry(t *testing.T) {
	f, ok := codec.Lookup("OPUS/48000/2")
	require.True(t, ok)
	assert.Equal(t, Format, f)
	assert.True(t, Available())

	enc, err := codec.NewEncoder("opus/48000/2", codec.Config{SampleRate: 16000, Ptime: 40 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 640, enc.FrameSamples())
	assert.Equal(t, 16000, enc.SampleRate())
	dec, err := codec.NewDecoder("opus/48000/2", codec.Config{SampleRate: 16000})
	require.NoError(t, err)
	_, ok = dec.(codec.FECDecoder)
	assert.True(t, ok, "the mixer finds FEC through the interface")

	p, err := enc.Encode(nil, clip(t, 16000)[16000:16000+640])
	require.NoError(t, err)
	out, err := dec.Decode(nil, p)
	require.NoError(t, err)
	assert.Len(t, out, 640)
}

func TestZeroAllocsPerFrame(t *testing.T) {
	for _, rate := range []int{48000, 16000} {
		pcm := clip(t, rate)
		fs := rate / 50
		enc := mustEncoder(t, codec.Config{SampleRate: rate, Bitrate: 32000, FEC: true, PacketLossPercent: 10})
		dec := mustDecoder(t, codec.Config{SampleRate: rate})
		pkt := make([]byte, 0, MaxPacketSize)
		out := make([]int16, 0, dec.MaxPCMLen())
		pkts := encodeAll(t, mustEncoder(t, codec.Config{SampleRate: rate, Bitrate: 32000, FEC: true, PacketLossPercent: 10}), pcm[:100*fs])
		i := 0
		allocs := map[string]float64{
			"Encode": testing.AllocsPerRun(50, func() {
				i = (i + 1) % 100
				pkt, _ = enc.Encode(pkt, pcm[i*fs:(i+1)*fs])
			}),
			"Decode": testing.AllocsPerRun(50, func() {
				i = (i + 1) % 100
				out, _ = dec.Decode(out, pkts[i])
			}),
			"Conceal": testing.AllocsPerRun(50, func() {
				out, _ = dec.Conceal(out, fs)
			}),
			"DecodeFEC": testing.AllocsPerRun(50, func() {
				i = (i + 1) % 100
				out, _ = dec.DecodeFEC(out, pkts[i], fs)
			}),
		}
		for name, n := range allocs {
			assert.Zero(t, n, "%s at %d Hz", name, rate)
		}
		require.NotEmpty(t, pkt)
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	// The sentinels callers branch on must not blur into each other.
	_, err := mustDecoder(t, codec.Config{}).Decode(nil, nil)
	assert.True(t, errors.Is(err, codec.ErrCorrupt))
	assert.False(t, errors.Is(err, codec.ErrFrameSize))
	_, err = mustEncoder(t, codec.Config{}).Encode(nil, nil)
	assert.True(t, errors.Is(err, codec.ErrFrameSize))
	assert.False(t, errors.Is(err, codec.ErrCorrupt))
}

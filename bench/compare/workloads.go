package main

import (
	"encoding/binary"
	"math"
	"time"
	_ "unsafe" // go:linkname, to drive LiveKit's mixer tick by tick

	lkmedia "github.com/livekit/media-sdk"
	lkg711 "github.com/livekit/media-sdk/g711"
	lkjitter "github.com/livekit/media-sdk/jitter"
	lkmixer "github.com/livekit/media-sdk/mixer"
	"github.com/pion/interceptor/pkg/jitterbuffer"
	"github.com/pion/rtp"
	pionsrtp "github.com/pion/srtp/v3"
	zaf "github.com/zaf/g711"

	"testing"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

// signal returns n samples of a voiced, speech-like signal at rate: a
// 140 Hz fundamental with decaying harmonics and a little noise.
func signal(n, rate int, seed uint32) []int16 {
	out := make([]int16, n)
	for i := range out {
		t := float64(i) / float64(rate)
		v := 0.0
		for h := 1; h <= 8; h++ {
			v += math.Sin(2*math.Pi*140*float64(h)*t+float64(seed*uint32(h))) / float64(h)
		}
		seed = seed*1664525 + 1013904223
		v += float64(int32(seed)>>20) / 4096 * 0.05
		out[i] = int16(v * 6000)
	}
	return out
}

func g711Results() []result {
	src := signal(160, 8000, 1)
	codes := g711.EncodeUlaw(nil, src)
	le := make([]byte, 320) // zaf/g711 takes little-endian bytes
	for i, v := range src {
		binary.LittleEndian.PutUint16(le[2*i:], uint16(v))
	}
	bytesOut := make([]byte, 160)
	pcmOut := make([]int16, 160)
	oursEnc := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bytesOut = g711.EncodeUlaw(bytesOut[:0], src)
		}
	})
	oursDec := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pcmOut = g711.DecodeUlaw(pcmOut[:0], codes)
		}
	})
	lkEnc := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lkg711.EncodeULawTo(bytesOut, src)
		}
	})
	lkDec := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lkg711.DecodeULawTo(pcmOut, codes)
		}
	})
	zafEnc := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = zaf.EncodeUlaw(le)
		}
	})
	zafDec := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = zaf.DecodeUlaw(codes)
		}
	})
	return []result{
		{group: "g711", workload: "G.711 μ-law encode, 160 samples", ours: oursEnc, peer: lkEnc, peerName: "LiveKit media-sdk", note: "LiveKit drops 2 low bits before its table: some codes differ by one from G.191"},
		{group: "g711", workload: "G.711 μ-law decode, 160 samples", ours: oursDec, peer: lkDec, peerName: "LiveKit media-sdk"},
		{group: "g711", workload: "G.711 μ-law encode, 160 samples", ours: oursEnc, peer: zafEnc, peerName: "zaf/g711 v1.4.0", note: "zaf takes and returns byte slices (allocates)"},
		{group: "g711", workload: "G.711 μ-law decode, 160 samples", ours: oursDec, peer: zafDec, peerName: "zaf/g711 v1.4.0"},
	}
}

// lkDepacketizer tells LiveKit's jitter buffer that every audio packet is
// a whole frame (LiveKit's own audioDepacketizer is unexported).
type lkDepacketizer struct{}

func (lkDepacketizer) Unmarshal(p []byte) ([]byte, error)    { return p, nil }
func (lkDepacketizer) IsPartitionHead(_ []byte) bool         { return true }
func (lkDepacketizer) IsPartitionTail(_ bool, _ []byte) bool { return true }

func jitterResults() []result {
	payload := make([]byte, 160)
	const step = 160
	ours := testing.Benchmark(func(b *testing.B) {
		jb, err := jitter.New(jitter.Config{ClockRate: 8000})
		if err != nil {
			b.Fatal(err)
		}
		pkt := jitter.Packet{SSRC: 1, AudioLevel: 30, Voice: true, Payload: payload}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			now := time.Duration(i) * 20 * time.Millisecond
			pkt.SequenceNumber, pkt.Timestamp = uint16(i), uint32(i)*step
			_ = jb.Push(now, &pkt)
			_ = jb.Pop(now)
			i++
		}
	})
	// pion keeps the *rtp.Packet until it is popped, so packets come from
	// a ring the size of what the buffer may hold, as a receiver's pool would.
	pion := testing.Benchmark(func(b *testing.B) {
		jb := jitterbuffer.New(jitterbuffer.WithMinimumPacketCount(1))
		ring := make([]rtp.Packet, 64)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := &ring[i%len(ring)]
			p.Header = rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * step, SSRC: 1}
			p.Payload = payload
			jb.Push(p)
			if _, err := jb.Pop(); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	lk := testing.Benchmark(func(b *testing.B) {
		got := 0
		jb := lkjitter.NewBuffer(lkDepacketizer{}, 60*time.Millisecond, func(ps []lkjitter.ExtPacket) { got += len(ps) })
		defer jb.Close()
		ring := make([]rtp.Packet, 64)
		t0 := time.Now()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := &ring[i%len(ring)]
			p.Header = rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * step, SSRC: 1}
			p.Payload = payload
			jb.PushAt(p, t0.Add(time.Duration(i)*20*time.Millisecond)) // in order: emitted at once
			i++
		}
		if got < b.N-1 {
			b.Fatalf("LiveKit emitted %d of %d packets", got, b.N)
		}
	})
	return []result{
		{group: "jitter", workload: "jitter push+pop, in order", ours: ours, peer: pion, peerName: "pion/interceptor jitterbuffer v0.1.51", note: "pion: no timing, fixed start count, no adaptive delay, no loss/FEC signal"},
		{group: "jitter", workload: "jitter push+pop, in order", ours: ours, peer: lk, peerName: "LiveKit media-sdk jitter", note: "LiveKit: fixed 60 ms latency, wall clock only, callback per packet; no adaptive delay, no FEC hint"},
	}
}

func resampleResults() []result {
	var rs []result
	for _, c := range []struct{ from, to int }{{8000, 48000}, {48000, 8000}} {
		src := signal(c.from/50, c.from, 3)
		r, err := resample.New(c.from, c.to, 1)
		if err != nil {
			panic(err)
		}
		out := make([]int16, 0, c.to/50+64)
		ours := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out = r.Process(out[:0], src)
			}
		})
		lk := testing.Benchmark(func(b *testing.B) {
			dst := make(lkmedia.PCM16Sample, 0, c.to/50+64)
			b.ReportAllocs()
			for b.Loop() {
				dst = lkmedia.Resample(dst[:0], c.to, src, c.from)
			}
		})
		rs = append(rs, result{group: "resample", workload: fmtRate(c.from, c.to), ours: ours, peer: lk, peerName: "LiveKit media-sdk (libsoxr, cgo)",
			note: "rtpmix: streaming polyphase, ≥ 80 dB stopband; LiveKit: soxr per call"})
	}
	return rs
}

func fmtRate(a, b int) string {
	return "resample 20 ms " + itoaK(a) + " → " + itoaK(b)
}

func itoaK(r int) string {
	return map[int]string{8000: "8k", 16000: "16k", 48000: "48k"}[r]
}

//go:linkname lkNewMixer github.com/livekit/media-sdk/mixer.newMixer
func lkNewMixer(out lkmedia.Writer[lkmedia.PCM16Sample], mixSize int, options ...lkmixer.MixerOptions) *lkmixer.Mixer

//go:linkname lkMixOnce github.com/livekit/media-sdk/mixer.(*Mixer).mixOnce
func lkMixOnce(m *lkmixer.Mixer)

type discardPCM struct{ n int }

func (d *discardPCM) String() string                          { return "discard" }
func (d *discardPCM) SampleRate() int                         { return 48000 }
func (d *discardPCM) WriteSample(s lkmedia.PCM16Sample) error { d.n += len(s); return nil }

// mixResults: an 8-party conference at 48 kHz, 3 speakers, one 20 ms tick
// of mixing (decoding and encoding excluded on both sides).
func mixResults() []result {
	const parties, speakers, n = 8, 3, 960
	frames := make([][]int16, parties)
	for i := range frames {
		if i < speakers {
			frames[i] = signal(n, 48000, uint32(i+7))
		} else {
			frames[i] = make([]int16, n) // listeners send silence
		}
	}
	// rtpmix: the mixer's order of work (internal/pcm's "a mixer tick"):
	// sum the speakers once; each speaker's mix-minus through its limiter;
	// one shared mix for the five listeners.
	ours := testing.Benchmark(func(b *testing.B) {
		acc := make([]int32, n)
		out := make([][]int16, speakers+1)
		lims := make([]pcm.Limiter, speakers+1)
		for i := range out {
			out[i] = make([]int16, n)
			l, _ := pcm.NewLimiter(pcm.LimiterConfig{SampleRate: 48000})
			lims[i] = *l
		}
		b.ReportAllocs()
		for b.Loop() {
			pcm.Zero32(acc)
			for s := 0; s < speakers; s++ {
				pcm.Add(acc, frames[s])
			}
			for s := 0; s < speakers; s++ {
				lims[s].Process(out[s], acc, frames[s], pcm.Unity)
			}
			lims[speakers].Process(out[speakers], acc, nil, pcm.Unity)
		}
	})
	// LiveKit: no mix-minus, so each listener has its own Mixer with an
	// Input for every other party; every party's frame is written into the
	// seven other mixers, then each mixer mixes once (mixOnce, reached
	// through go:linkname because the exported API mixes only on its own
	// real-time ticker).
	lk := testing.Benchmark(func(b *testing.B) {
		mixers := make([]*lkmixer.Mixer, parties)
		inputs := make([][]*lkmixer.Input, parties) // inputs[from] feeds every other listener's mixer
		sink := &discardPCM{}
		for l := range mixers {
			mixers[l] = lkNewMixer(sink, n)
		}
		for from := 0; from < parties; from++ {
			for l := 0; l < parties; l++ {
				if l != from {
					inputs[from] = append(inputs[from], mixers[l].NewInput())
				}
			}
		}
		tick := func() {
			for from := 0; from < parties; from++ {
				for _, in := range inputs[from] {
					_ = in.WriteSample(frames[from])
				}
			}
			for _, m := range mixers {
				lkMixOnce(m)
			}
		}
		for i := 0; i < lkmixer.DefaultInputBufferMin+1; i++ { // fill the inputs' start-up buffering
			tick()
		}
		b.ReportAllocs()
		for b.Loop() {
			tick()
		}
		if sink.n == 0 {
			b.Fatal("LiveKit mixers produced nothing")
		}
	})
	return []result{{group: "mix", workload: "8-party mix-minus tick, 48 kHz, 3 speakers", ours: ours, peer: lk, peerName: "LiveKit media-sdk mixer",
		note: "LiveKit has no mix-minus: one mixer per listener, all 7 inputs summed, no limiter"}}
}

func srtpResults() []result {
	var rs []result
	for _, prof := range []struct {
		name string
		ours srtp.Profile
		pion pionsrtp.ProtectionProfile
	}{
		{"AES_CM_128_HMAC_SHA1_80", srtp.ProfileAESCM128HMACSHA1_80, pionsrtp.ProtectionProfileAes128CmHmacSha1_80},
		{"AEAD_AES_128_GCM", srtp.ProfileAEADAES128GCM, pionsrtp.ProtectionProfileAeadAes128Gcm},
	} {
		keys, err := srtp.GenerateKeys(prof.ours)
		if err != nil {
			panic(err)
		}
		p, _ := srtp.NewProtector(keys)
		u, _ := srtp.NewUnprotector(keys, srtp.ReplayWindow(0))
		// pion with the same master key and salt, replay protection off
		// (its default), as the unprotect loop reuses one packet.
		enc, err := pionsrtp.CreateContext(keys.MasterKey, keys.MasterSalt, prof.pion)
		if err != nil {
			panic(err)
		}
		dec, _ := pionsrtp.CreateContext(keys.MasterKey, keys.MasterSalt, prof.pion)
		hdr := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 0x1234}
		plain, _ := hdr.Marshal()
		plain = append(plain, make([]byte, 100)...)
		buf := make([]byte, len(plain), len(plain)+32)
		var h rtp.Header
		oursProt := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:len(plain)]
				copy(buf, plain)
				if _, err := p.ProtectRTP(buf[:0], buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		pionProt := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = buf[:len(plain)]
				copy(buf, plain)
				if _, err := h.Unmarshal(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := enc.EncryptRTP(buf[:0], buf, &h); err != nil {
					b.Fatal(err)
				}
			}
		})
		prot, _ := p.ProtectRTP(nil, plain)
		ubuf := make([]byte, len(prot))
		oursUnprot := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				copy(ubuf, prot)
				if _, err := u.UnprotectRTP(ubuf[:0], ubuf, &h); err != nil {
					b.Fatal(err)
				}
			}
		})
		pionUnprot := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				copy(ubuf, prot)
				if _, err := dec.DecryptRTP(ubuf[:0], ubuf, &h); err != nil {
					b.Fatal(err)
				}
			}
		})
		rs = append(rs,
			result{group: "srtp", workload: "SRTP protect 100 B, " + prof.name, ours: oursProt, peer: pionProt, peerName: "pion/srtp/v3 direct", note: "rtpmix: its default compact backend (Go standard crypto, pre-keyed HMAC); pion called directly"},
			result{group: "srtp", workload: "SRTP unprotect 100 B, " + prof.name, ours: oursUnprot, peer: pionUnprot, peerName: "pion/srtp/v3 direct", note: "replay check off on both"})
	}
	return rs
}

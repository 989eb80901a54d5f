package mixer

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/cputime"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/srtp"
)

// benchClip is a pre-encoded stream: payloads and their RFC 6464 levels,
// so that the benchmark times the conference, not the senders' encoders.
type benchClip struct {
	payloads [][]byte
	levels   []byte
}

func encodeClip(b testing.TB, f codec.Format, src []int16, frames int) benchClip {
	rate := formatRate(f)
	enc, err := codec.NewEncoder(f.SDPName(), codec.Config{SampleRate: rate, Complexity: 5})
	require.NoError(b, err)
	pcmSrc := toRate(b, src, rate)
	n := enc.FrameSamples()
	var c benchClip
	for i := 0; i < frames; i++ {
		fr := make([]int16, n)
		if off := (i * n) % len(pcmSrc); off+n <= len(pcmSrc) {
			copy(fr, pcmSrc[off:off+n])
		}
		p, err := enc.Encode(nil, fr)
		require.NoError(b, err)
		lvl := byte(pcm.LevelDBov(fr))
		if lvl < 60 {
			lvl |= 0x80
		}
		c.payloads = append(c.payloads, p)
		c.levels = append(c.levels, lvl)
	}
	return c
}

// benchSender sends a pre-encoded clip over SRTP into one participant.
type benchSender struct {
	p     *Participant
	clip  *benchClip
	off   int
	seq   uint16
	ts    uint32
	ssrc  uint32
	pt    uint8
	step  uint32
	prot  *srtp.Protector
	buf   []byte
	ready []byte
}

func (s *benchSender) prepare(i int) {
	k := (s.off + i) % len(s.clip.payloads)
	payload := s.clip.payloads[k]
	b := s.buf[:20]
	b[0], b[1] = 0x90, s.pt
	binary.BigEndian.PutUint16(b[2:], s.seq)
	binary.BigEndian.PutUint32(b[4:], s.ts)
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	copy(b[12:], []byte{0xBE, 0xDE, 0, 1, levelExtID << 4, s.clip.levels[k], 0, 0})
	b = append(b, payload...)
	s.seq++
	s.ts += s.step
	out, err := s.prot.ProtectRTP(b[:0], b)
	if err != nil {
		panic(err)
	}
	s.ready = out
}

type countSink struct{ n, bytes int }

func (c *countSink) WriteRTP(p []byte) error { c.n++; c.bytes += len(p); return nil }

// BenchmarkTick measures one 20 ms tick of a whole conference, SRTP on both
// ways, inbound packet handling included (WriteRTP of every participant's
// packet: unprotect, parse, jitter push), senders' work excluded.
// "3talk": three participants speak, everyone else sends silence marked by
// RFC 6464 levels; "all": everyone sends speech.
func BenchmarkTick(b *testing.B) {
	clips := []string{"alice", "bob", "carol", "dave"}
	for _, codecName := range []string{"PCMU", "Opus"} {
		f, pt := pcmu, uint8(0)
		if codecName == "Opus" {
			f, pt = opf, 111
		}
		var speech []benchClip
		for _, name := range clips {
			speech = append(speech, encodeClip(b, f, loadClip(b, name), 250))
		}
		silence := encodeClip(b, f, make([]int16, 48000), 1)
		for _, scenario := range []string{"3talk", "all"} {
			for _, n := range []int{3, 10, 100, 1000} {
				b.Run(fmt.Sprintf("%s/%s/N=%d", codecName, scenario, n), func(b *testing.B) {
					benchConference(b, f, pt, n, scenario == "all", speech, &silence, RTCPConfig{})
				})
			}
		}
	}
}

// BenchmarkTickSRTP is the headline rooms with each SRTP profile
// (both ways): PCMU 3-party rooms and an Opus room of 1000, 3 talkers.
// Run it with -cpu 1.
func BenchmarkTickSRTP(b *testing.B) {
	for _, prof := range []srtp.Profile{srtp.ProfileAEADAES128GCM, srtp.ProfileAESCM128HMACSHA1_80} {
		for _, room := range []struct {
			codec string
			n     int
		}{{"PCMU", 3}, {"Opus", 1000}} {
			f, pt := pcmu, uint8(0)
			if room.codec == "Opus" {
				f, pt = opf, 111
			}
			var speech []benchClip
			for _, name := range []string{"alice", "bob", "carol", "dave"} {
				speech = append(speech, encodeClip(b, f, loadClip(b, name), 250))
			}
			silence := encodeClip(b, f, make([]int16, 48000), 1)
			// inband=off: without the in-band DTMF detector on the
			// speakers' audio (on by default; not in older commits).
			for _, inband := range []InBandDetection{InBandOn, InBandOff} {
				name := fmt.Sprintf("%s/%s/3talk/N=%d", prof, room.codec, room.n)
				if inband == InBandOff {
					name += "/inband=off"
				}
				b.Run(name, func(b *testing.B) {
					tickProfile, tickCPU, tickConf = prof, true, ConferenceConfig{DTMF: DTMFConfig{InBand: inband}}
					defer func() { tickProfile, tickCPU, tickConf = srtp.ProfileAESCM128HMACSHA1_80, false, ConferenceConfig{} }()
					benchConference(b, f, pt, room.n, false, speech, &silence, RTCPConfig{})
				})
			}
		}
	}
}

// tickProfile is the SRTP profile benchConference's participants use;
// tickCPU makes it report the thread's CPU time per tick.
var (
	tickProfile = srtp.ProfileAESCM128HMACSHA1_80
	tickCPU     bool
	tickConf    ConferenceConfig // benchConference's conference
)

func benchConference(b *testing.B, f codec.Format, pt uint8, n int, allTalk bool, speech []benchClip, silence *benchClip, rc RTCPConfig) {
	c, err := NewConference(tickConf)
	require.NoError(b, err)
	sink := &countSink{}
	senders := make([]*benchSender, n)
	for i := range senders {
		in, _ := srtp.GenerateKeys(tickProfile)
		out, _ := srtp.GenerateKeys(tickProfile)
		p, err := c.Join(ParticipantConfig{In: f, InPayloadType: PT(pt), Out: f, OutPayloadType: PT(pt),
			InAudioLevelID: levelExtID, InSRTP: &in, OutSRTP: &out, Sink: sink, RTCP: rc})
		require.NoError(b, err)
		prot, err := srtp.NewProtector(in)
		require.NoError(b, err)
		clip := silence
		if allTalk || i < 3 {
			clip = &speech[i%len(speech)]
		}
		senders[i] = &benchSender{p: p, clip: clip, off: i * 7, ssrc: uint32(i + 1), pt: pt,
			step: uint32(f.FrameSamples(20 * time.Millisecond)), prot: prot, buf: make([]byte, 0, 1600), seq: uint16(i * 100)}
	}
	now := time.Duration(0)
	tick := func(i int) {
		for _, s := range senders {
			_ = s.p.WriteRTPAt(now, s.ready)
		}
		c.Tick(now)
		now += 20 * time.Millisecond
	}
	prepare := func(i int) {
		for _, s := range senders {
			s.prepare(i)
		}
	}
	// Warm up for 3.2 s of virtual time: jitter buffers settle, speakers
	// are chosen, and every participant has sent its first RTCP report
	// (due by 3.08 s), which sets its SRTCP state up.
	for i := 0; i < 160; i++ {
		prepare(i)
		tick(i)
	}
	// With tickCPU, the thread's CPU time per tick beside the wall time:
	// on a shared machine the wall time counts whoever else held the
	// core. (Reading the thread's clock is a system call, inside the
	// timed part: BenchmarkTick leaves it out.)
	if tickCPU {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		prepare(160 + i)
		b.StartTimer()
		if !tickCPU {
			tick(160 + i)
			continue
		}
		c0 := cputime.Thread()
		tick(160 + i)
		cpu += cputime.Thread() - c0
	}
	perTick := float64(b.Elapsed().Microseconds()) / float64(b.N)
	b.ReportMetric(perTick, "µs/tick")
	if tickCPU {
		b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(b.N), "cpu-µs/tick")
	}
	// Participants one core carries with ticks using half of real time.
	b.ReportMetric(float64(n)*10000/perTick, "participants/core@50%")
	b.ReportMetric(float64(c.Stats().Speakers), "speakers")
}

package mixer

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/srtp"
)

// BenchmarkTickDrift is BenchmarkTick's 3talk room (SRTP both ways, RFC
// 6464 levels, three talkers, everyone else silent) with every sender's
// clock running 1% fast, so that every jitter buffer keeps asking to play
// its audio shorter: the speakers' requests go to the time-scaler, the
// others' are applied to their undecoded frames. (Run on a mixer that
// does not time-scale, the buffers drop whole frames instead.) Packets
// arrive as a 1% fast sender sends them; preparing them is not timed.
func BenchmarkTickDrift(b *testing.B) {
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
		for _, n := range []int{10, 100} {
			b.Run(fmt.Sprintf("%s/3talk/N=%d", codecName, n), func(b *testing.B) {
				c, err := NewConference(ConferenceConfig{})
				require.NoError(b, err)
				sink := &countSink{}
				senders := make([]*benchSender, n)
				for i := range senders {
					in, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
					out, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
					p, err := c.Join(ParticipantConfig{In: f, InPayloadType: PT(pt), Out: f, OutPayloadType: PT(pt),
						InAudioLevelID: levelExtID, InSRTP: &in, OutSRTP: &out, Sink: sink})
					require.NoError(b, err)
					prot, err := srtp.NewProtector(in)
					require.NoError(b, err)
					clip := &silence
					if i < 3 {
						clip = &speech[i%len(speech)]
					}
					senders[i] = &benchSender{p: p, clip: clip, off: i * 7, ssrc: uint32(i + 1), pt: pt,
						step: uint32(f.FrameSamples(20 * time.Millisecond)), prot: prot, buf: make([]byte, 0, 1600), seq: uint16(i * 100)}
				}
				now, sent := time.Duration(0), 0
				// sendAt is when a sender whose clock runs 1% fast sends
				// packet k.
				sendAt := func(k int) time.Duration { return time.Duration(float64(k) * float64(20*time.Millisecond) / 1.01) }
				tick := func(timed bool) {
					for sendAt(sent) <= now {
						if timed {
							b.StopTimer()
						}
						for _, s := range senders {
							s.prepare(sent)
						}
						if timed {
							b.StartTimer()
						}
						for _, s := range senders {
							_ = s.p.WriteRTPAt(now, s.ready)
						}
						sent++
					}
					c.Tick(now)
					now += 20 * time.Millisecond
				}
				for range 250 { // 5 s: buffers settle, speakers chosen, the excess builds
					tick(false)
				}
				st0 := senders[0].p.Stats().Jitter
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					tick(true)
				}
				b.StopTimer()
				perTick := float64(b.Elapsed().Microseconds()) / float64(b.N)
				b.ReportMetric(perTick, "µs/tick")
				st := senders[0].p.Stats().Jitter
				// A speaker's delay changes per second of audio: by
				// time-scaling (shortened) or by whole frames (dropped).
				secs := float64(b.N) / 50
				b.ReportMetric(float64(st.Shortened-st0.Shortened)/float64(time.Millisecond)/secs, "ms-shortened/s")
				b.ReportMetric(float64(st.Dropped-st0.Dropped)/secs, "drops/s")
			})
		}
	}
}

package mixer

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"
)

// BenchmarkRTCP: what a participant's RTCP costs. "in": one inbound
// compound packet (an SR with a block about our stream and an SDES CNAME)
// through WriteRTCP, plain and SRTCP (a fresh packet each time, as a peer
// sends them). "report": one report built in the tick (SR, a block with the
// jitter buffer's jitter, CNAME), SRTCP-protected when keyed, handed to the
// sink. "tick-check": the tick's per-participant RTCP check in a room of
// 1,000 when no report is due, which is nearly every tick.
func BenchmarkRTCP(b *testing.B) {
	setup := func(b *testing.B, keyed bool) (*Conference, *client, time.Duration) {
		c := newTestConference(b, ConferenceConfig{})
		cl := newClient(b, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 3, 0.3), srtp: keyed})
		cl.keep = false
		return c, cl, run(c, []*client{cl}, 0, time.Second, nil)
	}
	srOf := func(cl *client) []rtcp.Packet {
		return []rtcp.Packet{&rtcp.SenderReport{SSRC: cl.ssrc, NTPTime: 1 << 40,
			Reports: []rtcp.ReceptionReport{{SSRC: cl.p.SSRC(), LastSenderReport: 5}}},
			&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: cl.ssrc,
				Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "peer@example.org"}}}}}}
	}
	for _, keyed := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "srtcp"}[keyed]
		b.Run("in/"+name, func(b *testing.B) {
			_, cl, now := setup(b, keyed)
			pkts := make([][]byte, b.N)
			for i := range pkts {
				pkts[i] = cl.rtcpPacket(srOf(cl)...)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := cl.p.WriteRTCPAt(now, pkts[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("report/"+name, func(b *testing.B) {
			_, cl, now := setup(b, keyed)
			rx := cl.p.in.rtcp.rx
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// A packet heard since the last report, so that the report
				// carries a block (6 ns of the time).
				rx.ReceiveRTP(cl.ssrc, cl.seq+uint16(i), 0, now)
				cl.p.sendReport(now, false)
			}
		})
	}
	// The whole tick of a 1,000-participant PCMU room (three talkers, SRTP
	// both ways, inbound packets included), with RTCP on (reports every
	// ~5 s of virtual time each: about four per tick) and off.
	speech := []benchClip{encodeClip(b, pcmu, loadClip(b, "alice"), 250), encodeClip(b, pcmu, loadClip(b, "bob"), 250),
		encodeClip(b, pcmu, loadClip(b, "carol"), 250)}
	silence := encodeClip(b, pcmu, make([]int16, 48000), 1)
	for _, rc := range []struct {
		name string
		cfg  RTCPConfig
	}{{"on", RTCPConfig{}}, {"off", RTCPConfig{Off: true}}} {
		b.Run("tick/N=1000/rtcp-"+rc.name, func(b *testing.B) {
			benchConference(b, pcmu, 0, 1000, false, speech, &silence, rc.cfg)
		})
	}
	// The check alone, in a room of 1,000: "none-due" is a tick before
	// the earliest report (one comparison for the room); "scan" is a tick
	// at which some report is due, so every participant is looked at
	// (nearly every tick of so large a room), none of them due here. The
	// participants' lines are cold here, unlike in the tick, which has
	// just written them.
	for _, scan := range []bool{false, true} {
		b.Run(map[bool]string{false: "tick-check/N=1000/none-due", true: "tick-check/N=1000/scan"}[scan], func(b *testing.B) {
			c := newTestConference(b, ConferenceConfig{})
			for range 1000 {
				_, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: SinkFunc(func([]byte) error { return nil })})
				require.NoError(b, err)
			}
			c.Tick(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if scan {
					c.rtcpDue = 0
				}
				c.rtcpTick(20 * time.Millisecond) // before any first report is due
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/participant")
		})
	}
}

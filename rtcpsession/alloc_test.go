package rtcpsession

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
)

// compoundSR is what a typical peer sends: an SR with one block about
// our stream and an SDES CNAME.
func compoundSR(t testing.TB, ssrc, about uint32) []byte {
	return mustMarshal(t,
		&rtcp.SenderReport{SSRC: ssrc, NTPTime: 0xe000_0000_0000_0000, RTPTime: 1, PacketCount: 2, OctetCount: 3,
			Reports: []rtcp.ReceptionReport{{SSRC: about, FractionLost: 3, TotalLost: 7, LastSequenceNumber: 1000, Jitter: 20, LastSenderReport: 0x1234, Delay: 5}}},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: ssrc, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "peer@example.org"}}}}})
}

// TestAllocs: nothing allocates per packet in or out: RTP accounting,
// taking a compound RTCP packet (valid or refused), building and
// marshalling a report, and scheduling.
func TestAllocs(t *testing.T) {
	s := newTestSession(t, Config{SSRC: 1, ClockRate: 8000})
	in := compoundSR(t, 2, 1)
	bad := append([]byte(nil), in...)
	bad[3]++
	buf := make([]byte, MaxSize(1))
	seq := uint16(0)
	now := time.Duration(0)
	for name, f := range map[string]func(){
		"ReceiveRTP":  func() { s.ReceiveRTP(2, seq, uint32(seq)*160, now); seq++; now += 20 * time.Millisecond },
		"SentRTP":     func() { s.SentRTP(uint32(seq)*160, 160, now) },
		"ReceiveRTCP": func() { _, _ = s.ReceiveRTCP(in, now) },
		"refused":     func() { _, _ = s.ReceiveRTCP(bad, now) },
		"Due":         func() { s.Due(now) },
		"WriteReport": func() { _, _ = s.WriteReport(buf, now, true) },
		"IsRTCP":      func() { IsRTCP(in) },
	} {
		assert.Zero(t, testing.AllocsPerRun(200, f), name)
	}
}

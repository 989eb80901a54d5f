package rtcpsession

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// BenchmarkReceiveRTCP: one inbound compound packet (an SR with a block
// about our stream and an SDES CNAME), checked and applied; beside it,
// pion/rtcp's Unmarshal of the same packet, which only parses.
func BenchmarkReceiveRTCP(b *testing.B) {
	pkt := compoundSR(b, 2, 1)
	b.Run("rtcpsession", func(b *testing.B) {
		s := newTestSession(b, Config{SSRC: 1, ClockRate: 8000})
		s.ReceiveRTP(2, 0, 0, 0)
		s.ReceiveRTP(2, 1, 160, 0)
		b.ReportAllocs()
		b.SetBytes(int64(len(pkt)))
		for i := 0; i < b.N; i++ {
			if _, err := s.ReceiveRTCP(pkt, time.Duration(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pion-unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(pkt)))
		for i := 0; i < b.N; i++ {
			if _, err := rtcp.Unmarshal(pkt); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReport: one outbound report (an SR with one block, an SDES
// CNAME) built from the session's state and marshalled into a reused
// buffer; beside it, pion/rtcp marshalling the same packets.
func BenchmarkReport(b *testing.B) {
	b.Run("rtcpsession", func(b *testing.B) {
		s := newTestSession(b, Config{SSRC: 1, ClockRate: 8000, CNAME: "rtpmix-0123456789"})
		buf := make([]byte, MaxSize(1))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			now := time.Duration(i) * time.Millisecond
			s.ReceiveRTP(2, uint16(i), uint32(i)*160, now) // a source heard since the last report
			s.SentRTP(uint32(i)*160, 160, now)
			if _, err := s.WriteReport(buf, now, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pion-marshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, err := rtcp.Marshal([]rtcp.Packet{
				&rtcp.SenderReport{SSRC: 1, NTPTime: uint64(i), RTPTime: 2, PacketCount: 3, OctetCount: 4,
					Reports: []rtcp.ReceptionReport{{SSRC: 2, LastSequenceNumber: uint32(i)}}},
				&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 1,
					Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "rtpmix-0123456789"}}}}},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReceiveRTP: the per-packet reception accounting (A.1, A.8).
func BenchmarkReceiveRTP(b *testing.B) {
	r := newTestReceiver(b, ReceiverConfig{ClockRate: 8000})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.ReceiveRTP(7, uint16(i), uint32(i)*160, time.Duration(i)*20*time.Millisecond)
	}
}

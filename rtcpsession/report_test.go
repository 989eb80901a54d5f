package rtcpsession

import (
	"io"
	"strings"
	"testing"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func toPion(b ReportBlock) rtcp.ReceptionReport {
	return rtcp.ReceptionReport{SSRC: b.SSRC, FractionLost: b.FractionLost, TotalLost: uint32(b.CumulativeLost) & 0xffffff,
		LastSequenceNumber: b.HighestSeq, Jitter: b.Jitter, LastSenderReport: b.LSR, Delay: b.DLSR}
}

func blocks(n int) []ReportBlock {
	bs := make([]ReportBlock, n)
	for i := range bs {
		bs[i] = ReportBlock{SSRC: uint32(1000 + i), FractionLost: uint8(i), CumulativeLost: int32(i*1000 - 5),
			HighestSeq: uint32(70000 + i), Jitter: uint32(i * 3), LSR: uint32(i << 16), DLSR: uint32(i)}
	}
	return bs
}

// TestReportPion: pion/rtcp reads what MarshalTo writes, field for field,
// for SRs and RRs with 0, 1, 31 and 40 blocks (40: an SR and an RR), with
// and without CNAME and BYE; and Walk reads it back the same.
func TestReportPion(t *testing.T) {
	for _, n := range []int{0, 1, 31, 40, 93} {
		for _, sender := range []bool{false, true} {
			for _, bye := range []bool{false, true} {
				r := Report{SSRC: 0xcafe, IsSender: sender, Blocks: blocks(n), CNAME: "rtpmix@example",
					Bye: bye, ByeReason: "leaving"}
				if sender {
					r.Sender = SenderInfo{NTPTime: 0xe000_0001_8000_0000, RTPTime: 160, PacketCount: 50, OctetCount: 8000}
				}
				b := make([]byte, MaxSize(n))
				size, err := r.MarshalTo(b)
				require.NoError(t, err)
				require.Equal(t, r.MarshalSize(), size)
				b = b[:size]
				pkts, err := rtcp.Unmarshal(b)
				require.NoError(t, err, "n=%d sender=%v bye=%v", n, sender, bye)

				// The report packets, then SDES, then BYE.
				var got []ReportBlock
				k := 0
				for ; k < len(pkts); k++ {
					switch p := pkts[k].(type) {
					case *rtcp.SenderReport:
						require.Zero(t, k, "the SR comes first")
						require.True(t, sender)
						assert.Equal(t, uint32(0xcafe), p.SSRC)
						assert.Equal(t, r.Sender, SenderInfo{NTPTime: p.NTPTime, RTPTime: p.RTPTime, PacketCount: p.PacketCount, OctetCount: p.OctetCount})
						for _, rb := range p.Reports {
							got = append(got, fromPion(rb))
						}
						continue
					case *rtcp.ReceiverReport:
						require.True(t, k > 0 || !sender)
						assert.Equal(t, uint32(0xcafe), p.SSRC)
						for _, rb := range p.Reports {
							got = append(got, fromPion(rb))
						}
						continue
					}
					break
				}
				if n == 0 {
					got = []ReportBlock{}
				}
				assert.Equal(t, r.Blocks, got)
				sd, ok := pkts[k].(*rtcp.SourceDescription)
				require.True(t, ok, "%T", pkts[k])
				assert.Equal(t, []rtcp.SourceDescriptionChunk{{Source: 0xcafe, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "rtpmix@example"}}}}, sd.Chunks)
				k++
				if bye {
					g, ok := pkts[k].(*rtcp.Goodbye)
					require.True(t, ok, "%T", pkts[k])
					assert.Equal(t, []uint32{0xcafe}, g.Sources)
					assert.Equal(t, "leaving", g.Reason)
					k++
				}
				assert.Len(t, pkts, k)

				// Walk agrees.
				var back []ReportBlock
				w, err := Walk(b)
				require.NoError(t, err)
				for p, ok := w.Next(); ok; p, ok = w.Next() {
					if s, ok := p.SenderReport(); ok {
						for i := range s.NumBlocks() {
							back = append(back, s.Block(i))
						}
					}
					if s, ok := p.ReceiverReport(); ok {
						for i := range s.NumBlocks() {
							back = append(back, s.Block(i))
						}
					}
				}
				if n == 0 {
					back = []ReportBlock{}
				}
				assert.Equal(t, r.Blocks, back)
			}
		}
	}
}

// TestReportFromPion: the other way, what pion marshals, Report marshals
// byte for byte the same (pion pads SDES chunks and BYE reasons as RFC
// 3550 says, with null octets).
func TestReportFromPion(t *testing.T) {
	bs := blocks(2)
	pb := []rtcp.ReceptionReport{toPion(bs[0]), toPion(bs[1])}
	for _, name := range []string{"", "a", "ab", "abc", "abcd", strings.Repeat("x", 255)} {
		for _, reason := range []string{"", "r", "four", strings.Repeat("y", 255)} {
			want := mustMarshal(t,
				&rtcp.SenderReport{SSRC: 9, NTPTime: 1 << 40, RTPTime: 3, PacketCount: 4, OctetCount: 5, Reports: pb},
				&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 9, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: name}}}}},
				&rtcp.Goodbye{Sources: []uint32{9}, Reason: reason})
			r := Report{SSRC: 9, IsSender: true, Sender: SenderInfo{NTPTime: 1 << 40, RTPTime: 3, PacketCount: 4, OctetCount: 5},
				Blocks: bs, CNAME: name, Bye: true, ByeReason: reason}
			if name == "" {
				continue // an empty CNAME writes no SDES
			}
			got, err := r.Marshal()
			require.NoError(t, err)
			assert.Equal(t, want, got, "cname %d bytes, reason %d", len(name), len(reason))
		}
	}
}

func TestReportErrors(t *testing.T) {
	r := Report{SSRC: 1, Blocks: blocks(3), CNAME: "c"}
	b := make([]byte, r.MarshalSize()-1)
	b[0] = 0xee
	_, err := r.MarshalTo(b)
	assert.Equal(t, io.ErrShortBuffer, err)
	assert.Equal(t, byte(0xee), b[0], "nothing written")

	r.CNAME = strings.Repeat("c", 256)
	_, err = r.MarshalTo(make([]byte, 2000))
	assert.Equal(t, ErrItemTooLong, err)
	r.CNAME, r.Bye, r.ByeReason = "c", true, strings.Repeat("r", 256)
	_, err = r.MarshalTo(make([]byte, 2000))
	assert.Equal(t, ErrItemTooLong, err)

	// Cumulative loss beyond 24 bits is clamped, not wrapped.
	r = Report{SSRC: 1, Blocks: []ReportBlock{{CumulativeLost: 1 << 30}, {CumulativeLost: -(1 << 30)}}}
	out, err := r.Marshal()
	require.NoError(t, err)
	ps := walkAll(t, out)
	rr, _ := ps[0].ReceiverReport()
	assert.Equal(t, int32(0x7fffff), rr.Block(0).CumulativeLost)
	assert.Equal(t, int32(-0x800000), rr.Block(1).CumulativeLost)
}

// TestMaxSize: MaxSize bounds every report with that many blocks.
func TestMaxSize(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 62, 63} {
		r := Report{IsSender: true, Blocks: blocks(n), CNAME: strings.Repeat("c", 255), Bye: true, ByeReason: strings.Repeat("r", 255)}
		assert.Equal(t, MaxSize(n), r.MarshalSize(), "n=%d", n)
	}
}

package rtcpsession

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"
)

// ffmpegRTCP reads a capture of testdata/rtcp: one datagram per line, in
// hex.
func ffmpegRTCP(t testing.TB, name string) [][]byte {
	t.Helper()
	f, err := os.Open("../testdata/rtcp/" + name)
	require.NoError(t, err)
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			b, err := hex.DecodeString(l)
			require.NoError(t, err)
			out = append(out, b)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out)
	return out
}

// walkSeeds are real and typical compound packets.
func walkSeeds(t testing.TB) [][]byte {
	seeds := ffmpegRTCP(t, "ffmpeg-sr.hex")
	seeds = append(seeds,
		compoundSR(t, 2, 1),
		mustMarshal(t, &rtcp.ReceiverReport{SSRC: 1, Reports: pionBlocks}, &rtcp.Goodbye{Sources: []uint32{1, 2}, Reason: "bye"}),
		mustMarshal(t, &rtcp.ReceiverReport{SSRC: 1}, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{
			{Source: 1, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "a"}, {Type: rtcp.SDESTool, Text: "t"}}}, {Source: 2}}}),
		mustMarshal(t, &rtcp.ReceiverReport{SSRC: 1}, &rtcp.ApplicationDefined{SSRC: 1, Name: "name", Data: []byte{1, 2, 3, 4}},
			&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 3}}}),
		mustMarshal(t, &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2}),
	)
	r := Report{SSRC: 5, IsSender: true, Blocks: blocks(33), CNAME: "c", Bye: true, ByeReason: "r"}
	b, err := r.Marshal()
	require.NoError(t, err)
	return append(seeds, b)
}

// FuzzWalk: whatever arrives, Walk and the typed views never panic or read
// out of range; a datagram Walk accepts is exactly its packets; where
// pion/rtcp also reads it, the reports and BYEs agree; re-marshalled
// reports read back the same; and a Receiver given a datagram it refuses
// changes nothing.
func FuzzWalk(f *testing.F) {
	for _, s := range walkSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, reduced := range []bool{false, true} {
			var w Walker
			var err error
			if reduced {
				w, err = WalkReducedSize(b)
			} else {
				w, err = Walk(b)
			}
			if err != nil {
				continue
			}
			total := 0
			var bs []ReportBlock
			var byes [][]uint32
			for p, ok := w.Next(); ok; p, ok = w.Next() {
				total += 4 * (int(binary.BigEndian.Uint16(p.Bytes()[2:])) + 1)
				if s, ok := p.SenderReport(); ok {
					_ = s.Info()
					for i := range s.NumBlocks() {
						bs = append(bs, s.Block(i))
					}
				}
				if s, ok := p.ReceiverReport(); ok {
					for i := range s.NumBlocks() {
						bs = append(bs, s.Block(i))
					}
				}
				if d, ok := p.SourceDescription(); ok {
					it := d.Chunks()
					n := 0
					for c, ok := it.Next(); ok; c, ok = it.Next() {
						_, _ = c.CNAME()
						n++
					}
					if n != p.Count() {
						t.Fatalf("SDES: %d chunks of %d", n, p.Count())
					}
				}
				if g, ok := p.Goodbye(); ok {
					var srcs []uint32
					for i := range g.NumSources() {
						srcs = append(srcs, g.Source(i))
					}
					_ = g.Reason()
					byes = append(byes, srcs)
				}
			}
			if total != len(b) {
				t.Fatalf("packets cover %d of %d bytes", total, len(b))
			}
			// Re-marshalled, the blocks read back the same.
			if len(bs) > 0 {
				r := Report{SSRC: 1, Blocks: bs}
				out, err := r.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				var back []ReportBlock
				w2, err := Walk(out)
				if err != nil {
					t.Fatal(err)
				}
				for p, ok := w2.Next(); ok; p, ok = w2.Next() {
					rr, _ := p.ReceiverReport()
					for i := range rr.NumBlocks() {
						back = append(back, rr.Block(i))
					}
				}
				for i := range bs {
					if bs[i] != back[i] {
						t.Fatalf("block %d: %+v, read back %+v", i, bs[i], back[i])
					}
				}
			}
			// Where pion reads the compound too, it reads the same.
			if reduced {
				continue
			}
			pkts, perr := rtcp.Unmarshal(b)
			if perr != nil {
				continue
			}
			var pbs []ReportBlock
			var pbyes [][]uint32
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.SenderReport:
					for _, rb := range p.Reports {
						pbs = append(pbs, fromPion(rb))
					}
				case *rtcp.ReceiverReport:
					for _, rb := range p.Reports {
						pbs = append(pbs, fromPion(rb))
					}
				case *rtcp.Goodbye:
					pbyes = append(pbyes, p.Sources)
				}
			}
			if len(pbs) != len(bs) || len(pbyes) != len(byes) {
				t.Fatalf("pion read %d blocks and %d BYEs, Walk %d and %d", len(pbs), len(pbyes), len(bs), len(byes))
			}
			for i := range bs {
				if bs[i] != pbs[i] {
					t.Fatalf("block %d: %+v, pion %+v", i, bs[i], pbs[i])
				}
			}
			for i := range byes {
				if len(byes[i]) != len(pbyes[i]) {
					t.Fatalf("BYE %d: %v, pion %v", i, byes[i], pbyes[i])
				}
			}
		}

		// A Receiver: a refused datagram changes nothing; an accepted
		// one counts once.
		r, _ := NewReceiver(ReceiverConfig{LocalSSRC: 1, LocalClockRate: 8000})
		r.ReceiveRTP(2, 0, 0, 0)
		r.ReceiveRTP(2, 1, 160, 20*time.Millisecond)
		before := *r
		before.sources = append([]source(nil), r.sources...)
		_, err := r.ReceiveRTCP(b, time.Second)
		if err != nil {
			if r.counts != before.counts || r.remote != before.remote || r.sender != before.sender || r.bye != before.bye || r.havePeer != before.havePeer ||
				r.sources[0] != before.sources[0] {
				t.Fatalf("a refused datagram (%v) changed the receiver", err)
			}
		} else if r.counts.Packets != 1 {
			t.Fatalf("accepted, counted %d", r.counts.Packets)
		}
	})
}

// FuzzSequence: under hostile sequence numbers, timestamps and arrival
// times (and SSRC changes), the source's sequence state stays RFC 3550
// A.1's, step for step, and every report block is within its fields'
// ranges. Each input is a list of 9-byte packets: SSRC choice, sequence
// number, timestamp, arrival step.
func FuzzSequence(f *testing.F) {
	pkt := func(ssrc byte, seq uint16, ts uint32, step uint16) []byte {
		b := []byte{ssrc, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint16(b[1:], seq)
		binary.BigEndian.PutUint32(b[3:], ts)
		binary.BigEndian.PutUint16(b[7:], step)
		return b
	}
	var regular, wrap, jumps []byte
	for i := range 50 {
		regular = append(regular, pkt(0, uint16(i), uint32(i*160), 20)...)
		wrap = append(wrap, pkt(0, uint16(65500+i), uint32(i*160), 20)...)
		jumps = append(jumps, pkt(byte(i/20), uint16(i*i*97), uint32(i*7919), uint16(i%3)*50)...)
	}
	f.Add(regular)
	f.Add(wrap)
	f.Add(jumps)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, _ := NewReceiver(ReceiverConfig{ClockRate: 48000})
		var ref *refSource
		var refSSRC uint32
		now := time.Duration(0)
		for len(in) >= 9 {
			ssrc := uint32(in[0] & 3)
			seq := binary.BigEndian.Uint16(in[1:])
			ts := binary.BigEndian.Uint32(in[3:])
			now += time.Duration(binary.BigEndian.Uint16(in[7:])) * time.Millisecond
			in = in[9:]
			if ref == nil || ssrc != refSSRC {
				ref, refSSRC = newRef(seq), ssrc
			}
			want := ref.updateSeq(seq) == 1
			if got := r.ReceiveRTP(ssrc, seq, ts, now); got != want {
				t.Fatalf("seq %d: counted %v, A.1 says %v", seq, got, want)
			}
			s := r.find(ssrc)
			if s.maxSeq != ref.maxSeq || s.cycles != ref.cycles || s.baseSeq != ref.baseSeq || s.probation != ref.probation ||
				s.badSeq != ref.badSeq || uint32(s.received) != ref.received {
				t.Fatalf("seq %d: state %+v, A.1 %+v", seq, *s, *ref)
			}
			if len(in)%27 == 0 { // report now and then
				for _, b := range r.AppendBlocks(nil, now) {
					if b.CumulativeLost > 0x7fffff || b.CumulativeLost < -0x800000 {
						t.Fatalf("cumulative loss %d outside 24 bits", b.CumulativeLost)
					}
					if b.HighestSeq != ref.cycles+uint32(ref.maxSeq) {
						t.Fatalf("highest %d, A.1 %d", b.HighestSeq, ref.cycles+uint32(ref.maxSeq))
					}
				}
				ref.expectedPrior = ref.cycles + uint32(ref.maxSeq) - ref.baseSeq + 1
				ref.receivedPrior = ref.received
			}
		}
	})
}

package rtcpsession

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pionBlocks are report blocks with every field distinct, the cumulative
// loss both positive and negative (24-bit two's complement).
var pionBlocks = []rtcp.ReceptionReport{
	{SSRC: 0x11111111, FractionLost: 12, TotalLost: 345, LastSequenceNumber: 0x0001_ff00, Jitter: 77, LastSenderReport: 0xb7052000, Delay: 0x00054000},
	{SSRC: 0x22222222, FractionLost: 255, TotalLost: 0xfffffe, LastSequenceNumber: 9, Jitter: 1 << 20, LastSenderReport: 1, Delay: 2},
}

func mustMarshal(t testing.TB, pkts ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	require.NoError(t, err)
	return b
}

// walkAll walks b and returns its packets.
func walkAll(t testing.TB, b []byte) []Packet {
	t.Helper()
	w, err := Walk(b)
	require.NoError(t, err)
	var ps []Packet
	for p, ok := w.Next(); ok; p, ok = w.Next() {
		ps = append(ps, p)
	}
	return ps
}

func fromPion(rr rtcp.ReceptionReport) ReportBlock {
	return ReportBlock{SSRC: rr.SSRC, FractionLost: rr.FractionLost, CumulativeLost: int32(rr.TotalLost<<8) >> 8,
		HighestSeq: rr.LastSequenceNumber, Jitter: rr.Jitter, LSR: rr.LastSenderReport, DLSR: rr.Delay}
}

// TestWalkPion: what pion/rtcp marshals, Walk reads field for field: an
// SR and an RR with report blocks, SDES with several chunks and items, a
// BYE with and without a reason, and the packet types it skips.
func TestWalkPion(t *testing.T) {
	sr := &rtcp.SenderReport{SSRC: 0xdeadbeef, NTPTime: 0xe1a2_b3c4_d5e6_f708, RTPTime: 0x01020304,
		PacketCount: 1234, OctetCount: 567890, Reports: pionBlocks}
	sdes := &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{
		{Source: 0xdeadbeef, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESNote, Text: "hi"}, {Type: rtcp.SDESCNAME, Text: "alice@example.org"}}},
		{Source: 7, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}},
		{Source: 8},
	}}
	bye := &rtcp.Goodbye{Sources: []uint32{0xdeadbeef, 42}, Reason: "camera malfunction"}
	pkts := walkAll(t, mustMarshal(t, sr, sdes, bye,
		&rtcp.ApplicationDefined{SSRC: 1, Name: "test", Data: []byte{1, 2, 3, 4}},
		&rtcp.ExtendedReport{SenderSSRC: 1, Reports: []rtcp.ReportBlock{&rtcp.ReceiverReferenceTimeReportBlock{NTPTimestamp: 5}}},
		&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 2, Nacks: []rtcp.NackPair{{PacketID: 5}}},
		&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2},
		&rtcp.ReceiverReport{SSRC: 0xdeadbeef, Reports: pionBlocks[:1]},
		&rtcp.Goodbye{Sources: []uint32{3}},
	))
	require.Len(t, pkts, 9)
	want := []PacketType{TypeSR, TypeSDES, TypeBYE, TypeAPP, TypeXR, TypeRTPFB, TypePSFB, TypeRR, TypeBYE}
	for i, p := range pkts {
		assert.Equal(t, want[i], p.Type(), "packet %d", i)
	}

	s, ok := pkts[0].SenderReport()
	require.True(t, ok)
	assert.Equal(t, uint32(0xdeadbeef), s.SSRC())
	assert.Equal(t, SenderInfo{NTPTime: sr.NTPTime, RTPTime: sr.RTPTime, PacketCount: 1234, OctetCount: 567890}, s.Info())
	require.Equal(t, 2, s.NumBlocks())
	for i := range pionBlocks {
		assert.Equal(t, fromPion(pionBlocks[i]), s.Block(i))
	}
	assert.Equal(t, int32(-2), s.Block(1).CumulativeLost, "24-bit loss is signed")
	assert.Panics(t, func() { s.Block(2) })

	d, ok := pkts[1].SourceDescription()
	require.True(t, ok)
	it := d.Chunks()
	var names []string
	var ssrcs []uint32
	for c, ok := it.Next(); ok; c, ok = it.Next() {
		ssrcs = append(ssrcs, c.SSRC)
		n, _ := c.CNAME()
		names = append(names, string(n))
	}
	assert.Equal(t, []uint32{0xdeadbeef, 7, 8}, ssrcs)
	assert.Equal(t, []string{"alice@example.org", "x", ""}, names)
	it = d.Chunks()
	c, _ := it.Next()
	note, ok := c.Item(ItemNOTE)
	assert.True(t, ok)
	assert.Equal(t, "hi", string(note))
	_, ok = c.Item(ItemEMAIL)
	assert.False(t, ok)

	g, ok := pkts[2].Goodbye()
	require.True(t, ok)
	assert.Equal(t, 2, g.NumSources())
	assert.True(t, g.Has(42))
	assert.False(t, g.Has(43))
	assert.Equal(t, "camera malfunction", string(g.Reason()))
	g, _ = pkts[8].Goodbye()
	assert.Empty(t, g.Reason())
	assert.Equal(t, uint32(3), g.Source(0))

	r, ok := pkts[7].ReceiverReport()
	require.True(t, ok)
	assert.Equal(t, uint32(0xdeadbeef), r.SSRC())
	require.Equal(t, 1, r.NumBlocks())
	assert.Equal(t, fromPion(pionBlocks[0]), r.Block(0))

	_, ok = pkts[0].ReceiverReport()
	assert.False(t, ok, "an SR is not an RR")
	_, ok = pkts[3].Goodbye()
	assert.False(t, ok)
}

// TestWalkPadding: the last packet may be padded (as SRTCP senders and
// pion do); the padding is removed and its count checked.
func TestWalkPadding(t *testing.T) {
	b := mustMarshal(t, &rtcp.ReceiverReport{SSRC: 5}, &rtcp.Goodbye{Sources: []uint32{5}, Reason: "x"})
	// Pad the BYE by 8 bytes: set P, grow the length, append 7 + count.
	bye := len(mustMarshal(t, &rtcp.ReceiverReport{SSRC: 5}))
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 8)
	b[bye] |= 0x20
	binary.BigEndian.PutUint16(b[bye+2:], binary.BigEndian.Uint16(b[bye+2:])+2)
	ps := walkAll(t, b)
	require.Len(t, ps, 2)
	g, _ := ps[1].Goodbye()
	assert.Equal(t, "x", string(g.Reason()))
	assert.Len(t, ps[1].Bytes(), 12, "padding removed")
	_, err := rtcp.Unmarshal(b)
	require.NoError(t, err, "pion reads it too")
}

// TestWalkMalformed: each violation of RFC 3550 A.2 and of the typed
// packets' structure is refused with its error, which matches
// ErrMalformed.
func TestWalkMalformed(t *testing.T) {
	rr := mustMarshal(t, &rtcp.ReceiverReport{SSRC: 1, Reports: pionBlocks[:1]})
	sdes := mustMarshal(t, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 1,
		Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "abc"}}}}})
	bye := mustMarshal(t, &rtcp.Goodbye{Sources: []uint32{1}, Reason: "bye"})
	app := mustMarshal(t, &rtcp.ApplicationDefined{SSRC: 1, Name: "test", Data: []byte{1, 2, 3, 4}})
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	edit := func(b []byte, f func(b []byte)) []byte {
		b = append([]byte(nil), b...)
		f(b)
		return b
	}
	cases := []struct {
		name string
		pkt  []byte
		err  error
	}{
		{"empty", nil, ErrTooShort},
		{"three bytes", []byte{0x80, 201, 0}, ErrTooShort},
		{"version 1", edit(rr, func(b []byte) { b[0] = 0x40 | b[0]&0x3f }), ErrVersion},
		{"version 0 second", cat(rr, edit(bye, func(b []byte) { b[0] &= 0x3f })), ErrVersion},
		{"SDES first", cat(sdes, rr), ErrNotCompound},
		{"BYE alone", bye, ErrNotCompound},
		{"length too long", edit(rr, func(b []byte) { b[3]++ }), ErrLength},
		{"length too short: the rest is no header", cat(rr, edit(app, func(b []byte) { b[3]-- })), ErrVersion},
		{"length too short for the content", edit(rr, func(b []byte) { b[3]-- }), ErrContent},
		{"trailing bytes", cat(rr, []byte{0x80, 202}), ErrLength},
		{"padding not last", cat(edit(rr, func(b []byte) { b[0] |= 0x20; b[len(b)-1] = 4 }), sdes), ErrPadding},
		{"padding count 0", edit(rr, func(b []byte) { b[0] |= 0x20; b[len(b)-1] = 0 }), ErrPadding},
		{"padding into header", edit(rr, func(b []byte) { b[0] |= 0x20; b[len(b)-1] = byte(len(b) - 3) }), ErrPadding},
		{"RR count beyond length", edit(rr, func(b []byte) { b[0]++ }), ErrContent},
		{"SR without sender info", edit(mustMarshal(t, &rtcp.ReceiverReport{SSRC: 1}), func(b []byte) { b[1] = 200 }), ErrContent},
		{"SDES count beyond length", cat(rr, edit(sdes, func(b []byte) { b[0]++ })), ErrContent},
		{"SDES item beyond chunk", cat(rr, edit(sdes, func(b []byte) { b[9] = 9 })), ErrContent},
		{"SDES without null", cat(rr, edit(sdes, func(b []byte) { b[9] = 6 })), ErrContent},
		{"SDES extra chunk bytes", cat(rr, edit(sdes, func(b []byte) { b[0]-- })), ErrContent},
		{"BYE sources beyond length", cat(rr, edit(bye, func(b []byte) { b[0] += 2 })), ErrContent},
		{"BYE reason beyond length", cat(rr, edit(bye, func(b []byte) { b[8] = 9 })), ErrContent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Walk(tc.pkt)
			assert.Equal(t, tc.err, err)
			assert.True(t, errors.Is(err, ErrMalformed))
		})
	}

	// Reduced size (RFC 5506): a lone BYE or feedback message is fine;
	// the other checks stay.
	for _, b := range [][]byte{bye, mustMarshal(t, &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2})} {
		_, err := WalkReducedSize(b)
		assert.NoError(t, err)
	}
	_, err := WalkReducedSize(edit(bye, func(b []byte) { b[3]++ }))
	assert.Equal(t, ErrLength, err)
}

func TestIsRTCP(t *testing.T) {
	for pt := 0; pt < 256; pt++ {
		b := []byte{0x80, byte(pt)}
		assert.Equal(t, pt >= 192 && pt <= 223, IsRTCP(b), "second byte %d", pt)
	}
	assert.False(t, IsRTCP([]byte{0x80}))
	assert.False(t, IsRTCP([]byte{0x00, 200}), "version 0")
	// RTP with the marker bit: payload type 0 (PCMU), 111 (Opus) are RTP;
	// 72..76 are exactly what RFC 5761 forbids.
	assert.False(t, IsRTCP([]byte{0x80, 0x80})) // PT 0 with the marker
	assert.False(t, IsRTCP([]byte{0x80, 0x80 | 111}))
	assert.True(t, IsRTCP([]byte{0x80, 0x80 | 72}))
}

func TestPacketTypeString(t *testing.T) {
	assert.Equal(t, "SR", TypeSR.String())
	assert.Equal(t, "XR", TypeXR.String())
	assert.Equal(t, "PacketType(99)", PacketType(99).String())
}

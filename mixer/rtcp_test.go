package mixer

import (
	"bufio"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// rtcpPacket marshals a compound packet from the client (SRTCP when it
// sends SRTP).
func (cl *client) rtcpPacket(pkts ...rtcp.Packet) []byte {
	b, err := rtcp.Marshal(pkts)
	require.NoError(cl.t, err)
	if cl.send != nil {
		b, err = cl.send.ProtectRTCP(nil, b)
		require.NoError(cl.t, err)
	}
	return b
}

// reports returns the RTCP the client received, parsed by pion/rtcp.
func (cl *client) reports() [][]rtcp.Packet {
	var out [][]rtcp.Packet
	for _, b := range cl.rtcp {
		pkts, err := rtcp.Unmarshal(b)
		require.NoError(cl.t, err)
		out = append(out, pkts)
	}
	return out
}

// TestRTCPReports: every participant gets sender reports about the stream
// the mixer sends it (read by pion/rtcp), SRTCP for SRTP legs, about one
// per 5 s after a first one within 3.1 s, each with a report block about
// the stream it sends (the listener sends silence), and the conference's
// CNAME.
func TestRTCPReports(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	u := newClient(t, c, clientSpec{id: "u", format: pcmu, pt: 0, src: tone(440, 30, 0.3)})
	s := newClient(t, c, clientSpec{id: "s", format: opf, pt: 111, src: tone(700, 30, 0.3), srtp: true})
	l := newClient(t, c, clientSpec{id: "l", format: pcma, pt: 8, listenOnly: true})
	now := run(c, []*client{u, s, l}, 0, 31*time.Second, nil)

	for _, cl := range []*client{u, s, l} {
		assert.Zero(t, cl.rtcpErr, cl.spec.id)
		assert.Zero(t, cl.recvErr, cl.spec.id)
		reps := cl.reports()
		assert.GreaterOrEqual(t, len(reps), 5, cl.spec.id)
		assert.LessOrEqual(t, len(reps), 9, cl.spec.id)
		st := cl.p.Stats()
		assert.Equal(t, uint64(len(reps)), st.RTCP.PacketsOut)
		for i, pkts := range reps {
			require.Len(t, pkts, 2, "%s: SR and SDES", cl.spec.id)
			sr, ok := pkts[0].(*rtcp.SenderReport)
			require.True(t, ok, "%s: %T", cl.spec.id, pkts[0])
			assert.Equal(t, cl.p.SSRC(), sr.SSRC)
			assert.NotZero(t, sr.PacketCount)
			sd := pkts[1].(*rtcp.SourceDescription)
			assert.Equal(t, c.cname, sd.Chunks[0].Items[0].Text)
			if i == 0 {
				continue
			}
			// Every listener hears the tone too: a sender report per
			// report, the counts running.
			prev := reps[i-1][0].(*rtcp.SenderReport)
			assert.Greater(t, sr.PacketCount, prev.PacketCount)
			dt := rtcpsession.NTPToTime(sr.NTPTime).Sub(rtcpsession.NTPToTime(prev.NTPTime))
			ticks := uint32(dt * time.Duration(cl.spec.format.ClockRate) / time.Second)
			assert.InDelta(t, ticks, sr.RTPTime-prev.RTPTime, 2, "%s: RTP and NTP time advance together", cl.spec.id)
			assert.GreaterOrEqual(t, dt, 2*time.Second)
			assert.LessOrEqual(t, dt, 6300*time.Millisecond)
			require.Len(t, sr.Reports, 1, cl.spec.id)
			rb := sr.Reports[0]
			assert.Equal(t, cl.ssrc, rb.SSRC)
			assert.Zero(t, rb.FractionLost)
			assert.Zero(t, rb.TotalLost)
			assert.Less(t, rb.Jitter, uint32(10), "packets arrive on the tick")
		}
		last := reps[len(reps)-1][0].(*rtcp.SenderReport)
		sent := cl.p.Stats().PacketsOut
		// The last report went out at most 6.16 s (308 packets) before
		// the end.
		assert.InDelta(t, sent, last.PacketCount, 310, "%s: the count of its last report", cl.spec.id)
		assert.InDelta(t, uint32(cl.seq-1), last.Reports[0].LastSequenceNumber&0xffff, 310)
	}
	_ = now
}

// TestRTCPInbound: the participant's SR, through WriteRTCP and muxed
// through WriteRTP, is counted, and echoed in the LSR and DLSR of the
// mixer's next report; its RR about our stream gives the loss, jitter and
// round trip in Stats.
func TestRTCPInbound(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		c := newTestConference(t, ConferenceConfig{})
		a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 30, 0.3), srtp: keyed})
		b := newClient(t, c, clientSpec{id: "b", format: pcmu, pt: 0, src: tone(660, 30, 0.3), srtp: keyed})
		now := run(c, []*client{a, b}, 0, time.Second, nil)

		var ntp uint64 = 0xe1a2b3c4_d5e6f708
		sr := a.rtcpPacket(&rtcp.SenderReport{SSRC: a.ssrc, NTPTime: ntp, RTPTime: a.ts, PacketCount: 50, OctetCount: 8000},
			&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: a.ssrc,
				Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "a@example.org"}}}}})
		require.NoError(t, a.p.WriteRTCPAt(now, sr))
		st := a.p.Stats().RTCP
		assert.Equal(t, uint64(1), st.PacketsIn)
		assert.Equal(t, uint64(1), st.SR)
		assert.Equal(t, uint64(1), st.SDES)
		assert.Equal(t, "a@example.org", st.CNAME)
		assert.Equal(t, rtcpsession.RemoteSender{Reports: 1, SSRC: a.ssrc, At: now,
			Info: rtcpsession.SenderInfo{NTPTime: ntp, RTPTime: a.ts, PacketCount: 50, OctetCount: 8000}}, st.RemoteSender)
		srAt := now

		// The next report of the mixer echoes it.
		a.rtcp = nil
		for len(a.rtcp) == 0 {
			now = run(c, []*client{a, b}, now, 20*time.Millisecond, nil)
		}
		rep := a.reports()[0]
		ours := rep[0].(*rtcp.SenderReport)
		require.Len(t, ours.Reports, 1)
		assert.Equal(t, uint32(ntp>>16), ours.Reports[0].LastSenderReport)
		assert.InDelta(t, float64(now-20*time.Millisecond-srAt)/float64(time.Second)*65536, ours.Reports[0].Delay, 2)

		// a answers with an RR about our stream, after 300 ms, muxed
		// through WriteRTP: 10 % lost, jitter 80, round trip 0 plus the
		// virtual network's 0.
		hold := 300 * time.Millisecond
		now = run(c, []*client{a, b}, now, hold, nil)
		rr := a.rtcpPacket(&rtcp.ReceiverReport{SSRC: a.ssrc, Reports: []rtcp.ReceptionReport{{SSRC: a.p.SSRC(),
			FractionLost: 26, TotalLost: 12, LastSequenceNumber: 999, Jitter: 80,
			LastSenderReport: uint32(ours.NTPTime >> 16), Delay: uint32(hold * 65536 / time.Second)}}})
		arrival := now + 50*time.Millisecond // 25 ms each way, say
		require.NoError(t, a.p.WriteRTPAt(arrival, rr), "muxed RTCP through WriteRTP")
		st = a.p.Stats().RTCP
		assert.Equal(t, uint64(2), st.PacketsIn)
		assert.Equal(t, uint64(1), st.RR)
		rm := st.Remote
		assert.Equal(t, uint64(1), rm.Reports)
		assert.InDelta(t, 0.1, rm.Loss(), 0.002)
		assert.Equal(t, int32(12), rm.CumulativeLost)
		assert.Equal(t, 10*time.Millisecond, rm.JitterDuration)
		require.True(t, rm.HasRTT)
		// Our SR went out at the tick before now-hold; the RR arrived 50
		// ms after now; a held it 300 ms.
		want := arrival - hold - srTick(ours, c)
		assert.InDelta(t, want, rm.RTT, float64(100*time.Microsecond), "keyed %v", keyed)
		assert.Zero(t, a.p.Stats().Refused.Packets, "nothing counted as refused RTP")
	}
}

// srTick is the conference-clock time of one of the mixer's sender
// reports, from its NTP timestamp.
func srTick(sr *rtcp.SenderReport, c *Conference) time.Duration {
	return rtcpsession.NTPToTime(sr.NTPTime).Sub(c.rtcpClock.Epoch).Round(time.Millisecond)
}

// TestRTCPRefused: each way RTCP can be wrong is refused with its
// documented error, counted under its reason, and changes nothing.
func TestRTCPRefused(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	p := newClient(t, c, clientSpec{id: "p", format: pcmu, pt: 0, src: tone(440, 5, 0.3)})
	s := newClient(t, c, clientSpec{id: "s", format: pcmu, pt: 0, src: tone(440, 5, 0.3), srtp: true})
	now := run(c, []*client{p, s}, 0, time.Second, nil)

	rr := p.rtcpPacket(&rtcp.ReceiverReport{SSRC: p.ssrc})
	edit := func(b []byte, f func([]byte)) []byte { b = append([]byte(nil), b...); f(b); return b }
	replayed := s.rtcpPacket(&rtcp.ReceiverReport{SSRC: s.ssrc})
	require.NoError(t, s.p.WriteRTCPAt(now, append([]byte(nil), replayed...)))
	bye := p.rtcpPacket(&rtcp.Goodbye{Sources: []uint32{p.ssrc}})
	plainRR := p.rtcpPacket(&rtcp.ReceiverReport{SSRC: s.ssrc, Reports: []rtcp.ReceptionReport{{SSRC: 1}}})
	fresh := s.rtcpPacket(&rtcp.ReceiverReport{SSRC: s.ssrc})
	for _, tc := range []struct {
		name  string
		cl    *client
		pkt   []byte
		err   error
		count func(RTCPRefusedStats) uint64
	}{
		{"short", p, []byte{0x80, 201, 0, 1}, ErrMalformed, func(r RTCPRefusedStats) uint64 { return r.Short }},
		{"version", p, edit(rr, func(b []byte) { b[0] &= 0x3f }), ErrMalformed, func(r RTCPRefusedStats) uint64 { return r.Version }},
		{"not compound", p, bye, ErrMalformed, func(r RTCPRefusedStats) uint64 { return r.NotCompound }},
		{"length", p, edit(rr, func(b []byte) { b[3]++ }), ErrMalformed, func(r RTCPRefusedStats) uint64 { return r.Invalid }},
		{"srtcp forged", s, edit(fresh, func(b []byte) { b[len(b)-1] ^= 1 }), srtp.ErrAuth, func(r RTCPRefusedStats) uint64 { return r.SRTCPAuth }},
		{"srtcp plain", s, plainRR, srtp.ErrAuth, func(r RTCPRefusedStats) uint64 { return r.SRTCPAuth }},
		{"srtcp replayed", s, replayed, srtp.ErrReplay, func(r RTCPRefusedStats) uint64 { return r.SRTCPReplay }},
		{"srtcp short", s, replayed[:12], ErrMalformed, func(r RTCPRefusedStats) uint64 { return r.Short }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.cl.p.Stats()
			err := tc.cl.p.WriteRTCPAt(now, append([]byte(nil), tc.pkt...))
			assert.Equal(t, tc.err, err)
			after := tc.cl.p.Stats()
			assert.Equal(t, tc.count(before.RTCP.Refused)+1, tc.count(after.RTCP.Refused))
			assert.Equal(t, before.RTCP.Refused.Packets+1, after.RTCP.Refused.Packets)
			assert.Equal(t, before.RTCP.Refused.Bytes+uint64(len(tc.pkt)), after.RTCP.Refused.Bytes)
			assert.Equal(t, before.RTCP.PacketsIn, after.RTCP.PacketsIn)
			assert.Equal(t, before.Refused, after.Refused, "RTP counters untouched")
			// Through WriteRTP (muxed) the same.
			if rtcpsession.IsRTCP(tc.pkt) {
				assert.Equal(t, tc.err, tc.cl.p.WriteRTPAt(now, append([]byte(nil), tc.pkt...)))
			}
		})
	}
	p.p.Leave()
	assert.Equal(t, ErrClosed, p.p.WriteRTCP(rr))
	assert.Equal(t, ErrClosed, p.p.WriteRTP(rr))
	assert.ErrorIs(t, p.p.SendReport(), ErrClosed)
}

// TestRTCPBye: a BYE for the participant's own stream is reported (a flag
// and an event with its reason) and does not remove it; a BYE for another
// SSRC is ignored and counted. A listener's BYE names the SSRC of its
// first report.
func TestRTCPBye(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 5, 0.3)})
	l := newClient(t, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
	now := run(c, []*client{a}, 0, time.Second, nil)

	require.NoError(t, a.p.WriteRTCPAt(now, a.rtcpPacket(&rtcp.ReceiverReport{SSRC: a.ssrc}, &rtcp.Goodbye{Sources: []uint32{0xdead}})))
	assert.False(t, a.p.ByeReceived())
	assert.Equal(t, uint64(1), a.p.Stats().RTCP.ByeIgnored)
	require.NoError(t, a.p.WriteRTCPAt(now, a.rtcpPacket(&rtcp.ReceiverReport{SSRC: a.ssrc},
		&rtcp.Goodbye{Sources: []uint32{a.ssrc}, Reason: "hanging up"})))
	assert.True(t, a.p.ByeReceived())
	st := a.p.Stats().RTCP
	assert.True(t, st.ByeReceived)
	assert.Equal(t, "hanging up", st.ByeReason)

	// Listener: first report from 0x1234, then its BYE.
	require.NoError(t, l.p.WriteRTCPAt(now, l.rtcpPacket(&rtcp.ReceiverReport{SSRC: 0x1234})))
	require.NoError(t, l.p.WriteRTCPAt(now, l.rtcpPacket(&rtcp.ReceiverReport{SSRC: 0x1234}, &rtcp.Goodbye{Sources: []uint32{0x1234}})))
	assert.True(t, l.p.ByeReceived())

	run(c, []*client{a}, now, 40*time.Millisecond, nil)
	var byes []Event
	for len(c.Events()) > 0 {
		if e := <-c.Events(); e.Type == ByeReceived {
			byes = append(byes, e)
		}
	}
	require.Len(t, byes, 2)
	assert.Equal(t, "a", byes[0].Participant)
	assert.Equal(t, "hanging up", byes[0].Detail)
	assert.Equal(t, "l", byes[1].Participant)
	assert.Len(t, c.Participants(), 2, "the application decides")
	assert.Equal(t, "bye-received", ByeReceived.String())
}

// TestRTCPLeaveBye: leaving sends a last report with a BYE, then Done
// closes; a participant with RTCP off sends nothing; one on Manual sends
// only what SendReport asks for; a separate RTCP sink takes the RTCP and
// Sink only RTP.
func TestRTCPLeaveBye(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 20, 0.3), srtp: true})
	var offGot, manualGot, rtcpOnly, rtpOnly int
	count := func(n *int) Sink {
		return SinkFunc(func(pkt []byte) error {
			if rtcpsession.IsRTCP(pkt) {
				*n++
			}
			return nil
		})
	}
	off, err := c.Join(ParticipantConfig{ID: "off", In: pcmu, Out: pcmu, Sink: count(&offGot), RTCP: RTCPConfig{Off: true}})
	require.NoError(t, err)
	manual, err := c.Join(ParticipantConfig{ID: "manual", In: pcmu, Out: pcmu, Sink: count(&manualGot), RTCP: RTCPConfig{Manual: true}})
	require.NoError(t, err)
	_, err = c.Join(ParticipantConfig{ID: "split", In: pcmu, Out: pcmu, Sink: count(&rtpOnly),
		RTCP: RTCPConfig{Sink: SinkFunc(func(pkt []byte) error {
			if rtcpsession.IsRTCP(pkt) {
				rtcpOnly++
			}
			return nil
		}), MinInterval: time.Second}})
	require.NoError(t, err)
	now := run(c, []*client{a}, 0, 12*time.Second, nil)
	assert.Zero(t, offGot)
	assert.Zero(t, manualGot)
	assert.Zero(t, rtpOnly, "RTCP goes to the RTCP sink")
	assert.InDelta(t, 12, rtcpOnly, 3, "MinInterval 1 s")
	assert.ErrorIs(t, off.SendReport(), ErrConfig)
	require.NoError(t, manual.SendReport())
	now = run(c, []*client{a}, now, 20*time.Millisecond, nil)
	assert.Equal(t, 1, manualGot)

	a.rtcp = nil
	a.p.Leave()
	select {
	case <-a.p.Done():
		t.Fatal("done before the tick")
	default:
	}
	c.Tick(now)
	<-a.p.Done()
	require.Len(t, a.rtcp, 1)
	pkts, err := rtcp.Unmarshal(a.rtcp[0])
	require.NoError(t, err)
	require.Len(t, pkts, 3)
	assert.IsType(t, &rtcp.SenderReport{}, pkts[0])
	g, ok := pkts[2].(*rtcp.Goodbye)
	require.True(t, ok)
	assert.Equal(t, []uint32{a.p.SSRC()}, g.Sources)
	off.Leave()
	c.Tick(now + 20*time.Millisecond)
	<-off.Done()
	assert.Zero(t, offGot, "no BYE with RTCP off")

	_, err = c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: count(&offGot), RTCP: RTCPConfig{MinInterval: -time.Second}})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: count(&offGot), RTCP: RTCPConfig{CNAME: strings.Repeat("x", 256)}})
	assert.ErrorIs(t, err, ErrConfig)
}

// TestRTCPFractionLost: the loss the mixer reports about a participant's
// stream follows the loss injected on it (the figure in the report).
func TestRTCPFractionLost(t *testing.T) {
	for _, loss := range []float64{0, 0.01, 0.05, 0.10, 0.20} {
		c := newTestConference(t, ConferenceConfig{})
		a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 120, 0.3)})
		rng := newLossRNG(uint64(loss*1000) + 1)
		run(c, []*client{a}, 0, 120*time.Second, func(_ *client, _ int) bool { return rng.Float64() < loss })
		var lost, expected float64
		var fractions []float64
		for _, pkts := range a.reports() {
			sr := pkts[0].(*rtcp.SenderReport)
			if len(sr.Reports) == 1 {
				fractions = append(fractions, float64(sr.Reports[0].FractionLost)/256)
				lost = float64(sr.Reports[0].TotalLost)
				expected = float64(sr.Reports[0].LastSequenceNumber - uint32(a.ssrc&0xffff)) // seq starts at uint16(ssrc)
			}
		}
		require.NotEmpty(t, fractions)
		mean := 0.0
		for _, f := range fractions {
			mean += f
		}
		mean /= float64(len(fractions))
		t.Logf("injected %4.1f%%: %d reports, fraction lost per report %.1f%% on average (min %.1f%%, max %.1f%%), cumulative %.1f%%",
			loss*100, len(fractions), mean*100, slices.Min(fractions)*100, slices.Max(fractions)*100, lost/expected*100)
		assert.InDelta(t, loss, mean, 0.01+loss*0.15)
		assert.InDelta(t, loss, lost/expected, 0.005+loss*0.1)
	}
}

// newLossRNG is a seeded generator for loss decisions.
func newLossRNG(seed uint64) *lossRNG { return &lossRNG{s: seed} }

type lossRNG struct{ s uint64 }

func (r *lossRNG) Float64() float64 { // splitmix64
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return float64((z^z>>31)>>11) / (1 << 53)
}

// TestRTCPAllocs: taking RTCP (accepted, or refused for any reason the
// mixer decides) and sending a report allocate nothing.
func TestRTCPAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool (inside pion/srtp) drops items at random under -race; make test runs this without it")
	}
	c := newTestConference(t, ConferenceConfig{})
	p := newClient(t, c, clientSpec{id: "p", format: pcmu, pt: 0, src: tone(440, 10, 0.3)})
	s := newClient(t, c, clientSpec{id: "s", format: pcmu, pt: 0, src: tone(440, 10, 0.3), srtp: true})
	p.keep, s.keep = false, false
	now := run(c, []*client{p, s}, 0, 6*time.Second, nil)

	sr := func(cl *client) []byte {
		return cl.rtcpPacket(&rtcp.SenderReport{SSRC: cl.ssrc, NTPTime: 1 << 40,
			Reports: []rtcp.ReceptionReport{{SSRC: cl.p.SSRC(), LastSenderReport: 5}}},
			&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: cl.ssrc,
				Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x@y"}}}}})
	}
	plain := sr(p)
	buf := make([]byte, 1500)
	feed := func(cl *client, pkt []byte) error { return cl.p.WriteRTCPAt(now, buf[:copy(buf, pkt)]) }
	known := sr(s)
	require.NoError(t, feed(s, known)) // SRTCP state for the client's SSRC
	forged := sr(s)
	forged[len(forged)-1] ^= 1
	unknown := append([]byte(nil), forged...)
	unknown[4] ^= 0xff // an SSRC SRTCP has not seen
	for name, f := range map[string]func(){
		"accepted":           func() { _ = feed(p, plain) },
		"muxed":              func() { _ = p.p.WriteRTPAt(now, buf[:copy(buf, plain)]) },
		"short":              func() { _ = feed(p, plain[:6]) },
		"invalid":            func() { _ = feed(p, plain[:len(plain)-4]) },
		"srtcp forged":       func() { _ = feed(s, forged) },
		"srtcp short":        func() { _ = feed(s, forged[:20]) },
		"srtcp unknown ssrc": func() { _ = feed(s, unknown) },
		"srtcp replay":       func() { _ = feed(s, known) },
		"report":             func() { p.p.sendReport(now, false) },
		"report srtcp":       func() { s.p.sendReport(now, false) },
		"bye flag":           func() { _ = p.p.ByeReceived() },
		"report request":     func() { _ = p.p.SendReport() },
		"rtcp tick":          func() { c.rtcpTick(now) },
	} {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
	// Fresh SRTCP, accepted: each needs a new index.
	var pkts [][]byte
	for range 101 {
		pkts = append(pkts, sr(s))
	}
	i := 0
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = feed(s, pkts[i]); i++ }), "srtcp accepted")
}

// ffmpegRTCP reads a capture of ../testdata/rtcp.
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
	return out
}

// ffmpegKeys are the SRTP keys of testdata/rtcp/ffmpeg-srtcp.hex: key and
// salt bytes 0..29.
func ffmpegKeys() srtp.Keys {
	b := make([]byte, 30)
	for i := range b {
		b[i] = byte(i)
	}
	return srtp.Keys{Profile: srtp.ProfileAESCM128HMACSHA1_80, MasterKey: b[:16], MasterSalt: b[16:]}
}

// TestRTCPFFmpeg: the RTCP ffmpeg sends (captured: sender reports without
// CNAME, the last with a BYE; plain and SRTCP) is taken, and its BYE
// reported.
func TestRTCPFFmpeg(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	k := ffmpegKeys()
	for _, tc := range []struct {
		file string
		keys *srtp.Keys
	}{{"ffmpeg-sr.hex", nil}, {"ffmpeg-srtcp.hex", &k}} {
		p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, InSRTP: tc.keys, OutSRTP: tc.keys})
		require.NoError(t, err)
		pkts := ffmpegRTCP(t, tc.file)
		for _, b := range pkts {
			require.NoError(t, p.WriteRTCP(b), tc.file)
		}
		st := p.Stats().RTCP
		assert.Equal(t, uint64(len(pkts)), st.SR, tc.file)
		assert.True(t, st.ByeReceived, "its BYE names the SSRC of its first report")
		assert.Equal(t, uint64(len(pkts)), st.RemoteSender.Reports)
	}
}

// writeRTCPErrors are the errors WriteRTCP documents.
var writeRTCPErrors = []error{ErrClosed, ErrMalformed, srtp.ErrAuth, srtp.ErrReplay}

// FuzzParticipantRTCP feeds arbitrary datagrams to the RTCP path of a
// plain and an SRTP participant (keyed as ffmpeg's captured SRTCP), through
// WriteRTCP and muxed through WriteRTP, between ticks: nothing panics;
// every refusal is a documented error; each datagram is counted exactly
// once (RTCP accepted or refused, or RTP accepted or refused); a refused
// datagram changes no RTCP state; and the conference keeps sending.
func FuzzParticipantRTCP(f *testing.F) {
	c, err := NewConference(ConferenceConfig{})
	if err != nil {
		f.Fatal(err)
	}
	k := ffmpegKeys()
	plain := newClient(f, c, clientSpec{id: "plain", format: pcmu, pt: 0, src: tone(440, 1, 0.3)})
	keyed, err := c.Join(ParticipantConfig{ID: "keyed", In: pcmu, Out: pcmu, InSRTP: &k, OutSRTP: &k,
		Sink: SinkFunc(func([]byte) error { return nil }), RTCP: RTCPConfig{MinInterval: 100 * time.Millisecond}})
	if err != nil {
		f.Fatal(err)
	}
	l := newClient(f, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
	plain.keep, l.keep = false, false
	for _, b := range ffmpegRTCP(f, "ffmpeg-sr.hex") {
		f.Add(b, byte(0))
		f.Add(b, byte(2))
	}
	for _, b := range ffmpegRTCP(f, "ffmpeg-srtcp.hex") {
		f.Add(b, byte(1))
		f.Add(b, byte(3))
	}
	f.Add([]byte{0x80, 201, 0, 1, 0, 0, 0, 1}, byte(0))
	f.Add(append([]byte(nil), plain.packet()...), byte(2))
	rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: plain.p.SSRC(), LastSenderReport: 9}}},
		&rtcp.Goodbye{Sources: []uint32{1}, Reason: "x"}})
	f.Add(rr, byte(0))
	now := time.Duration(0)
	f.Fuzz(func(t *testing.T, pkt []byte, sel byte) {
		p := plain.p
		if sel&1 != 0 {
			p = keyed
		}
		before := p.Stats()
		inBefore := p.in.rtcp.rx.Counts()
		var err error
		if sel&2 != 0 {
			err = p.WriteRTPAt(now, append([]byte(nil), pkt...))
		} else {
			err = p.WriteRTCPAt(now, append([]byte(nil), pkt...))
		}
		after := p.Stats()
		if err != nil && !slices.Contains(writeRTCPErrors, err) && !slices.Contains(writeErrors, err) {
			t.Fatalf("error %v is not documented", err)
		}
		rtcpAcc := after.RTCP.PacketsIn - before.RTCP.PacketsIn
		rtcpRef := after.RTCP.Refused.Packets - before.RTCP.Refused.Packets
		rtpAcc := after.PacketsIn - before.PacketsIn
		rtpRef := after.Refused.Packets - before.Refused.Packets
		if rtcpAcc+rtcpRef+rtpAcc+rtpRef != 1 || (err == nil) != (rtcpAcc+rtpAcc == 1) {
			t.Fatalf("error %v: RTCP accepted %d refused %d, RTP accepted %d refused %d", err, rtcpAcc, rtcpRef, rtpAcc, rtpRef)
		}
		if sel&2 == 0 && rtpAcc+rtpRef != 0 {
			t.Fatal("WriteRTCP counted RTP")
		}
		if rtcpRef == 1 && (p.in.rtcp.rx.Counts() != inBefore || after.RTCP.Remote != before.RTCP.Remote) {
			t.Fatal("refused RTCP changed the receiver")
		}
		_ = plain.p.WriteRTPAt(now, plain.packet())
		sent := l.p.Stats().PacketsOut
		c.Tick(now)
		now += 20 * time.Millisecond
		if l.p.Stats().PacketsOut != sent+1 {
			t.Fatalf("listener got %d packets in a tick", l.p.Stats().PacketsOut-sent)
		}
	})
}

// TestRTCPConcurrent: WriteRTCP from two goroutines (the RTP and the RTCP
// socket of a leg without rtcp-mux: issue 10's crash) while WriteRTP,
// the tick, Stats and SendReport run, on SRTP legs, with forged and valid
// SRTCP. Run with -race; bounded to 2,000 packets per writer.
func TestRTCPConcurrent(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 10, 0.3), srtp: true})
	b := newClient(t, c, clientSpec{id: "b", format: pcmu, pt: 0, src: tone(660, 10, 0.3), srtp: true})
	a.keep, b.keep = false, false
	// The packets, made in advance (the clients are not safe for
	// concurrent use).
	const n = 2000
	rtpPkts := make([][]byte, n)
	for i := range rtpPkts {
		rtpPkts[i] = append([]byte(nil), a.packet()...)
	}
	rtcpPkts := make([][2][]byte, n)
	for i := range rtcpPkts {
		valid := a.rtcpPacket(&rtcp.ReceiverReport{SSRC: a.ssrc, Reports: []rtcp.ReceptionReport{{SSRC: a.p.SSRC(), LastSenderReport: uint32(i)}}})
		forged := append([]byte(nil), valid...)
		forged[len(forged)-1] ^= 0x55
		rtcpPkts[i] = [2][]byte{valid, forged}
	}
	var wg sync.WaitGroup
	var now atomic.Int64
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the tick
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				if i >= 100 { // at least 2 s of ticks: reports went out
					return
				}
			default:
			}
			d := time.Duration(i) * 20 * time.Millisecond
			now.Store(int64(d))
			_ = b.p.WriteRTPAt(d, b.packet())
			c.Tick(d)
			if i%10 == 0 {
				_ = a.p.SendReport()
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	var writers sync.WaitGroup
	for g := range 2 { // the two RTCP readers
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := g; i < n; i += 2 {
				_ = a.p.WriteRTCPAt(time.Duration(now.Load()), append([]byte(nil), rtcpPkts[i][0]...))
				_ = a.p.WriteRTPAt(time.Duration(now.Load()), append([]byte(nil), rtcpPkts[i][1]...)) // muxed
			}
		}()
	}
	writers.Add(1)
	go func() { // RTP
		defer writers.Done()
		for i := range n {
			_ = a.p.WriteRTPAt(time.Duration(now.Load()), rtpPkts[i])
			if i%100 == 0 {
				_ = a.p.Stats()
			}
		}
	}()
	writers.Wait()
	close(stop)
	wg.Wait()
	st := a.p.Stats()
	assert.Equal(t, uint64(2*n), st.RTCP.PacketsIn+st.RTCP.Refused.Packets)
	assert.Equal(t, st.RTCP.Refused.SRTCPAuth+st.RTCP.Refused.SRTCPReplay, st.RTCP.Refused.Packets, "only the forged ones")
	assert.Positive(t, st.RTCP.PacketsIn)
	assert.Positive(t, st.RTCP.PacketsOut)
	assert.Equal(t, uint64(n), st.PacketsIn+st.Refused.Packets)
}

// TestParticipantSRTPSSRCBound: a keyed peer that sends each packet under
// a new SSRC (issue 10's memory growth) makes its participant's SRTP
// context keep state for participantSRTPSSRCs of them only, evicting the
// rest, and SRTCP likewise.
func TestParticipantSRTPSSRCBound(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 5, 0.3), srtp: true})
	a.keep = false
	const n = 40
	for i := range n {
		a.ssrc = 0x1000 + uint32(i)
		require.NoError(t, a.p.WriteRTPAt(0, a.packet()))
		require.NoError(t, a.p.WriteRTCPAt(0, a.rtcpPacket(&rtcp.ReceiverReport{SSRC: a.ssrc})))
	}
	st := a.p.in.unprotect.Stats()
	assert.Equal(t, uint64(2*(n-participantSRTPSSRCs)), st.SSRCEvictions, "SRTP and SRTCP each keep %d", participantSRTPSSRCs)
}

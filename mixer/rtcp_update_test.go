package mixer

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// TestRTCPUpdateSSRC: an Update that changes the outbound SSRC ends the
// old stream with a BYE (RFC 3550 §8.2), reports on the new one count
// afresh, and the participant's reports about the new SSRC are the ones
// that count.
func TestRTCPUpdateSSRC(t *testing.T) {
	c, clk := newClockedConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 20, 0.3)})
	now := runEach(c, clk, []*client{a}, 0, 4*time.Second, nil)
	oldSSRC := a.p.SSRC()
	a.rtcp = nil
	require.NoError(t, a.p.Update(func(cfg *ParticipantConfig) { cfg.SSRC = 0xabcdef }))
	now = runEach(c, clk, []*client{a}, now, 20*time.Millisecond, nil)
	reps := a.reports()
	require.Len(t, reps, 1, "the BYE of the old stream")
	require.Len(t, reps[0], 3)
	assert.Equal(t, oldSSRC, reps[0][0].(*rtcp.SenderReport).SSRC)
	assert.Equal(t, []uint32{oldSSRC}, reps[0][2].(*rtcp.Goodbye).Sources)

	a.rtcp = nil
	now = runEach(c, clk, []*client{a}, now, 7*time.Second, nil)
	reps = a.reports()
	require.NotEmpty(t, reps)
	sr := reps[0][0].(*rtcp.SenderReport)
	assert.Equal(t, uint32(0xabcdef), sr.SSRC)
	assert.Less(t, sr.PacketCount, uint32(400), "counted from the new stream's start")

	about := func(ssrc uint32) []byte {
		return a.rtcpPacket(&rtcp.ReceiverReport{SSRC: a.ssrc, Reports: []rtcp.ReceptionReport{{SSRC: ssrc, FractionLost: 64}}})
	}
	require.NoError(t, a.p.WriteRTCPAt(now, about(oldSSRC)))
	assert.Zero(t, a.p.Stats().RTCP.Remote.Reports, "a report about the old stream is not about ours")
	require.NoError(t, a.p.WriteRTCPAt(now, about(0xabcdef)))
	assert.Equal(t, uint64(1), a.p.Stats().RTCP.Remote.Reports)
}

// TestRTCPUpdateKeys: after an Update re-keys the inbound side, SRTCP under
// the old keys is still taken for the overlap (reports in flight), under
// the new keys at once, and under the old ones no more after it.
func TestRTCPUpdateKeys(t *testing.T) {
	c, clk := newClockedConference(t, ConferenceConfig{})
	a := newClient(t, c, clientSpec{id: "a", format: pcmu, pt: 0, src: tone(440, 20, 0.3), srtp: true})
	now := runEach(c, clk, []*client{a}, 0, time.Second, nil)
	rr := &rtcp.ReceiverReport{SSRC: a.ssrc}
	require.NoError(t, a.p.WriteRTCPAt(now, a.rtcpPacket(rr)))

	oldSend := a.send
	k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	require.NoError(t, a.p.Update(func(cfg *ParticipantConfig) { cfg.InSRTP = &k; cfg.UpdateOverlap = time.Second }))
	newSend, err := srtp.NewProtector(k)
	require.NoError(t, err)
	for i, prot := range []*srtp.Protector{oldSend, newSend, oldSend, newSend} {
		a.send = prot
		assert.NoError(t, a.p.WriteRTCPAt(now, a.rtcpPacket(rr)), "within the overlap, packet %d", i)
	}
	later := now + 2*time.Second
	a.send = oldSend
	assert.Equal(t, srtp.ErrAuth, a.p.WriteRTCPAt(later, a.rtcpPacket(rr)), "after the overlap")
	a.send = newSend
	assert.NoError(t, a.p.WriteRTCPAt(later, a.rtcpPacket(rr)))

	// From SRTP to plain RTP: within the overlap, SRTCP under the old keys
	// is still decrypted, and plain RTCP taken.
	clk.set(later)
	require.NoError(t, a.p.Update(func(cfg *ParticipantConfig) { cfg.InSRTP = nil }))
	assert.NoError(t, a.p.WriteRTCPAt(later, a.rtcpPacket(rr)), "SRTCP under the keys just replaced")
	a.send = nil
	assert.NoError(t, a.p.WriteRTCPAt(later, a.rtcpPacket(rr)), "plain")
}

// TestRTCPUpdateConfig: RTCP turned off and on again, its interval and its
// sink changed by Update while the conference ticks.
func TestRTCPUpdateConfig(t *testing.T) {
	c, clk := newClockedConference(t, ConferenceConfig{})
	var first, second int
	counter := func(n *int) Sink {
		return SinkFunc(func(pkt []byte) error {
			if rtcpsession.IsRTCP(pkt) {
				*n++
			}
			return nil
		})
	}
	p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: counter(&first), RTCP: RTCPConfig{MinInterval: time.Second}})
	require.NoError(t, err)
	now := runEach(c, clk, nil, 0, 5*time.Second, nil)
	assert.InDelta(t, 5, first, 2)

	require.NoError(t, p.Update(func(cfg *ParticipantConfig) { cfg.RTCP.Off = true }))
	before := first
	now = runEach(c, clk, nil, now, 5*time.Second, nil)
	assert.Equal(t, before, first, "off")

	require.NoError(t, p.Update(func(cfg *ParticipantConfig) {
		cfg.RTCP = RTCPConfig{MinInterval: 500 * time.Millisecond, Sink: counter(&second)}
	}))
	now = runEach(c, clk, nil, now, 5*time.Second, nil)
	assert.Equal(t, before, first, "the RTCP sink took them")
	assert.InDelta(t, 10, second, 4, "every ~500 ms")

	err = p.Update(func(cfg *ParticipantConfig) { cfg.RTCP.MinInterval = -1 })
	assert.ErrorIs(t, err, ErrConfig)
	_ = now
}

// TestRTCPUpdateClock: after an Update changes the outbound codec's clock
// rate (the SSRC stays), sender reports count RTP time at the new rate.
func TestRTCPUpdateClock(t *testing.T) {
	if !opus.Available() {
		t.Skip("Opus unavailable (built without cgo)")
	}
	c, clk := newClockedConference(t, ConferenceConfig{})
	var srs []*rtcp.SenderReport
	p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, RTCP: RTCPConfig{MinInterval: time.Second},
		Sink: SinkFunc(func(pkt []byte) error {
			if rtcpsession.IsRTCP(pkt) {
				pkts, err := rtcp.Unmarshal(pkt)
				require.NoError(t, err)
				srs = append(srs, pkts[0].(*rtcp.SenderReport))
			}
			return nil
		})})
	require.NoError(t, err)
	now := runEach(c, clk, nil, 0, 3*time.Second, nil)
	require.NoError(t, p.Update(func(cfg *ParticipantConfig) { cfg.Out = opus.Format }))
	srs = nil
	runEach(c, clk, nil, now, 6*time.Second, nil)
	require.GreaterOrEqual(t, len(srs), 3)
	for i := 2; i < len(srs); i++ { // from the second report after the change
		dt := rtcpsession.NTPToTime(srs[i].NTPTime).Sub(rtcpsession.NTPToTime(srs[i-1].NTPTime))
		assert.InDelta(t, float64(dt)*48000/float64(time.Second), float64(srs[i].RTPTime-srs[i-1].RTPTime), 2)
	}
}

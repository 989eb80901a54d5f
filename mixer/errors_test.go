package mixer

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

// exportedSentinels are the errors a caller of this package can branch on.
var exportedSentinels = []error{
	ErrConfig, ErrClosed, ErrDuplicateID, ErrMalformed, ErrPayloadType,
	ErrSourceFull, ErrNoParticipant,
	srtp.ErrAuth, srtp.ErrReplay,
	jitter.ErrLate, jitter.ErrDuplicate, jitter.ErrFull, jitter.ErrTooLarge,
}

// TestErrorsMatchExportedSentinels: every error path of every public call
// returns an error that matches the exported sentinel a caller would branch
// on, including the failures found by the packages the mixer builds on
// (jitter and SRTP configuration), whose own errors are unexported.
func TestErrorsMatchExportedSentinels(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	a, err := c.Join(ParticipantConfig{ID: "a", In: pcmu, Out: pcmu})
	require.NoError(t, err)
	var zeroKeys srtp.Keys
	good := ParticipantConfig{In: pcmu, Out: pcmu}
	with := func(f func(*ParticipantConfig)) ParticipantConfig { cfg := good; f(&cfg); return cfg }
	eng := NewEngine(EngineConfig{Workers: 1})
	closedConf := newTestConference(t, ConferenceConfig{})
	closedConf.Close()
	left, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu})
	require.NoError(t, err)
	left.Leave()

	call := func(_ any, err error) error { return err }
	cases := []struct {
		name string
		err  error
		want []error
	}{
		{"conference config", call(NewConference(ConferenceConfig{Ptime: time.Second})), []error{ErrConfig}},
		{"engine conference config", call(eng.NewConference(ConferenceConfig{MaxSpeakers: 99})), []error{ErrConfig}},
		{"join without formats", call(c.Join(ParticipantConfig{})), []error{ErrConfig}},
		{"join unknown format", call(c.Join(with(func(p *ParticipantConfig) { p.In = codec.Format{Name: "G729", ClockRate: 8000} }))),
			[]error{ErrConfig, codec.ErrUnknownFormat}},
		{"join payload type", call(c.Join(with(func(p *ParticipantConfig) { p.OutPayloadType = PT(200) }))), []error{ErrConfig}},
		{"join extension ID", call(c.Join(with(func(p *ParticipantConfig) { p.InAudioLevelID = 15 }))), []error{ErrConfig}},
		{"join gain", call(c.Join(with(func(p *ParticipantConfig) { p.GainOut = 99 }))), []error{ErrConfig}},
		{"join inbound SRTP keys", call(c.Join(with(func(p *ParticipantConfig) { p.InSRTP = &zeroKeys }))), []error{ErrConfig}},
		{"join outbound SRTP keys", call(c.Join(with(func(p *ParticipantConfig) { p.OutSRTP = &zeroKeys }))), []error{ErrConfig}},
		{"join jitter config", call(c.Join(with(func(p *ParticipantConfig) { p.Jitter.Capacity = 3 }))), []error{ErrConfig}},
		{"join duplicate ID", call(c.Join(with(func(p *ParticipantConfig) { p.ID = "a" }))), []error{ErrDuplicateID}},
		{"join closed conference", call(closedConf.Join(good)), []error{ErrClosed}},
		{"set gain in", a.SetGainIn(99), []error{ErrConfig}},
		{"set gain out", a.SetGainOut(-99), []error{ErrConfig}},
		{"write after leave", left.WriteRTPAt(0, rtpPkt(t, 1, 0, nil)), []error{ErrClosed}},
		{"write garbage", a.WriteRTPAt(0, []byte{1, 2, 3}), []error{ErrMalformed}},
		{"write wrong payload type", a.WriteRTPAt(0, rtpPkt(t, 1, 8, nil)), []error{ErrPayloadType}},
	}
	cases = append(cases, mediaErrorCases(t, c, closedConf)...)
	require.NoError(t, eng.Close())
	cases = append(cases, struct {
		name string
		err  error
		want []error
	}{"engine closed", call(eng.NewConference(ConferenceConfig{})), []error{ErrClosed}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.err)
			for _, w := range tc.want {
				assert.ErrorIs(t, tc.err, w)
			}
			n := 0
			for _, s := range exportedSentinels {
				if errors.Is(tc.err, s) {
					n++
				}
			}
			assert.Equal(t, 1, n, "%q matches %d of the mixer's sentinels, want exactly one", tc.err)
		})
	}
}

// TestPacketsInCountsAccepted: PacketsIn and BytesIn count what reached
// the jitter buffer; refused packets are counted apart, by reason.
func TestPacketsInCountsAccepted(t *testing.T) {
	c := newTestConference(t, ConferenceConfig{})
	p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu})
	require.NoError(t, err)
	var good, bad uint64
	for i := 0; i < 10; i++ {
		pkt := rtpPkt(t, uint16(i), 0, nil)
		good += uint64(len(pkt))
		require.NoError(t, p.WriteRTPAt(time.Duration(i)*20*time.Millisecond, pkt))
	}
	for i := 0; i < 4; i++ {
		pkt := rtpPkt(t, uint16(100+i), 8, nil)
		bad += uint64(len(pkt))
		require.Error(t, p.WriteRTPAt(0, pkt))
	}
	require.Error(t, p.WriteRTPAt(0, []byte{0x80}))
	bad++
	st := p.Stats()
	assert.Equal(t, uint64(10), st.PacketsIn)
	assert.Equal(t, good, st.BytesIn)
	assert.Equal(t, uint64(5), st.Refused.Packets)
	assert.Equal(t, bad, st.Refused.Bytes)
	assert.Equal(t, uint64(4), st.Refused.PayloadType)
	assert.Equal(t, uint64(1), st.Refused.Short)
}

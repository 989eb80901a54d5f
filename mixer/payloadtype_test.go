package mixer

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
)

// TestPayloadTypeDefaults: a participant joined without payload types
// receives and sends on its format's (0 PCMU, 8 PCMA, 111 Opus), and
// Config reports them.
func TestPayloadTypeDefaults(t *testing.T) {
	for _, f := range []codec.Format{pcmu, pcma, opf} {
		t.Run(f.Name, func(t *testing.T) {
			c := newTestConference(t, ConferenceConfig{})
			var sent []uint8
			p, err := c.Join(ParticipantConfig{In: f, Out: f,
				Sink: SinkFunc(func(pkt []byte) error { sent = append(sent, pkt[1]&0x7f); return nil })})
			require.NoError(t, err)
			enc, err := codec.NewEncoder(f.SDPName(), codec.Config{SampleRate: formatRate(f), Channels: 1})
			require.NoError(t, err)
			payload, err := enc.Encode(nil, make([]int16, enc.FrameSamples()))
			require.NoError(t, err)
			step := uint32(f.FrameSamples(20 * time.Millisecond))
			for i := 0; i < 10; i++ {
				pkt := make([]byte, 12, 12+len(payload))
				pkt[0], pkt[1] = 0x80, f.PayloadType
				binary.BigEndian.PutUint16(pkt[2:], uint16(i))
				binary.BigEndian.PutUint32(pkt[4:], uint32(i)*step)
				binary.BigEndian.PutUint32(pkt[8:], 42)
				now := time.Duration(i) * 20 * time.Millisecond
				require.NoError(t, p.WriteRTPAt(now, append(pkt, payload...)), "packet %d on payload type %d", i, f.PayloadType)
				c.Tick(now)
			}
			require.NotEmpty(t, sent)
			for _, pt := range sent {
				require.Equal(t, f.PayloadType, pt)
			}
			in, inSet := p.Config().InPayloadType.Value()
			out, outSet := p.Config().OutPayloadType.Value()
			assert.True(t, inSet && outSet)
			assert.Equal(t, f.PayloadType, in)
			assert.Equal(t, f.PayloadType, out)
		})
	}
}

// TestJoinPayloadTypes: Join refuses payload types that cannot work, with
// the numbers in the message, and accepts the ones real peers negotiate.
func TestJoinPayloadTypes(t *testing.T) {
	refused := []struct {
		name string
		cfg  ParticipantConfig
		msg  []string // in the error
	}{
		{"opus on PCMU's static type", ParticipantConfig{In: opf, InPayloadType: PT(0), Out: opf},
			[]string{"inbound", "opus/48000/2", "payload type 0", "PCMU/8000"}},
		{"PCMU out on a dynamic type nobody chose", ParticipantConfig{In: pcmu, Out: codec.Format{Name: "PCMU", ClockRate: 8000, PayloadType: 96}},
			[]string{"outbound", "payload type 96", "static 0", "OutPayloadType"}},
		{"PCMA format without its type", ParticipantConfig{In: codec.Format{Name: "PCMA", ClockRate: 8000}, Out: pcma},
			[]string{"inbound", "payload type 0", "static 8", "InPayloadType"}},
		{"PCMA on PCMU's type, chosen", ParticipantConfig{In: pcma, Out: pcma, OutPayloadType: PT(0)},
			[]string{"outbound PCMA/8000 on payload type 0", "PCMU/8000"}},
		{"two formats on one type", ParticipantConfig{In: opf, InPayloadType: PT(96), Out: pcmu, OutPayloadType: PT(96)},
			[]string{"payload type 96", "opus/48000/2 inbound", "PCMU/8000 outbound"}},
		{"comfort noise on the media's type", ParticipantConfig{In: opf, Out: opf, CNPayloadType: 111},
			[]string{"comfort noise payload type 111", "inbound 111"}},
		{"comfort noise on the outbound type", ParticipantConfig{In: pcmu, Out: opf, OutPayloadType: PT(100), CNPayloadType: 100},
			[]string{"comfort noise payload type 100", "outbound 100"}},
		{"comfort noise on PCMA's type", ParticipantConfig{In: opf, Out: opf, CNPayloadType: 8},
			[]string{"payload type 8", "PCMA/8000"}},
		{"over 127", ParticipantConfig{In: pcmu, InPayloadType: PT(200), Out: pcmu}, []string{"inbound payload type 200", "0..127"}},
		{"comfort noise over 127", ParticipantConfig{In: pcmu, Out: pcmu, CNPayloadType: 128}, []string{"payload type 128"}},
		{"RTCP's range", ParticipantConfig{In: opf, Out: opf, OutPayloadType: PT(72)}, []string{"outbound payload type 72", "RTCP"}},
		{"RTCP's range, RFC 5761", ParticipantConfig{In: opf, InPayloadType: PT(65), Out: opf}, []string{"inbound payload type 65", "RTCP"}},
		{"RTCP's range, top", ParticipantConfig{In: opf, Out: opf, OutPayloadType: PT(95)}, []string{"outbound payload type 95", "RTCP"}},
		{"opus format with no type", ParticipantConfig{In: codec.Format{Name: "opus", ClockRate: 48000, Channels: 2}, Out: opf},
			[]string{"payload type 0", "PCMU/8000"}},
	}
	c := newTestConference(t, ConferenceConfig{})
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Join(tc.cfg)
			require.ErrorIs(t, err, ErrConfig)
			for _, m := range tc.msg {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
	accepted := []struct {
		name    string
		cfg     ParticipantConfig
		in, out uint8
	}{
		{"PCMU on a negotiated dynamic type", ParticipantConfig{In: pcmu, InPayloadType: PT(96), Out: pcmu, OutPayloadType: PT(96)}, 96, 96},
		{"asymmetric: PCMU in on 96, out on the static 0", ParticipantConfig{In: pcmu, InPayloadType: PT(96), Out: pcmu}, 96, 0},
		{"opus on another dynamic type", ParticipantConfig{In: opf, InPayloadType: PT(109), Out: opf, OutPayloadType: PT(109)}, 109, 109},
		{"two codecs, each on its own", ParticipantConfig{In: pcmu, Out: opf}, 0, 111},
		{"PCMU with comfort noise on 13", ParticipantConfig{In: pcmu, Out: pcmu, CNPayloadType: 13}, 0, 0},
		{"opus with comfort noise on a dynamic type", ParticipantConfig{In: opf, Out: opf, CNPayloadType: 105}, 111, 111},
		{"lower-case name", ParticipantConfig{In: codec.Format{Name: "pcmu", ClockRate: 8000}, Out: pcmu}, 0, 0},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.Join(tc.cfg)
			require.NoError(t, err)
			in, _ := p.Config().InPayloadType.Value()
			out, _ := p.Config().OutPayloadType.Value()
			assert.Equal(t, tc.in, in)
			assert.Equal(t, tc.out, out)
			p.Leave()
		})
	}
}

func TestPayloadTypeValue(t *testing.T) {
	var unset PayloadType
	n, ok := unset.Value()
	assert.False(t, ok)
	assert.Zero(t, n)
	assert.Equal(t, "unset", unset.String())
	n, ok = PT(0).Value()
	assert.True(t, ok, "PT(0) is PCMU's type, set")
	assert.Zero(t, n)
	assert.Equal(t, "96", PT(96).String())
	assert.NotEqual(t, unset, PT(0))
}

package mixer

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// newTestInbound is a PCMU receive path (payload type 0, comfort noise 13,
// levels on extension 1), SRTP-protected when keys are given.
func newTestInbound(t *testing.T, keys *srtp.Keys, jc jitter.Config) *inbound {
	t.Helper()
	jc.ClockRate = 8000
	jb, err := jitter.New(jc)
	require.NoError(t, err)
	in := &inbound{jb: jb, media: inMedia{pt: 0, cn: 13, ts: identityMap()}, levelID: 1}
	require.NoError(t, in.rtcp.init(ParticipantConfig{Out: pcmu}, 1, rtcpsession.Clock{}))
	if keys != nil {
		in.unprotect, err = srtp.NewUnprotector(*keys)
		require.NoError(t, err)
	}
	return in
}

// rtpPkt marshals a PCMU packet of 160 bytes (or payload, when given) with
// an RFC 6464 level extension.
func rtpPkt(t *testing.T, seq uint16, pt uint8, payload []byte) []byte {
	t.Helper()
	if payload == nil {
		payload = make([]byte, 160)
	}
	h := rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0xCAFE}
	require.NoError(t, h.SetExtension(1, []byte{0x80 | 30}))
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	require.NoError(t, err)
	return b
}

// TestInboundAccepts: a good packet reaches the jitter buffer with its
// header fields, level and payload; comfort noise is accepted too.
func TestInboundAccepts(t *testing.T) {
	in := newTestInbound(t, nil, jitter.Config{})
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i)
	}
	pkt := rtpPkt(t, 7, 0, payload)
	require.NoError(t, in.write(0, pkt))
	require.NoError(t, in.write(20*time.Millisecond, rtpPkt(t, 8, 13, []byte{40})))
	assert.Equal(t, uint32(0xCAFE), in.ssrc.Load())
	n, b, r := in.stats()
	assert.Equal(t, uint64(2), n)
	assert.Equal(t, uint64(len(pkt)+len(rtpPkt(t, 8, 13, []byte{40}))), b)
	assert.Zero(t, r)

	var f jitter.Frame
	for now := 40 * time.Millisecond; f.Kind != jitter.KindPacket && now < time.Second; now += 20 * time.Millisecond {
		f = in.jb.Pop(now)
	}
	require.Equal(t, jitter.KindPacket, f.Kind)
	assert.Equal(t, uint16(7), f.SequenceNumber)
	assert.Equal(t, int8(30), f.AudioLevel)
	assert.True(t, f.Voice)
	assert.Equal(t, payload, f.Payload)
}

// TestInboundRefusals: each way a packet is refused returns its reason's
// sentinel, unwrapped, and counts under that reason alone.
func TestInboundRefusals(t *testing.T) {
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	protect := func(t *testing.T, pkt []byte) []byte {
		pr, err := srtp.NewProtector(keys)
		require.NoError(t, err)
		out, err := pr.ProtectRTP(nil, pkt)
		require.NoError(t, err)
		return out
	}
	badExt := func(t *testing.T) []byte { // one-byte element 1 claims 16 bytes of a 4-byte block
		b := rtpPkt(t, 1, 0, nil)
		b[16] = 0x1F
		return b
	}
	cases := []struct {
		name string
		srtp bool
		jc   jitter.Config
		// before is fed first (and must be accepted); then pkt is refused.
		before func(t *testing.T, in *inbound) []byte
		pkt    func(t *testing.T) []byte
		want   refusal
	}{
		{name: "short", pkt: func(t *testing.T) []byte { return []byte{0x80, 0, 0, 1, 0, 0} }, want: refShort},
		{name: "CSRCs past the end", pkt: func(t *testing.T) []byte { b := rtpPkt(t, 1, 0, nil)[:12]; b[0] |= 3; return b }, want: refShort},
		{name: "extension element past its block", pkt: badExt, want: refShort},
		{name: "version 1", pkt: func(t *testing.T) []byte { b := rtpPkt(t, 1, 0, nil); b[0] = 0x50; return b }, want: refVersion},
		{name: "STUN", pkt: func(t *testing.T) []byte {
			return append([]byte{0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42}, make([]byte, 12)...)
		}, want: refVersion},
		{name: "padding zero", pkt: func(t *testing.T) []byte { b := rtpPkt(t, 1, 0, nil); b[0] |= 0x20; b[len(b)-1] = 0; return b }, want: refPadding},
		{name: "padding too long", pkt: func(t *testing.T) []byte { b := rtpPkt(t, 1, 0, nil); b[0] |= 0x20; b[len(b)-1] = 255; return b }, want: refPadding},
		{name: "payload type", pkt: func(t *testing.T) []byte { return rtpPkt(t, 1, 8, nil) }, want: refPayloadType},
		{name: "RTCP on the RTP port", pkt: func(t *testing.T) []byte { return []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0} }, want: refPayloadType},
		{name: "srtp forged", srtp: true, pkt: func(t *testing.T) []byte {
			b := protect(t, rtpPkt(t, 1, 0, nil))
			b[len(b)-1] ^= 1
			return b
		}, want: refSRTPAuth},
		{name: "srtp plain RTP", srtp: true, pkt: func(t *testing.T) []byte { return rtpPkt(t, 1, 0, nil) }, want: refSRTPAuth},
		{name: "srtp too short for the tag", srtp: true, pkt: func(t *testing.T) []byte { return rtpPkt(t, 1, 0, nil)[:20] }, want: refShort},
		{name: "srtp malformed header", srtp: true, pkt: func(t *testing.T) []byte { return badExt(t) }, want: refSRTPMalformed},
		{name: "srtp replay", srtp: true,
			before: func(t *testing.T, in *inbound) []byte { return protect(t, rtpPkt(t, 1, 0, nil)) },
			pkt:    func(t *testing.T) []byte { return protect(t, rtpPkt(t, 1, 0, nil)) }, want: refSRTPReplay},
		{name: "duplicate",
			before: func(t *testing.T, in *inbound) []byte { return rtpPkt(t, 1, 0, nil) },
			pkt:    func(t *testing.T) []byte { return rtpPkt(t, 1, 0, nil) }, want: refDuplicate},
		{name: "late",
			before: func(t *testing.T, in *inbound) []byte {
				for s := uint16(1); s < 10; s++ { // playout passes 3, which never came
					now := time.Duration(s) * 20 * time.Millisecond
					if s != 3 {
						require.NoError(t, in.write(now, rtpPkt(t, s, 0, nil)))
					}
					in.jb.Pop(now)
				}
				return rtpPkt(t, 10, 0, nil)
			},
			pkt: func(t *testing.T) []byte { return rtpPkt(t, 3, 0, nil) }, want: refLate},
		{name: "full", jc: jitter.Config{Capacity: 8},
			before: func(t *testing.T, in *inbound) []byte { // nothing popped: the ring fills
				for s := uint16(1); s < 4; s++ {
					require.NoError(t, in.write(time.Duration(s)*20*time.Millisecond, rtpPkt(t, s, 0, nil)))
				}
				return rtpPkt(t, 4, 0, nil)
			},
			pkt: func(t *testing.T) []byte { return rtpPkt(t, 5, 0, nil) }, want: refFull},
		{name: "telephone-event not whole reports",
			before: func(t *testing.T, in *inbound) []byte {
				in.tePT, in.ev = 101, new(eventIn)
				return rtpPkt(t, 1, 0, nil)
			},
			pkt: func(t *testing.T) []byte { return rtpPkt(t, 2, 101, []byte{1, 0, 0}) }, want: refEvent},
		{name: "too large", jc: jitter.Config{MaxPayload: 100},
			pkt: func(t *testing.T) []byte { return rtpPkt(t, 1, 0, nil) }, want: refTooLarge},
	}
	seen := map[refusal]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var k *srtp.Keys
			if tc.srtp {
				k = &keys
			}
			in := newTestInbound(t, k, tc.jc)
			accepted := uint64(0)
			if tc.before != nil {
				require.NoError(t, in.write(time.Second, tc.before(t, in)))
				accepted, _, _ = in.stats()
			}
			pkt := tc.pkt(t)
			err := in.write(time.Second, pkt)
			require.Error(t, err)
			assert.True(t, err == refusalErr[tc.want], "got %v, want %v unwrapped", err, refusalErr[tc.want])
			n, _, r := in.stats()
			assert.Equal(t, accepted, n, "a refused packet is not counted as accepted")
			assert.Equal(t, uint64(1), r.Packets)
			assert.Equal(t, uint64(len(pkt)), r.Bytes)
			for i := range in.refused {
				want := uint64(0)
				if refusal(i) == tc.want {
					want = 1
				}
				assert.Equal(t, want, in.refused[i].Load(), "counter %d", i)
			}
			seen[tc.want] = true
		})
	}
	for r := refusal(1); r < numRefusals; r++ {
		assert.True(t, seen[r], "refusal %d has no test case", r)
	}
}

// TestRefusalTable: every refusal maps to an exported sentinel and to its
// own field of RefusedStats, and RefusedStats has no field without one, so
// a reason added later cannot be left uncounted or unreported.
func TestRefusalTable(t *testing.T) {
	exported := []error{ErrMalformed, ErrPayloadType, srtp.ErrAuth, srtp.ErrReplay,
		jitter.ErrLate, jitter.ErrDuplicate, jitter.ErrFull, jitter.ErrTooLarge}
	for r := refusal(1); r < numRefusals; r++ {
		err := refusalErr[r]
		require.NotNil(t, err, "refusal %d has no error", r)
		found := false
		for _, e := range exported {
			found = found || err == e
		}
		assert.True(t, found, "refusal %d returns %v, not an exported sentinel", r, err)
	}
	rt := reflect.TypeOf(RefusedStats{})
	assert.Equal(t, int(numRefusals)-1+2, rt.NumField(), "RefusedStats: Packets, Bytes and one field per reason")
	fields := map[string]refusal{}
	for r := refusal(1); r < numRefusals; r++ {
		var in inbound
		in.refused[r].Store(uint64(r) * 10)
		_, _, st := in.stats()
		assert.Equal(t, uint64(r)*10, st.Packets)
		v := reflect.ValueOf(st)
		n := 0
		for i := 0; i < v.NumField(); i++ {
			name := rt.Field(i).Name
			if name == "Packets" || name == "Bytes" || v.Field(i).Uint() == 0 {
				continue
			}
			n++
			assert.Equal(t, uint64(r)*10, v.Field(i).Uint(), name)
			if prev, dup := fields[name]; dup {
				t.Errorf("refusals %d and %d both land in %s", prev, r, name)
			}
			fields[name] = r
		}
		assert.Equal(t, 1, n, "refusal %d lands in %d fields", r, n)
	}
}

// TestInboundSentinelsMatch: the sentinels callers check with errors.Is
// are the ones documented on WriteRTP.
func TestInboundSentinelsMatch(t *testing.T) {
	in := newTestInbound(t, nil, jitter.Config{})
	assert.True(t, errors.Is(in.write(0, []byte{1, 2, 3}), ErrMalformed))
	assert.True(t, errors.Is(in.write(0, rtpPkt(t, 1, 96, nil)), ErrPayloadType))
}

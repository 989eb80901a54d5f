package negotiate

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

// cryptoLine is an a=crypto attribute line with a fresh key of p.
func cryptoLine(t *testing.T, tag int, p srtp.Profile) (string, srtp.Keys) {
	t.Helper()
	k, err := srtp.GenerateKeys(p)
	require.NoError(t, err)
	return "a=crypto:" + srtp.Crypto{Tag: tag, Keys: k}.String(), k
}

// TestApply: Apply writes what the leg agreed and leaves everything else
// in the configuration alone; moving off Opus clears the Opus options.
func TestApply(t *testing.T) {
	sink := mixer.SinkFunc(func([]byte) error { return nil })
	pc := mixer.ParticipantConfig{ID: "alice", Sink: sink, SSRC: 1234, GainIn: -3, GainOut: 2, Muted: true,
		Encoder:       codec.Config{Complexity: 3, PacketLossPercent: 7, Application: codec.AppAudio},
		Jitter:        jitterOverride,
		UpdateOverlap: time.Second, ListenOnly: true}
	opusLeg := &Leg{Codec: opus.Format, RemoteFmtp: "useinbandfec=1;maxaveragebitrate=20000", Direction: SendRecv, AudioLevelID: 3}
	opusLeg.Apply(&pc)
	assert.Equal(t, "alice", pc.ID)
	assert.NotNil(t, pc.Sink)
	assert.Equal(t, uint32(1234), pc.SSRC)
	assert.Equal(t, -3.0, pc.GainIn)
	assert.Equal(t, 2.0, pc.GainOut)
	assert.True(t, pc.Muted)
	assert.Equal(t, jitterOverride, pc.Jitter)
	assert.Equal(t, time.Second, pc.UpdateOverlap)
	assert.Equal(t, codec.Config{Complexity: 3, PacketLossPercent: 7, Application: codec.AppAudio, FEC: true, Bitrate: 20000},
		pc.Encoder)
	assert.Equal(t, opus.Format, pc.In)
	assert.Equal(t, mixer.PT(111), pc.OutPayloadType)
	assert.Equal(t, SendRecv, pc.Direction)
	assert.False(t, pc.ListenOnly, "the agreed direction replaces the older flag")
	assert.Equal(t, uint8(3), pc.OutAudioLevelID)

	pcmuLeg := &Leg{Codec: g711.PCMU, Direction: RecvOnly}
	pcmuLeg.Apply(&pc)
	assert.Equal(t, codec.Config{Complexity: 3, PacketLossPercent: 7, Application: codec.AppAudio}, pc.Encoder)
	assert.Equal(t, RecvOnly, pc.Direction)
	assert.Zero(t, pc.OutAudioLevelID)
}

var jitterOverride = jitter.Config{MaxDelay: 300 * time.Millisecond}

// TestReanswer: re-offers in one dialog. A hold that reorders the codecs
// keeps the codec; this end's key is kept while the suite is, whatever the
// peer does with its own; a new suite gets a new key; a re-offer without
// the codec in use moves to another.
func TestReanswer(t *testing.T) {
	p := bridgePolicy()
	line1, k1 := cryptoLine(t, 1, srtp.ProfileAESCM128HMACSHA1_80)
	first, err := Answer(sdpOffer("RTP/SAVP", "8 0", line1, "a=sendrecv"), p)
	require.NoError(t, err)
	require.Equal(t, "PCMA", first.Codec.Name)

	_, err = Reanswer(sdpOffer("RTP/SAVP", "8 0", line1), p, nil)
	assert.ErrorIs(t, err, ErrPolicy)

	hold, err := Reanswer(sdpOffer("RTP/SAVP", "0 8", line1, "a=sendonly"), p, first)
	require.NoError(t, err)
	assert.Equal(t, "PCMA", hold.Codec.Name, "a hold keeps the codec")
	assert.Equal(t, RecvOnly, hold.Direction)
	assert.True(t, hold.SRTP.Local.Keys.Equal(first.SRTP.Local.Keys), "this end's key kept")
	assert.True(t, hold.SRTP.Remote.Keys.Equal(k1))

	line2, k2 := cryptoLine(t, 2, srtp.ProfileAESCM128HMACSHA1_80)
	rekey, err := Reanswer(sdpOffer("RTP/SAVP", "8 0", line2), p, hold)
	require.NoError(t, err)
	assert.True(t, rekey.SRTP.Remote.Keys.Equal(k2), "the peer's new key")
	assert.True(t, rekey.SRTP.Local.Keys.Equal(first.SRTP.Local.Keys))
	assert.Equal(t, 2, rekey.SRTP.Tag, "the re-offer's tag is answered")
	ans, err := rekey.MarshalAnswer(Local{Addr: localAddr.Addr, RTPPort: 30000, SessionID: 42, SessionVersion: 2})
	require.NoError(t, err)
	assert.Contains(t, string(ans), "o=- 42 2 IN IP4")
	assert.Contains(t, string(ans), "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:")

	line3, _ := cryptoLine(t, 1, srtp.ProfileAEADAES128GCM)
	gcm, err := Reanswer(sdpOffer("RTP/SAVP", "8 0", line3), p, rekey)
	require.NoError(t, err)
	assert.Equal(t, srtp.ProfileAEADAES128GCM, gcm.SRTP.Local.Keys.Profile)
	assert.False(t, gcm.SRTP.Local.Keys.Equal(first.SRTP.Local.Keys), "a new suite needs a new key")

	moved, err := Reanswer(sdpOffer("RTP/SAVP", "0", line3), p, gcm)
	require.NoError(t, err)
	assert.Equal(t, "PCMU", moved.Codec.Name)
}

// TestReanswerUpdatesParticipant: a re-INVITE's leg applied with Update
// changes what the exchange changed and nothing else: the outbound stream
// keeps its SSRC and keys, the inbound keys follow the peer's.
func TestReanswerUpdatesParticipant(t *testing.T) {
	conf, err := mixer.NewConference(mixer.ConferenceConfig{})
	require.NoError(t, err)
	p := bridgePolicy()
	line1, _ := cryptoLine(t, 1, srtp.ProfileAESCM128HMACSHA1_80)
	first, err := Answer(sdpOffer("RTP/SAVP", "0 111", line1, "a=rtpmap:111 opus/48000/2"), p)
	require.NoError(t, err)
	pc := first.ParticipantConfig("phone")
	pc.GainIn = -6
	part, err := conf.Join(pc)
	require.NoError(t, err)
	ssrc := part.SSRC()

	line2, k2 := cryptoLine(t, 7, srtp.ProfileAESCM128HMACSHA1_80)
	held, err := Reanswer(sdpOffer("RTP/SAVP", "111 0", line2, "a=rtpmap:111 opus/48000/2", "a=sendonly"), p, first)
	require.NoError(t, err)
	require.NoError(t, part.Update(held.Apply))
	got := part.Config()
	assert.Equal(t, mixer.RecvOnly, got.Direction)
	assert.Equal(t, "PCMU", got.Out.Name)
	assert.Equal(t, ssrc, got.SSRC)
	assert.Equal(t, -6.0, got.GainIn)
	assert.True(t, got.InSRTP.Equal(k2))
	assert.True(t, got.OutSRTP.Equal(first.SRTP.Local.Keys), "not re-keyed")
	conf.Tick(0)
	assert.Equal(t, mixer.RecvOnly, part.Stats().Direction)
}

// ExampleReanswer: a phone in a conference puts the call on hold with a
// re-INVITE; the server answers it in the same dialog and applies it to
// the participant in place.
func ExampleReanswer() {
	policy := Policy{Codecs: []codec.Format{g711.PCMU, g711.PCMA}}
	invite := "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 8 0\r\na=sendrecv\r\n"
	leg, err := Answer([]byte(invite), policy)
	if err != nil {
		panic(err)
	}
	conf, err := mixer.NewConference(mixer.ConferenceConfig{})
	if err != nil {
		panic(err)
	}
	p, err := conf.Join(leg.ParticipantConfig("phone"))
	if err != nil {
		panic(err)
	}

	reinvite := "v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0 8\r\na=sendonly\r\n"
	held, err := Reanswer([]byte(reinvite), policy, leg)
	if err != nil {
		panic(err) // 488, and the call goes on as it was
	}
	if err := p.Update(held.Apply); err != nil {
		panic(err)
	}
	cfg := p.Config()
	fmt.Println(cfg.Out, cfg.Direction, p.SSRC() == cfg.SSRC)
	// Output: PCMA/8000 recvonly true
}

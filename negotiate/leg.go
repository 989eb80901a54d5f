package negotiate

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

// Leg is what an offer/answer exchange agreed for one audio stream, from
// this end's point of view. Answer and Offer.Accept return one and do not
// change it afterwards: it is safe to read from any goroutine.
type Leg struct {
	// Codec is the chosen codec with the negotiated payload type (used in
	// both directions) and this end's fmtp parameters. Codec.ClockRate is
	// the RTP clock: 8000 for G722/8000 although G.722 audio is 16 kHz
	// (RFC 3551 §4.5.2), 48000 for Opus whatever rate it is decoded at.
	Codec codec.Format
	// RemoteFmtp holds the peer's a=fmtp parameters for the codec, such as
	// Opus's useinbandfec or maxaveragebitrate ("" when none).
	RemoteFmtp string
	// Proto is the m-line transport: "RTP/AVP", "RTP/AVPF", "RTP/SAVP" or
	// "RTP/SAVPF".
	Proto string

	// RemoteRTP and RemoteRTCP are where to send RTP and RTCP. With
	// RTCPMux both are the same. An unspecified address (c=0.0.0.0, as in
	// comedia or an RFC 2543 hold) means: send to the source of the packets
	// that arrive, once some have.
	RemoteRTP, RemoteRTCP netip.AddrPort
	// RTCPMux is true when RTCP shares the RTP port (RFC 5761) both ways.
	RTCPMux bool

	// SRTP holds the SDES keys of both directions; nil for plain RTP.
	SRTP *SDES

	// Direction is what this end does: SendRecv, SendOnly (the peer only
	// listens, or this end's policy only sends), RecvOnly, or Inactive.
	Direction Direction

	// Ptime is the a=ptime this end wrote (Policy.Ptime, 0 when none);
	// RemotePtime and RemoteMaxPtime are the peer's a=ptime and
	// a=maxptime, the packet durations it wants to receive (0 when absent).
	Ptime, RemotePtime, RemoteMaxPtime time.Duration

	// AudioLevelID is the RFC 6464 header extension ID both sides use, 1..14,
	// or 0 when the extension was not agreed.
	AudioLevelID uint8
	// TelephoneEventPayloadType and TelephoneEventClockRate describe the
	// RFC 4733 telephone-event format agreed (0 when none). The clock rate
	// is the codec's when the peer offered that one, which RFC 4733 §2.1
	// asks for.
	TelephoneEventPayloadType uint8
	TelephoneEventClockRate   int
	// CNPayloadType is the RFC 3389 comfort noise payload type agreed, 0
	// when none.
	CNPayloadType uint8

	// answer holds what MarshalAnswer needs from the offer; nil on a Leg
	// from Offer.Accept.
	answer *answerState
}

// SDES holds the keys of an SRTP leg keyed with RFC 4568 a=crypto lines.
type SDES struct {
	// Tag is the tag of the accepted a=crypto line, which the answer
	// echoes.
	Tag int
	// Suite is the crypto-suite exactly as the offer spelled it, which the
	// answer repeats: package srtp reads both the SDES names
	// ("AES_CM_128_HMAC_SHA1_32") and the DTLS-SRTP ones
	// ("SRTP_AES128_CM_HMAC_SHA1_32"), and some peers behave differently
	// by spelling (ffmpeg puts a 32-bit tag on SRTCP too under the first
	// name, and the RFC 3711 80-bit one under the second).
	Suite string
	// Remote holds the peer's keys: they unprotect what it sends. Local
	// holds this end's: they protect what it sends.
	Remote, Local srtp.Crypto
}

// line returns c as an a=crypto value with the negotiated suite spelling.
func (s *SDES) line(c srtp.Crypto) string {
	v := c.String()
	tag, rest, _ := strings.Cut(v, " ")
	_, keys, _ := strings.Cut(rest, " ")
	return tag + " " + s.Suite + " " + keys
}

// answerState is what MarshalAnswer needs from the offer besides the Leg:
// the offer's m-lines (an answer has as many, RFC 3264 §6), which one was
// accepted, and the attributes it echoes.
type answerState struct {
	offered     []sdp.MediaName
	index       int
	mid         string
	levelParams string
	policy      Policy
}

// ParticipantConfig returns the mixer participant for this leg: a
// configuration with ID id and what Apply writes. The caller sets Sink,
// and any option it wants otherwise.
func (l *Leg) ParticipantConfig(id string) mixer.ParticipantConfig {
	pc := mixer.ParticipantConfig{ID: id}
	l.Apply(&pc)
	return pc
}

// Apply writes what the leg agreed into pc and leaves every other field
// (ID, Sink, SSRC, gains, mute, jitter settings, the encoder's complexity
// and expected loss) as it is: In and Out are the codec on its payload
// type, the SRTP keys go in the directions they protect (none for plain
// RTP), the RFC 6464 ID both ways, the comfort noise payload type, and the
// Direction this end agreed (ListenOnly follows it). For Opus the encoder
// follows the peer's fmtp: useinbandfec=1 turns on FEC (libopus also needs
// Encoder.PacketLossPercent > 0 to spend bits on it), usedtx=1 DTX,
// maxaveragebitrate caps the bitrate and maxplaybackrate the bandwidth;
// for other codecs those options are cleared. An agreed telephone-event
// format goes both ways (InTelephoneEvent and OutTelephoneEvent, its
// clock when it is not the codec's; none when not agreed), and the
// peer's a=ptime, when the mixer can packetize it for the codec, becomes
// the participant's Ptime (0, the conference's, otherwise).
//
// Its signature fits mixer.Participant.Update, so a re-offer is applied to
// a participant in one call, which changes only what the exchange changed:
//
//	leg, err := negotiate.Reanswer(offer, policy, prev)
//	...
//	err = p.Update(leg.Apply)
func (l *Leg) Apply(pc *mixer.ParticipantConfig) {
	pc.In, pc.InPayloadType = l.Codec, mixer.PT(l.Codec.PayloadType)
	pc.Out, pc.OutPayloadType = l.Codec, mixer.PT(l.Codec.PayloadType)
	pc.CNPayloadType = l.CNPayloadType
	pc.InAudioLevelID, pc.OutAudioLevelID = l.AudioLevelID, l.AudioLevelID
	pc.Direction, pc.ListenOnly = l.Direction, !l.Direction.Recv()
	pc.InSRTP, pc.OutSRTP = nil, nil
	if l.SRTP != nil {
		in, out := l.SRTP.Remote.Keys, l.SRTP.Local.Keys
		pc.InSRTP, pc.OutSRTP = &in, &out
	}
	te := mixer.TelephoneEvent{PayloadType: l.TelephoneEventPayloadType}
	if l.TelephoneEventPayloadType != 0 && l.TelephoneEventClockRate != l.Codec.ClockRate {
		te.ClockRate = l.TelephoneEventClockRate
	}
	pc.InTelephoneEvent, pc.OutTelephoneEvent = te, te
	pc.Ptime = sendPtime(l.Codec, l.RemotePtime)
	e := &pc.Encoder
	e.FEC, e.DTX, e.Bitrate, e.MaxBandwidth = false, false, 0, 0
	if strings.EqualFold(l.Codec.Name, "opus") {
		o := opusEncoderConfig(l.RemoteFmtp)
		e.FEC, e.DTX, e.Bitrate, e.MaxBandwidth = o.FEC, o.DTX, o.Bitrate, o.MaxBandwidth
	}
}

// sendPtime is the packet time to send a peer that asked for p (its
// a=ptime): p when the mixer packetizes it for codec f, else 0 (the
// conference's).
func sendPtime(f codec.Format, p time.Duration) time.Duration {
	switch p {
	case 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond:
		return p
	case 30 * time.Millisecond:
		if !strings.EqualFold(f.Name, "opus") { // Opus has no 30 ms frame
			return p
		}
	}
	return 0
}

// opusEncoderConfig reads the receiver's RFC 7587 §6.1 parameters.
func opusEncoderConfig(fmtp string) codec.Config {
	var c codec.Config
	p := fmtpParams(fmtp)
	c.FEC = p["useinbandfec"] == "1"
	c.DTX = p["usedtx"] == "1"
	if v, err := strconv.Atoi(p["maxaveragebitrate"]); err == nil && v >= 6000 && v <= 510000 {
		c.Bitrate = v
	}
	if v, err := strconv.Atoi(p["maxplaybackrate"]); err == nil && v > 0 {
		switch {
		case v <= 8000:
			c.MaxBandwidth = codec.BandwidthNarrow
		case v <= 12000:
			c.MaxBandwidth = codec.BandwidthMedium
		case v <= 16000:
			c.MaxBandwidth = codec.BandwidthWide
		case v <= 24000:
			c.MaxBandwidth = codec.BandwidthSuperWide
		}
	}
	return c
}

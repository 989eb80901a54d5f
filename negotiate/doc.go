// Package negotiate is SDP offer/answer (RFC 3264) for one audio stream, as
// a SIP server, a PBX or the rtpmix example bridge needs it: codec and
// payload type, SDES crypto (RFC 4568), rtcp-mux (RFC 5761), ptime,
// direction, the RFC 6464 audio level extension, telephone-event (RFC 4733)
// and comfort noise (RFC 3389). It reads and writes SDP with
// github.com/pion/sdp/v3 and turns the result into a mixer participant.
//
// # Answering
//
// A Policy says what this end supports: codecs in order of preference,
// SRTP allowed, required or refused (and which suites), rtcp-mux, ptime,
// levels, telephone-event, comfort noise, direction. Answer reads an offer
// and returns a Leg, what was agreed; nothing is bound yet, so a server can
// refuse early and open one socket or two depending on Leg.RTCPMux. Then
// Leg.MarshalAnswer writes the answer with the local address and ports:
//
//	leg, err := negotiate.Answer(offer, policy)
//	switch {
//	case errors.Is(err, negotiate.ErrMalformed):     // 400 Bad Request
//	case errors.Is(err, negotiate.ErrDTLS):          // a browser: hand the offer to pion/webrtc
//	case errors.Is(err, negotiate.ErrNotAcceptable): // 488 Not Acceptable Here
//	}
//	// bind sockets for leg.RemoteRTP's family; one when leg.RTCPMux
//	answer, err := leg.MarshalAnswer(negotiate.Local{Addr: ip, RTPPort: rtpPort, RTCPPort: rtcpPort})
//	pc := leg.ParticipantConfig(id) // codec, payload type, keys, levels, direction
//	pc.Sink = sink
//	p, err := conf.Join(pc)
//
// What an answer does, by RFC:
//   - The first audio m-line with a non-zero port that the policy accepts
//     is answered; every other m-line is rejected with port 0, so the
//     answer has as many m-lines as the offer (RFC 3264 §6). An offer of the
//     same audio as RTP/AVP and as RTP/SAVP (best-effort SRTP, as BroadWorks
//     sends) is thereby answered on the first the policy accepts: RTP/SAVP
//     when it requires SRTP, RTP/AVP otherwise.
//   - The codec is the first of the offer's that the policy lists
//     (Policy.PreferLocalOrder: the first of the policy's that the offer
//     lists), on the offer's payload type, in both directions. Names compare
//     case-insensitively; payload types 0-18 need no a=rtpmap (RFC 3551).
//   - SDES: the first a=crypto line whose suite is allowed is accepted, its
//     tag echoed and its suite repeated with the offer's spelling, so that
//     SRTP_AES128_CM_HMAC_SHA1_32 is answered as SRTP_AES128_CM_HMAC_SHA1_32
//     and not as AES_CM_128_HMAC_SHA1_32 (a peer may treat them differently:
//     ffmpeg does). Every spelling package srtp reads is understood: the RFC
//     4568 and RFC 7714 names and the DTLS-SRTP ones. This end's key is new.
//     An a=crypto line on plain RTP/AVP (which ffmpeg's -sdp_file writes) is
//     refused with that reason, never ignored: answering plain RTP would
//     leave the offerer expecting SRTP.
//   - Direction: what the policy wants, narrowed by the offer's reversed
//     (an offer that is sendonly is answered recvonly).
//   - a=rtcp (RFC 3605), c=0.0.0.0 (the address is then unspecified: latch
//     onto the packets' source), IPv6, a session-level direction or extmap,
//     LF line ends and a missing final line break are all understood.
//
// # Re-offers
//
// A re-INVITE (hold, resume, a codec change, new keys, a new address) is
// answered with Reanswer, which negotiates as Answer does but keeps the
// codec in use when it is still offered and this end's SDES key while the
// suite is the same. Leg.Apply writes a Leg into a mixer configuration and
// fits mixer.Participant.Update, which changes the participant in place
// (its SSRC, talk state and jitter buffer carry on):
//
//	leg, err := negotiate.Reanswer(reoffer, policy, prev)
//	if err != nil { /* 488: the call goes on as it was */ }
//	err = p.Update(leg.Apply)
//	answer, err := leg.MarshalAnswer(local) // same SessionID, SessionVersion+1
//
// Direction is the mixer's type, so a Leg's goes into the participant as
// it is: a phone that puts the call on hold (a=sendonly) gets a recvonly
// answer and a RecvOnly participant, sent nothing and still heard.
//
// # Offering
//
// NewOffer builds an offer from the same Policy (all its codecs, one
// a=crypto line per suite with a key each when SRTP is required) and
// Offer.Accept reads the answer into the same Leg.
//
// # Errors
//
// Every error wraps ErrMalformed (the SDP cannot be read), ErrNotAcceptable
// (nothing in it the policy accepts; the text says why) or ErrPolicy (the
// Policy or Local cannot work). ErrDTLS comes with ErrNotAcceptable for a
// WebRTC offer.
//
// # Cost and concurrency
//
// Negotiation runs once per call setup, not per packet. Answering a desk
// phone's offer and writing the answer took 8-12 µs and 59 allocations, a
// browser's with ten codecs, SDES and a video line 21-36 µs and 110
// allocations, on a 2-core machine shared with other jobs (BenchmarkAnswer).
// A Policy may be shared by goroutines that do not modify it; a Leg and an
// Offer are not changed after they are returned and may be read from any
// goroutine.
package negotiate

// Package srtp protects and unprotects RTP and RTCP (SRTP and SRTCP, RFC
// 3711) for a media server that carries thousands of streams: in place,
// without allocating per packet, on top of github.com/pion/srtp/v3.
//
// Profiles: AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32 (RFC 3711) and
// AEAD_AES_128_GCM, AEAD_AES_256_GCM (RFC 7714).
//
// Keys come from SDES (ParseSDES parses an a=crypto attribute and
// Crypto.String produces one, RFC 4568), from GenerateKeys for an offer,
// or from DTLS-SRTP exported keying material (KeysFromDTLS, RFC 5764).
//
// One Protector per outbound leg and one Unprotector per inbound leg serve
// any number of SSRCs each. The Unprotector keeps a replay window per SSRC
// (DefaultReplayWindow packets unless the ReplayWindow option says
// otherwise) for SRTP and SRTCP alike, follows rollover of the 16-bit
// sequence number into the rollover counter, and returns ErrAuth,
// ErrReplay and ErrShortPacket as distinct values so that callers can count
// them; Stats reports the same counts from any goroutine.
//
// Typical inbound use, in place, with the header parsed once:
//
//	var hdr rtp.Header
//	pt, err := u.UnprotectRTP(buf[:0], buf[:n], &hdr)
//	if err != nil { /* drop; counted in u.Stats() */ }
//	payload, err := srtp.Payload(pt)
//
// Outbound, with cap(buf) >= len(pkt)+p.RTPOverhead():
//
//	out, err := p.ProtectRTP(pkt[:0], pkt)
package srtp

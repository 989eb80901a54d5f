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
// # Concurrency
//
// Protector and Unprotector are safe for concurrent use by any number of
// goroutines: every method that touches the cryptographic context
// (ProtectRTP, ProtectRTCP, UnprotectRTP, UnprotectRTCP, AddKey, SetROC,
// ROC) takes an internal mutex, so calls on one value run one at a time;
// Stats, Profile and the overhead methods take no lock. A leg without
// rtcp-mux whose RTP and RTCP readers both hand SRTCP to one Unprotector
// needs nothing more. Uncontended, the lock costs up to 10 ns per packet
// (BenchmarkLockOverhead), against the 150 to 400 ns the cipher takes for
// a 20 ms audio packet. The buffers passed in
// (dst, pkt, hdr) belong to the call: concurrent calls must not share
// them. Keys, Crypto and Profile are values, safe to read from anywhere.
//
// # Per-SSRC state
//
// An Unprotector creates state for an SSRC (rollover counter, replay
// windows) only when a packet under it authenticates, so forged packets
// cost no memory whatever SSRCs they name. It keeps that state for at most
// MaxSSRCs SSRCs in each of SRTP and SRTCP (DefaultMaxSSRCs, 64), evicting
// the one that least recently authenticated a packet when a new one
// arrives beyond the bound, and counts evictions in Stats.SSRCEvictions.
// This bounds what a peer holding the keys can make a leg hold by sending
// each packet under a new SSRC: about 35 KiB at the default, where it
// grew by some 150 bytes per SSRC without limit before. pion/srtp, which
// does the cryptography, cannot forget an SSRC, so the Unprotector builds
// a new pion context once half the bound's worth of evicted state has
// accumulated, handing it the kept SSRCs' states (exact packet index,
// replay windows) and every key added with AddKey. That rebuild allocates
// (a context of a few KiB and pion's state for each kept SSRC, about
// 600 B and 7 allocations per new SSRC, amortised, at the default bound)
// and costs tens of microseconds; it happens only while an authenticated
// peer cycles SSRCs. Packets of SSRCs that hold state allocate nothing.
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

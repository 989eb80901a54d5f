// Package srtp protects and unprotects RTP and RTCP (SRTP and SRTCP, RFC
// 3711) for a media server that carries thousands of streams: in place,
// without allocating per packet, on one of two backends.
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
// # Backends
//
// The default backend, Compact, is this package's own SRTP on the standard
// library's crypto/aes, crypto/cipher (GCM) and crypto/sha1, with no cipher
// or hash of its own. The other, Pion, is github.com/pion/srtp/v3, chosen
// with UseBackend(Pion). They produce byte-identical packets from the same
// keys and input, take and refuse the same packets with the same errors,
// estimate the same rollover counters and count the same: FuzzBackends
// and TestBackendsAgreeLong hold them to each other, and every other test
// runs on both. They differ in cost, and in one behaviour at the SSRC
// bound (see Per-SSRC state).
//
// # Cost
//
// What a packet costs is the cipher plus the cache lines of its context
// that have to be fetched: in a room of a thousand participants a
// context's state was last touched a thousand packets ago and is no longer
// in the core's caches. The compact backend keeps everything a packet of
// a context's first SSRC needs in the first two cache lines of a
// Protector (the lock, that SSRC's rollover state, the SRTP session keys,
// the two counters the packet increments) and the first three of an
// Unprotector (the same and the SSRC's replay window), both allocated on
// line boundaries; beyond them a packet reads the standard library's AES
// key schedule (3 lines of a 488-byte object) or GCM state (8 lines of a
// 760-byte one), and, for AES-CM, a scratch area from a sync.Pool that
// stays in cache. pion keeps the same in a dozen objects linked by
// pointers and maps. Measured on a shared 2-core AMD EPYC
// (BenchmarkBackends, BenchmarkColdHot: a 12-byte header and a 100-byte
// payload, the two backends interleaved), protecting costs about 260 ns
// with AES_CM_128_HMAC_SHA1_80 (pion 390) and 165 ns with
// AEAD_AES_128_GCM (pion 185), unprotecting 270 and 145 (pion 415 and
// 167), when the context is in cache. Round-robin over 2,000 contexts,
// each with its own keys, protecting costs 1.1 times as much on a quiet
// machine (pion 1.3 to 1.5), up to 1.3 when other tenants thrash the
// shared cache, and unprotecting 1.2 to 1.5 times (pion 2 to 4): a cold
// packet still waits for two fetches from memory one after the other, the
// context's first lines (its lock is a memory barrier) and then the key
// schedule they point to. HMAC-SHA1's three SHA-1 compressions and the
// counter-mode keystream, eight AES blocks encrypted one call at a time
// (the standard library's pipelined CTR allocates per IV), are most of an
// AES-CM packet; GCM's Seal and Open are most of a GCM one.
//
// # Concurrency
//
// Protector and Unprotector are safe for concurrent use by any number of
// goroutines: every method that touches the cryptographic context
// (ProtectRTP, ProtectRTCP, UnprotectRTP, UnprotectRTCP, AddKey, SetROC,
// ROC) takes an internal mutex, so calls on one value run one at a time;
// Stats, Profile, Backend and the overhead methods take no lock. A leg
// without rtcp-mux whose RTP and RTCP readers both hand SRTCP to one
// Unprotector needs nothing more. Uncontended, the lock costs up to 10 ns
// per packet (BenchmarkLockOverhead), against the 150 to 400 ns the
// cipher takes for a 20 ms audio packet. The buffers passed in (dst, pkt,
// hdr) belong to the call: concurrent calls must not share them. Keys,
// Crypto, Profile and Backend are values, safe to read from anywhere.
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
// grew by some 150 bytes per SSRC without limit before.
//
// On the compact backend an SSRC's state is about 100 bytes, allocated
// when its first packet authenticates (the first SSRC's lives inside the
// Unprotector) and dropped when it is evicted: one allocation per new
// SSRC, none per packet. pion/srtp, which the Pion backend wraps, cannot
// forget an SSRC, so that backend builds a new pion context once half the
// bound's worth of evicted state has accumulated, handing it the kept
// SSRCs' states (exact packet index, replay windows) and every key added
// with AddKey. That rebuild allocates (a context of a few KiB and pion's
// state for each kept SSRC, about 600 B and 7 allocations per new SSRC,
// amortised, at the default bound) and costs tens of microseconds; it
// happens only while an authenticated peer cycles SSRCs. Until it does,
// an evicted SSRC that sends again finds its old state in pion, where on
// the compact backend it starts afresh at once (see MaxSSRCs). Packets of
// SSRCs that hold state allocate nothing on either backend.
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

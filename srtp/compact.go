package srtp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what RFC 3711 specifies
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
)

// The compact backend's cryptography, on the standard library alone: AES
// through crypto/aes (its assembly, AES-NI on amd64), GCM through
// crypto/cipher, HMAC-SHA1 through crypto/sha1. Nothing here implements a
// cipher or a hash; it arranges calls to them so that a packet allocates
// nothing and touches little memory of its context.
//
// Two things the standard library does not offer shape it:
//
//   - AES counter mode with a new IV per packet: cipher.NewCTR allocates
//     (a copy of the whole AES key schedule, 512 B, per call) and a stream
//     cannot be re-seeded. So the counter blocks are encrypted with
//     Block.Encrypt, eight at a time in place in a scratch buffer, and XORed
//     into the payload with subtle.XORBytes: about 10 ns a block against
//     4 ns for the pipelined assembly behind NewCTR, measured, which is
//     still cheaper than NewCTR's allocation.
//   - HMAC with precomputed pads: crypto/hmac keeps them (Reset restores
//     the marshaled SHA-1 states after the key blocks) but in five heap
//     objects per key, and finishes each hash through Sum, which copies
//     the digest and pads through the buffer. Here a key keeps only the
//     two SHA-1 chaining values after its ipad and opad blocks, 40 bytes
//     beside the rest of the context, and a packet resumes a shared hash
//     from them through crypto/sha1's state marshaling (UnmarshalBinary),
//     writes whole blocks only and reads the result back the same way
//     (scratch.finish). The hashes and the buffers that interface calls
//     need (arguments of an interface method escape, so they cannot be on
//     the stack) come from a sync.Pool: recently used, so in cache even
//     when the context is not.

// sessionKey is one direction's session keys (SRTP or SRTCP) of one master
// key, derived by the AES-CM PRF of RFC 3711 §4.3.1 with a key derivation
// rate of 0. It is 88 bytes, laid out to share two cache lines with the
// per-SSRC state and counters of its context (see Protector).
type sessionKey struct {
	block cipher.Block // AES-CM: the session encryption key
	aead  cipher.AEAD  // AEAD_AES_*_GCM: the session key's GCM
	// mac is, for AES-CM, the session authentication key, pre-keyed. A GCM
	// key has none and uses these bytes for the IV and associated data of
	// the packet at hand (gcmArgs): the arguments of Seal and Open must be
	// heap memory, as they escape through the cipher.AEAD interface, and
	// here they cost no cache line of their own. The owning context's lock
	// makes them the call's.
	mac hmacKey
	// salt is the session salt: 14 bytes for AES-CM, 12 (and 2 zero) for
	// GCM.
	salt [14]byte
	// tagLen is the authentication (or AEAD) tag appended to a packet:
	// AES-CM 10 or 4 for SRTP, 10 for SRTCP; GCM 16.
	tagLen uint8
	mkiLen uint8 // length of the MKI every packet carries, 0 for none
}

// gcmArgs returns the buffers of a GCM packet's IV and (SRTCP) associated
// data; see sessionKey.mac.
func (k *sessionKey) gcmArgs() (iv, aad *[12]byte) {
	return (*[12]byte)(k.mac.inner[:12]), (*[12]byte)(k.mac.outer[:12])
}

// hmacKey is an HMAC-SHA1 key (RFC 2104) kept as the SHA-1 chaining values
// after the single block (k XOR ipad), and after (k XOR opad): what an
// HMAC computes first for every message, computed once. Where crypto/sha1
// cannot resume from a chaining value (see resumableSHA1), inner holds the
// key itself and every packet hashes the pads again.
type hmacKey struct {
	inner, outer [sha1.Size]byte
}

// KDF labels, RFC 3711 §4.3.1 and §4.3.2.
const (
	labelRTPEncryption  = 0x00
	labelRTPAuth        = 0x01
	labelRTPSalt        = 0x02
	labelRTCPEncryption = 0x03
	labelRTCPAuth       = 0x04
	labelRTCPSalt       = 0x05
)

// authKeyLen is the HMAC-SHA1 session authentication key length, n_a
// (RFC 3711 §5.2).
const authKeyLen = 20

// compactKeys derives the SRTP and SRTCP session keys of k, which must be
// valid.
func compactKeys(k Keys) (rtp, rtcp sessionKey, err error) {
	initSHA1()
	in := k.Profile.info()
	master, err := aes.NewCipher(k.MasterKey)
	if err != nil {
		return sessionKey{}, sessionKey{}, fmt.Errorf("srtp: master key: %w", err)
	}
	rtp, err = deriveSession(master, k, in, labelRTPEncryption, in.rtpTag)
	if err != nil {
		return sessionKey{}, sessionKey{}, err
	}
	rtcp, err = deriveSession(master, k, in, labelRTCPEncryption, in.rtcpTag)
	return rtp, rtcp, err
}

// deriveSession derives the session key, salt and (AES-CM) authentication
// key whose labels start at label.
func deriveSession(master cipher.Block, k Keys, in *profileInfo, label byte, tagLen int) (sessionKey, error) {
	s := sessionKey{tagLen: uint8(tagLen), mkiLen: uint8(len(k.MKI))}
	var buf [32]byte // the longest output: an AES-256 key
	key := buf[:len(k.MasterKey)]
	kdf(master, k.MasterSalt, label, key)
	kdf(master, k.MasterSalt, label+2, s.salt[:in.salt])
	block, err := aes.NewCipher(key)
	clear(buf[:])
	if err != nil {
		return sessionKey{}, fmt.Errorf("srtp: session key: %w", err)
	}
	if in.aead {
		if s.aead, err = cipher.NewGCM(block); err != nil {
			return sessionKey{}, fmt.Errorf("srtp: session key: %w", err)
		}
		return s, nil
	}
	s.block = block
	var auth [authKeyLen]byte
	kdf(master, k.MasterSalt, label+1, auth[:])
	s.mac = newHMACKey(auth[:])
	clear(auth[:])
	return s, nil
}

// kdf fills out with the AES-CM PRF keystream of RFC 3711 §4.3.3 for
// label: the master salt, zero-padded to 16 bytes (as libsrtp and pion do
// for the 12-byte GCM salt of RFC 7714 §11), with the label XORed into
// byte 7 (key_id = label || r, r = 0 with a key derivation rate of 0),
// encrypted under the master key as a counter in its last 16 bits.
func kdf(master cipher.Block, masterSalt []byte, label byte, out []byte) {
	var in, ks [aes.BlockSize]byte
	copy(in[:], masterSalt)
	in[7] ^= label
	for i := 0; len(out) > 0; i++ {
		binary.BigEndian.PutUint16(in[14:], uint16(i))
		master.Encrypt(ks[:], in[:])
		out = out[copy(out, ks[:]):]
	}
	clear(ks[:])
}

// resumableHash is what crypto/sha1's digest offers: a hash.Hash whose
// state can be marshaled without allocating (AppendBinary, Go 1.24) and
// restored (UnmarshalBinary).
type resumableHash interface {
	hash.Hash
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// sha1State is crypto/sha1's marshaled state (the format its
// AppendBinary writes): a 4-byte magic, the five 32-bit chaining values
// big-endian, the 64-byte block buffer and the message length so far.
const (
	sha1StateLen   = 4 + sha1.Size + sha1.BlockSize + 8
	sha1StateCV    = 4 // offset of the chaining values
	sha1StateMagic = "sha\x01"
)

// sha1Resume is a marshaled state after exactly one block, chaining values
// zero: the template a packet's chaining values are copied into.
var sha1Resume = func() (st [sha1StateLen]byte) {
	copy(st[:], sha1StateMagic)
	binary.BigEndian.PutUint64(st[sha1StateLen-8:], sha1.BlockSize)
	return st
}()

// resumableSHA1 reports whether HMAC-SHA1 can be computed here as
// scratch.macResumed does it: crypto/sha1 marshals its state as
// sha1Resume assumes (every Go release since 1.10 does) and the result
// equals crypto/hmac's for messages of every length class, checked once,
// before the first compact key is made (initSHA1), so that a program that
// never uses SRTP never runs SHA-1 (which a FIPS 140-only build refuses).
// Where it does not hold (a future format, a BoringCrypto build), every
// packet hashes the pads again through the plain hash.Hash calls:
// correct, two compressions slower. It is written once, before any
// context exists, and only read after.
var (
	resumableSHA1     bool
	resumableSHA1Once sync.Once
)

func initSHA1() {
	resumableSHA1Once.Do(func() { resumableSHA1 = checkResumableSHA1() })
}

func checkResumableSHA1() bool {
	key := []byte("rtpmix HMAC self-test")[:authKeyLen]
	k, ok := hmacChaining(key)
	if !ok {
		return false
	}
	s, ok := newScratch()
	if !ok {
		return false
	}
	ref := hmac.New(sha1.New, key)
	msg := make([]byte, 2*sha1.BlockSize+8)
	for i := range msg {
		msg[i] = byte(i*7 + 3)
	}
	for _, n := range []int{0, 1, 19, 20, 51, 52, 55, 56, 63, 64, 65, 112, 115, 116, 119, 120, 127, 128, 136} {
		for _, m2 := range [][]byte{nil, msg[:4]} {
			ref.Reset()
			ref.Write(msg[:n])
			ref.Write(m2)
			if !bytes.Equal(ref.Sum(nil), s.macResumed(&k, msg[:n], m2)[:]) {
				return false
			}
		}
	}
	return true
}

// hmacChaining returns the chaining values of HMAC-SHA1 under key (at
// most one block long), or false if crypto/sha1 does not marshal its
// state as sha1Resume assumes.
func hmacChaining(key []byte) (k hmacKey, ok bool) {
	d, ok := sha1.New().(resumableHash)
	if !ok {
		return hmacKey{}, false
	}
	var pad [sha1.BlockSize]byte
	var st [sha1StateLen]byte
	defer clear(pad[:])
	defer clear(st[:])
	for i, cv := range []*[sha1.Size]byte{&k.inner, &k.outer} {
		p := byte(0x36) // ipad, then opad (RFC 2104)
		if i == 1 {
			p = 0x5c
		}
		for j := range pad {
			pad[j] = p
		}
		for j, b := range key {
			pad[j] ^= b
		}
		d.Reset()
		d.Write(pad[:])
		got, err := d.AppendBinary(st[:0])
		want := sha1Resume
		if err != nil || len(got) != sha1StateLen {
			return hmacKey{}, false
		}
		copy(want[sha1StateCV:], got[sha1StateCV:sha1StateCV+sha1.Size])
		if !bytes.Equal(got, want[:]) {
			return hmacKey{}, false
		}
		copy(cv[:], got[sha1StateCV:])
	}
	return k, true
}

// newHMACKey pre-keys HMAC-SHA1 with key (at most one block long).
func newHMACKey(key []byte) hmacKey {
	if !resumableSHA1 {
		return plainHMACKey(key)
	}
	k, ok := hmacChaining(key)
	if !ok {
		panic("srtp: crypto/sha1 marshaled its state as expected at start-up and not since")
	}
	return k
}

// plainHMACKey is the hmacKey of macPlain: the key itself.
func plainHMACKey(key []byte) hmacKey {
	var k hmacKey
	copy(k.inner[:], key)
	return k
}

// scratch is what one AES-CM packet needs besides its context: two SHA-1
// hashes to resume from a key's chaining values, and the buffers that
// interface calls (Block.Encrypt, hash.Hash) take, which would escape to
// the heap from the stack. It comes from scratchPool and goes back at the
// end of the packet, so it is private to the call.
type scratch struct {
	inner, outer resumableHash
	plain        hash.Hash          // SHA-1 without resumableSHA1
	state        [sha1StateLen]byte // sha1Resume with a chaining value
	digest       [sha1StateLen]byte // a finished hash's marshaled state
	sum          [sha1.Size]byte
	roc          [4]byte
	// tail is a message's last partial block, padded (up to two blocks).
	tail [2 * sha1.BlockSize]byte
	// ks holds counter blocks, then their encryption: the keystream.
	ks     [ctrBatch * aes.BlockSize]byte
	primed bool // ks holds the first keystream block (primeKeyStream)
}

// ctrBatch is how many counter blocks are encrypted before they are XORed
// into the payload: a 20 ms Opus packet's payload in one batch.
const ctrBatch = 8

func newScratch() (*scratch, bool) {
	inner, ok1 := sha1.New().(resumableHash)
	outer, ok2 := sha1.New().(resumableHash)
	return &scratch{inner: inner, outer: outer, plain: sha1.New(), state: sha1Resume}, ok1 && ok2
}

var scratchPool = sync.Pool{New: func() any {
	s, _ := newScratch() // resumable unless resumableSHA1 is false, which then never asks
	return s
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	s.primed = false
	scratchPool.Put(s)
}

// mac computes HMAC-SHA1 under k of m1 || m2, m2 at most 8 bytes, into
// s.sum.
func (s *scratch) mac(k *hmacKey, m1, m2 []byte) *[sha1.Size]byte {
	if resumableSHA1 {
		return s.macResumed(k, m1, m2)
	}
	return s.macPlain(k, m1, m2)
}

// macPlain is mac without resumableSHA1, where k.inner holds the key:
// it hashes the pads again (RFC 2104).
func (s *scratch) macPlain(k *hmacKey, m1, m2 []byte) *[sha1.Size]byte {
	h, pad := s.plain, s.tail[:sha1.BlockSize]
	for i, p := range []byte{0x36, 0x5c} {
		for j := range pad {
			pad[j] = p
		}
		for j, b := range k.inner[:authKeyLen] {
			pad[j] ^= b
		}
		h.Reset()
		h.Write(pad)
		if i == 0 {
			h.Write(m1)
			h.Write(m2)
		} else {
			h.Write(s.sum[:])
		}
		h.Sum(s.sum[:0])
	}
	return &s.sum
}

// macResumed is mac from k's chaining values: the inner hash of m1 || m2,
// then the outer hash of that.
func (s *scratch) macResumed(k *hmacKey, m1, m2 []byte) *[sha1.Size]byte {
	s.finish(s.inner, &k.inner, m1, m2)
	s.finish(s.outer, &k.outer, s.sum[:], nil)
	return &s.sum
}

// finish resumes h after the key block whose chaining value is cv, hashes
// m1 || m2 (len(m2) <= 8) to the end and puts the digest in s.sum. It
// writes SHA-1's padding itself (FIPS 180-4 §5.1.1: 0x80, zeros, the
// length in bits) after the message's last partial block, so that every
// Write is of whole blocks, which crypto/sha1 hashes where they lie
// instead of copying them into its buffer, and reads the digest, the
// chaining values after the last block, from h's marshaled state instead
// of through Sum, which copies the digest struct and pads again. Measured,
// this halves the cost of HMAC-SHA1 around its three compressions.
// crypto/sha1 does every compression; checkResumableSHA1 holds the result
// to crypto/hmac's.
func (s *scratch) finish(h resumableHash, cv *[sha1.Size]byte, m1, m2 []byte) {
	copy(s.state[sha1StateCV:], cv[:])
	if err := h.UnmarshalBinary(s.state[:]); err != nil {
		panic("srtp: crypto/sha1 refused a state it resumed from at start-up: " + err.Error())
	}
	whole := len(m1) &^ (sha1.BlockSize - 1)
	if whole > 0 {
		h.Write(m1[:whole])
	}
	n := copy(s.tail[:], m1[whole:])
	n += copy(s.tail[n:], m2)
	end := sha1.BlockSize
	if n+1+8 > end {
		end = 2 * sha1.BlockSize
	}
	s.tail[n] = 0x80
	clear(s.tail[n+1 : end-8])
	binary.BigEndian.PutUint64(s.tail[end-8:], uint64(sha1.BlockSize+len(m1)+len(m2))*8)
	h.Write(s.tail[:end])
	st, err := h.AppendBinary(s.digest[:0])
	if err != nil || len(st) != sha1StateLen {
		panic("srtp: crypto/sha1 marshaled its state as expected at start-up and not since")
	}
	copy(s.sum[:], st[sha1StateCV:])
}

// xorKeyStream XORs buf with the AES counter-mode keystream whose first
// counter block is the big-endian 128-bit value hi||lo, incremented by one
// per block as a 128-bit number (RFC 3711 §4.1.1 counts in the low 16 bits,
// which the IV leaves zero and no packet carries past).
// If primeKeyStream computed the first keystream block, it is used.
func (s *scratch) xorKeyStream(b cipher.Block, hi, lo uint64, buf []byte) {
	first := 0
	if s.primed {
		first, s.primed = aes.BlockSize, false
		if lo++; lo == 0 {
			hi++
		}
	}
	for len(buf) > 0 {
		ks := s.ks[:min(len(s.ks), (len(buf)+aes.BlockSize-1)&^(aes.BlockSize-1))]
		for i := first; i < len(ks); i += aes.BlockSize {
			binary.BigEndian.PutUint64(ks[i:], hi)
			binary.BigEndian.PutUint64(ks[i+8:], lo)
			if lo++; lo == 0 {
				hi++
			}
		}
		for i := first; i < len(ks); i += aes.BlockSize {
			blk := ks[i : i+aes.BlockSize]
			b.Encrypt(blk, blk)
		}
		first = 0
		buf = buf[subtle.XORBytes(buf, buf, ks):]
	}
}

// primeKeyStream computes the first keystream block of xorKeyStream(b,
// hi, lo, ...) ahead. An Unprotector calls it before verifying the tag:
// the AES key schedule, which a context that has gone cold must fetch
// from memory, is then fetched while the CPU works ahead on the
// authentication instead of after it. It costs nothing when the tag
// verifies, one block's encryption (some 10 ns) when it does not.
func (s *scratch) primeKeyStream(b cipher.Block, hi, lo uint64) {
	blk := s.ks[:aes.BlockSize]
	binary.BigEndian.PutUint64(blk, hi)
	binary.BigEndian.PutUint64(blk[8:], lo)
	b.Encrypt(blk, blk)
	s.primed = true
}

// ivCM returns the AES-CM IV of RFC 3711 §4.1.1 as two big-endian words:
// (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), i the 48-bit packet
// index (ROC || SEQ for SRTP, the SRTCP index for SRTCP).
func ivCM(salt *[14]byte, ssrc uint32, index uint64) (hi, lo uint64) {
	hi = binary.BigEndian.Uint64(salt[0:8]) ^ uint64(ssrc)
	lo = (uint64(binary.BigEndian.Uint32(salt[8:12]))<<32 | uint64(binary.BigEndian.Uint16(salt[12:14]))<<16) ^ index<<16
	return hi, lo
}

// ivGCM writes the 12-byte GCM IV of RFC 7714 §8.1 (SRTP: 00 00 || SSRC
// || ROC || SEQ, with i = ROC || SEQ) or §9.1 (SRTCP: 00 00 || SSRC ||
// 00 00 || 0 || 31-bit index), XORed with the salt, into iv.
func ivGCM(iv *[12]byte, salt *[14]byte, ssrc uint32, index uint64, rtcp bool) {
	hi := uint64(ssrc) << 16 // bytes 0..7: 00 00 SSRC ROC(high half)
	lo := uint32(index)      // bytes 8..11: ROC(low half) SEQ, or the SRTCP index
	if !rtcp {
		hi |= index >> 32 & 0xffff
	}
	binary.BigEndian.PutUint64(iv[0:8], binary.BigEndian.Uint64(salt[0:8])^hi)
	binary.BigEndian.PutUint32(iv[8:12], binary.BigEndian.Uint32(salt[8:12])^lo)
}

// grow returns dst resized to n bytes, in its backing array when it fits
// and in a new one otherwise, as pion does (growBufferSize).
func grow(dst []byte, n int) []byte {
	if n <= cap(dst) {
		return dst[:n]
	}
	return make([]byte, n)
}

// sameStart reports whether a and b start at the same byte: dst = pkt[:0],
// the in-place call.
func sameStart(a, b []byte) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}

// place makes out hold the first n bytes of pkt (n <= len(out)), unless
// out starts where pkt does: the copy is what lets every transform below
// run in place on out, whatever the caller's buffers (copy is a memmove,
// correct for overlapping ones too).
func place(out, pkt []byte, n int) {
	if !sameStart(out, pkt) {
		copy(out[:n], pkt[:n])
	}
}

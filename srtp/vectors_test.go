package srtp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file holds an independent reference SRTP written from RFC 3711 and
// RFC 7714 with the standard library alone. It is checked against the
// RFCs' published vectors, then pion (through this package's public API,
// which cannot inject session keys) is checked against it, so every byte
// this package emits is tied to the RFCs.

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// refKDF is the AES-CM PRF of RFC 3711 §4.3.1/§4.3.3 with a key derivation
// rate of 0: key_id = label || 0 (56 bits) XORed into the master salt
// (zero-padded to 112 bits, as libsrtp does for the 96-bit GCM salt), the
// result shifted left 16 bits is the AES-CM IV under the master key.
func refKDF(masterKey, masterSalt []byte, label byte, n int) []byte {
	var iv [16]byte
	copy(iv[:], masterSalt)
	iv[7] ^= label
	return refKeystream(masterKey, iv[:], n)
}

// refKeystream is AES counter mode from iv (RFC 3711 §4.1.1); the counter
// occupies the low 16 bits, which the IV leaves zero.
func refKeystream(key, iv []byte, n int) []byte {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	out := make([]byte, n)
	cipher.NewCTR(b, iv).XORKeyStream(out, out)
	return out
}

type refSession struct {
	rtpKey, rtpSalt, rtpAuth    []byte
	rtcpKey, rtcpSalt, rtcpAuth []byte
}

func refDerive(p Profile, masterKey, masterSalt []byte) refSession {
	authLen := 20
	if p.info().aead {
		authLen = 0
	}
	kl, sl := p.KeyLen(), p.SaltLen()
	return refSession{
		rtpKey: refKDF(masterKey, masterSalt, 0, kl), rtpAuth: refKDF(masterKey, masterSalt, 1, authLen),
		rtpSalt: refKDF(masterKey, masterSalt, 2, sl),
		rtcpKey: refKDF(masterKey, masterSalt, 3, kl), rtcpAuth: refKDF(masterKey, masterSalt, 4, authLen),
		rtcpSalt: refKDF(masterKey, masterSalt, 5, sl),
	}
}

// refCMIV is the AES-CM packet IV: (k_s * 2^16) XOR (SSRC * 2^64) XOR
// (i * 2^16), i the 48-bit packet index (RFC 3711 §4.1.1).
func refCMIV(salt []byte, ssrc uint32, index uint64) []byte {
	iv := make([]byte, 16)
	copy(iv, salt)
	var x [16]byte
	binary.BigEndian.PutUint32(x[4:8], ssrc)
	for j := 0; j < 6; j++ { // the 48-bit index fills bytes 8..13
		x[8+j] = byte(index >> (40 - 8*j))
	}
	for i := range iv {
		iv[i] ^= x[i]
	}
	return iv
}

func refHeaderLen(pkt []byte) int {
	n, ok := rtpHeaderLen(pkt)
	if !ok {
		panic("bad header")
	}
	return n
}

func refProtectRTP(p Profile, s refSession, pkt []byte, roc uint32) []byte {
	hl := refHeaderLen(pkt)
	seq := binary.BigEndian.Uint16(pkt[2:])
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	index := uint64(roc)<<16 | uint64(seq)
	if p.info().aead {
		// RFC 7714 §8.1: IV = salt XOR (00 00 || SSRC || ROC || SEQ);
		// the header is the associated data.
		iv := make([]byte, 12)
		binary.BigEndian.PutUint32(iv[2:], ssrc)
		binary.BigEndian.PutUint32(iv[6:], roc)
		binary.BigEndian.PutUint16(iv[10:], seq)
		for i := range iv {
			iv[i] ^= s.rtpSalt[i]
		}
		return refGCM(s.rtpKey).Seal(append([]byte{}, pkt[:hl]...), iv, pkt[hl:], pkt[:hl])
	}
	out := append([]byte{}, pkt...)
	ks := refKeystream(s.rtpKey, refCMIV(s.rtpSalt, ssrc, index), len(pkt)-hl)
	for i := range ks {
		out[hl+i] ^= ks[i]
	}
	// RFC 3711 §4.2: tag = HMAC-SHA1(k_a, authenticated portion || ROC).
	m := hmac.New(sha1.New, s.rtpAuth)
	m.Write(out)
	var r [4]byte
	binary.BigEndian.PutUint32(r[:], roc)
	m.Write(r[:])
	return append(out, m.Sum(nil)[:p.info().rtpTag]...)
}

func refProtectRTCP(p Profile, s refSession, pkt []byte, index uint32) []byte {
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	var e [4]byte
	binary.BigEndian.PutUint32(e[:], index|1<<31) // E flag: encrypted
	if p.info().aead {
		// RFC 7714 §9.1: IV = salt XOR (00 00 || SSRC || 00 00 || 0 || index);
		// AAD = first 8 octets || E || index (§17).
		iv := make([]byte, 12)
		binary.BigEndian.PutUint32(iv[2:], ssrc)
		binary.BigEndian.PutUint32(iv[8:], index)
		for i := range iv {
			iv[i] ^= s.rtcpSalt[i]
		}
		aad := append(append([]byte{}, pkt[:8]...), e[:]...)
		out := refGCM(s.rtcpKey).Seal(append([]byte{}, pkt[:8]...), iv, pkt[8:], aad)
		return append(out, e[:]...)
	}
	out := append([]byte{}, pkt...)
	ks := refKeystream(s.rtcpKey, refCMIV(s.rtcpSalt, ssrc, uint64(index)), len(pkt)-8)
	for i := range ks {
		out[8+i] ^= ks[i]
	}
	out = append(out, e[:]...)
	m := hmac.New(sha1.New, s.rtcpAuth)
	m.Write(out)
	return append(out, m.Sum(nil)[:p.info().rtcpTag]...)
}

func refGCM(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}

// RFC 3711 Appendix B.2: AES-CM keystream for session key 2B7E…, salt
// F0F1…FCFD, SSRC 0, ROC 0, SEQ 0.
func TestRFC3711B2Keystream(t *testing.T) {
	key := unhex(t, "2B7E151628AED2A6ABF7158809CF4F3C")
	salt := unhex(t, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD")
	want := unhex(t, `E03EAD0935C95E80E166B16DD92B4EB4
		D23513162B02D0F72A43A2FE4A5F97AB
		41E95B3BB0A2E8DD477901E4FCA894C0`)
	iv := refCMIV(salt, 0, 0)
	assert.Equal(t, unhex(t, "F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000"), iv)
	assert.Equal(t, want, refKeystream(key, iv, len(want)))
}

// RFC 3711 Appendix B.3: key derivation.
var (
	b3MasterKey  = "E1F97A0D3E018BE0D64FA32C06DE4139"
	b3MasterSalt = "0EC675AD498AFEEBB6960B3AABE6"
	b3CipherKey  = "C61E7A93744F39EE10734AFE3FF7A087"
	b3CipherSalt = "30CBBC08863D8C85D49DB34A9AE1"
	b3AuthKey    = "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"
)

func TestRFC3711B3KeyDerivation(t *testing.T) {
	mk, ms := unhex(t, b3MasterKey), unhex(t, b3MasterSalt)
	assert.Equal(t, unhex(t, b3CipherKey), refKDF(mk, ms, 0, 16), "cipher key")
	assert.Equal(t, unhex(t, b3AuthKey), refKDF(mk, ms, 1, 20), "auth key")
	assert.Equal(t, unhex(t, b3CipherSalt), refKDF(mk, ms, 2, 14), "cipher salt")
}

// The package derives the B.3 session keys: every packet it protects from
// the B.3 master key equals the reference transform under the session keys
// printed in the RFC, and every reference packet unprotects.
func TestRFC3711PacketsThroughPackage(t *testing.T) {
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAESCM128HMACSHA1_32} {
		t.Run(p.String(), func(t *testing.T) {
			k := Keys{Profile: p, MasterKey: unhex(t, b3MasterKey), MasterSalt: unhex(t, b3MasterSalt)}
			s := refDerive(p, k.MasterKey, k.MasterSalt)
			s.rtpKey, s.rtpSalt, s.rtpAuth = unhex(t, b3CipherKey), unhex(t, b3CipherSalt), unhex(t, b3AuthKey)
			checkAgainstReference(t, k, s)
		})
	}
}

// RFC 7714 §16 (SRTP) and §17 (SRTCP) packets, AES-128-GCM and AES-256-GCM.
// The RFC gives session keys, which the public API cannot take, so the
// reference reproduces the RFC packets and the package is held to the
// reference below.
func TestRFC7714Vectors(t *testing.T) {
	rtp := unhex(t, `8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
		69736120 696e2070 61727465 73207472 6573`)
	rtcp := unhex(t, `81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
		deadbeef deadbeef deadbeef deadbeef deadbeef`)
	salt := unhex(t, "517569642070726f2071756f")
	cases := []struct {
		name  string
		p     Profile
		key   string
		srtp  string
		srtcp string
	}{
		{
			name: "AEAD_AES_128_GCM", p: ProfileAEADAES128GCM, key: "000102030405060708090a0b0c0d0e0f",
			srtp: `8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5
				0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce`,
			srtcp: `81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
				c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4`,
		},
		{
			name: "AEAD_AES_256_GCM", p: ProfileAEADAES256GCM,
			key: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			srtp: `8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238
				9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13`,
			srtcp: `81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50
				a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := unhex(t, tc.key)
			s := refSession{rtpKey: key, rtpSalt: salt, rtcpKey: key, rtcpSalt: salt}
			assert.Equal(t, unhex(t, tc.srtp), refProtectRTP(tc.p, s, rtp, 0), "SRTP")
			assert.Equal(t, unhex(t, tc.srtcp), refProtectRTCP(tc.p, s, rtcp, 0x5d4), "SRTCP")
		})
	}
}

// Through the package, GCM packets equal the reference with session keys
// derived by the RFC 3711 PRF (RFC 7714 §11).
func TestRFC7714PacketsThroughPackage(t *testing.T) {
	for _, p := range []Profile{ProfileAEADAES128GCM, ProfileAEADAES256GCM} {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 7)
			checkAgainstReference(t, k, refDerive(p, k.MasterKey, k.MasterSalt))
		})
	}
}

// checkAgainstReference protects packets (plain, CSRCs, extension, a
// sequence wrap that moves the ROC into the IV and tag) and RTCP with the
// package, on each backend, and with the reference, compares them byte for
// byte, and unprotects the reference's output with the package.
func checkAgainstReference(t *testing.T, k Keys, s refSession) {
	t.Helper()
	forBackends(t, func(t *testing.T, be Backend) { checkBackendAgainstReference(t, be, k, s) })
}

func checkBackendAgainstReference(t *testing.T, be Backend, k Keys, s refSession) {
	pr, err := NewProtector(k, UseBackend(be))
	require.NoError(t, err)
	un, err := NewUnprotector(k, UseBackend(be))
	require.NoError(t, err)
	const ssrc = 0xdecafbad
	roc := uint32(0)
	seqs := []uint16{65533, 65534, 65535, 0, 1, 2}
	for i, seq := range seqs {
		if i > 0 && seq < seqs[i-1] {
			roc++
		}
		pkt := testRTP(seq, ssrc, 40+i*13, i%3)
		want := refProtectRTP(k.Profile, s, pkt, roc)
		got, err := pr.ProtectRTP(nil, pkt)
		require.NoError(t, err)
		assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "SRTP seq %d", seq)
		plain, err := un.UnprotectRTP(nil, want, nil)
		require.NoError(t, err, "seq %d", seq)
		assert.Equal(t, pkt, plain)
	}
	gotROC, ok := un.ROC(ssrc)
	assert.True(t, ok)
	assert.Equal(t, roc, gotROC)
	for idx := uint32(1); idx <= 3; idx++ {
		pkt := testRTCP(ssrc, int(idx))
		want := refProtectRTCP(k.Profile, s, pkt, idx)
		got, err := pr.ProtectRTCP(nil, pkt)
		require.NoError(t, err)
		assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "SRTCP index %d", idx)
		plain, err := un.UnprotectRTCP(nil, want)
		require.NoError(t, err)
		assert.Equal(t, pkt, plain)
	}
}

package srtp

import (
	"encoding/binary"
	"testing"
)

var allProfiles = []Profile{
	ProfileAESCM128HMACSHA1_80, ProfileAESCM128HMACSHA1_32,
	ProfileAEADAES128GCM, ProfileAEADAES256GCM,
}

// testKeys returns deterministic keys, different for each seed.
func testKeys(p Profile, seed byte) Keys {
	k := Keys{Profile: p, MasterKey: make([]byte, p.KeyLen()), MasterSalt: make([]byte, p.SaltLen())}
	for i := range k.MasterKey {
		k.MasterKey[i] = seed*31 + byte(i)*7 + 1
	}
	for i := range k.MasterSalt {
		k.MasterSalt[i] = seed*17 + byte(i)*3 + 2
	}
	return k
}

// testRTP builds an RTP packet. variant 0: plain; 1: two CSRCs; 2: an RFC
// 8285 one-byte extension (audio level); 3: padding of 4 bytes.
func testRTP(seq uint16, ssrc uint32, payloadLen, variant int) []byte {
	pkt := make([]byte, 12, 12+16+payloadLen+4+64)
	pkt[0] = 0x80
	pkt[1] = 111
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*960)
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	switch variant {
	case 1:
		pkt[0] |= 2
		pkt = binary.BigEndian.AppendUint32(pkt, 0x11111111)
		pkt = binary.BigEndian.AppendUint32(pkt, 0x22222222)
	case 2:
		pkt[0] |= 0x10
		pkt = append(pkt, 0xbe, 0xde, 0x00, 0x01, 0x10, 0x85, 0x00, 0x00)
	case 3:
		pkt[0] |= 0x20
	}
	for i := 0; i < payloadLen; i++ {
		pkt = append(pkt, byte(i*7+int(seq)))
	}
	if variant == 3 {
		pkt = append(pkt, 0, 0, 0, 4)
	}
	return pkt
}

// testRTCP builds a sender report followed by n SDES-like filler words.
func testRTCP(ssrc uint32, n int) []byte {
	pkt := make([]byte, 0, 64+4*n)
	pkt = append(pkt, 0x80, 200, 0, 6)
	pkt = binary.BigEndian.AppendUint32(pkt, ssrc)
	pkt = binary.BigEndian.AppendUint64(pkt, 0xe1e2e3e4e5e6e7e8) // NTP
	pkt = binary.BigEndian.AppendUint32(pkt, 123456)             // RTP time
	pkt = binary.BigEndian.AppendUint32(pkt, 100)                // packets
	pkt = binary.BigEndian.AppendUint32(pkt, 10000)              // octets
	if n > 0 {
		pkt = append(pkt, 0x81, 202, byte(n>>8), byte(n))
		pkt = binary.BigEndian.AppendUint32(pkt, ssrc)
		for i := 1; i < n; i++ {
			pkt = binary.BigEndian.AppendUint32(pkt, uint32(i)*0x01010101)
		}
	}
	return pkt
}

// withRoom copies pkt into a buffer with extra capacity for in-place use.
func withRoom(pkt []byte, extra int) []byte {
	b := make([]byte, len(pkt), len(pkt)+extra)
	copy(b, pkt)
	return b
}

// backends are the implementations every test of a Protector or an
// Unprotector runs on.
var backends = []Backend{Compact, Pion}

// forBackends runs f as a subtest per backend.
func forBackends(t *testing.T, f func(t *testing.T, be Backend)) {
	t.Helper()
	for _, be := range backends {
		t.Run(be.String(), func(t *testing.T) { f(t, be) })
	}
}

// rebuilds returns how many times u's pion context was rebuilt: always 0
// on the compact backend, which never rebuilds.
func rebuilds(u *Unprotector) uint64 {
	if u.pion == nil {
		return 0
	}
	return u.pion.rebuilds
}

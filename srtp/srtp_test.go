package srtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProfiles(t *testing.T) {
	cases := []struct {
		p                      Profile
		sdes, dtls             string
		key, salt, rtpO, rtcpO int
	}{
		{ProfileAESCM128HMACSHA1_80, "AES_CM_128_HMAC_SHA1_80", "SRTP_AES128_CM_HMAC_SHA1_80", 16, 14, 10, 14},
		{ProfileAESCM128HMACSHA1_32, "AES_CM_128_HMAC_SHA1_32", "SRTP_AES128_CM_HMAC_SHA1_32", 16, 14, 4, 14},
		{ProfileAEADAES128GCM, "AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM", 16, 12, 16, 20},
		{ProfileAEADAES256GCM, "AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM", 32, 12, 16, 20},
	}
	for _, tc := range cases {
		t.Run(tc.sdes, func(t *testing.T) {
			assert.True(t, tc.p.Valid())
			assert.Equal(t, tc.sdes, tc.p.String())
			assert.Equal(t, tc.dtls, tc.p.DTLSName())
			assert.Equal(t, tc.key, tc.p.KeyLen())
			assert.Equal(t, tc.salt, tc.p.SaltLen())
			assert.Equal(t, tc.rtpO, tc.p.RTPOverhead())
			assert.Equal(t, tc.rtcpO, tc.p.RTCPOverhead())
			assert.Equal(t, 2*(tc.key+tc.salt), tc.p.KeyingMaterialLen())
			for _, name := range []string{tc.sdes, tc.dtls} {
				p, err := ParseProfile(name)
				require.NoError(t, err)
				assert.Equal(t, tc.p, p)
			}
		})
	}
	assert.ElementsMatch(t, allProfiles, Profiles())

	bad := Profile(3)
	assert.False(t, bad.Valid())
	assert.Equal(t, "Profile(0x3)", bad.String())
	assert.Zero(t, bad.KeyLen()+bad.SaltLen()+bad.RTPOverhead()+bad.RTCPOverhead()+bad.KeyingMaterialLen())
	assert.Empty(t, bad.DTLSName())
	for _, name := range []string{"F8_128_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_80", "NOPE", ""} {
		_, err := ParseProfile(name)
		assert.ErrorIs(t, err, ErrUnsupported, name)
	}
}

func TestKeysValidate(t *testing.T) { forBackends(t, testKeysValidate) }

func testKeysValidate(t *testing.T, be Backend) {
	good := testKeys(ProfileAESCM128HMACSHA1_80, 1)
	cases := []struct {
		name string
		edit func(*Keys)
		want error
	}{
		{"good", func(*Keys) {}, nil},
		{"good with MKI", func(k *Keys) { k.MKI = []byte{1, 2} }, nil},
		{"no profile", func(k *Keys) { k.Profile = 0 }, errProfile},
		{"short key", func(k *Keys) { k.MasterKey = k.MasterKey[:15] }, errKeyLen},
		{"GCM salt on AES-CM", func(k *Keys) { k.MasterSalt = k.MasterSalt[:12] }, errSaltLen},
		{"long MKI", func(k *Keys) { k.MKI = make([]byte, 129) }, errMKILen},
		{"lifetime", func(k *Keys) { k.Lifetime = 1<<48 + 1 }, errLifetime},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := good.clone()
			tc.edit(&k)
			err := k.Validate()
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.want)
			_, err = NewProtector(k, UseBackend(be))
			assert.ErrorIs(t, err, tc.want)
			_, err = NewUnprotector(k, UseBackend(be))
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestGenerateKeys(t *testing.T) {
	for _, p := range allProfiles {
		a, err := GenerateKeys(p)
		require.NoError(t, err)
		b, err := GenerateKeys(p)
		require.NoError(t, err)
		assert.NoError(t, a.Validate())
		assert.False(t, a.Equal(b), "two generated keys are equal")
		assert.Len(t, a.MasterKey, cap(a.MasterKey), "key must not share capacity with the salt")
	}
	_, err := GenerateKeys(0)
	assert.ErrorIs(t, err, errProfile)
}

func TestKeysFromDTLS(t *testing.T) { forBackends(t, testKeysFromDTLS) }

func testKeysFromDTLS(t *testing.T, be Backend) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			m := make([]byte, p.KeyingMaterialLen())
			for i := range m {
				m[i] = byte(i)
			}
			kl, sl := p.KeyLen(), p.SaltLen()
			cLocal, cRemote, err := KeysFromDTLS(m, p, true)
			require.NoError(t, err)
			sLocal, sRemote, err := KeysFromDTLS(m, p, false)
			require.NoError(t, err)
			// RFC 5764 §4.2: client key, server key, client salt, server salt.
			assert.Equal(t, m[:kl], cLocal.MasterKey)
			assert.Equal(t, m[kl:2*kl], cRemote.MasterKey)
			assert.Equal(t, m[2*kl:2*kl+sl], cLocal.MasterSalt)
			assert.Equal(t, m[2*kl+sl:], cRemote.MasterSalt)
			assert.True(t, cLocal.Equal(sRemote))
			assert.True(t, cRemote.Equal(sLocal))
			m[0] ^= 0xff
			assert.NotEqual(t, m[0], cLocal.MasterKey[0], "keys must not alias the material")

			// The client's sender pairs with the server's receiver.
			pr, err := NewProtector(cLocal, UseBackend(be))
			require.NoError(t, err)
			un, err := NewUnprotector(sRemote, UseBackend(be))
			require.NoError(t, err)
			pkt := testRTP(1, 5, 50, 0)
			out, err := pr.ProtectRTP(nil, pkt)
			require.NoError(t, err)
			plain, err := un.UnprotectRTP(nil, out, nil)
			require.NoError(t, err)
			assert.Equal(t, pkt, plain)

			_, _, err = KeysFromDTLS(m[1:], p, true)
			assert.ErrorIs(t, err, errMaterialLen)
		})
	}
	_, _, err := KeysFromDTLS(make([]byte, 60), 9, true)
	assert.ErrorIs(t, err, errProfile)
}

func TestRoundTrip(t *testing.T) { forBackends(t, testRoundTrip) }

func testRoundTrip(t *testing.T, be Backend) {
	variants := []string{"plain", "CSRCs", "extension", "padding"}
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 2)
			pr, err := NewProtector(k, UseBackend(be))
			require.NoError(t, err)
			un, err := NewUnprotector(k, UseBackend(be))
			require.NoError(t, err)
			var hdr rtp.Header
			seq := uint16(100)
			for v, vname := range variants {
				for _, size := range []int{0, 1, 100, 160, 1200} {
					seq++
					pkt := testRTP(seq, 0x1234, size, v)
					buf := withRoom(pkt, pr.RTPOverhead())
					out, err := pr.ProtectRTP(buf[:0], buf)
					require.NoError(t, err, "%s %d", vname, size)
					assert.Len(t, out, len(pkt)+pr.RTPOverhead())
					assert.Same(t, &buf[:1][0], &out[0], "protect must work in place")
					if size >= 16 {
						assert.NotEqual(t, pkt[len(pkt)-8:], out[len(pkt)-8:len(pkt)], "payload not encrypted")
					}
					plain, err := un.UnprotectRTP(out[:0], out, &hdr)
					require.NoError(t, err, "%s %d", vname, size)
					assert.Same(t, &out[0], &plain[0], "unprotect must work in place")
					assert.Equal(t, pkt, plain)
					assert.Equal(t, seq, hdr.SequenceNumber)
					assert.Equal(t, uint32(0x1234), hdr.SSRC)
					assert.Equal(t, v == 1, len(hdr.CSRC) == 2)
					payload, err := Payload(plain)
					require.NoError(t, err)
					assert.Len(t, payload, size)
				}
			}
			// Out of place: the input stays intact.
			pkt := testRTP(seq+1, 0x1234, 100, 0)
			orig := bytes.Clone(pkt)
			out, err := pr.ProtectRTP(nil, pkt)
			require.NoError(t, err)
			assert.Equal(t, orig, pkt)
			enc := bytes.Clone(out)
			plain, err := un.UnprotectRTP(make([]byte, 0, 2000), out, nil)
			require.NoError(t, err)
			assert.Equal(t, enc, out)
			assert.Equal(t, orig, plain)

			for i := 1; i <= 5; i++ {
				r := testRTCP(0x1234, i)
				buf := withRoom(r, pr.RTCPOverhead())
				out, err := pr.ProtectRTCP(buf[:0], buf)
				require.NoError(t, err)
				assert.Len(t, out, len(r)+pr.RTCPOverhead())
				idx := binary.BigEndian.Uint32(out[len(r)+p.info().rtcpTag*boolInt(p.info().aead):])
				if !p.info().aead {
					idx = binary.BigEndian.Uint32(out[len(r):])
				}
				assert.Equal(t, uint32(i)|1<<31, idx, "E flag and SRTCP index")
				plain, err := un.UnprotectRTCP(out[:0], out)
				require.NoError(t, err)
				assert.Equal(t, r, plain)
			}
			st := un.Stats()
			assert.Equal(t, uint64(len(variants)*5+1), st.RTPPackets)
			assert.Equal(t, uint64(5), st.RTCPPackets)
			assert.Equal(t, pr.Stats().RTPBytes, st.RTPBytes)
			assert.Equal(t, pr.Stats().RTCPBytes, st.RTCPBytes)
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestReplay(t *testing.T) { forBackends(t, testReplay) }

func testReplay(t *testing.T, be Backend) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 3)
			pr, err := NewProtector(k, UseBackend(be))
			require.NoError(t, err)
			un, err := NewUnprotector(k, UseBackend(be))
			require.NoError(t, err)
			var pkts [][]byte
			for seq := uint16(0); seq < 200; seq++ {
				out, err := pr.ProtectRTP(nil, testRTP(seq, 9, 20, 0))
				require.NoError(t, err)
				pkts = append(pkts, out)
			}
			unprotect := func(i int) error {
				_, err := un.UnprotectRTP(nil, pkts[i], nil)
				return err
			}
			require.NoError(t, unprotect(100))
			assert.Equal(t, ErrReplay, unprotect(100), "exact replay")
			require.NoError(t, unprotect(90), "reordered within the window")
			assert.Equal(t, ErrReplay, unprotect(90))
			require.NoError(t, unprotect(37), "63 behind: last slot of the window")
			assert.Equal(t, ErrReplay, unprotect(36), "64 behind: outside the window")
			require.NoError(t, unprotect(199))
			assert.Equal(t, ErrReplay, unprotect(100))

			rtcp1, err := pr.ProtectRTCP(nil, testRTCP(9, 1))
			require.NoError(t, err)
			rtcp2, err := pr.ProtectRTCP(nil, testRTCP(9, 2))
			require.NoError(t, err)
			_, err = un.UnprotectRTCP(nil, rtcp2)
			require.NoError(t, err)
			_, err = un.UnprotectRTCP(nil, rtcp1)
			require.NoError(t, err, "reordered SRTCP")
			_, err = un.UnprotectRTCP(nil, rtcp2)
			assert.Equal(t, ErrReplay, err, "replayed SRTCP")

			st := un.Stats()
			assert.Equal(t, uint64(5), st.Replays)
			assert.Equal(t, uint64(4), st.RTPPackets)
			assert.Equal(t, uint64(2), st.RTCPPackets)
			assert.Zero(t, st.AuthFailures)

			// A window of 0 lets replays through; a wide one reaches further back.
			off, err := NewUnprotector(k, ReplayWindow(0), UseBackend(be))
			require.NoError(t, err)
			wide, err := NewUnprotector(k, ReplayWindow(256), UseBackend(be))
			require.NoError(t, err)
			for _, i := range []int{199, 199, 0, 0} {
				_, err = off.UnprotectRTP(nil, pkts[i], nil)
				assert.NoError(t, err)
			}
			_, err = wide.UnprotectRTP(nil, pkts[199], nil)
			require.NoError(t, err)
			_, err = wide.UnprotectRTP(nil, pkts[0], nil)
			assert.NoError(t, err, "199 behind is inside a 256 window")
		})
	}
}

func TestReplayWindowOption(t *testing.T) { forBackends(t, testReplayWindowOption) }

func testReplayWindowOption(t *testing.T, be Backend) {
	k := testKeys(ProfileAESCM128HMACSHA1_80, 1)
	for _, n := range []int{-1, MaxReplayWindow + 1} {
		_, err := NewUnprotector(k, ReplayWindow(n), UseBackend(be))
		assert.ErrorIs(t, err, errReplayWindow, n)
		_, err = NewProtector(k, ReplayWindow(n), UseBackend(be))
		assert.ErrorIs(t, err, errReplayWindow, n)
	}
	_, err := NewUnprotector(k, ReplayWindow(MaxReplayWindow), UseBackend(be))
	assert.NoError(t, err)
}

// Every single-bit flip of a protected packet is rejected, none panics,
// and the genuine packet still unprotects afterwards (no state was
// changed by the forgeries).
func TestFlippedBitRejected(t *testing.T) { forBackends(t, testFlippedBitRejected) }

func testFlippedBitRejected(t *testing.T, be Backend) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 4)
			pr, err := NewProtector(k, UseBackend(be))
			require.NoError(t, err)
			un, err := NewUnprotector(k, UseBackend(be))
			require.NoError(t, err)
			pkt := testRTP(500, 77, 60, 2)
			out, err := pr.ProtectRTP(nil, pkt)
			require.NoError(t, err)
			hl := refHeaderLen(pkt)
			buf := make([]byte, len(out))
			for bit := 0; bit < 8*len(out); bit++ {
				copy(buf, out)
				buf[bit/8] ^= 1 << (bit % 8)
				_, err := un.UnprotectRTP(buf[:0], buf, nil)
				require.Error(t, err, "bit %d", bit)
				if bit/8 >= hl || bit/8 >= 2 && bit/8 < 12 {
					assert.Equal(t, ErrAuth, err, "bit %d", bit)
				}
			}
			st := un.Stats()
			assert.Greater(t, st.AuthFailures, uint64(8*(len(out)-hl)))
			assert.Zero(t, st.RTPPackets)
			plain, err := un.UnprotectRTP(nil, out, nil)
			require.NoError(t, err)
			assert.Equal(t, pkt, plain)

			r := testRTCP(77, 3)
			outR, err := pr.ProtectRTCP(nil, r)
			require.NoError(t, err)
			buf = make([]byte, len(outR))
			for bit := 0; bit < 8*len(outR); bit++ {
				copy(buf, outR)
				buf[bit/8] ^= 1 << (bit % 8)
				_, err := un.UnprotectRTCP(buf[:0], buf)
				require.Error(t, err, "SRTCP bit %d", bit)
			}
			plain, err = un.UnprotectRTCP(nil, outR)
			require.NoError(t, err)
			assert.Equal(t, r, plain)
		})
	}
}

// ROC rollover across 70,000 packets from sequence 65,000: the 16-bit
// sequence number wraps twice; both ends follow the rollover counter and
// every packet round-trips.
func TestROCRollover(t *testing.T) { forBackends(t, testROCRollover) }

func testROCRollover(t *testing.T, be Backend) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 5)
			pr, err := NewProtector(k, UseBackend(be))
			require.NoError(t, err)
			un, err := NewUnprotector(k, UseBackend(be))
			require.NoError(t, err)
			const ssrc, first, count = 0xabcdef01, 65000, 70000
			pkt := testRTP(0, ssrc, 100, 0)
			tmpl := bytes.Clone(pkt)
			buf := make([]byte, len(pkt), len(pkt)+pr.RTPOverhead())
			var hdr rtp.Header
			seen := map[int][]byte{}
			for i := 0; i < count; i++ {
				seq := uint16(first + i)
				copy(buf, tmpl)
				binary.BigEndian.PutUint16(buf[2:], seq)
				out, err := pr.ProtectRTP(buf[:0], buf[:len(tmpl)])
				if err != nil {
					t.Fatalf("protect #%d: %v", i, err)
				}
				if seq == 65100 || seq == 1000 { // each seen under two ROCs
					seen[i] = bytes.Clone(out)
				}
				plain, err := un.UnprotectRTP(out[:0], out, &hdr)
				if err != nil {
					t.Fatalf("unprotect #%d (seq %d): %v", i, seq, err)
				}
				if hdr.SequenceNumber != seq || !bytes.Equal(plain[12:], tmpl[12:]) {
					t.Fatalf("packet #%d corrupted", i)
				}
			}
			for _, ctx := range []interface{ ROC(uint32) (uint32, bool) }{pr, un} {
				roc, ok := ctx.ROC(ssrc)
				assert.True(t, ok)
				assert.Equal(t, uint32((first+count-1)>>16), roc)
			}
			assert.Equal(t, uint32(2), uint32((first+count-1)>>16))
			require.Len(t, seen, 4)
			// Same SEQ, another ROC: another IV, so another ciphertext.
			assert.NotEqual(t, seen[100][12:], seen[100+65536][12:], "SEQ 65100, ROC 0 and 1")
			assert.NotEqual(t, seen[1536][12:], seen[1536+65536][12:], "SEQ 1000, ROC 1 and 2")
			assert.Equal(t, uint64(count), un.Stats().RTPPackets)
		})
	}
}

// A receiver that joins after the sender wrapped needs SetROC.
func TestSetROC(t *testing.T) { forBackends(t, testSetROC) }

func testSetROC(t *testing.T, be Backend) {
	k := testKeys(ProfileAESCM128HMACSHA1_80, 6)
	pr, err := NewProtector(k, UseBackend(be))
	require.NoError(t, err)
	pr.SetROC(42, 7)
	out, err := pr.ProtectRTP(nil, testRTP(10, 42, 30, 0))
	require.NoError(t, err)
	late, err := NewUnprotector(k, UseBackend(be))
	require.NoError(t, err)
	_, err = late.UnprotectRTP(nil, out, nil)
	assert.Equal(t, ErrAuth, err, "ROC 0 assumed, sender is at 7")
	late.SetROC(42, 7)
	_, err = late.UnprotectRTP(nil, out, nil)
	assert.NoError(t, err)
	roc, ok := late.ROC(42)
	assert.True(t, ok)
	assert.Equal(t, uint32(7), roc)
	_, ok = late.ROC(43)
	assert.False(t, ok)
}

func TestShortPackets(t *testing.T) { forBackends(t, testShortPackets) }

func testShortPackets(t *testing.T, be Backend) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 7)
			pr, err := NewProtector(k, UseBackend(be))
			require.NoError(t, err)
			un, err := NewUnprotector(k, UseBackend(be))
			require.NoError(t, err)
			good, err := pr.ProtectRTP(nil, testRTP(1, 1, 0, 0))
			require.NoError(t, err)
			csrc := testRTP(1, 1, 0, 0)
			csrc[0] |= 0x0f // claims 15 CSRCs
			ext := testRTP(1, 1, 0, 2)
			ext[15] = 200 // extension longer than the packet
			cases := []struct {
				name string
				pkt  []byte
			}{
				{"empty", nil},
				{"11 bytes", good[:11]},
				{"header only", good[:12]},
				{"tag cut", good[:len(good)-1]},
				{"CSRCs beyond end", csrc},
				{"extension beyond end", ext},
			}
			for _, tc := range cases {
				_, err := un.UnprotectRTP(nil, tc.pkt, nil)
				assert.Equal(t, ErrShortPacket, err, tc.name)
			}
			assert.Equal(t, uint64(len(cases)), un.Stats().ShortPackets)
			for _, n := range []int{0, 11} {
				_, err := pr.ProtectRTP(nil, good[:n])
				assert.Equal(t, ErrShortPacket, err, "protect %d bytes", n)
			}
			_, err = pr.ProtectRTP(nil, csrc)
			assert.Equal(t, ErrShortPacket, err, "protect CSRCs beyond end")
			assert.Equal(t, uint64(3), pr.Stats().ShortPackets)

			r, err := pr.ProtectRTCP(nil, testRTCP(1, 0))
			require.NoError(t, err)
			for _, n := range []int{0, 4, 8, 8 + p.RTCPOverhead() - 1} {
				_, err := un.UnprotectRTCP(nil, r[:n])
				assert.Equal(t, ErrShortPacket, err, "SRTCP %d bytes", n)
			}
			_, err = pr.ProtectRTCP(nil, r[:7])
			assert.Equal(t, ErrShortPacket, err)
		})
	}
}

func TestMalformedRTCP(t *testing.T) { forBackends(t, testMalformedRTCP) }

func testMalformedRTCP(t *testing.T, be Backend) {
	k := testKeys(ProfileAESCM128HMACSHA1_80, 8)
	pr, err := NewProtector(k, UseBackend(be))
	require.NoError(t, err)
	un, err := NewUnprotector(k, UseBackend(be))
	require.NoError(t, err)
	r := testRTCP(5, 2)
	r[0] = 0x40 // version 1
	_, err = pr.ProtectRTCP(nil, r)
	assert.ErrorIs(t, err, errors.Unwrap(err), "wrapped")
	assert.NotErrorIs(t, err, ErrShortPacket)
	_, err = un.UnprotectRTCP(nil, append(r, make([]byte, 14)...))
	assert.ErrorIs(t, err, errPacket)
	assert.Equal(t, uint64(1), un.Stats().OtherErrors)
	assert.Equal(t, uint64(1), pr.Stats().OtherErrors)
}

func TestMKI(t *testing.T) { forBackends(t, testMKI) }

func testMKI(t *testing.T, be Backend) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			k1 := testKeys(p, 10)
			k1.MKI = []byte{0, 1}
			k2 := testKeys(p, 11)
			k2.MKI = []byte{0, 2}
			pr1, err := NewProtector(k1, UseBackend(be))
			require.NoError(t, err)
			pr2, err := NewProtector(k2, UseBackend(be))
			require.NoError(t, err)
			assert.Equal(t, p.RTPOverhead()+2, pr1.RTPOverhead())
			assert.Equal(t, p.RTCPOverhead()+2, pr1.RTCPOverhead())
			un, err := NewUnprotector(k1, UseBackend(be))
			require.NoError(t, err)
			assert.Equal(t, pr1.RTPOverhead(), un.RTPOverhead())
			assert.Equal(t, pr1.RTCPOverhead(), un.RTCPOverhead())

			pkt := testRTP(1, 3, 40, 0)
			out1, err := pr1.ProtectRTP(nil, pkt)
			require.NoError(t, err)
			// MKI sits between the payload (with the AEAD tag) and the auth tag.
			mkiAt := len(pkt)
			if p.info().aead {
				mkiAt += 16
			}
			assert.Equal(t, k1.MKI, out1[mkiAt:mkiAt+2])
			plain, err := un.UnprotectRTP(nil, out1, nil)
			require.NoError(t, err)
			assert.Equal(t, pkt, plain)

			out2, err := pr2.ProtectRTP(nil, testRTP(2, 3, 40, 0))
			require.NoError(t, err)
			_, err = un.UnprotectRTP(nil, out2, nil)
			assert.ErrorIs(t, err, ErrAuth, "unknown MKI")
			require.NoError(t, un.AddKey(k2))
			_, err = un.UnprotectRTP(nil, out2, nil)
			assert.NoError(t, err, "second key selected by MKI")
			r, err := pr2.ProtectRTCP(nil, testRTCP(3, 1))
			require.NoError(t, err)
			_, err = un.UnprotectRTCP(nil, r)
			assert.NoError(t, err)

			assert.Error(t, un.AddKey(k2), "same MKI twice")
			k3 := testKeys(p, 12)
			k3.MKI = []byte{1}
			assert.ErrorIs(t, un.AddKey(k3), errMKIMismatch)
			k3.MKI = nil
			assert.ErrorIs(t, un.AddKey(k3), errMKIMismatch)
			other := ProfileAEADAES128GCM
			if p == other {
				other = ProfileAESCM128HMACSHA1_80
			}
			k4 := testKeys(other, 12)
			k4.MKI = []byte{0, 9}
			assert.ErrorIs(t, un.AddKey(k4), errProfileMixture)
			plainUn, err := NewUnprotector(testKeys(p, 10), UseBackend(be))
			require.NoError(t, err)
			assert.ErrorIs(t, plainUn.AddKey(k2), errMKINone)
			k2.MasterKey = nil
			assert.ErrorIs(t, un.AddKey(k2), errKeyLen)
		})
	}
}

// One context pair carries a thousand SSRCs, each with its own state.
func TestManySSRCs(t *testing.T) { forBackends(t, testManySSRCs) }

func testManySSRCs(t *testing.T, be Backend) {
	k := testKeys(ProfileAEADAES128GCM, 13)
	pr, err := NewProtector(k, UseBackend(be))
	require.NoError(t, err)
	un, err := NewUnprotector(k, UseBackend(be))
	require.NoError(t, err)
	for round := 0; round < 3; round++ {
		for ssrc := uint32(1); ssrc <= 1000; ssrc++ {
			pkt := testRTP(uint16(ssrc*97+uint32(round)), ssrc, 20, 0)
			out, err := pr.ProtectRTP(nil, pkt)
			require.NoError(t, err)
			plain, err := un.UnprotectRTP(out[:0], out, nil)
			require.NoError(t, err)
			require.Equal(t, pkt, plain)
		}
	}
	assert.Equal(t, uint64(3000), un.Stats().RTPPackets)
}

// Forged packets from unknown SSRCs are rejected without creating state:
// the genuine stream later starts from whatever sequence it has.
func TestForgeryCreatesNoState(t *testing.T) { forBackends(t, testForgeryCreatesNoState) }

func testForgeryCreatesNoState(t *testing.T, be Backend) {
	k := testKeys(ProfileAESCM128HMACSHA1_80, 14)
	un, err := NewUnprotector(k, UseBackend(be))
	require.NoError(t, err)
	forged := testRTP(1000, 99, 30, 0)
	forged = append(forged, make([]byte, 10)...)
	_, err = un.UnprotectRTP(nil, forged, nil)
	assert.Equal(t, ErrAuth, err)
	_, ok := un.ROC(99)
	assert.False(t, ok)
}

func TestPayload(t *testing.T) {
	cases := []struct {
		name string
		pkt  []byte
		want int // payload length, -1 for an error
	}{
		{"plain", testRTP(1, 1, 10, 0), 10},
		{"CSRCs", testRTP(1, 1, 10, 1), 10},
		{"extension", testRTP(1, 1, 10, 2), 10},
		{"padding", testRTP(1, 1, 10, 3), 10},
		{"empty payload", testRTP(1, 1, 0, 0), 0},
		{"short", testRTP(1, 1, 0, 0)[:11], -1},
		{"padding zero", func() []byte { p := testRTP(1, 1, 10, 3); p[len(p)-1] = 0; return p }(), -1},
		{"padding too long", func() []byte { p := testRTP(1, 1, 10, 3); p[len(p)-1] = 15; return p }(), -1},
		{"padding bit, no bytes", func() []byte { p := testRTP(1, 1, 0, 0); p[0] |= 0x20; return p }(), -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := Payload(tc.pkt)
			if tc.want < 0 {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Len(t, pl, tc.want)
		})
	}
}

// Stats may be read while the owner goroutine works (run with -race).
func TestStatsConcurrent(t *testing.T) { forBackends(t, testStatsConcurrent) }

func testStatsConcurrent(t *testing.T, be Backend) {
	k := testKeys(ProfileAESCM128HMACSHA1_32, 15)
	pr, err := NewProtector(k, UseBackend(be))
	require.NoError(t, err)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				_ = pr.Stats()
			}
		}
	}()
	for i := 0; i < 1000; i++ {
		_, err := pr.ProtectRTP(nil, testRTP(uint16(i), 1, 50, 0))
		require.NoError(t, err)
	}
	close(done)
	wg.Wait()
	assert.Equal(t, uint64(1000), pr.Stats().RTPPackets)
}

func TestAllocs(t *testing.T) { forBackends(t, testAllocs) }

func testAllocs(t *testing.T, be Backend) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool (the compact backend's AES-CM scratch, pion's buffers) drop items at random; make allocs runs this without it")
	}
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 16)
			pr, err := NewProtector(k, UseBackend(be))
			require.NoError(t, err)
			un, err := NewUnprotector(k, UseBackend(be))
			require.NoError(t, err)
			tmpl := testRTP(0, 7, 100, 2) // extension: the header's slices are reused too
			buf := make([]byte, len(tmpl), len(tmpl)+pr.RTPOverhead())
			const runs = 200
			pkts := make([][]byte, runs+2)
			seq := uint16(0)
			protect := func() {
				copy(buf, tmpl)
				binary.BigEndian.PutUint16(buf[2:], seq)
				seq++
				if _, err := pr.ProtectRTP(buf[:0], buf[:len(tmpl)]); err != nil {
					panic(err)
				}
			}
			protect() // first packet of an SSRC creates its state
			assert.Zero(t, testing.AllocsPerRun(runs, protect), "ProtectRTP")

			for i := range pkts {
				pkt := testRTP(uint16(1000+i), 7, 100, 2)
				out, err := pr.ProtectRTP(withRoom(pkt, 32)[:0], pkt)
				require.NoError(t, err)
				pkts[i] = out
			}
			var hdr rtp.Header
			next := 0
			unprotect := func() {
				b := pkts[next]
				next++
				if _, err := un.UnprotectRTP(b[:0], b, &hdr); err != nil {
					panic(err)
				}
			}
			unprotect()
			assert.Zero(t, testing.AllocsPerRun(runs, unprotect), "UnprotectRTP")

			r := testRTCP(7, 4)
			rbuf := make([]byte, len(r), len(r)+pr.RTCPOverhead())
			protectRTCP := func() {
				copy(rbuf, r)
				if _, err := pr.ProtectRTCP(rbuf[:0], rbuf[:len(r)]); err != nil {
					panic(err)
				}
			}
			protectRTCP()
			assert.Zero(t, testing.AllocsPerRun(runs, protectRTCP), "ProtectRTCP")

			rpkts := make([][]byte, runs+2)
			for i := range rpkts {
				out, err := pr.ProtectRTCP(withRoom(r, 32)[:0], r)
				require.NoError(t, err)
				rpkts[i] = out
			}
			next = 0
			unprotectRTCP := func() {
				b := rpkts[next]
				next++
				if _, err := un.UnprotectRTCP(b[:0], b); err != nil {
					panic(err)
				}
			}
			unprotectRTCP()
			assert.Zero(t, testing.AllocsPerRun(runs, unprotectRTCP), "UnprotectRTCP")

			// Rejections are cheap too: a short packet costs nothing, and
			// neither does a forgery (but on pion's GCM path, which wraps
			// its error).
			short := pkts[0][:5]
			assert.Zero(t, testing.AllocsPerRun(runs, func() { _, _ = un.UnprotectRTP(nil, short, &hdr) }), "short")
			if !p.info().aead || be == Compact {
				forged := bytes.Clone(pkts[0])
				forged[len(forged)-1] ^= 1
				binary.BigEndian.PutUint16(forged[2:], 60000)
				scratch := make([]byte, 0, 2*len(forged))
				assert.Zero(t, testing.AllocsPerRun(runs, func() { _, _ = un.UnprotectRTP(scratch, forged, &hdr) }), "forged")
			}
			payload := pkts[0]
			assert.Zero(t, testing.AllocsPerRun(runs, func() { _, _ = Payload(payload) }), "Payload")

			// Upper bounds for what pion allocates on other rejections, so
			// a regression shows: its replay error value (1); for a forgery
			// under an unknown SSRC, the state it discards (1: the replay
			// detector it asks for is a spare of ours, reused until a packet
			// authenticates); its wrapped GCM error (4). The compact
			// backend allocates on none.
			scratch := make([]byte, 0, 2*len(tmpl))
			accepted := pkts[len(pkts)-1]
			replay := bytes.Clone(accepted)
			stranger := bytes.Clone(accepted)
			binary.BigEndian.PutUint32(stranger[8:], 0xbad)
			_, err = un.UnprotectRTP(scratch, replay, &hdr)
			assert.Equal(t, ErrReplay, err)
			_, err = un.UnprotectRTP(scratch, stranger, &hdr)
			assert.Equal(t, ErrAuth, err)
			replayBound, bound := 1.0, 1.0
			if p.info().aead {
				bound = 5
			}
			if be == Compact {
				replayBound, bound = 0, 0
			}
			assert.LessOrEqual(t, testing.AllocsPerRun(runs, func() { _, _ = un.UnprotectRTP(scratch, replay, &hdr) }), replayBound, "replay")
			assert.LessOrEqual(t, testing.AllocsPerRun(runs, func() { _, _ = un.UnprotectRTP(scratch, stranger, &hdr) }), bound, "unknown SSRC")
		})
	}
}

// TestCryptexProfileRefused: a header extension with an RFC 9335 profile
// would be dropped by any receiver without cryptex; protecting one fails
// with the reason instead.
func TestCryptexProfileRefused(t *testing.T) { forBackends(t, testCryptexProfileRefused) }

func testCryptexProfileRefused(t *testing.T, be Backend) {
	p, err := NewProtector(testKeys(ProfileAESCM128HMACSHA1_80, 1), UseBackend(be))
	require.NoError(t, err)
	for _, prof := range []uint16{0xC0DE, 0xC2DE} {
		pkt := []byte{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, byte(prof >> 8), byte(prof), 0, 1, 0x10, 0xAA, 0, 0, 'h', 'i'}
		_, err := p.ProtectRTP(nil, pkt)
		require.ErrorIs(t, err, errPacket)
		require.Contains(t, err.Error(), "cryptex")
	}
	pkt := []byte{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0, 'h', 'i'}
	_, err = p.ProtectRTP(nil, pkt)
	require.NoError(t, err)
}

package srtp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The compact backend's parts against the standard library and pion/rtp;
// the whole against pion is differential_test.go.

// TestHMACMatchesStdlib: both ways of computing HMAC-SHA1 (from chaining
// values with the padding written here, and hashing the pads again) equal
// crypto/hmac for every message length up to three blocks, with and
// without the 4-byte ROC appended.
func TestHMACMatchesStdlib(t *testing.T) {
	initSHA1()
	require.True(t, resumableSHA1, "crypto/sha1 resumes from a chaining value on this Go")
	key := make([]byte, authKeyLen)
	for i := range key {
		key[i] = byte(i*13 + 5)
	}
	resumed, ok := hmacChaining(key)
	require.True(t, ok)
	plain := plainHMACKey(key)
	s, ok := newScratch()
	require.True(t, ok)
	msg := make([]byte, 3*sha1.BlockSize+8)
	for i := range msg {
		msg[i] = byte(i*7 + 1)
	}
	ref := hmac.New(sha1.New, key)
	for n := 0; n <= len(msg)-4; n++ {
		for _, m2 := range [][]byte{nil, msg[n : n+4]} {
			ref.Reset()
			ref.Write(msg[:n])
			ref.Write(m2)
			want := ref.Sum(nil)
			require.Equal(t, want, s.macResumed(&resumed, msg[:n], m2)[:], "resumed, %d+%d bytes", n, len(m2))
			require.Equal(t, want, s.macPlain(&plain, msg[:n], m2)[:], "plain, %d+%d bytes", n, len(m2))
		}
	}
}

// FuzzCheckRTPHeader: checkRTPHeader takes exactly what pion/rtp's
// Header.Unmarshal takes, with the same header length, so that the compact
// backend refuses exactly the headers pion refuses.
func FuzzCheckRTPHeader(f *testing.F) {
	for v := range 4 {
		f.Add(testRTP(1, 2, 10, v))
	}
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x13, 0, 0, 0})
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 0, 1, 5, 0})
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 0, 0, 0, 7})
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 2, 0, 0x21, 1, 2, 3, 0xf0, 9, 9})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var h rtp.Header
		want, wantErr := h.Unmarshal(pkt)
		got, err := checkRTPHeader(pkt)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("checkRTPHeader %v, pion/rtp %v", err, wantErr)
		}
		if err == nil && got != want {
			t.Fatalf("header length %d, pion/rtp %d", got, want)
		}
		if err != nil && err != ErrShortPacket && err != errExtension {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// TestCompactOverlappingBuffers: a dst that overlaps pkt other than
// exactly (which cipher.AEAD and crypto/aes refuse with a panic) still
// gives the right packet, on every profile, both ways.
func TestCompactOverlappingBuffers(t *testing.T) {
	for _, p := range allProfiles {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 90)
			ref, err := NewProtector(k)
			require.NoError(t, err)
			pr, err := NewProtector(k)
			require.NoError(t, err)
			un, err := NewUnprotector(k)
			require.NoError(t, err)
			for i, shift := range []int{-5, 3, 1, -1} {
				pkt := testRTP(uint16(10+i), 0x77, 60, i%4)
				want, err := ref.ProtectRTP(nil, pkt)
				require.NoError(t, err)
				// pkt at offset 8 of a buffer, dst at 8+shift.
				buf := make([]byte, 8+len(pkt)+64)
				copy(buf[8:], pkt)
				got, err := pr.ProtectRTP(buf[8+shift:8+shift], buf[8:8+len(pkt)])
				require.NoError(t, err)
				require.Equal(t, want, got, "protect, dst shifted by %d", shift)

				buf = make([]byte, 8+len(want)+64)
				copy(buf[8:], want)
				plain, err := un.UnprotectRTP(buf[8+shift:8+shift], buf[8:8+len(want)], nil)
				require.NoError(t, err, "unprotect, dst shifted by %d", shift)
				require.Equal(t, pkt, plain)
			}
			r := testRTCP(0x77, 3)
			want, err := ref.ProtectRTCP(nil, r)
			require.NoError(t, err)
			buf := make([]byte, 8+len(want)+64)
			copy(buf[8:], want)
			plain, err := un.UnprotectRTCP(buf[5:5], buf[8:8+len(want)])
			require.NoError(t, err)
			require.Equal(t, r, plain)
		})
	}
}

// TestCompactExhaustion: a sender stops at the RFC 3711 §9.2 limits, 2^48
// SRTP packets (ROC 2^32-1 wrapping) and 2^31 SRTCP packets, with an
// error; the other SSRCs carry on.
func TestCompactExhaustion(t *testing.T) {
	forBackends(t, func(t *testing.T, be Backend) {
		pr, err := NewProtector(testKeys(ProfileAESCM128HMACSHA1_80, 91), UseBackend(be))
		require.NoError(t, err)
		pr.SetROC(5, 0xffffffff)
		_, err = pr.ProtectRTP(nil, testRTP(65535, 5, 10, 0))
		require.NoError(t, err)
		_, err = pr.ProtectRTP(nil, testRTP(0, 5, 10, 0))
		require.Error(t, err, "ROC would wrap")
		assert.NotErrorIs(t, err, ErrShortPacket)
		assert.Equal(t, uint64(1), pr.Stats().OtherErrors)
		_, err = pr.ProtectRTP(nil, testRTP(0, 6, 10, 0))
		require.NoError(t, err)
	})
	pr, err := NewProtector(testKeys(ProfileAEADAES128GCM, 91))
	require.NoError(t, err)
	_, err = pr.ProtectRTCP(nil, testRTCP(5, 1))
	require.NoError(t, err)
	pr.txCold.rtcpIndex[5] = maxSRTCPIndex - 1
	out, err := pr.ProtectRTCP(nil, testRTCP(5, 1))
	require.NoError(t, err)
	assert.Equal(t, uint32(maxSRTCPIndex)|srtcpE, binary.BigEndian.Uint32(out[len(out)-4:]))
	_, err = pr.ProtectRTCP(nil, testRTCP(5, 1))
	assert.ErrorIs(t, err, errExhausted)
}

// TestCompactSSRCChange: a stream that changes SSRC (a re-INVITE) moves
// out of the inline state once the new SSRC has taken over and the old one
// is evicted: the inline state is reused, not leaked.
func TestCompactSSRCChange(t *testing.T) {
	k := testKeys(ProfileAESCM128HMACSHA1_80, 92)
	un, err := NewUnprotector(k, MaxSSRCs(1))
	require.NoError(t, err)
	pr := NewProtectorMust(t, k)
	recv := func(ssrc uint32, seq uint16) {
		out, err := pr.ProtectRTP(nil, testRTP(seq, ssrc, 20, 0))
		require.NoError(t, err)
		_, err = un.UnprotectRTP(out[:0], out, nil)
		require.NoError(t, err)
	}
	recv(1, 1)
	assert.Same(t, &un.first, un.rxState(1), "the first SSRC is inline")
	recv(2, 1)
	assert.Nil(t, un.rxState(1), "evicted")
	assert.NotSame(t, &un.first, un.rxState(2))
	assert.False(t, un.first.live)
	recv(3, 1)
	assert.Same(t, &un.first, un.rxState(3), "the inline state taken again")
	assert.Equal(t, uint64(2), un.Stats().SSRCEvictions)
	out, err := pr.ProtectRTP(nil, testRTP(2, 3, 20, 0))
	require.NoError(t, err)
	plain, err := un.UnprotectRTP(nil, out, nil)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(plain, testRTP(2, 3, 20, 0)))
}

func TestUseBackend(t *testing.T) {
	k := testKeys(ProfileAESCM128HMACSHA1_80, 93)
	for _, be := range []Backend{0, 3, 255} {
		_, err := NewProtector(k, UseBackend(be))
		assert.ErrorIs(t, err, errBackend, "%v", be)
		_, err = NewUnprotector(k, UseBackend(be))
		assert.ErrorIs(t, err, errBackend, "%v", be)
	}
	assert.Equal(t, "Backend(3)", Backend(3).String())
	pr, err := NewProtector(k)
	require.NoError(t, err)
	un, err := NewUnprotector(k)
	require.NoError(t, err)
	assert.Equal(t, DefaultBackend, pr.Backend())
	assert.Equal(t, DefaultBackend, un.Backend())
	for _, be := range backends {
		pr, err := NewProtector(k, UseBackend(be))
		require.NoError(t, err)
		un, err := NewUnprotector(k, UseBackend(be))
		require.NoError(t, err)
		assert.Equal(t, be, pr.Backend())
		assert.Equal(t, be, un.Backend())
	}
}

package srtp

import (
	"crypto/aes"
	"crypto/cipher"
	"reflect"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const cacheLine = 64

// TestLayout holds the compact backend's per-packet footprint to what the
// package documentation promises, and logs the figures it quotes. A packet
// of a Protector's first SSRC touches its first two cache lines (lock,
// SSRC state, SRTP keys, the two counters it increments); a packet of an
// Unprotector's inline SSRC its first three (lock, keys, counters, that
// SSRC's state up to its replay window). Both are allocated on cache line
// boundaries (their size classes are multiples of 64), so that offsets are
// lines. Outside them: the AES key schedule or GCM state the standard
// library allocates, and, for AES-CM, a pooled scratch that stays in
// cache.
func TestLayout(t *testing.T) {
	var p Protector
	var u Unprotector
	var s ssrcState
	assert.Equal(t, uintptr(88), unsafe.Sizeof(sessionKey{}), "sessionKey")
	assert.Equal(t, uintptr(16), unsafe.Sizeof(txState{}), "txState")
	assert.Zero(t, unsafe.Offsetof(p.mu))
	pHot := unsafe.Offsetof(p.pkts) + unsafe.Offsetof(p.pkts.rtpBytes) + unsafe.Sizeof(p.pkts.rtpBytes)
	assert.LessOrEqual(t, pHot, uintptr(2*cacheLine), "Protector: lock, first SSRC, SRTP keys, RTP counters")

	sHot := unsafe.Offsetof(s.window) + unsafe.Sizeof(s.window)
	assert.LessOrEqual(t, sHot, uintptr(cacheLine), "ssrcState: SSRC, flags, index and replay window in one line")
	assert.Zero(t, unsafe.Offsetof(u.mu))
	assert.LessOrEqual(t, unsafe.Offsetof(u.pkts)+unsafe.Offsetof(u.pkts.rtpBytes)+8, unsafe.Offsetof(u.first))
	uHot := unsafe.Offsetof(u.first) + sHot
	assert.LessOrEqual(t, uHot, uintptr(3*cacheLine), "Unprotector: lock, SRTP keys, RTP counters, inline SSRC state")
	assert.Zero(t, unsafe.Offsetof(u.first)%cacheLine, "the inline state starts a line")

	blk, err := aes.NewCipher(make([]byte, 16))
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(blk)
	require.NoError(t, err)
	t.Logf("Protector %d B, hot %d B (%d lines); Unprotector %d B, hot %d B (%d lines); ssrcState %d B; "+
		"sessionKey %d B; crypto/aes block %d B; crypto/cipher GCM %d B",
		unsafe.Sizeof(p), pHot, (pHot+cacheLine-1)/cacheLine, unsafe.Sizeof(u), uHot, (uHot+cacheLine-1)/cacheLine,
		unsafe.Sizeof(s), unsafe.Sizeof(sessionKey{}),
		reflect.TypeOf(blk).Elem().Size(), reflect.TypeOf(gcm).Elem().Size())
	k := testKeys(ProfileAEADAES128GCM, 1)
	for range 64 {
		pr, err := NewProtector(k)
		require.NoError(t, err)
		un, err := NewUnprotector(k)
		require.NoError(t, err)
		require.Zero(t, uintptr(unsafe.Pointer(pr))%cacheLine, "Protector at %p", pr)
		require.Zero(t, uintptr(unsafe.Pointer(un))%cacheLine, "Unprotector at %p", un)
	}

}

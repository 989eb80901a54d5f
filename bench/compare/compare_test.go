package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	lkg711 "github.com/livekit/media-sdk/g711"

	"github.com/rtpmix/rtpmix/codec/g711"
)

// TestSameG711 checks that the G.711 rows compare like with like: both
// libraries decode identically, and encode the same codes but where
// LiveKit, which drops the input's two low bits before its table lookup,
// lands one code off from G.191 (rtpmix is bit-exact with G.191).
func TestSameG711(t *testing.T) {
	src := signal(160, 8000, 1)
	ours := g711.EncodeUlaw(nil, src)
	lk := make([]byte, 160)
	lkg711.EncodeULawTo(lk, src)
	same := 0
	for i := range ours {
		if ours[i] == lk[i] {
			same++
		} else {
			assert.InDelta(t, int(ours[i]), int(lk[i]), 1, "sample %d", i)
		}
	}
	assert.Greater(t, same, 140)
	pcmOurs := g711.DecodeUlaw(nil, ours)
	pcmLK := make([]int16, 160)
	lkg711.DecodeULawTo(pcmLK, ours)
	assert.Equal(t, pcmOurs, pcmLK)
}

// TestAfterLoss holds the behaviour table's measured row.
func TestAfterLoss(t *testing.T) {
	d, l, dr := oursAfterLoss()
	assert.Equal(t, 1, l)
	assert.Equal(t, lossPackets-1, d+dr)
	assert.Less(t, pionAfterLoss(), lossPackets/2, "pion stalls at the gap")
}

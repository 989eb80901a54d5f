package main

import (
	"errors"
	"testing"

	"github.com/rtpmix/rtpmix/codec"
)

// TestConsumer runs the program's conference and checks what a user of
// each build gets: with cgo, Opus works; without, every Opus constructor
// (and a Join that needs one) fails with an error matching
// codec.ErrUnsupported while everything else works.
func TestConsumer(t *testing.T) {
	r, err := run()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cgo %v: bob received %d packets, tone share %.3f; opus: %v; join with opus: %v",
		cgoBuild, r.packets, r.tone, r.opusErr, r.opusJoinErr)
	if r.packets < 90 {
		t.Errorf("bob received %d packets in 100 ticks, want one per tick after the first few", r.packets)
	}
	if r.tone < 0.8 {
		t.Errorf("440 Hz is %.3f of what bob heard, want most of it", r.tone)
	}
	if r.opusOK != cgoBuild {
		t.Errorf("opus.Available() = %v in a build with cgo %v", r.opusOK, cgoBuild)
	}
	if cgoBuild {
		if r.opusErr != nil || r.opusJoinErr != nil {
			t.Errorf("cgo build: opus.NewEncoder: %v; Join with Opus: %v; want both to work", r.opusErr, r.opusJoinErr)
		}
		return
	}
	if !errors.Is(r.opusErr, codec.ErrUnsupported) {
		t.Errorf("CGO_ENABLED=0: opus.NewEncoder returned %v, want codec.ErrUnsupported", r.opusErr)
	}
	if !errors.Is(r.opusJoinErr, codec.ErrUnsupported) {
		t.Errorf("CGO_ENABLED=0: Join with Opus returned %v, want codec.ErrUnsupported", r.opusJoinErr)
	}
}

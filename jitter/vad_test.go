package jitter_test

import (
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/jitter"
)

// TestVADOffIsNotSilence: a sender with RFC 6464 vad=off sends levels with
// the V flag always clear. Its loud packets are speech, so a loss among
// them is concealed, not played as a pause; a sender that does set V
// shows its pauses with a clear flag, and a loss between quiet packets
// plays as silence.
func TestVADOffIsNotSilence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		voice   bool // what the sender's loud packets say
		level   int8
		conceal bool
	}{
		{"vad=off, loud", false, 20, true},
		{"vad=on, speech", true, 20, true},
	} {
		b, err := jitter.New(jitter.Config{ClockRate: 8000, FrameDuration: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		p := &jitter.Packet{SSRC: 1, Payload: make([]byte, 160), Duration: 160}
		concealed, gaps := 0, 0
		for i := range 200 {
			now := time.Duration(i) * 20 * time.Millisecond
			if i != 100 { // one packet lost mid-stream
				p.SequenceNumber, p.Timestamp = uint16(i), uint32(i)*160
				p.AudioLevel, p.Voice = tc.level, tc.voice
				if err := b.Push(now, p); err != nil {
					t.Fatal(err)
				}
			}
			f := b.Pop(now)
			if f.Stretch != 0 {
				b.Stretched(f.Stretch)
			}
			switch f.Kind {
			case jitter.KindLost, jitter.KindConceal:
				concealed++
			case jitter.KindGap:
				if i > 100 {
					gaps++
				}
			}
		}
		if got := concealed > 0; got != tc.conceal {
			t.Errorf("%s: %d concealed, %d gaps after the loss; want concealment %v", tc.name, concealed, gaps, tc.conceal)
		}
	}
}

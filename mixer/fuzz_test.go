package mixer

import (
	"slices"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

// writeErrors are the errors WriteRTP documents, returned unwrapped.
var writeErrors = []error{ErrClosed, ErrMalformed, ErrPayloadType, srtp.ErrAuth, srtp.ErrReplay,
	jitter.ErrLate, jitter.ErrDuplicate, jitter.ErrFull, jitter.ErrTooLarge}

// FuzzWriteRTP feeds arbitrary packets to a PCMU and an Opus participant
// between ticks: nothing panics, every refusal is one of the documented
// errors, each packet is counted once (accepted or refused, as RTP or,
// demultiplexed, as RTCP), and the conference keeps sending every
// listener a packet per tick.
func FuzzWriteRTP(f *testing.F) {
	c, err := NewConference(ConferenceConfig{})
	if err != nil {
		f.Fatal(err)
	}
	u := newClient(f, c, clientSpec{id: "u", format: pcmu, pt: 0, src: tone(440, 1, 0.3)})
	o := newClient(f, c, clientSpec{id: "o", format: opf, pt: 111, src: tone(700, 1, 0.3)})
	l := newClient(f, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
	for _, cl := range []*client{u, o, l} {
		cl.keep = false
	}
	f.Add(append([]byte(nil), u.packet()...), true)
	f.Add(append([]byte(nil), o.packet()...), false)
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 9, 0x10}, true)
	f.Add([]byte{0xA0, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xFC, 0xFF, 0xFE, 0x7F}, false)
	now := time.Duration(0)
	f.Fuzz(func(t *testing.T, pkt []byte, toPCMU bool) {
		target := o
		if toPCMU {
			target = u
		}
		before := target.p.Stats()
		err := target.p.WriteRTPAt(now, append([]byte(nil), pkt...))
		after := target.p.Stats()
		if err != nil && !slices.Contains(writeErrors, err) {
			t.Fatalf("WriteRTP returned %v, not one of its documented sentinels", err)
		}
		// RTCP (RFC 5761) goes to the RTCP counters.
		acc := after.PacketsIn - before.PacketsIn + after.RTCP.PacketsIn - before.RTCP.PacketsIn
		ref := after.Refused.Packets - before.Refused.Packets + after.RTCP.Refused.Packets - before.RTCP.Refused.Packets
		if acc+ref != 1 || (err == nil) != (acc == 1) {
			t.Fatalf("error %v: accepted %d, refused %d", err, acc, ref)
		}
		_ = u.p.WriteRTPAt(now, u.packet())
		_ = o.p.WriteRTPAt(now, o.packet())
		sent := l.p.Stats().PacketsOut
		c.Tick(now)
		now += 20 * time.Millisecond
		if l.p.Stats().PacketsOut != sent+1 {
			t.Fatalf("listener got %d packets in a tick", l.p.Stats().PacketsOut-sent)
		}
	})
}

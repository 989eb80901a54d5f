package mixer

import (
	"slices"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/srtp"
)

// trunkErrors are the errors Trunk.WriteRTP documents, returned unwrapped.
var trunkErrors = append([]error{ErrTrunkLoop, ErrTrunkDuplicate, ErrTrunkOrigin, ErrTrunkStreams}, writeErrors...)

// FuzzTrunkInput feeds arbitrary packets to two plain trunks of a part
// (the fuzzer reaches the parser; SRTP's refusals are tested apart),
// between ticks, beside a local talker that is forwarded: nothing panics,
// every refusal is a documented error, each packet is counted once, a
// stream of this part never makes a remote participant, no stream is
// kept twice, their number stays bounded, and the local talker keeps
// being forwarded and the listener sent a packet per tick.
func FuzzTrunkInput(f *testing.F) {
	const part = 1
	c, err := NewConference(ConferenceConfig{SampleRate: 8000})
	if err != nil {
		f.Fatal(err)
	}
	if err := c.EnableTrunking(TrunkingConfig{Part: part, MaxRemoteStreams: 8}); err != nil {
		f.Fatal(err)
	}
	out := &trunkCapture{keep: true}
	if _, err := c.AddTrunk(TrunkConfig{Peer: 9, Sink: out}); err != nil {
		f.Fatal(err)
	}
	in := make([]*Trunk, 2)
	for i := range in {
		if in[i], err = c.AddTrunk(TrunkConfig{Peer: uint32(2 + i)}); err != nil {
			f.Fatal(err)
		}
	}
	talker := newClient(f, c, clientSpec{id: "alice", format: pcmu, pt: 0, src: tone(440, 2, 0.3)})
	l := newClient(f, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
	talker.keep, l.keep = false, false
	now := time.Duration(0)
	for range 10 {
		_ = talker.p.WriteRTPAt(now, talker.packet())
		c.Tick(now)
		now += 20 * time.Millisecond
	}
	// Seeds: real trunk packets as a forwarder writes them (with and
	// without the name, pre-roll), one of our own, an Opus one, and
	// damaged ones.
	for _, p := range out.pkts[:min(3, len(out.pkts))] {
		f.Add(slices.Clone(p), false)
	}
	f.Add(trunkPacket(2, 5, 1, "bob", make([]byte, 160)), false)
	f.Add(trunkPacket(3, 5, 1, "", make([]byte, 160)), true)
	f.Add(trunkPacket(part, 5, 1, "me", make([]byte, 160)), false)
	op := trunkHeader{seq: 1, ssrc: 6, pt: 111, level: 30, voice: true, part: 2, preRoll: true, held: 40 * time.Millisecond}
	f.Add(appendTrunkPacket(make([]byte, 0, 512), &op, []byte{0xFC, 0xFF, 0xFE}), false)
	ka := trunkHeader{seq: 1, ssrc: 2, part: 2, keepalive: true, level: 127}
	f.Add(appendTrunkPacket(make([]byte, 0, 512), &ka, nil), false)
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0, 0, 1, 2, 7, 0}, true)
	f.Fuzz(func(t *testing.T, pkt []byte, second bool) {
		if talker.pos > len(talker.src)-4*talker.frame {
			talker.pos = 0 // talk on
		}
		tr := in[0]
		if second {
			tr = in[1]
		}
		before := tr.Stats()
		err := tr.WriteRTPAt(now, slices.Clone(pkt))
		after := tr.Stats()
		if err != nil && !slices.Contains(trunkErrors, err) && err != srtp.ErrAuth {
			t.Fatalf("WriteRTP returned %v, not one of its documented sentinels", err)
		}
		acc := after.PacketsIn - before.PacketsIn
		ref := after.Refused.Packets - before.Refused.Packets
		if acc+ref != 1 || (err == nil) != (acc == 1) {
			t.Fatalf("error %v: accepted %d, refused %d", err, acc, ref)
		}
		remote := c.RemoteParticipants()
		if len(remote) > 8 {
			t.Fatalf("%d remote streams, over the bound", len(remote))
		}
		seen := map[uint64]bool{}
		for _, p := range remote {
			k := p.tr.remote.key
			if uint32(k>>32) == part {
				t.Fatalf("a stream of this part became a remote participant")
			}
			if seen[k] {
				t.Fatalf("stream %x kept twice", k)
			}
			seen[k] = true
		}
		fwd := out.n
		_ = talker.p.WriteRTPAt(now, talker.packet())
		if out.n == fwd {
			t.Fatalf("the local talker stopped being forwarded")
		}
		out.pkts = out.pkts[:0]
		sent := l.p.Stats().PacketsOut
		c.Tick(now)
		now += 20 * time.Millisecond
		if l.p.Stats().PacketsOut != sent+1 {
			t.Fatalf("listener got %d packets in a tick", l.p.Stats().PacketsOut-sent)
		}
	})
}

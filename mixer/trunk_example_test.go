package mixer_test

import (
	"fmt"
	"math"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

// One room in two parts, as two bridges would run it: each part is a
// Conference with trunking enabled, and one SRTP trunk joins them. Here
// each trunk's Sink hands packets straight to the other part's
// Trunk.WriteRTPAt; a bridge sends them over UDP and feeds what its
// trunk socket reads to Trunk.WriteRTP. Alice talks at part 1; Bob, at
// part 2, hears her through the trunk.
func Example_trunk() {
	var now time.Duration
	newPart := func(part uint32) *mixer.Conference {
		c, err := mixer.NewConference(mixer.ConferenceConfig{Name: "room"})
		if err != nil {
			panic(err)
		}
		if err := c.EnableTrunking(mixer.TrunkingConfig{Part: part}); err != nil {
			panic(err)
		}
		return c
	}
	p1, p2 := newPart(1), newPart(2)

	// Keys per direction, exchanged by the application's signalling.
	k12, _ := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	k21, _ := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	var t1, t2 *mixer.Trunk
	t1, _ = p1.AddTrunk(mixer.TrunkConfig{Peer: 2, OutSRTP: &k12, InSRTP: &k21,
		Sink: mixer.SinkFunc(func(pkt []byte) error { return t2.WriteRTPAt(now, pkt) })})
	t2, _ = p2.AddTrunk(mixer.TrunkConfig{Peer: 1, OutSRTP: &k21, InSRTP: &k12,
		Sink: mixer.SinkFunc(func(pkt []byte) error { return t1.WriteRTPAt(now, pkt) })})

	alice, _ := p1.Join(mixer.ParticipantConfig{ID: "alice", In: g711.PCMU, Out: g711.PCMU})
	bobHeard := 0
	_, _ = p2.Join(mixer.ParticipantConfig{ID: "bob", In: g711.PCMU, Out: g711.PCMU,
		Sink: mixer.SinkFunc(func(pkt []byte) error {
			var h rtp.Header
			if _, err := h.Unmarshal(pkt); err == nil && len(h.CSRC) > 0 {
				bobHeard++ // a packet with someone's voice in it
			}
			return nil
		})})

	enc, _ := codec.NewEncoder("PCMU/8000", codec.Config{})
	pcm := make([]int16, enc.FrameSamples())
	var payload []byte
	for i := range 50 { // a second of Alice's 440 Hz tone
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*len(pcm)+j)/8000))
		}
		payload, _ = enc.Encode(payload, pcm)
		pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i),
			Timestamp: uint32(i * 160), SSRC: 1}, Payload: payload}).Marshal()
		now = time.Duration(i) * 20 * time.Millisecond
		_ = alice.WriteRTPAt(now, pkt) // forwarded on the trunk as it arrives
		p1.Tick(now)
		p2.Tick(now)
	}
	for _, r := range p2.RemoteParticipants() {
		fmt.Println("part 2 mixes", r.ID(), "from another part:", r.Remote())
	}
	fmt.Println("bob heard alice:", bobHeard > 30)
	fmt.Println("trunk 1→2 carried packets:", t1.Stats().PacketsOut > 40)
	// Output:
	// part 2 mixes alice from another part: true
	// bob heard alice: true
	// trunk 1→2 carried packets: true
}

package mixer_test

import (
	"fmt"
	"math"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// A three-party G.711 conference driven in virtual time: Alice talks, Bob
// and Carol hear her, and Alice hears nobody (mix-minus).
func Example() {
	conf, err := mixer.NewConference(mixer.ConferenceConfig{Name: "demo"})
	if err != nil {
		panic(err)
	}
	heard := map[string]int{}
	join := func(id string) *mixer.Participant {
		p, err := conf.Join(mixer.ParticipantConfig{
			ID: id, In: g711.PCMU, Out: g711.PCMU,
			Sink: mixer.SinkFunc(func(pkt []byte) error {
				if rtcpsession.IsRTCP(pkt) {
					return nil // the participant's RTCP reports come through the same sink
				}
				var h rtp.Header
				if _, err := h.Unmarshal(pkt); err == nil && len(h.CSRC) > 0 {
					heard[id]++ // a packet that carries someone's voice
				}
				return nil
			}),
		})
		if err != nil {
			panic(err)
		}
		return p
	}
	alice, _, _ := join("alice"), join("bob"), join("carol")

	enc, _ := codec.NewEncoder("PCMU/8000", codec.Config{})
	pcm := make([]int16, enc.FrameSamples())
	var payload []byte
	for i := 0; i < 50; i++ { // one second of a 440 Hz tone from Alice
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*len(pcm)+j)/8000))
		}
		payload, _ = enc.Encode(payload, pcm)
		pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i),
			Timestamp: uint32(i * 160), SSRC: 1}, Payload: payload}).Marshal()
		now := time.Duration(i) * 20 * time.Millisecond
		_ = alice.WriteRTPAt(now, pkt)
		conf.Tick(now)
	}
	fmt.Println("alice heard voice:", heard["alice"] > 0)
	fmt.Println("bob heard voice:", heard["bob"] > 40)
	fmt.Println("carol heard voice:", heard["carol"] > 40)
	// Output:
	// alice heard voice: false
	// bob heard voice: true
	// carol heard voice: true
}

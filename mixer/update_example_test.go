package mixer_test

import (
	"fmt"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/mixer"
)

// A participant puts the call on hold and resumes on another codec: one
// Update each, and its outbound stream goes on under the same SSRC with
// the next sequence number.
func ExampleParticipant_Update() {
	conf, err := mixer.NewConference(mixer.ConferenceConfig{SampleRate: 8000})
	if err != nil {
		panic(err)
	}
	var got []rtp.Header
	bob, err := conf.Join(mixer.ParticipantConfig{ID: "bob", In: g711.PCMU, Out: g711.PCMU,
		Sink: mixer.SinkFunc(func(pkt []byte) error {
			var h rtp.Header
			if _, err := h.Unmarshal(pkt); err == nil {
				got = append(got, h)
			}
			return nil
		})})
	if err != nil {
		panic(err)
	}
	now := time.Duration(0)
	tick := func(n int) {
		for range n {
			conf.Tick(now)
			now += 20 * time.Millisecond
		}
	}
	tick(10)
	// Bob's phone sends a re-INVITE with a=sendonly: answer recvonly.
	if err := bob.Update(func(c *mixer.ParticipantConfig) { c.Direction = mixer.RecvOnly }); err != nil {
		panic(err)
	}
	tick(10)
	fmt.Println("packets before and during the hold:", len(got))
	// It resumes with a=sendrecv, offering PCMA only.
	if err := bob.Update(func(c *mixer.ParticipantConfig) { c.Direction, c.In, c.Out = mixer.SendRecv, g711.PCMA, g711.PCMA }); err != nil {
		panic(err)
	}
	tick(10)
	last, first := got[9], got[10]
	fmt.Println("same SSRC:", last.SSRC == first.SSRC, "next sequence number:", first.SequenceNumber == last.SequenceNumber+1)
	fmt.Println("payload type", last.PayloadType, "then", first.PayloadType, "marker", first.Marker)
	fmt.Println("timestamp advanced by the hold:", first.Timestamp-last.Timestamp == 11*160)
	// Output:
	// packets before and during the hold: 10
	// same SSRC: true next sequence number: true
	// payload type 0 then 8 marker true
	// timestamp advanced by the hold: true
}

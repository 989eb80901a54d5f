package mixer_test

import (
	"fmt"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/dtmf"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// A phone that negotiated telephone-event (a=rtpmap:101
// telephone-event/8000) presses 5; the conference reports the digit, and
// the application answers by sending the phone a # (RFC 4733 events on
// its own stream), driven in virtual time.
func ExampleParticipant_SendDTMF() {
	conf, err := mixer.NewConference(mixer.ConferenceConfig{Name: "ivr"}) // digits swallowed: for the application
	if err != nil {
		panic(err)
	}
	te := mixer.TelephoneEvent{PayloadType: 101}
	var events []string
	phone, err := conf.Join(mixer.ParticipantConfig{ID: "phone", In: g711.PCMU, Out: g711.PCMU,
		InTelephoneEvent: te, OutTelephoneEvent: te,
		Sink: mixer.SinkFunc(func(pkt []byte) error {
			var h rtp.Header
			n, err := h.Unmarshal(pkt)
			if rtcpsession.IsRTCP(pkt) || err != nil || h.PayloadType != 101 {
				return nil
			}
			r := pkt[n:] // event, E|volume, duration (RFC 4733 §2.3)
			events = append(events, fmt.Sprintf("event %d end=%v duration=%d", r[0], r[1]&0x80 != 0, int(r[2])<<8|int(r[3])))
			return nil
		})})
	if err != nil {
		panic(err)
	}

	// The phone: 20 ms of silence per packet, and the digit 5 for 100 ms
	// as telephone-events in their place.
	tx, _ := dtmf.NewSender(dtmf.SenderConfig{ClockRate: 8000})
	silence := g711.EncodeUlaw(nil, make([]int16, 160))
	seq, ts := uint16(1), uint32(0)
	now := time.Duration(0)
	for i := range 30 {
		if i == 5 {
			_ = tx.Start(5, 100*time.Millisecond, ts)
		}
		h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: 42}
		payload := silence
		if p, ok := tx.Next(make([]byte, 0, 4)); ok {
			h.PayloadType, h.Marker, h.Timestamp, payload = 101, p.Marker, p.Timestamp, p.Payload
		}
		pkt, _ := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
		_ = phone.WriteRTPAt(now, pkt)
		conf.Tick(now)
		seq, ts, now = seq+1, ts+160, now+20*time.Millisecond
	}
	for len(conf.Events()) > 0 {
		if e := <-conf.Events(); e.Type == mixer.DTMFEnded {
			fmt.Printf("%s pressed %c for %v\n", e.Participant, e.DTMF.Digit.Rune(), e.DTMF.Duration)
			if err := phone.SendDTMF(dtmf.EventPound, 60*time.Millisecond); err != nil {
				panic(err)
			}
		}
	}
	for range 10 {
		conf.Tick(now)
		now += 20 * time.Millisecond
	}
	for _, e := range events {
		fmt.Println(e)
	}
	// Output:
	// phone pressed 5 for 100ms
	// event 11 end=false duration=160
	// event 11 end=false duration=320
	// event 11 end=true duration=480
	// event 11 end=true duration=480
	// event 11 end=true duration=480
}

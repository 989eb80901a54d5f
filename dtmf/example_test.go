package dtmf_test

import (
	"fmt"
	"math"
	"time"

	"github.com/rtpmix/rtpmix/dtmf"
)

// A participant's telephone-event packets, in playout order, become one
// notice when a digit begins and one when it ends.
func ExampleReceiver() {
	rx, _ := dtmf.NewReceiver(dtmf.ReceiverConfig{ClockRate: 8000})

	// The packets a phone sends for "5" held 60 ms: marker on the first,
	// one timestamp, growing durations, the end report three times.
	packets := []struct {
		marker  bool
		payload []byte
	}{
		{true, []byte{5, 10, 0x00, 0xa0}},  // 160
		{false, []byte{5, 10, 0x01, 0x40}}, // 320
		{false, []byte{5, 0x8a, 0x01, 0xe0}},
		{false, []byte{5, 0x8a, 0x01, 0xe0}},
		{false, []byte{5, 0x8a, 0x01, 0xe0}},
	}
	now := time.Duration(0)
	for _, p := range packets {
		rx.Tick(now)
		if err := rx.Packet(now, 48000, p.marker, p.payload); err != nil {
			fmt.Println(err)
		}
		for d, ok := rx.Next(); ok; d, ok = rx.Next() {
			fmt.Println(d)
		}
		now += 20 * time.Millisecond
	}
	// Output:
	// 5 began at 48000
	// 5 ended (end) at 48000 after 60ms
}

// A Sender makes the packets of one digit for a stream whose header the
// caller writes: one packet per packet interval, in place of audio.
func ExampleSender() {
	tx, _ := dtmf.NewSender(dtmf.SenderConfig{ClockRate: 8000, Interval: 20 * time.Millisecond})
	ev, _ := dtmf.ParseDigit('#')
	_ = tx.Start(ev, 80*time.Millisecond, 160000) // the stream's next timestamp

	var buf [dtmf.ReportSize]byte
	for p, ok := tx.Next(buf[:0]); ok; p, ok = tx.Next(buf[:0]) {
		var r dtmf.Report
		_ = r.Unmarshal(p.Payload)
		fmt.Printf("M=%v ts=%d %v E=%v duration=%d\n", p.Marker, p.Timestamp, r.Event, r.End, r.Duration)
	}
	// Audio resumes at 160000 + tx.Samples().
	fmt.Println("audio resumes at", 160000+tx.Samples())
	// Output:
	// M=true ts=160000 # E=false duration=160
	// M=false ts=160000 # E=false duration=320
	// M=false ts=160000 # E=false duration=480
	// M=false ts=160000 # E=true duration=640
	// M=false ts=160000 # E=true duration=640
	// M=false ts=160000 # E=true duration=640
	// audio resumes at 160640
}

// The Detector finds digits in decoded audio, frame by frame.
func ExampleDetector() {
	det, _ := dtmf.NewDetector(dtmf.DetectorConfig{SampleRate: 8000})

	// 100 ms of silence, "7" (852 + 1209 Hz at -10 dBm0 each) for 60 ms,
	// 100 ms of silence; 20 ms frames.
	pcm := make([]int16, 2080)
	lo, hi, _ := dtmf.Event(7).Frequencies()
	for i := 800; i < 1280; i++ {
		t := float64(i) / 8000
		pcm[i] = int16(7180 * (math.Sin(2*math.Pi*lo*t) + math.Sin(2*math.Pi*hi*t)))
	}
	for f := 0; f+160 <= len(pcm); f += 160 {
		det.Process(pcm[f : f+160])
		for d, ok := det.Next(); ok; d, ok = det.Next() {
			fmt.Println(d)
		}
	}
	// Output:
	// 7 began at 800
	// 7 ended (end) at 800 after 60ms
}

// A payload may carry several reports (RFC 4733 §2.5.1.5): here the end
// of "3" as redundancy ahead of the start of "6".
func ExampleParsePayload() {
	payload := []byte{3, 0x8a, 0x02, 0x80, 6, 0x0a, 0x00, 0xa0}
	var arr [4]dtmf.Report // no allocation
	reports, err := dtmf.ParsePayload(arr[:0], payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range reports {
		fmt.Printf("%v end=%v duration=%d starts at %d\n", r.Event, r.End, r.Duration, dtmf.ReportStart(1000, reports, i))
	}
	// Output:
	// 3 end=true duration=640 starts at 1000
	// 6 end=false duration=160 starts at 1640
}

// The events a leg offers, from its a=fmtp line.
func ExampleParseEventSet() {
	set, _ := dtmf.ParseEventSet("0-15,16")
	fmt.Println(set, set.Has(dtmf.EventFlash), set.Has(32))
	// Output: 0-16 true false
}

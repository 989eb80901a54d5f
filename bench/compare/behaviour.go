package main

import (
	"fmt"
	"os"
	"time"

	lkjitter "github.com/livekit/media-sdk/jitter"
	"github.com/pion/interceptor/pkg/jitterbuffer"
	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/jitter"
)

// lossRun sends 100 packets, one per 20 ms, with packet 10 lost, reading
// after each push as a mixer tick would, and counts the packets delivered.
const lossPackets, lostIndex = 100, 10

func oursAfterLoss() (delivered, lostSignalled, dropped int) {
	jb, _ := jitter.New(jitter.Config{ClockRate: 8000})
	payload := make([]byte, 160)
	for i := 0; i < lossPackets+10; i++ {
		now := time.Duration(i) * 20 * time.Millisecond
		if i < lossPackets && i != lostIndex {
			_ = jb.Push(now, &jitter.Packet{SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i) * 160, AudioLevel: 30, Voice: true, Payload: payload})
		}
		switch jb.Pop(now).Kind {
		case jitter.KindPacket:
			delivered++
		case jitter.KindLost:
			lostSignalled++
		}
	}
	return delivered, lostSignalled, int(jb.Stats().Dropped)
}

func pionAfterLoss() (delivered int) {
	jb := jitterbuffer.New(jitterbuffer.WithMinimumPacketCount(1))
	payload := make([]byte, 160)
	for i := 0; i < lossPackets; i++ {
		if i != lostIndex {
			jb.Push(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 160, SSRC: 1}, Payload: payload})
		}
		if _, err := jb.Pop(); err == nil {
			delivered++
		}
	}
	return delivered
}

// lkAfterLoss runs in real time (2 s): LiveKit's buffer reads the wall
// clock to decide when a gap has waited long enough.
func lkAfterLoss() (delivered int) {
	got := make(chan int, lossPackets)
	jb := lkjitter.NewBuffer(lkDepacketizer{}, 60*time.Millisecond, func(ps []lkjitter.ExtPacket) { got <- len(ps) })
	defer jb.Close()
	payload := make([]byte, 160)
	start := time.Now()
	for i := 0; i < lossPackets; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		if i != lostIndex {
			jb.Push(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 160, SSRC: 1}, Payload: payload})
		}
	}
	time.Sleep(200 * time.Millisecond)
	for {
		select {
		case n := <-got:
			delivered += n
		default:
			return delivered
		}
	}
}

func writeBehaviour(w *os.File, md bool) error {
	d, l, dr := oursAfterLoss()
	head := []string{"behaviour", "rtpmix", "pion/interceptor jitterbuffer", "LiveKit media-sdk"}
	rows := [][]string{
		{fmt.Sprintf("one lost packet in %d (measured): packets delivered", lossPackets),
			fmt.Sprintf("%d, the loss reported %d× (KindLost), %d dropped to shrink the start-up delay", d, l, dr),
			fmt.Sprintf("%d: Pop stalls at the gap until the caller skips it", pionAfterLoss()),
			fmt.Sprintf("%d, after waiting out its 60 ms latency", lkAfterLoss())},
		{"playout delay", "adaptive (99.5% quantile of arrival delay), never creeps", "none: fixed packet count before the first Pop", "fixed latency (60 ms in its SIP handler)"},
		{"next packet known at a loss (Opus in-band FEC)", "yes: Frame.NextAvailable", "no", "no"},
		{"mix-minus", "yes: speakers summed once, each minus itself", "n/a", "no: one mixer per listener"},
		{"clock", "caller's (virtual time in tests)", "none (caller pops)", "wall clock and its own goroutine"},
	}
	return printRows(w, head, rows, md)
}

package rtpclient_test

import (
	"fmt"
	"net"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/examples/internal/rtpclient"
)

// A tone sent as RTP from one socket to another and received with RFC 3550
// statistics.
func ExampleSender() {
	src, err := rtpclient.NewToneSource(440, -12, 100*time.Millisecond, "PCMU/8000", codec.Config{})
	if err != nil {
		panic(err)
	}
	tx, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	rx, _ := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer tx.Close()
	defer rx.Close()
	snd, _ := rtpclient.NewSender(tx, rx.LocalAddr().(*net.UDPAddr), src, rtpclient.SenderConfig{AudioLevelID: 1})
	rcv, _ := rtpclient.NewReceiver(rx, rtpclient.ReceiverConfig{ClockRate: 8000, PayloadType: 0})
	for !snd.Done() {
		_ = snd.Send() // a real sender would pace these 20 ms apart (Pace)
	}
	_ = rx.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_ = rcv.Run() // until the deadline
	st := rcv.Stats()
	fmt.Println("frames:", src.Len(), "sent:", snd.Stats().Packets, "received:", st.Packets, "lost:", st.Lost)
	// Output:
	// frames: 5 sent: 5 received: 5 lost: 0
}

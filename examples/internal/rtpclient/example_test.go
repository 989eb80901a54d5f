package rtpclient_test

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/examples/internal/rtpclient"
)

// An offer as a participant posts it to the bridge, and the parts of the
// answer that it acts on.
func ExampleOffer() {
	offer := rtpclient.Offer{IP: "127.0.0.1", Port: 40000, AudioLevelID: 1, RTCPMux: true,
		Codecs: []rtpclient.Codec{{Format: g711.PCMU, PayloadType: 0}}}
	fmt.Print(strings.ReplaceAll(offer.String(), "\r\n", "\n")) // CRLF on the wire

	answer := "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 35000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\n"
	a, err := rtpclient.ParseAnswer(answer)
	if err != nil {
		panic(err)
	}
	fmt.Println("send to", a.IP, a.Port, "as", a.Codec.Format.SDPName(), "pt", a.Codec.PayloadType, "rtcp-mux", a.RTCPMux)
	// Output:
	// v=0
	// o=- 40000 1 IN IP4 127.0.0.1
	// s=rtpmix
	// c=IN IP4 127.0.0.1
	// t=0 0
	// m=audio 40000 RTP/AVP 0
	// a=rtpmap:0 PCMU/8000
	// a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
	// a=rtcp-mux
	// a=sendrecv
	// send to 127.0.0.1 35000 as PCMU/8000 pt 0 rtcp-mux true
}

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

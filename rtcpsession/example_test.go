package rtcpsession_test

import (
	"fmt"
	"time"

	"github.com/rtpmix/rtpmix/rtcpsession"
)

// Two endpoints of one session, 30 ms apart, in virtual time: Alice sends
// 20 ms packets to Bob, of which the network loses every tenth; Bob sends
// none. Each reports when its schedule says so. Alice learns the round
// trip and the loss from Bob's receiver reports, which echo her sender
// reports.
func Example() {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	alice, _ := rtcpsession.New(rtcpsession.Config{SSRC: 0xa11ce, CNAME: "alice@example.org", ClockRate: 8000,
		Clock: rtcpsession.Clock{Epoch: epoch}})
	bob, _ := rtcpsession.New(rtcpsession.Config{SSRC: 0xb0b, CNAME: "bob@example.org", ClockRate: 8000,
		Clock: rtcpsession.Clock{Epoch: epoch}})

	const delay = 30 * time.Millisecond
	type inFlight struct {
		at  time.Duration
		pkt []byte
		to  *rtcpsession.Session
	}
	var net []inFlight
	buf := make([]byte, rtcpsession.MaxSize(1))
	for i := 0; i < 1500; i++ { // 30 s
		now := time.Duration(i) * 20 * time.Millisecond
		ts := uint32(i * 160)
		alice.SentRTP(ts, 160, now)
		if i%10 != 9 {
			bob.ReceiveRTP(alice.SSRC(), uint16(i), ts, now+delay) // delivered in order, so at once
		}
		for _, s := range []*rtcpsession.Session{alice, bob} {
			if s.Due(now) {
				n, _ := s.WriteReport(buf, now, false)
				to := bob
				if s == bob {
					to = alice
				}
				net = append(net, inFlight{now + delay, append([]byte(nil), buf[:n]...), to})
			}
		}
		for len(net) > 0 && net[0].at <= now {
			if _, err := net[0].to.ReceiveRTCP(net[0].pkt, net[0].at); err != nil {
				fmt.Println(err)
			}
			net = net[1:]
		}
	}
	r := alice.Receiver.Remote()
	// Cumulative: the fraction of the last interval alone depends on
	// where the randomised reports fell.
	fmt.Printf("bob reported %.0f%% loss, round trip %v\n",
		float64(r.CumulativeLost)/float64(r.HighestSeq+1)*100, r.RTT.Round(time.Millisecond))
	fmt.Printf("alice knows bob as %s\n", alice.Receiver.CNAME())
	// Output:
	// bob reported 10% loss, round trip 60ms
	// alice knows bob as bob@example.org
}

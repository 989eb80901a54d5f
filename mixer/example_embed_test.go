package mixer_test

import (
	"fmt"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// A room an Engine runs on real UDP sockets, one per participant, as a
// server embeds the mixer (examples/minimal is a whole server): each
// participant's socket is read by a goroutine that calls WriteRTP, its Sink
// writes to the peer, the events are ranged over until Close ends them.
// Here the peers are two more sockets on 127.0.0.1: Alice's phone talks for
// half a second, Bob's listens.
func Example_embedding() {
	eng := mixer.NewEngine(mixer.EngineConfig{}) // a worker per core, ticks on the monotonic clock
	room, err := eng.NewConference(mixer.ConferenceConfig{Name: "room"})
	if err != nil {
		panic(err)
	}
	events := make(chan struct{})
	go func() {
		defer close(events)
		for ev := range room.Events() { // ends after Close, with everyone's Left
			if ev.Type == mixer.Joined || ev.Type == mixer.Left {
				fmt.Println(ev.Type, ev.Participant)
			}
		}
	}()

	// join gives a participant a socket of its own, which sends to phone.
	join := func(id string, phone net.Addr) net.PacketConn {
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		p, err := room.Join(mixer.ParticipantConfig{ID: id, In: g711.PCMU, Out: g711.PCMU,
			Sink: mixer.SinkFunc(func(pkt []byte) error { _, err := conn.WriteTo(pkt, phone); return err })})
		if err != nil {
			panic(err)
		}
		go func() {
			buf := make([]byte, 1500)
			for {
				n, _, err := conn.ReadFrom(buf)
				if err != nil {
					return // the socket was closed
				}
				_ = p.WriteRTP(buf[:n]) // RTP or muxed RTCP; refusals are counted in p.Stats()
			}
		}()
		return conn
	}
	alicePhone, _ := net.ListenPacket("udp", "127.0.0.1:0")
	bobPhone, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer alicePhone.Close()
	defer bobPhone.Close()
	alice := join("alice", alicePhone.LocalAddr())
	bob := join("bob", bobPhone.LocalAddr())

	var loud atomic.Int32 // packets Bob's phone got with Alice's voice in them
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := bobPhone.ReadFrom(buf)
			if err != nil {
				return
			}
			var h rtp.Header
			if rtcpsession.IsRTCP(buf[:n]) {
				continue
			}
			if _, err := h.Unmarshal(buf[:n]); err == nil && len(h.CSRC) > 0 {
				loud.Add(1) // the CSRC list names the speakers heard
			}
		}
	}()
	pcm := make([]int16, 160)
	for i := range 25 { // Alice's phone: 440 Hz, 20 ms packets
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*160+j)/8000))
		}
		pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i),
			Timestamp: uint32(i * 160), SSRC: 1}, Payload: g711.EncodeUlaw(nil, pcm)}).Marshal()
		_, _ = alicePhone.WriteTo(pkt, alice.LocalAddr())
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	fmt.Println("bob heard alice:", loud.Load() > 10)

	_ = room.Close() // everyone leaves (their BYEs go out), the room stops ticking
	<-events
	_ = eng.Close() // every Sink call has returned: the sockets may go
	alice.Close()
	bob.Close()
	// Output:
	// joined alice
	// joined bob
	// bob heard alice: true
	// left alice
	// left bob
}

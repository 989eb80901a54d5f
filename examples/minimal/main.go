// Command minimal is the smallest conference server on rtpmix's public
// packages: every address that sends PCMU RTP to its UDP port joins one
// room and is sent the mix of everyone else back to that address, with RTCP
// multiplexed on the same port both ways. An RTCP BYE makes a sender leave; SIGINT or SIGTERM closes
// the room (everyone is sent a BYE) and exits.
//
//	go run ./examples/minimal -listen 127.0.0.1:5004
//
// A real server gets each participant's ParticipantConfig from signalling
// (package negotiate turns an SDP offer into one, keys and payload types
// included) and usually gives each a socket of its own; the rest is as
// here.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/mixer"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5004", "UDP address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conn, err := net.ListenPacket("udp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", conn.LocalAddr())
	if err := serve(ctx, conn); err != nil {
		log.Fatal(err)
	}
}

// serve runs the room on conn until ctx ends, then closes both.
func serve(ctx context.Context, conn net.PacketConn) error {
	eng := mixer.NewEngine(mixer.EngineConfig{}) // a worker per core, ticks on the monotonic clock
	room, err := eng.NewConference(mixer.ConferenceConfig{Name: "room"})
	if err != nil {
		return err
	}
	events := make(chan struct{})
	go func() { // ends when the room is closed, after everyone's Left
		defer close(events)
		for ev := range room.Events() {
			log.Printf("%s %s %s", ev.Type, ev.Participant, ev.Detail)
			if p := room.Participant(ev.Participant); ev.Type == mixer.ByeReceived && p != nil {
				p.Leave()
			}
		}
	}()
	context.AfterFunc(ctx, func() { // on SIGINT or SIGTERM
		_ = eng.Close()  // closes the room: BYEs and last packets sent, every Sink call returned
		_ = conn.Close() // then the socket, which ends the read loop
	})
	parts := map[string]*mixer.Participant{} // by source address; this goroutine's
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			_ = eng.Close() // ErrClosed when ctx did it first
			<-events
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		id := from.String()
		p := parts[id]
		if p == nil { // a new sender: PCMU both ways, payload type 0 (the format's)
			p, err = room.Join(mixer.ParticipantConfig{ID: id, In: g711.PCMU, Out: g711.PCMU,
				Sink: mixer.SinkFunc(func(pkt []byte) error { _, err := conn.WriteTo(pkt, from); return err })})
			if err != nil {
				continue // the room is closing
			}
			parts[id] = p
		}
		// RTP or muxed RTCP; a refused packet is counted in p.Stats().
		if err := p.WriteRTP(buf[:n]); errors.Is(err, mixer.ErrClosed) {
			delete(parts, id) // it left (an RTCP BYE): its next packet joins it again
		}
	}
}

// Command cluster runs the rtpmix bridge as one node of a cluster: rooms
// are placed and found through NATS JetStream key-value buckets, a room
// too full for one node spills to others as parts joined by trunks
// (mixer.Conference.AddTrunk), and a room whose home died is re-claimed
// by the next join. Without -nats it runs an embedded NATS server, so a
// single node needs no other service. See README.md.
//
//	go run -tags nolibopusfile . -id a -http 127.0.0.1:8080 -nats-listen 127.0.0.1:4222
//	go run -tags nolibopusfile . -id b -http 127.0.0.1:8081 -nats nats://127.0.0.1:4222
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var cfg NodeConfig
	flag.StringVar(&cfg.ID, "id", "", "node ID, unique in the cluster (letters, digits, - and _)")
	flag.StringVar(&cfg.NATSURL, "nats", "", "external NATS URL (with JetStream); empty runs an embedded server")
	flag.StringVar(&cfg.NATSListen, "nats-listen", "127.0.0.1:4222", "embedded NATS client address (without -nats)")
	flag.StringVar(&cfg.NATSDir, "nats-dir", "", "embedded NATS JetStream directory (default a temporary one)")
	flag.StringVar(&cfg.TrunkIP, "trunk-ip", "", "IP the trunk sockets bind and advertise (default -media-ip)")
	flag.DurationVar(&cfg.Lease, "lease", 3*time.Second, "node lease (TTL of its key in the nodes bucket)")
	flag.DurationVar(&cfg.TrunkSilence, "trunk-silence", DefaultTrunkSilence, "drop a trunk silent this long")
	flag.DurationVar(&cfg.PartIdle, "part-idle", 5*time.Second, "drop a room's part this long after its last participant left (negative: keep it)")
	b := &cfg.Bridge
	flag.StringVar(&b.HTTPAddr, "http", "127.0.0.1:8080", "control API listen address; beyond loopback it needs $RTPMIX_API_TOKEN")
	flag.StringVar(&b.MediaIP, "media-ip", "127.0.0.1", "IPv4 address of media sockets")
	flag.IntVar(&b.MaxSpeakers, "max-speakers", 3, "default number of talkers mixed at once")
	flag.IntVar(&b.MaxParticipants, "max-participants", 10000, "most participants on this node")
	flag.IntVar(&b.MaxRoomParticipants, "max-room-participants", 1000, "most participants in this node's part of a room (then joins spill)")
	flag.BoolVar(&b.WebRTC.Disable, "no-webrtc", false, "refuse WebRTC offers")
	flag.Float64Var(&b.TickBudget, "tick-budget", 0, "share of ptime a room's tick may take before joins are refused (503); 0: the bridge's default 0.8, negative: no check")
	flag.Parse()
	b.APIToken = os.Getenv("RTPMIX_API_TOKEN") // the same on every node: joins are forwarded with it
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	n, err := NewNode(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	signal.Stop(sig)
	if err := n.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// Command transcode is a two-leg media gateway: PCMU over plain RTP on side
// A, Opus over SRTP (SDES keys) on side B, both directions, through a
// two-party rtpmix mixer conference (each side hears the other).
//
//	go run ./examples/transcode -a 127.0.0.1:5004 -b 127.0.0.1:5006
//
// With no -srtp-key it generates one and prints its a=crypto line; with no
// -srtp-peer-key the peer is expected to send with the same key. Run with -h
// for every flag; see README.md for a session with ffmpeg on both sides.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rtpmix/rtpmix/srtp"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "transcode:", err)
		os.Exit(1)
	}
}

// run parses args, starts the gateway and serves until ctx ends or SIGINT
// or SIGTERM arrives, then shuts down and logs the final counters.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("transcode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		aAddr    = fs.String("a", "127.0.0.1:5004", "side A (PCMU, plain RTP) UDP listen `address`")
		aPeer    = fs.String("a-peer", "", "send side A's audio to this `host:port` (default: the source of the last accepted packet)")
		aPT      = fs.Uint("a-pt", 0, "side A RTP payload `type`")
		bAddr    = fs.String("b", "127.0.0.1:5006", "side B (Opus, SRTP) UDP listen `address`")
		bPeer    = fs.String("b-peer", "", "send side B's audio to this `host:port` (default: the source of the last accepted packet)")
		bPT      = fs.Uint("b-pt", 111, "side B RTP payload `type` (ffmpeg sends Opus as 97 unless -payload_type)")
		suite    = fs.String("srtp-suite", "AES_CM_128_HMAC_SHA1_80", "side B SRTP crypto `suite`")
		key      = fs.String("srtp-key", "", "side B key this gateway sends with: an a=crypto line, its value, or base64 key||salt (default: generated and printed)")
		peerKey  = fs.String("srtp-peer-key", "", "side B key the peer sends with, same forms (default: the -srtp-key)")
		bitrate  = fs.Int("opus-bitrate", 32000, "Opus `bitrate` in bit/s for side B")
		ptime    = fs.Duration("ptime", 20*time.Millisecond, "packet `duration` sent on both sides: 10ms, 20ms, 40ms or 60ms")
		interval = fs.Duration("stats", 10*time.Second, "log both legs' counters every `interval` (0: only at exit)")
		level    = fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: transcode [flags]\n\nA PCMU/RTP ⇄ Opus/SRTP gateway over rtpmix's mixer. Flags:\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	cfg := Config{AAddr: *aAddr, BAddr: *bAddr, APayloadType: uint8(*aPT), BPayloadType: uint8(*bPT),
		OpusBitrate: *bitrate, Ptime: *ptime, Logger: log}
	if *aPT > 127 || *bPT > 127 {
		return fmt.Errorf("payload types must be 0..127")
	}
	var err error
	if cfg.APeer, err = parsePeer("-a-peer", *aPeer); err != nil {
		return err
	}
	if cfg.BPeer, err = parsePeer("-b-peer", *bPeer); err != nil {
		return err
	}
	profile, err := srtp.ParseProfile(*suite)
	if err != nil {
		return fmt.Errorf("-srtp-suite: %w", err)
	}
	if *key == "" {
		if cfg.BSendKeys, err = srtp.GenerateKeys(profile); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", cryptoLine(cfg.BSendKeys))
		log.Info("generated side B key", "ffmpeg_srtp_out_params", inlineKey(cfg.BSendKeys))
	} else if cfg.BSendKeys, err = parseKey(*key, profile); err != nil {
		return fmt.Errorf("-srtp-key: %w", err)
	}
	cfg.BRecvKeys = cfg.BSendKeys
	if *peerKey != "" {
		if cfg.BRecvKeys, err = parseKey(*peerKey, profile); err != nil {
			return fmt.Errorf("-srtp-peer-key: %w", err)
		}
	}

	g, err := New(cfg)
	if err != nil {
		return err
	}
	if err := g.Start(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var tick <-chan time.Time
	if *interval > 0 {
		t := time.NewTicker(*interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			logStats(log, "counters", g)
			continue
		case <-ctx.Done():
		}
		break
	}
	log.Info("shutting down")
	g.Close()
	logStats(log, "final counters", g)
	return nil
}

func parsePeer(name, s string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%s: %w", name, err)
	}
	return ap, nil
}

func logStats(log *slog.Logger, msg string, g *Gateway) {
	for _, s := range g.Stats() {
		m := s.Mixer
		log.Info(msg, "side", s.Name, "peer", s.Peer, "received", s.Received, "accepted", s.Accepted,
			"dropped", s.Dropped, "malformed", m.Malformed, "wrong_pt", m.WrongPayloadType,
			"srtp_auth_failures", m.SRTPAuthFailures, "srtp_replays", m.SRTPReplays,
			"sent", s.Sent, "unsent_no_peer", s.Unsent, "send_errors", s.SendErrors,
			"lost", m.Jitter.Lost, "concealed", m.Concealed, "jitter_ms", float64(m.Jitter.JitterDuration.Microseconds())/1000)
	}
}

// Command transcode is a two-leg media gateway: PCMU over plain RTP on side
// A, Opus over SRTP (SDES keys) on side B, both directions, through a
// two-party rtpmix mixer conference (each side hears the other).
//
//	go run ./examples/transcode -a 127.0.0.1:5004 -b 127.0.0.1:5006
//
// With no -srtp-key it generates one and prints its a=crypto line; with no
// -srtp-peer-key the peer is expected to send with the same key. Given a
// peer's SDP offer (-a-offer, -b-offer) it takes the peer's address, payload
// type and key from it instead and writes an SDP answer. Run with -h for
// every flag; see README.md for a session with ffmpeg on both sides.
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
	"strings"
	"syscall"
	"time"

	"github.com/rtpmix/rtpmix/negotiate"
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
		aOffer   = fs.String("a-offer", "", "answer the SDP offer in this `file` for side A: the peer's address and payload type come from it")
		bOffer   = fs.String("b-offer", "", "answer the SDP offer in this `file` for side B: the peer's address, payload type and SRTP key come from it, and this gateway's key goes in the answer")
		aAnswer  = fs.String("a-answer", "", "write side A's SDP answer to this `file` (default: the -a-offer file name + \".answer\")")
		bAnswer  = fs.String("b-answer", "", "write side B's SDP answer to this `file` (default: the -b-offer file name + \".answer\")")
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
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	offers, err := negotiateSides(&cfg, set, profile,
		sideOffer{side: "A", offer: *aOffer, answer: *aAnswer, excludes: []string{"a-peer", "a-pt"}},
		sideOffer{side: "B", offer: *bOffer, answer: *bAnswer, excludes: []string{"b-peer", "b-pt", "srtp-key", "srtp-peer-key"}})
	if err != nil {
		return err
	}
	if offers["B"] == nil { // else both keys came from negotiating the offer
		if err := keysFromFlags(&cfg, *key, *peerKey, profile, stdout, log); err != nil {
			return err
		}
	}

	g, err := New(cfg)
	if err != nil {
		return err
	}
	if err := g.Start(); err != nil {
		return err
	}
	if err := writeAnswers(g, offers, log); err != nil {
		g.Close()
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

// negotiateSides reads and negotiates the offers given for sides, setting
// cfg from them; set holds the flags given, which must not repeat what an
// offer says. It returns the sides with an offer, by name.
func negotiateSides(cfg *Config, set map[string]bool, suite srtp.Profile, sides ...sideOffer) (map[string]*sideOffer, error) {
	offers := map[string]*sideOffer{}
	for _, o := range sides {
		lower := strings.ToLower(o.side)
		if o.offer == "" {
			if o.answer != "" {
				return nil, fmt.Errorf("-%s-answer needs -%s-offer", lower, lower)
			}
			continue
		}
		for _, name := range o.excludes {
			if set[name] {
				return nil, fmt.Errorf("-%s: side %s's offer (-%s-offer) gives it", name, o.side, lower)
			}
		}
		body, err := readOffer(o.offer)
		if err != nil {
			return nil, fmt.Errorf("-%s-offer: %w", lower, err)
		}
		if o.leg, err = applyOffer(cfg, o.side, body, suite); err != nil {
			return nil, err
		}
		if o.answer == "" {
			o.answer = o.offer + ".answer"
		}
		offers[o.side] = &o
	}
	return offers, nil
}

// writeAnswers writes the answer to each side's offer, now that its socket
// is bound.
func writeAnswers(g *Gateway, offers map[string]*sideOffer, log *slog.Logger) error {
	for _, side := range []string{"A", "B"} {
		o := offers[side]
		if o == nil {
			continue
		}
		answer, err := answerOffer(g, side, o.leg)
		if err == nil {
			err = os.WriteFile(o.answer, answer, 0o644)
		}
		if err != nil {
			return fmt.Errorf("side %s answer: %w", side, err)
		}
		log.Info("answered", "side", side, "codec", o.leg.Codec.SDPName(), "pt", o.leg.Codec.PayloadType,
			"peer", o.leg.RemoteRTP.String(), "srtp", o.leg.SRTP != nil, "answer", o.answer)
	}
	return nil
}

// keysFromFlags sets side B's keys from -srtp-key (or a new key, printed as
// an a=crypto line) and -srtp-peer-key (or the same key).
func keysFromFlags(cfg *Config, key, peerKey string, profile srtp.Profile, stdout io.Writer, log *slog.Logger) error {
	var err error
	if key == "" {
		if cfg.BSendKeys, err = srtp.GenerateKeys(profile); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", cryptoLine(cfg.BSendKeys))
		log.Info("generated side B key", "ffmpeg_srtp_out_params", inlineKey(cfg.BSendKeys))
	} else if cfg.BSendKeys, err = parseKey(key, profile); err != nil {
		return fmt.Errorf("-srtp-key: %w", err)
	}
	cfg.BRecvKeys = cfg.BSendKeys
	if peerKey != "" {
		if cfg.BRecvKeys, err = parseKey(peerKey, profile); err != nil {
			return fmt.Errorf("-srtp-peer-key: %w", err)
		}
	}
	return nil
}

// sideOffer is a side whose peer's SDP offer the gateway answers.
type sideOffer struct {
	side, offer, answer string
	excludes            []string // flags the offer replaces
	leg                 *negotiate.Leg
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
			"dropped", s.Dropped, "refused", m.Refused.Packets, "wrong_pt", m.Refused.PayloadType,
			"srtp_auth_failures", m.Refused.SRTPAuth, "srtp_replays", m.Refused.SRTPReplay,
			"sent", s.Sent, "unsent_no_peer", s.Unsent, "send_errors", s.SendErrors,
			"lost", m.Jitter.Lost, "concealed", m.Concealed, "jitter_ms", float64(m.Jitter.JitterDuration.Microseconds())/1000)
	}
}

// Command loadgen drives an rtpmix bridge (examples/bridge) with N synthetic
// participants through its HTTP API: real SDP offers, real UDP, optional
// SRTP. A few talkers stream a speech clip (or a tone), the others send
// silence marked by RFC 6464 audio-level headers or, if listen-only, nothing.
// It receives what the bridge sends back and reports packets per second,
// RFC 3550 loss and jitter per receiving leg, and the bridge's tick timing
// from GET /stats.
//
//	go run ./examples/loadgen -bridge-inprocess -n 200 -talkers 3 -duration 10s
//	go run ./examples/loadgen -bridge http://127.0.0.1:8080 -n 50 -codecs pcmu:50,opus:50 -srtp -json
//
// Run with -h for every flag; see README.md for sample output.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/examples/internal/bridge"
	"github.com/rtpmix/rtpmix/examples/internal/rtpclient"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		bridgeURL  = fs.String("bridge", "http://127.0.0.1:8080", "the bridge's HTTP API `URL`")
		inProcess  = fs.Bool("bridge-inprocess", false, "start a bridge in this process on 127.0.0.1 (ignores -bridge)")
		workers    = fs.Int("bridge-workers", 0, "mixer workers of the in-process bridge (0: GOMAXPROCS)")
		n          = fs.Int("n", 20, "number of participants")
		rooms      = fs.Int("rooms", 1, "number of rooms; participants are spread round-robin")
		codecs     = fs.String("codecs", "pcmu:50,opus:50", "codec `mix`: name:weight,... of pcmu, pcma, opus")
		talkers    = fs.String("talkers", "3", "how many participants talk: a `count` or a percentage like 5%")
		listenOnly = fs.String("listen-only", "0", "how many join listen-only and send nothing: a `count` or a percentage")
		clipPath   = fs.String("clip", "testdata/alice.wav", "mono WAV the talkers stream, looped")
		tone       = fs.Float64("tone", 0, "talkers send a sine at this `frequency` in Hz instead of -clip")
		levels     = fs.Bool("levels", true, "send RFC 6464 audio levels (a=extmap in the offer)")
		useSRTP    = fs.Bool("srtp", false, "offer SRTP (AES_CM_128_HMAC_SHA1_80, SDES) on every leg")
		duration   = fs.Duration("duration", 10*time.Second, fmt.Sprintf("how long to send (capped at %v)", MaxDuration))
		prefix     = fs.String("room-prefix", "loadgen", "rooms are named `prefix`-1, prefix-2, ...")
		asJSON     = fs.Bool("json", false, "print the report as JSON instead of a table")
		verbose    = fs.Bool("v", false, "log progress (and the in-process bridge's info logs) to stderr")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: loadgen [flags]\n\nDrives an rtpmix bridge with synthetic participants and reports what came back. Flags:\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errFlag, fs.Args())
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *n < 1 || *n > 10000 {
		return fmt.Errorf("%w: -n %d (want 1..10000)", errFlag, *n)
	}
	if *rooms < 1 || *rooms > *n {
		return fmt.Errorf("%w: -rooms %d (want 1..%d)", errFlag, *rooms, *n)
	}
	if *duration <= 0 {
		return fmt.Errorf("%w: -duration %v", errFlag, *duration)
	}
	if *duration > MaxDuration {
		log.Warn("duration capped", "asked", *duration, "cap", MaxDuration)
		*duration = MaxDuration
	}
	mix, err := parseCodecMix(*codecs)
	if err != nil {
		return err
	}
	cfg := Config{BridgeURL: *bridgeURL, Participants: *n, Rooms: *rooms, Codecs: mix, AudioLevels: *levels,
		SRTP: *useSRTP, Duration: *duration, RoomPrefix: *prefix, IP: "127.0.0.1", Logger: log}
	if cfg.Talkers, err = parseCount("-talkers", *talkers, *n); err != nil {
		return err
	}
	if cfg.ListenOnly, err = parseCount("-listen-only", *listenOnly, *n); err != nil {
		return err
	}
	if cfg.Talkers > 0 {
		if cfg.Talk, err = talkSources(mix, *clipPath, *tone); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *inProcess {
		srv, err := bridge.New(bridge.Config{HTTPAddr: "127.0.0.1:0", Workers: *workers, Logger: log})
		if err != nil {
			return err
		}
		if err := srv.Start(); err != nil {
			return err
		}
		defer srv.Close()
		cfg.BridgeURL = "http://" + srv.HTTPAddr()
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.InProcess = *inProcess
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteTable(stdout)
	return nil
}

// talkSources encodes the talkers' audio once per codec: the clip, or a
// tone at -12 dBFS.
func talkSources(mix []codecShare, clipPath string, tone float64) (map[string]*rtpclient.Source, error) {
	out := map[string]*rtpclient.Source{}
	for _, c := range mix {
		var s *rtpclient.Source
		var err error
		if tone > 0 {
			s, err = rtpclient.NewToneSource(tone, -12, 10*time.Second, c.Format.SDPName(), codec.Config{})
		} else {
			s, err = rtpclient.NewWAVSource(clipPath, c.Format.SDPName(), codec.Config{})
		}
		if err != nil {
			return nil, fmt.Errorf("talker audio for %s: %w (run from the repository root, or give -clip or -tone)", c.Name, err)
		}
		out[c.Name] = s
	}
	return out, nil
}

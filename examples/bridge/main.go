// Command bridge runs rtpmix conferences over UDP: RTP and SRTP (SDES)
// participants join rooms through an HTTP/JSON API by posting an SDP offer,
// and each hears everyone else in its own codec. See README.md.
//
//	go run -tags nolibopusfile ./examples/bridge -http 127.0.0.1:8080
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rtpmix/rtpmix/examples/internal/bridge"
)

func main() {
	var cfg bridge.Config
	flag.StringVar(&cfg.HTTPAddr, "http", "127.0.0.1:8080", "control API listen address (host:port; port 0 picks one); beyond loopback it needs an API token")
	tokenFile := flag.String("api-token-file", "", "file holding the API bearer token (else $"+tokenEnv+"); required when -http is not loopback")
	flag.StringVar(&cfg.TLSCertFile, "tls-cert", "", "PEM certificate chain: serve the API over HTTPS (with -tls-key)")
	flag.StringVar(&cfg.TLSKeyFile, "tls-key", "", "PEM private key of -tls-cert")
	flag.IntVar(&cfg.HTTPMaxConns, "http-max-conns", 512, "most open API connections (idle ones are shed first)")
	flag.StringVar(&cfg.MediaIP, "media-ip", "127.0.0.1", "IPv4 address media sockets bind and SDP answers advertise")
	flag.IntVar(&cfg.PortMin, "port-min", 0, "lowest UDP media port (0 with -port-max 0: any free port)")
	flag.IntVar(&cfg.PortMax, "port-max", 0, "highest UDP media port")
	flag.DurationVar(&cfg.Idle, "idle", 30*time.Second, "remove a participant that sends no RTP/RTCP for this long (negative: never)")
	flag.IntVar(&cfg.Workers, "workers", 0, "mixer engine workers (0: GOMAXPROCS)")
	flag.DurationVar(&cfg.RTCPInterval, "rtcp-interval", 5*time.Second, "minimum interval of RTCP reports, randomised as RFC 3550 says (negative: no RTCP sent)")
	flag.BoolVar(&cfg.RequireSRTP, "require-srtp", false, "refuse offers without SDES a=crypto (488)")
	flag.BoolVar(&cfg.TrustOfferAddress, "trust-offer-address", false,
		"send to an offer's address at once, before anything arrived from it (lets whoever can join aim media at any address)")
	flag.IntVar(&cfg.SampleRate, "sample-rate", 0, "default room mix rate (0: chosen from participants' codecs)")
	flag.DurationVar(&cfg.Ptime, "ptime", 20*time.Millisecond, "default room packet time (10, 20, 30, 40 or 60 ms)")
	flag.IntVar(&cfg.MaxSpeakers, "max-speakers", 3, "default number of talkers mixed at once")
	flag.IntVar(&cfg.MaxRooms, "max-rooms", 1000, "most rooms clients may create")
	flag.IntVar(&cfg.MaxParticipants, "max-participants", 10000, "most participants over all rooms (also bounded by the file limit)")
	flag.IntVar(&cfg.MaxRoomParticipants, "max-room-participants", 1000, "most participants in one room")
	flag.Float64Var(&cfg.TickBudget, "tick-budget", 0.8, "share of ptime a room's tick may take before joins are refused (negative: no check)")
	flag.StringVar(&cfg.MediaDir, "media-dir", "", "directory of the play and record API: WAV files to play are read from it, recordings written under it (empty: API off)")
	flag.IntVar(&cfg.SSEBuffer, "sse-buffer", 64, "events an SSE client may lag before its events are dropped")
	flag.BoolVar(&cfg.WebRTC.Disable, "no-webrtc", false, "refuse browsers' (WebRTC, DTLS-SRTP) offers and bind no WebRTC socket")
	flag.IntVar(&cfg.WebRTC.Port, "webrtc-port", 0, "UDP port on -media-ip that every WebRTC leg shares (0: any free port)")
	publicIPs := flag.String("webrtc-public-ip", "", "comma-separated public addresses of a 1:1 NAT in front of -media-ip, put in the WebRTC ICE candidate")
	flag.BoolVar(&cfg.DisablePage, "no-page", false, "do not serve the web page at /")
	level := flag.String("log-level", "info", "log level: debug, info, warn, error")
	jsonLogs := flag.Bool("log-json", false, "log JSON instead of text")
	flag.DurationVar(&cfg.LogInterval, "log-interval", 10*time.Second, "least time between two warnings of one kind (refused packets per participant and reason, overruns)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags]\n\nAn RTP/SRTP audio conference bridge with an HTTP/JSON control API.\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if *publicIPs != "" {
		cfg.WebRTC.PublicIPs = strings.Split(*publicIPs, ",")
	}

	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "bridge: -log-level %q: %v\n", *level, err)
		os.Exit(2)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if *jsonLogs {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	cfg.Logger = slog.New(h)

	tok, err := apiToken(*tokenFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bridge: %v\n", err)
		os.Exit(2)
	}
	cfg.APIToken = tok
	if err := run(cfg); err != nil {
		cfg.Logger.Error("bridge failed", "err", err)
		os.Exit(1)
	}
}

// tokenEnv names the environment variable that may hold the API token (a
// flag would show it to anyone who can list processes).
const tokenEnv = "RTPMIX_API_TOKEN"

// apiToken reads the API token from path, else from the environment.
func apiToken(path string) (string, error) {
	if path == "" {
		return os.Getenv(tokenEnv), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("-api-token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("-api-token-file %s is empty", path)
	}
	return tok, nil
}

func run(cfg bridge.Config) error {
	srv, err := bridge.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	cfg.Logger.Info("shutting down", "signal", s.String())
	signal.Stop(sig) // a second signal kills the process the default way
	return srv.Close()
}

package bridge

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// Config configures a Server. The zero value is valid: every zero field
// takes the default named in its comment.
type Config struct {
	// HTTPAddr is the control API's listen address. Default
	// "127.0.0.1:8080"; a ":0"-style port picks a free one (see HTTPAddr).
	// An address beyond loopback requires APIToken.
	HTTPAddr string
	// APIToken, when set, is the bearer token every API request must carry
	// ("Authorization: Bearer <token>"), compared in constant time. At
	// least 16 characters. Required when HTTPAddr is not a loopback
	// address: New refuses to serve the API to the network without it.
	// Only callers that present it see participants' network addresses.
	APIToken string
	// TLSCertFile and TLSKeyFile, when both set, make the API serve HTTPS
	// (TLS 1.2 or later, HTTP/1.1) with this PEM certificate chain and key.
	TLSCertFile, TLSKeyFile string
	// HTTPMaxConns caps the API's open connections. At the cap a new
	// connection sheds the oldest idle keep-alive connection, else the
	// oldest one that has not finished sending a request, else (every
	// connection is busy with a request) it is itself closed. Default 512.
	HTTPMaxConns int
	// HTTPReadTimeout bounds reading one request, headers and body (the
	// headers alone get at most 5 s); HTTPWriteTimeout bounds writing a
	// response (event streams instead bound each event's write);
	// HTTPIdleTimeout closes keep-alive connections idle for that long.
	// Defaults 10 s, 10 s, 30 s.
	HTTPReadTimeout, HTTPWriteTimeout, HTTPIdleTimeout time.Duration

	// MediaIP is the IPv4 address the UDP media sockets bind and the SDP
	// answer advertises. Default "127.0.0.1".
	MediaIP string
	// PortMin and PortMax bound the UDP media ports (RTP on an even port,
	// RTCP on the next). 0, 0 lets the kernel choose.
	PortMin, PortMax int
	// TrustOfferAddress sends media and RTCP to the address an offer names
	// as soon as the participant joins. By default the bridge waits until
	// an authentic packet (RTP, or RTCP such as a listener's first
	// receiver report) has arrived from that host, so that an offer
	// naming somebody else's address makes the bridge send nothing there.
	// Set it only when whoever can join is trusted not to aim the bridge
	// at third parties (it then reflects ~50 packets/s per leg anywhere).
	TrustOfferAddress bool
	// Idle removes a participant that sends neither RTP nor RTCP for this
	// long. Default 30 s; negative turns it off.
	Idle time.Duration
	// Workers is the number of mixer.Engine workers. Default GOMAXPROCS.
	Workers int
	// Logger receives structured logs, the mixer's included. Default
	// slog.Default().
	Logger *slog.Logger
	// LogInterval is the least time between two warnings of one kind: per
	// participant and reason for refused packets (the mixer's reasons,
	// and the bridge's: garbage, foreign, rtcp_bad, rtcp_not_muxed),
	// overruns. Default 10 s.
	LogInterval time.Duration

	// RTCPInterval is the minimum interval of the RTCP reports the mixer
	// sends each participant (RFC 3550's Tmin: reports go out at 0.5 to
	// 1.5 times it, randomised, the first after about half of it).
	// Default 5 s; negative sends no RTCP (no reports, no BYE).
	RTCPInterval time.Duration
	// RequireSRTP refuses offers without a=crypto (HTTP 488).
	RequireSRTP bool
	// Room defaults for POST /rooms fields left at 0: the mix rate, ptime
	// and the number of speakers mixed at once. Zero leaves each to the
	// mixer's own default (rate chosen from the participants' codecs,
	// 20 ms, 3 speakers).
	SampleRate  int
	Ptime       time.Duration
	MaxSpeakers int
	// MaxRooms and MaxParticipants bound what clients may create, so that
	// the API cannot exhaust sockets or memory. Defaults 1000 and 10000
	// (participants over all rooms). Joins past them get HTTP 503.
	MaxRooms, MaxParticipants int
	// MaxRoomParticipants bounds one room. Default 1000.
	MaxRoomParticipants int
	// TickBudget is the share of ptime a room's tick may take. A join is
	// refused (503) while more than 1% of the room's ticks in the last one
	// to two seconds took longer or were skipped (its recent tick p99 is
	// over budget), so that joins stop before the tick overruns its
	// ptime. It is also the mixer's ConferenceConfig.OverloadShare, where
	// its overload control starts shedding speakers. Default 0.8; negative
	// turns the join check off (the mixer then keeps its own default).
	TickBudget float64
	// FileLimit is how many file descriptors the process may open. Default
	// its RLIMIT_NOFILE soft limit. HTTPMaxConns and a reserve for the
	// runtime are kept for the API; the rest bounds the media sockets
	// (two per participant, one under rtcp-mux), and a join that would
	// need more is refused with 503 naming the limit.
	FileLimit int
	// SSEBuffer is how many events each Server-Sent Events client may fall
	// behind before further events for it are dropped (and counted).
	// Default 64.
	SSEBuffer int
	// ShutdownTimeout bounds how long Close waits for HTTP requests in
	// flight. Default 2 s.
	ShutdownTimeout time.Duration
	// MediaDir is the directory of the play and record API: the WAV files
	// POST /rooms/{room}/play names are read from it, the recordings POST
	// /rooms/{room}/recordings names are written under it, and no name
	// from the API reaches outside it. Empty turns that API off (404).
	MediaDir string

	// WebRTC configures browsers' legs (see webrtc.go).
	WebRTC WebRTCConfig
	// DisablePage stops serving the web page at "/" (its files need no
	// token: they hold no data, and everything the page does goes through
	// the API with the token the user gives it).
	DisablePage bool

	// Middleware, when set, wraps the API's routes (not the page), behind
	// the token check: a clustered bridge (examples/cluster) uses it to
	// send a join to the bridge that hosts the room's part. It is called
	// once, by New.
	Middleware func(next http.Handler) http.Handler
}

// WebRTCConfig configures the legs of browsers and other WebRTC clients:
// an offer with DTLS-SRTP transport (UDP/TLS/RTP/SAVPF) posted to the join
// route is handed to pion/webrtc, which does ICE (the bridge is ICE-lite:
// it answers the browser's checks and never needs its candidates),
// DTLS-SRTP and RTCP for that leg.
type WebRTCConfig struct {
	// Disable refuses WebRTC offers (488) and binds no WebRTC socket.
	Disable bool
	// Port is the UDP port on MediaIP that every WebRTC leg shares: ICE,
	// DTLS, SRTP and RTCP of all browsers on one socket, told apart by
	// ICE username and address. 0 lets the kernel choose at Start
	// (Server.WebRTCAddr says which); behind a firewall set it and open
	// that one UDP port.
	Port int
	// PublicIPs, when set, replace MediaIP in the ICE host candidate: the
	// public addresses of a 1:1 NAT in front of MediaIP (a cloud VM's
	// elastic IP). The socket still binds MediaIP.
	PublicIPs []string
	// DisconnectedTimeout is how long a leg may go without hearing from
	// the browser (media, RTCP or ICE consent checks, which browsers send
	// every few seconds) before ICE calls it disconnected, and
	// FailedTimeout how much longer until it has failed: the leg then
	// leaves with reason "webrtc failed". A browser that closes its
	// connection (DTLS close_notify) leaves at once ("webrtc closed").
	// Defaults 5 s and 10 s.
	DisconnectedTimeout, FailedTimeout time.Duration
}

// fdReserve is what the process keeps besides the API's connections and
// the media sockets: the listener, the runtime's poller and timers,
// stdio, log files, codec libraries.
const fdReserve = 64

// minTokenLen is the shortest API token accepted: a guessable token is no
// protection.
const minTokenLen = 16

// settings is a Config with its defaults applied and the values derived
// from it.
type settings struct {
	Config
	mediaIP netip.Addr
	tls     *tls.Config
	// mediaFDs is the file descriptor budget for the legs' sockets.
	mediaFDs int
}

func (c Config) withDefaults() (settings, error) {
	st := settings{}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if c.APIToken != "" && len(c.APIToken) < minTokenLen {
		return st, fmt.Errorf("bridge: API token of %d characters: use at least %d (e.g. openssl rand -hex 32)", len(c.APIToken), minTokenLen)
	}
	beyond, err := beyondLoopback(c.HTTPAddr)
	if err != nil {
		return st, err
	}
	if beyond && c.APIToken == "" {
		return st, fmt.Errorf("bridge: the API address %s is reachable beyond loopback: set an API token (Config.APIToken, -api-token-file) or listen on 127.0.0.1", c.HTTPAddr)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return st, fmt.Errorf("bridge: TLS needs both a certificate and a key file")
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return st, fmt.Errorf("bridge: TLS certificate: %w", err)
		}
		st.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if c.HTTPMaxConns <= 0 {
		c.HTTPMaxConns = 512
	}
	if c.HTTPReadTimeout <= 0 {
		c.HTTPReadTimeout = 10 * time.Second
	}
	if c.HTTPWriteTimeout <= 0 {
		c.HTTPWriteTimeout = 10 * time.Second
	}
	if c.HTTPIdleTimeout <= 0 {
		c.HTTPIdleTimeout = 30 * time.Second
	}
	if c.MediaIP == "" {
		c.MediaIP = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(c.MediaIP)
	if err != nil || !ip.Is4() {
		return st, fmt.Errorf("bridge: MediaIP %q is not an IPv4 address", c.MediaIP)
	}
	if ip.IsUnspecified() {
		return st, fmt.Errorf("bridge: MediaIP must be the address peers send to, not %s", c.MediaIP)
	}
	st.mediaIP = ip
	switch {
	case c.PortMin == 0 && c.PortMax == 0:
	case c.PortMin < 1024 || c.PortMax > 65535 || c.PortMax < c.PortMin+1:
		return st, fmt.Errorf("bridge: media port range %d-%d (want 1024 <= min < max <= 65535)", c.PortMin, c.PortMax)
	}
	if c.Idle == 0 {
		c.Idle = 30 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LogInterval <= 0 {
		c.LogInterval = 10 * time.Second
	}
	if c.RTCPInterval == 0 {
		c.RTCPInterval = 5 * time.Second
	}
	if c.MaxRooms <= 0 {
		c.MaxRooms = 1000
	}
	if c.MaxParticipants <= 0 {
		c.MaxParticipants = 10000
	}
	if c.MaxRoomParticipants <= 0 {
		c.MaxRoomParticipants = 1000
	}
	if c.TickBudget == 0 {
		c.TickBudget = 0.8
	}
	if c.TickBudget > 1 {
		return st, fmt.Errorf("bridge: tick budget %v (want a share of ptime in (0, 1], or negative for none)", c.TickBudget)
	}
	if c.FileLimit <= 0 {
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return st, fmt.Errorf("bridge: reading RLIMIT_NOFILE: %w", err)
		}
		c.FileLimit = int(min(rl.Cur, 1<<30))
	}
	st.mediaFDs = c.FileLimit - c.HTTPMaxConns - fdReserve
	if st.mediaFDs < 2 {
		return st, fmt.Errorf("bridge: a file limit of %d leaves no descriptors for media after %d for HTTP connections and %d for the process: raise ulimit -n or lower the HTTP connection cap",
			c.FileLimit, c.HTTPMaxConns, fdReserve)
	}
	if c.SSEBuffer <= 0 {
		c.SSEBuffer = 64
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 2 * time.Second
	}
	if err := c.WebRTC.check(); err != nil {
		return st, err
	}
	c.WebRTC = c.WebRTC.withDefaults()
	st.Config = c
	return st, nil
}

// beyondLoopback reports whether a listener on addr may be reached from
// other hosts: any address that is not loopback, including all
// interfaces (":8080", "0.0.0.0:8080") and host names that resolve to one.
func beyondLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("bridge: HTTP address %q: %w", addr, err)
	}
	if host == "" {
		return true, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return !ip.IsLoopback(), nil
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return false, fmt.Errorf("bridge: HTTP address %q: %w", addr, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return true, nil
		}
	}
	return len(ips) == 0, nil
}

func (w WebRTCConfig) withDefaults() WebRTCConfig {
	if w.DisconnectedTimeout <= 0 {
		w.DisconnectedTimeout = 5 * time.Second
	}
	if w.FailedTimeout <= 0 {
		w.FailedTimeout = 10 * time.Second
	}
	w.PublicIPs = slices.Clone(w.PublicIPs)
	return w
}

func (w WebRTCConfig) check() error {
	if w.Port < 0 || w.Port > 65535 {
		return fmt.Errorf("bridge: WebRTC port %d (want 0..65535)", w.Port)
	}
	for _, s := range w.PublicIPs {
		ip, err := netip.ParseAddr(s)
		if err != nil || !ip.Is4() || ip.IsUnspecified() || ip.IsMulticast() {
			return fmt.Errorf("bridge: WebRTC public IP %q is not a unicast IPv4 address", s)
		}
	}
	return nil
}

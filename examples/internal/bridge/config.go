package bridge

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"
)

// Config configures a Server. The zero value is valid: every zero field
// takes the default named in its comment.
type Config struct {
	// HTTPAddr is the control API's listen address. Default
	// "127.0.0.1:8080"; a ":0"-style port picks a free one (see HTTPAddr).
	HTTPAddr string
	// MediaIP is the IPv4 address the UDP media sockets bind and the SDP
	// answer advertises. Default "127.0.0.1".
	MediaIP string
	// PortMin and PortMax bound the UDP media ports (RTP on an even port,
	// RTCP on the next). 0, 0 lets the kernel choose.
	PortMin, PortMax int
	// Idle removes a participant that sends neither RTP nor RTCP for this
	// long. Default 30 s; negative turns it off.
	Idle time.Duration
	// Workers is the number of mixer.Engine workers. Default GOMAXPROCS.
	Workers int
	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger

	// RTCPInterval is how often sender and receiver reports go out to each
	// participant. Default 5 s; negative turns them off.
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
	// (participants over all rooms).
	MaxRooms, MaxParticipants int
	// SSEBuffer is how many events each Server-Sent Events client may fall
	// behind before further events for it are dropped (and counted).
	// Default 64.
	SSEBuffer int
	// ShutdownTimeout bounds how long Close waits for HTTP requests in
	// flight. Default 2 s.
	ShutdownTimeout time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if c.MediaIP == "" {
		c.MediaIP = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(c.MediaIP)
	if err != nil || !ip.Is4() {
		return c, fmt.Errorf("bridge: MediaIP %q is not an IPv4 address", c.MediaIP)
	}
	if ip.IsUnspecified() {
		return c, fmt.Errorf("bridge: MediaIP must be the address peers send to, not %s", c.MediaIP)
	}
	switch {
	case c.PortMin == 0 && c.PortMax == 0:
	case c.PortMin < 1024 || c.PortMax > 65535 || c.PortMax < c.PortMin+1:
		return c, fmt.Errorf("bridge: media port range %d-%d (want 1024 <= min < max <= 65535)", c.PortMin, c.PortMax)
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
	if c.RTCPInterval == 0 {
		c.RTCPInterval = 5 * time.Second
	}
	if c.MaxRooms <= 0 {
		c.MaxRooms = 1000
	}
	if c.MaxParticipants <= 0 {
		c.MaxParticipants = 10000
	}
	if c.SSEBuffer <= 0 {
		c.SSEBuffer = 64
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 2 * time.Second
	}
	return c, nil
}

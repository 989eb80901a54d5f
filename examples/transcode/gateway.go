package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

// Config describes the two legs of a Gateway.
type Config struct {
	// AAddr and BAddr are the UDP addresses side A (PCMU, plain RTP) and
	// side B (Opus, SRTP) listen on; port 0 picks a free one.
	AAddr, BAddr string
	// APeer and BPeer are where each side's audio is sent. The zero value
	// latches: audio goes to the source of the last packet that was
	// accepted on that side (symmetric RTP), so garbage from elsewhere
	// cannot redirect it.
	APeer, BPeer netip.AddrPort
	// APayloadType (default 0) and BPayloadType (default 111) are the
	// payload types each side sends and receives.
	APayloadType, BPayloadType uint8
	// BSendKeys protect what side B is sent; BRecvKeys unprotect what it
	// sends. SDES gives each direction its own key; both are required.
	BSendKeys, BRecvKeys srtp.Keys
	// OpusBitrate in bit/s, default 32000.
	OpusBitrate int
	// Ptime of the packets sent, default 20 ms.
	Ptime  time.Duration
	Logger *slog.Logger
}

// Gateway transcodes between its two legs through a two-party mixer
// conference: each side hears the other (mix-minus), in its own codec.
// Each side is one socket that carries RTP and RTCP (rtcp-mux, RFC 5761):
// the mixer takes the peer's RTCP from it and sends its reports there.
//
// Concurrency: Start and Close from one goroutine; Stats from any.
type Gateway struct {
	cfg    Config
	log    *slog.Logger
	engine *mixer.Engine
	conf   *mixer.Conference
	legs   [2]*leg
	wg     sync.WaitGroup
	done   chan struct{} // closed by Close: stops the event logger
	closed sync.Once
}

// leg is one side: its socket, its mixer participant and where it sends.
type leg struct {
	name  string
	conn  *net.UDPConn
	part  *mixer.Participant
	fixed bool
	peer  atomic.Pointer[netip.AddrPort]
	log   *slog.Logger

	received, accepted, dropped, sent, unsent, sendErrors, latches atomic.Uint64
}

// LegStats counts one side's datagrams. Dropped ones are also broken down
// by reason in Mixer (malformed, wrong payload type, SRTP failures).
type LegStats struct {
	Name                        string
	Received, Accepted, Dropped uint64
	Sent, Unsent, SendErrors    uint64
	Latches                     uint64
	Peer                        string
	Mixer                       mixer.ParticipantStats
}

// New validates cfg and applies defaults; Start binds and runs.
func New(cfg Config) (*Gateway, error) {
	if cfg.BPayloadType == 0 {
		cfg.BPayloadType = 111
	}
	if cfg.APayloadType > 127 || cfg.BPayloadType > 127 {
		return nil, fmt.Errorf("transcode: payload types %d, %d (want 0..127)", cfg.APayloadType, cfg.BPayloadType)
	}
	if cfg.OpusBitrate == 0 {
		cfg.OpusBitrate = 32000
	}
	if cfg.Ptime == 0 {
		cfg.Ptime = 20 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for name, k := range map[string]srtp.Keys{"side B send": cfg.BSendKeys, "side B receive": cfg.BRecvKeys} {
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("transcode: %s keys: %w", name, err)
		}
	}
	if !opus.Available() {
		return nil, errors.New("transcode: Opus is unavailable in this build (needs cgo and libopus)")
	}
	return &Gateway{cfg: cfg, log: cfg.Logger, done: make(chan struct{})}, nil
}

// Start binds both sockets, joins both legs to the conference and starts
// reading. On error nothing is left running.
func (g *Gateway) Start() (err error) {
	g.engine = mixer.NewEngine(mixer.EngineConfig{Workers: 1})
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	// A transcoder passes everything, however quiet: talk detection at
	// level 127 counts every frame as talking, so neither leg is gated.
	g.conf, err = g.engine.NewConference(mixer.ConferenceConfig{
		Name: "transcode", SampleRate: 48000, Ptime: g.cfg.Ptime, MaxSpeakers: 2,
		Talk: mixer.TalkConfig{StartLevel: 127, StopLevel: 127},
	})
	if err != nil {
		return err
	}
	if g.legs[0], err = g.newLeg("A", g.cfg.AAddr, g.cfg.APeer); err != nil {
		return err
	}
	if g.legs[1], err = g.newLeg("B", g.cfg.BAddr, g.cfg.BPeer); err != nil {
		return err
	}
	a, b := g.legs[0], g.legs[1]
	a.part, err = g.conf.Join(mixer.ParticipantConfig{
		ID: "A", In: g711.PCMU, InPayloadType: mixer.PT(g.cfg.APayloadType),
		Out: g711.PCMU, OutPayloadType: mixer.PT(g.cfg.APayloadType), Sink: a,
	})
	if err != nil {
		return err
	}
	b.part, err = g.conf.Join(mixer.ParticipantConfig{
		ID: "B", In: opus.Format, InPayloadType: mixer.PT(g.cfg.BPayloadType), InSRTP: &g.cfg.BRecvKeys,
		Out: opus.Format, OutPayloadType: mixer.PT(g.cfg.BPayloadType), OutSRTP: &g.cfg.BSendKeys,
		Encoder: codec.Config{Bitrate: g.cfg.OpusBitrate, Complexity: mixer.DefaultComplexity, Application: codec.AppVoIP},
		Sink:    b,
	})
	if err != nil {
		return err
	}
	for _, l := range g.legs {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			l.read()
		}()
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		events := g.conf.Events()
		for {
			select {
			case ev := <-events:
				g.log.Debug("mixer event", "type", ev.Type.String(), "participant", ev.Participant, "detail", ev.Detail)
			case <-g.done:
				return
			}
		}
	}()
	g.log.Info("transcoding", "a", a.conn.LocalAddr().String(), "a_codec", "PCMU", "a_pt", g.cfg.APayloadType,
		"b", b.conn.LocalAddr().String(), "b_codec", "opus", "b_pt", g.cfg.BPayloadType,
		"srtp", g.cfg.BSendKeys.Profile.String(), "ptime", g.cfg.Ptime)
	return nil
}

func (g *Gateway) newLeg(name, addr string, peer netip.AddrPort) (*leg, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("transcode: side %s address %q: %w", name, addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("transcode: side %s: %w", name, err)
	}
	l := &leg{name: name, conn: conn, fixed: peer.IsValid(), log: g.log.With("side", name)}
	if l.fixed {
		l.peer.Store(&peer)
	}
	return l, nil
}

// Addr returns the bound address of side "A" or "B".
func (g *Gateway) Addr(side string) netip.AddrPort {
	for _, l := range g.legs {
		if l != nil && l.name == side {
			return l.conn.LocalAddr().(*net.UDPAddr).AddrPort()
		}
	}
	return netip.AddrPort{}
}

// Stats returns both legs' counters.
func (g *Gateway) Stats() []LegStats {
	var out []LegStats
	for _, l := range g.legs {
		if l == nil {
			continue
		}
		s := LegStats{Name: l.name, Received: l.received.Load(), Accepted: l.accepted.Load(), Dropped: l.dropped.Load(),
			Sent: l.sent.Load(), Unsent: l.unsent.Load(), SendErrors: l.sendErrors.Load(), Latches: l.latches.Load()}
		if p := l.peer.Load(); p != nil {
			s.Peer = p.String()
		}
		if l.part != nil {
			s.Mixer = l.part.Stats()
		}
		out = append(out, s)
	}
	return out
}

// Close stops the conference (no more packets are sent), closes both sockets
// and returns when the readers have finished. Safe to call more than once.
func (g *Gateway) Close() {
	g.closed.Do(func() {
		close(g.done)
		if g.engine != nil {
			_ = g.engine.Close()
		}
		for _, l := range g.legs {
			if l != nil {
				_ = l.conn.Close()
			}
		}
		g.wg.Wait()
	})
}

// read feeds the leg's participant until the socket closes. Rejected
// datagrams (garbage, wrong payload type, SRTP that does not authenticate)
// are counted and dropped; only an accepted packet can move a latched peer.
func (l *leg) read() {
	buf := make([]byte, 1500)
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				l.log.Error("read", "err", err)
			}
			return
		}
		l.received.Add(1)
		if err := l.part.WriteRTP(buf[:n]); err != nil {
			if d := l.dropped.Add(1); d&(d-1) == 0 { // log the 1st, 2nd, 4th, 8th... drop, not a flood
				l.log.Warn("dropped datagram", "from", from.String(), "bytes", n, "err", err, "dropped", d)
			}
			continue
		}
		l.accepted.Add(1)
		if !l.fixed {
			if cur := l.peer.Load(); cur == nil || *cur != from {
				l.peer.Store(&from)
				l.latches.Add(1)
				l.log.Info("sending to", "peer", from.String())
			}
		}
	}
}

// WriteRTP is the leg's mixer.Sink: it sends the conference's packet to the
// peer, or counts it as unsent while no peer is known.
func (l *leg) WriteRTP(pkt []byte) error {
	p := l.peer.Load()
	if p == nil {
		l.unsent.Add(1)
		return nil
	}
	if _, err := l.conn.WriteToUDPAddrPort(pkt, *p); err != nil {
		l.sendErrors.Add(1)
		return err
	}
	l.sent.Add(1)
	return nil
}

package bridge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	_ "github.com/rtpmix/rtpmix/codec/g711" // PCMU, PCMA
	_ "github.com/rtpmix/rtpmix/codec/g722" // G722/8000 (16 kHz audio)
	_ "github.com/rtpmix/rtpmix/codec/opus" // opus/48000/2 (cgo)
	"github.com/rtpmix/rtpmix/mixer"
)

// Server is the bridge: an HTTP control API, a mixer.Engine and the UDP legs
// of every participant.
//
// HTTP routes (JSON unless noted; errors are {"error": "reason"}; with
// Config.APIToken every route answers 401 without "Authorization: Bearer
// <token>"; a join past a limit gets 503 with the limit named):
//
//	POST   /rooms                               {"name","sample_rate","ptime_ms","max_speakers","dtmf"} → 201 room
//	GET    /rooms                               → [room]
//	GET    /rooms/{room}                        → room stats with tick timing
//	DELETE /rooms/{room}                        → 204
//	POST   /rooms/{room}/participants?id=&listen_only=1   body: SDP offer → 201 SDP answer
//	GET    /rooms/{room}/participants/{id}      → participant stats
//	POST   /rooms/{room}/participants/{id}      body: SDP re-offer → 200 SDP answer (hold, resume, codec, keys)
//	PATCH  /rooms/{room}/participants/{id}      {"muted","deaf","gain_in_db","gain_out_db"} → 200 state
//	DELETE /rooms/{room}/participants/{id}      → 204
//	POST   /rooms/{room}/participants/{id}/dtmf {"digits":"12#","duration_ms":100} → 202 (RFC 4733 to the participant)
//	GET    /rooms/{room}/events                 → text/event-stream
//	GET    /stats                               → engine-wide stats
//	GET    /metrics                             → Prometheus text format (see metrics.go)
//
// Concurrency: all methods are safe for concurrent use.
type Server struct {
	cfg     settings
	log     *slog.Logger
	mediaIP netip.Addr
	engine  *mixer.Engine

	httpSrv   *http.Server
	ln        net.Listener
	conns     *connLimiter
	tokenHash [sha256.Size]byte // of Config.APIToken, when set
	streams   atomic.Int64      // open event streams
	metrics   *collector        // GET /metrics
	rtc       *rtcServer        // the WebRTC legs' socket; nil when WebRTC is off

	mu       sync.Mutex
	rooms    map[string]*room
	legCount int
	legFDs   int // sockets the legs hold, within cfg.mediaFDs
	// ports are the bridge's own media ports; targets counts the ports of
	// its media IP that offers name as their destination (bindPair skips
	// them, so that a leg never sends into another).
	ports    map[uint16]struct{}
	targets  map[uint16]int
	closed   bool
	nextID   uint64
	nextPort int
	started  time.Time
	codecOK  sync.Map // SDP name → bool: can this binary build the codec

	done chan struct{} // closed by Close: background loops stop
	wg   sync.WaitGroup
	// totals of legs that have gone, so /stats counts the whole run.
	goneIn, goneOut atomic.Uint64
	// media: playback and recording (playrec.go).
	media mediaAPI
}

// New validates cfg and returns a Server; Start makes it listen.
func New(cfg Config) (*Server, error) {
	st, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     st,
		log:     st.Logger,
		mediaIP: st.mediaIP,
		rooms:   map[string]*room{},
		ports:   map[uint16]struct{}{},
		targets: map[uint16]int{},
		done:    make(chan struct{}),
	}
	if st.APIToken != "" {
		s.tokenHash = sha256.Sum256([]byte(st.APIToken))
	}
	if err := s.media.init(st.MediaDir); err != nil {
		return nil, err
	}
	s.conns = newConnLimiter(st.HTTPMaxConns)
	s.httpSrv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: min(maxHeaderWait, st.HTTPReadTimeout),
		ReadTimeout:       st.HTTPReadTimeout,
		WriteTimeout:      st.HTTPWriteTimeout,
		IdleTimeout:       st.HTTPIdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         s.conns.track,
		TLSConfig:         st.tls,
		// HTTP/1.1 only, also over TLS: the connection cap and the event
		// streams' per-write deadlines work per connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     slog.NewLogLogger(st.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// maxHeaderWait bounds reading a request's headers; maxHeaderBytes their
// size (the API's requests carry a few hundred bytes of headers).
const (
	maxHeaderWait  = 5 * time.Second
	maxHeaderBytes = 16 << 10
)

// Start binds the HTTP listener, starts the mixing engine and the
// housekeeping loops (idle removal, RTCP reports), and serves in the
// background.
func (s *Server) Start() error {
	if !s.cfg.WebRTC.Disable {
		rs, err := newRTCServer(s.cfg, s.log)
		if err != nil {
			return err
		}
		s.rtc = rs
		s.mu.Lock()
		s.ports[uint16(rs.port)] = struct{}{} // offers aimed at it are refused
		s.mu.Unlock()
	}
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		s.closeRTC()
		return fmt.Errorf("bridge: listen %s: %w", s.cfg.HTTPAddr, err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() && s.cfg.APIToken == "" {
		_ = ln.Close() // New checked the name; this is what it resolved to
		s.closeRTC()
		return fmt.Errorf("bridge: the API listens on %s, beyond loopback, without an API token", a)
	}
	s.ln = ln
	if s.cfg.tls != nil {
		ln = tls.NewListener(ln, s.httpSrv.TLSConfig)
	}
	s.started = time.Now()
	// The mixer logs the rooms' lifecycle (conference created and closed,
	// participants joined and left with the reason), its events and its
	// rate-limited warnings: refused packets per participant and reason
	// (a sender with the wrong key: srtp_auth), media errors, overruns.
	s.engine = mixer.NewEngine(mixer.EngineConfig{Workers: s.cfg.Workers, Logger: s.log, LogInterval: s.cfg.LogInterval})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.housekeeping()
	}()
	s.log.Info("bridge listening", "http", ln.Addr().String(), "tls", s.cfg.tls != nil, "token", s.cfg.APIToken != "",
		"media_ip", s.cfg.MediaIP, "ports", fmt.Sprintf("%d-%d", s.cfg.PortMin, s.cfg.PortMax),
		"media_fds", s.cfg.mediaFDs, "workers", s.cfg.Workers, "idle", s.cfg.Idle, "webrtc", s.WebRTCAddr(),
		"page", !s.cfg.DisablePage)
	return nil
}

// WebRTCAddr returns the UDP address every WebRTC leg uses ("" when
// WebRTC is off or before Start).
func (s *Server) WebRTCAddr() string {
	if s.rtc == nil {
		return ""
	}
	return s.rtc.conn.LocalAddr().String()
}

func (s *Server) closeRTC() {
	if s.rtc != nil {
		s.rtc.close()
	}
}

// HTTPAddr returns the bound control API address, e.g. "127.0.0.1:41234"
// (the configured one before Start).
func (s *Server) HTTPAddr() string {
	if s.ln == nil {
		return s.cfg.HTTPAddr
	}
	return s.ln.Addr().String()
}

// Close shuts the bridge down gracefully: the API stops taking requests
// (those in flight get ShutdownTimeout), every participant leaves, every
// socket closes and the engine stops. It returns when all of that is done.
// Safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()

	var err error
	if s.ln != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		// Event streams never finish by themselves: they end on s.done,
		// and Close cuts whatever is still stuck after the timeout.
		if e := s.httpSrv.Shutdown(ctx); e != nil {
			_ = s.httpSrv.Close()
		}
		cancel()
	}
	for _, r := range rooms {
		s.closeRoom(r, "bridge closing")
	}
	if s.engine != nil {
		err = s.engine.Close()
	}
	s.closeRTC() // every WebRTC leg has closed
	s.wg.Wait()
	s.media.close()
	s.log.Info("bridge closed")
	return err
}

// housekeeping removes idle participants and logs drops. (The mixer
// sends the RTCP reports, from its tick.)
func (s *Server) housekeeping() {
	period := time.Second
	if s.cfg.Idle > 0 && s.cfg.Idle/4 < period {
		period = max(s.cfg.Idle/4, 10*time.Millisecond)
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		now := mixer.Monotonic()
		for _, r := range s.roomList() {
			r.load.sample(now, r.conf.Stats())
		}
		for _, l := range s.allLegs() {
			if s.cfg.Idle > 0 && now-time.Duration(l.lastRecv.Load()) > s.cfg.Idle {
				s.removeLeg(l, "idle")
				continue
			}
			l.logDrops(now)
		}
	}
}

func (s *Server) allLegs() []*leg {
	s.mu.Lock()
	defer s.mu.Unlock()
	var legs []*leg
	for _, r := range s.rooms {
		r.mu.Lock()
		for _, l := range r.legs {
			legs = append(legs, l)
		}
		r.mu.Unlock()
	}
	return legs
}

// roomParams is the body of POST /rooms.
type roomParams struct {
	Name        string `json:"name"`
	SampleRate  int    `json:"sample_rate"`
	PtimeMillis int    `json:"ptime_ms"`
	MaxSpeakers int    `json:"max_speakers"`
	// Tones: a chime when someone joins or leaves (mixer.ToneConfig).
	Tones bool `json:"tones"`
	// DTMF is "swallow" (the default: digits are events for the
	// application) or "pass" (also sent on to the others).
	DTMF string `json:"dtmf"`
	// trunking, when its Part is set, makes the room one part of a room
	// cascaded over several bridges (CreateRoom; not in the API's JSON).
	trunking mixer.TrunkingConfig
}

func (s *Server) createRoom(p roomParams) (*room, error) {
	if p.Name == "" || len(p.Name) > 64 {
		return nil, fmt.Errorf("room name must be 1..64 characters")
	}
	cfg := mixer.ConferenceConfig{
		Name:          p.Name,
		SampleRate:    p.SampleRate,
		Ptime:         time.Duration(p.PtimeMillis) * time.Millisecond,
		MaxSpeakers:   p.MaxSpeakers,
		Tones:         mixer.ToneConfig{Join: p.Tones, Leave: p.Tones},
		OverloadShare: max(s.cfg.TickBudget, 0), // 0: the mixer's default
	}
	pol, err := dtmfPolicy(p.DTMF)
	if err != nil {
		return nil, err
	}
	cfg.DTMF.Policy = pol
	if cfg.SampleRate == 0 {
		cfg.SampleRate = s.cfg.SampleRate
	}
	if cfg.Ptime == 0 {
		cfg.Ptime = s.cfg.Ptime
	}
	if cfg.MaxSpeakers == 0 {
		cfg.MaxSpeakers = s.cfg.MaxSpeakers
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, errClosed
	case s.rooms[p.Name] != nil:
		return nil, fmt.Errorf("%w: %q", errRoomExists, p.Name)
	case len(s.rooms) >= s.cfg.MaxRooms:
		return nil, fmt.Errorf("%w: the bridge's room limit (%d) is reached", errCapacity, s.cfg.MaxRooms)
	}
	conf, err := s.engine.NewConference(cfg)
	if err != nil {
		return nil, err
	}
	if p.trunking.Part != 0 {
		// Before any join, so that every talker is forwarded from its start.
		if err := conf.EnableTrunking(p.trunking); err != nil {
			_ = conf.Close()
			return nil, err
		}
	}
	r := newRoom(s, conf)
	s.rooms[p.Name] = r
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.pumpEvents()
	}()
	return r, nil // the mixer logs "conference created"
}

func (s *Server) room(name string) (*room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[name]
	if r == nil {
		return nil, fmt.Errorf("%w: %q", errNoRoom, name)
	}
	return r, nil
}

func (s *Server) deleteRoom(name string) error {
	s.mu.Lock()
	r := s.rooms[name]
	if r == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", errNoRoom, name)
	}
	delete(s.rooms, name)
	s.mu.Unlock()
	s.closeRoom(r, "room deleted")
	return nil
}

// closeRoom removes every leg of r, stops its conference and its events.
func (s *Server) closeRoom(r *room, reason string) {
	for _, l := range r.legList() {
		s.removeLeg(l, reason)
	}
	_ = r.conf.Close() // its Left events go out, then pumpEvents ends
	r.close()
	s.metrics.forget(r)
	s.log.Info("room closed", "conference", r.name, "reason", reason)
}

// joinParams are the query parameters of a join.
type joinParams struct {
	id         string
	listenOnly bool
}

// join negotiates o, opens the participant's sockets and joins it to r.
// It returns the leg, not yet started (the caller starts it once the
// answer is on its way), and the SDP answer.
func (s *Server) join(r *room, jp joinParams, o *offer) (*leg, []byte, error) {
	if s.cfg.RequireSRTP && o.crypto == nil {
		return nil, nil, fmt.Errorf("%w: this bridge requires SRTP (RTP/SAVP with a=crypto)", errNotAcceptable)
	}
	if err := s.checkTarget(o); err != nil {
		return nil, nil, err
	}
	if len(jp.id) > 64 {
		return nil, nil, fmt.Errorf("participant id longer than 64 characters")
	}
	fds := 2
	if o.rtcpMux {
		fds = 1
	}
	id, err := s.reserve(jp.id, fds)
	if err != nil {
		return nil, nil, err
	}
	jp.id = id
	if err := r.reserve(); err != nil {
		s.release(fds)
		return nil, nil, err
	}
	l, answer, err := s.joinReserved(r, jp, o)
	if err != nil {
		r.release()
		s.release(fds)
		return nil, nil, err
	}
	return l, answer, nil
}

// reserve takes a participant slot and fds file descriptors from the
// bridge's budgets, and names the participant if id is empty.
func (s *Server) reserve(id string, fds int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "", errClosed
	case s.legCount >= s.cfg.MaxParticipants:
		return "", fmt.Errorf("%w: the bridge's participant limit (%d) is reached", errCapacity, s.cfg.MaxParticipants)
	case s.legFDs+fds > s.cfg.mediaFDs:
		return "", fmt.Errorf("%w: file descriptors: the legs hold %d sockets of the %d this process may use for media "+
			"(limit %d, less %d for HTTP connections and %d for the process): raise ulimit -n",
			errCapacity, s.legFDs, s.cfg.mediaFDs, s.cfg.FileLimit, s.cfg.HTTPMaxConns, fdReserve)
	}
	s.nextID++
	if id == "" {
		id = "p" + strconv.FormatUint(s.nextID, 10)
	}
	s.legCount++
	s.legFDs += fds
	return id, nil
}

// release returns what reserve took.
func (s *Server) release(fds int) {
	s.mu.Lock()
	s.legCount--
	s.legFDs -= fds
	s.mu.Unlock()
}

// joinReserved is join once the participant's slots are reserved.
func (s *Server) joinReserved(r *room, jp joinParams, o *offer) (*leg, []byte, error) {
	listenOnly := jp.listenOnly || o.direction == "recvonly" || o.direction == "inactive"
	deaf := o.direction == "sendonly" || o.direction == "inactive"

	// Codec, payload type, SRTP keys both ways, levels, CN and the agreed
	// direction (a peer that only sends is sent nothing); the API's
	// listen_only narrows it.
	pc := o.leg.ParticipantConfig(jp.id)
	pc.ListenOnly = listenOnly
	pc.Encoder = encoderFor(o.format)
	s.target(o, true) // before binding, so that this leg is not bound where it sends
	l, err := s.openLeg(r, jp.id, o)
	if err != nil {
		s.target(o, false)
		return nil, nil, err
	}
	pc.Sink = l
	// The mixer's RTCP (reports, BYE; SRTCP with the leg's keys) goes out
	// through the leg's RTCP socket, or its RTP socket under rtcp-mux.
	pc.RTCP = mixer.RTCPConfig{Off: s.cfg.RTCPInterval < 0, MinInterval: max(s.cfg.RTCPInterval, 0),
		Sink: mixer.SinkFunc(l.writeRTCP)}
	p, err := r.conf.Join(pc)
	if err != nil {
		l.closeSockets()
		if errors.Is(err, mixer.ErrDuplicateID) {
			return nil, nil, fmt.Errorf("%w: %q", errDuplicateID, jp.id)
		}
		return nil, nil, err
	}
	l.p = p
	l.sdp = sdpState{leg: o.leg, sessionID: randUint64() >> 1, version: 1, listenOnly: jp.listenOnly}
	if !r.add(l) {
		p.Leave()
		l.closeSockets()
		return nil, nil, fmt.Errorf("%w: %q", errNoRoom, r.name)
	}
	answer, err := buildAnswer(o, answerParams{
		ip: s.mediaIP, rtpPort: l.rtpPort(), rtcpPort: l.rtcpPort(), sessionID: l.sdp.sessionID, sessionVersion: 1,
		ptimeMillis: int(p.Ptime() / time.Millisecond),
		listenOnly:  listenOnly, deaf: deaf,
	})
	if err != nil { // not started: undo by hand, join releases the slots
		l.closing.Store(true)
		r.remove(l)
		p.Leave()
		l.closeSockets()
		return nil, nil, err
	}
	s.log.Info("leg opened", "conference", r.name, "participant", jp.id, "codec", o.format.SDPName(),
		"pt", o.payloadType, "srtp", o.crypto != nil, "rtp_port", l.rtpPort(), "offer_addr", o.rtpDst.String(),
		"listen_only", listenOnly)
	return l, answer, nil
}

// byeWait bounds how long a leaving leg keeps its sockets for the mixer's
// BYE: a tick normally; the whole of it only when its room no longer
// ticks.
const byeWait = 500 * time.Millisecond

// removeLeg makes l leave its conference and closes its sockets. Safe to
// call more than once and from l's own reader goroutines (it does not wait
// for them).
//
// With RTCP on, the mixer sends the peer its BYE through the leg's
// sockets at its next tick (Participant.Done): removeLeg waits for that,
// at most byeWait, before it closes them and gives the leg's places back.
func (s *Server) removeLeg(l *leg, reason string) {
	if !l.closing.CompareAndSwap(false, true) {
		return
	}
	if l.p != nil {
		l.p.LeaveWithReason(reason) // the mixer logs "participant left" with it
	}
	// The mixer refuses its packets now: the leg's counters are (nearly)
	// final, fold them into the room's.
	l.room.retire(l)
	if l.p != nil {
		s.goneIn.Add(l.p.Stats().PacketsIn)
		s.goneOut.Add(l.out.packets.Load())
		// A WebRTC leg waits too, so that pion's track is not written
		// after its PeerConnection closed.
		if s.cfg.RTCPInterval >= 0 || l.rtc != nil {
			t := time.NewTimer(byeWait)
			select {
			case <-l.p.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	l.closeSockets()
	l.room.release()
	s.release(l.fds)
}

func (s *Server) roomList() []*room {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].name < rs[j].name })
	return rs
}

// supported reports whether a codec can be built in this binary (Opus
// needs cgo), trying once per name.
func (s *Server) supported(sdpName string) bool {
	if v, ok := s.codecOK.Load(sdpName); ok {
		return v.(bool)
	}
	_, err := codec.NewDecoder(sdpName, codec.Config{})
	s.codecOK.Store(sdpName, err == nil)
	return err == nil
}

func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

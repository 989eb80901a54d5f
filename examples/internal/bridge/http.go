package bridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/rtpmix/rtpmix/negotiate"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rooms", s.handleCreateRoom)
	mux.HandleFunc("GET /rooms", s.handleListRooms)
	mux.HandleFunc("GET /rooms/{room}", s.handleGetRoom)
	mux.HandleFunc("DELETE /rooms/{room}", s.handleDeleteRoom)
	mux.HandleFunc("POST /rooms/{room}/participants", s.handleJoin)
	mux.HandleFunc("GET /rooms/{room}/participants", s.handleListParticipants)
	mux.HandleFunc("GET /rooms/{room}/participants/{id}", s.handleGetParticipant)
	mux.HandleFunc("POST /rooms/{room}/participants/{id}", s.handleReoffer)
	mux.HandleFunc("PATCH /rooms/{room}/participants/{id}", s.handlePatchParticipant)
	mux.HandleFunc("DELETE /rooms/{room}/participants/{id}", s.handleLeave)
	mux.HandleFunc("POST /rooms/{room}/participants/{id}/dtmf", s.handleSendDTMF)
	mux.HandleFunc("GET /rooms/{room}/events", s.handleEvents)
	mux.HandleFunc("GET /stats", s.handleStats)
	mux.Handle("GET /metrics", s.metricsHandler())
	s.mediaRoutes(mux)
	var h http.Handler = mux
	if s.cfg.Middleware != nil {
		h = s.cfg.Middleware(h) // behind the token check, like every route
	}
	return s.withPage(s.authorize(h))
}

// authorize lets a request through when the bridge has no API token, or
// when it carries the token as "Authorization: Bearer <token>". The two
// are compared as SHA-256 digests in constant time, so that neither the
// token's length nor its bytes leak through timing.
func (s *Server) authorize(next http.Handler) http.Handler {
	if s.cfg.APIToken == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], s.tokenHash[:]) != 1 || !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rtpmix-bridge"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong API token (Authorization: Bearer <token>)"))
			return
		}
		next.ServeHTTP(w, req)
	})
}

// authenticated reports whether API callers have proven who they are,
// which every request has when the bridge has a token. Only they see the
// participants' network addresses: with plain RTP, an address is what a
// spoofer needs.
func (s *Server) authenticated() bool { return s.cfg.APIToken != "" }

// statusNotAcceptableHere is SIP's 488, used as HTTP status for offers the
// bridge understands but cannot accept (no common codec or crypto suite).
const statusNotAcceptableHere = 488

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // not HTML: "<token>" reads better than "\u003ctoken\u003e"
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	if errors.Is(err, errBusy) {
		w.Header().Set("Retry-After", "2") // when the load window has moved on
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// statusOf maps the bridge's errors to HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errBadOffer):
		return http.StatusBadRequest
	case errors.Is(err, errNotAcceptable):
		return statusNotAcceptableHere
	case errors.Is(err, errRoomExists), errors.Is(err, errDuplicateID):
		return http.StatusConflict
	case errors.Is(err, errNoRoom), errors.Is(err, errNoParticipant):
		return http.StatusNotFound
	case errors.Is(err, errClosed), errors.Is(err, errNoPorts), errors.Is(err, errNoFDs),
		errors.Is(err, errCapacity), errors.Is(err, errBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// roomJSON is a room in listings and on creation.
type roomJSON struct {
	Name         string `json:"name"`
	SampleRate   int    `json:"sample_rate"`
	PtimeMillis  int    `json:"ptime_ms"`
	MaxSpeakers  int    `json:"max_speakers"`
	Participants int    `json:"participants"`
	Speakers     int    `json:"speakers"`
}

// roomStatsJSON is GET /rooms/{room}.
type roomStatsJSON struct {
	roomJSON
	Ticks         uint64   `json:"ticks"`
	TickP50Micros int64    `json:"tick_p50_us"`
	TickP99Micros int64    `json:"tick_p99_us"`
	TickMaxMicros int64    `json:"tick_max_us"`
	Overruns      uint64   `json:"overruns"`
	Degraded      int      `json:"degraded"`
	EventsDropped uint64   `json:"events_dropped"`
	SSEDropped    uint64   `json:"sse_dropped"`
	IDs           []string `json:"participant_ids"`
}

func (r *room) json() roomJSON {
	st := r.conf.Stats()
	cfg := r.conf.Config()
	return roomJSON{Name: r.name, SampleRate: st.SampleRate, PtimeMillis: int(cfg.Ptime / time.Millisecond),
		MaxSpeakers: cfg.MaxSpeakers, Participants: st.Participants, Speakers: st.Speakers}
}

func (r *room) statsJSON() roomStatsJSON {
	st := r.conf.Stats()
	ids := []string{}
	for _, l := range r.legList() {
		ids = append(ids, l.id)
	}
	return roomStatsJSON{
		roomJSON: r.json(), Ticks: st.Ticks,
		TickP50Micros: st.Timing.P50.Microseconds(), TickP99Micros: st.Timing.P99.Microseconds(),
		TickMaxMicros: st.Timing.Max.Microseconds(),
		Overruns:      st.Overruns, Degraded: st.Degraded, EventsDropped: st.EventsDropped,
		SSEDropped: r.sseDropped.Load(), IDs: ids,
	}
}

func (s *Server) handleCreateRoom(w http.ResponseWriter, req *http.Request) {
	var p roomParams
	dec := json.NewDecoder(io.LimitReader(req.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("room JSON: %v", err))
		return
	}
	r, err := s.createRoom(p)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	w.Header().Set("Location", "/rooms/"+r.name)
	writeJSON(w, http.StatusCreated, r.json())
}

func (s *Server) handleListRooms(w http.ResponseWriter, _ *http.Request) {
	out := []roomJSON{}
	for _, r := range s.roomList() {
		out = append(out, r.json())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetRoom(w http.ResponseWriter, req *http.Request) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, r.statsJSON())
}

func (s *Server) handleDeleteRoom(w http.ResponseWriter, req *http.Request) {
	if err := s.deleteRoom(req.PathValue("room")); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleJoin(w http.ResponseWriter, req *http.Request) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	body, ok := readOffer(w, req)
	if !ok {
		return
	}
	q := req.URL.Query()
	jp := joinParams{id: q.Get("id"), listenOnly: isTrue(q.Get("listen_only"))}
	var l *leg
	var answer []byte
	o, err := parseOffer(body, s.supported)
	switch {
	case errors.Is(err, negotiate.ErrDTLS):
		// A browser's offer (UDP/TLS/RTP/SAVPF): pion/webrtc answers it.
		l, answer, err = s.joinWebRTC(r, jp, body)
	case err != nil:
		s.log.Info("offer refused", "conference", r.name, "err", err)
		writeError(w, statusOf(err), err)
		return
	default:
		l, answer, err = s.join(r, jp, o)
	}
	if err != nil {
		s.log.Info("join refused", "conference", r.name, "err", err)
		writeError(w, statusOf(err), err)
		return
	}
	l.start()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/rooms/"+r.name+"/participants/"+l.id)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(answer)
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (s *Server) leg(req *http.Request) (*leg, error) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	l := r.leg(id)
	if l == nil {
		return nil, fmt.Errorf("%w: %q in room %q", errNoParticipant, id, r.name)
	}
	return l, nil
}

// participantJSON is GET /rooms/{room}/participants/{id}.
type participantJSON struct {
	ID          string `json:"id"`
	Room        string `json:"room"`
	Codec       string `json:"codec"`
	PayloadType uint8  `json:"payload_type"`
	SRTP        string `json:"srtp,omitempty"`
	// Transport is "rtp" (UDP sockets of its own) or "webrtc" (a
	// browser: ICE, DTLS-SRTP and RTCP by pion on the shared WebRTC port,
	// which LocalPort then is).
	Transport string   `json:"transport"`
	WebRTC    *rtcJSON `json:"webrtc,omitempty"`
	LocalPort int      `json:"local_port"`
	// Sending: the peer has proven its address (or the operator trusts
	// offers) and the bridge sends it media.
	Sending bool `json:"sending"`
	// The addresses, only for callers with the API token.
	SendTo      string `json:"send_to,omitempty"`
	Latched     string `json:"latched,omitempty"`
	RTCPLatched string `json:"rtcp_latched,omitempty"`
	PacketsIn   uint64 `json:"packets_in"`
	BytesIn     uint64 `json:"bytes_in"`
	// Out: what the bridge sent; the mix it made before the peer proved
	// its address is counted in Unsent instead.
	PacketsOut   uint64  `json:"packets_out"`
	BytesOut     uint64  `json:"bytes_out"`
	Loss         uint64  `json:"loss"`
	Late         uint64  `json:"late"`
	Concealed    uint64  `json:"concealed"`
	FECRecovered uint64  `json:"fec_recovered"`
	JitterMillis float64 `json:"jitter_ms"`
	DelayMillis  float64 `json:"delay_ms"`
	TalkMillis   int64   `json:"talk_time_ms"`
	Level        int     `json:"level"`
	Talking      bool    `json:"talking"`
	Muted        bool    `json:"muted"`
	Deaf         bool    `json:"deaf"`
	ListenOnly   bool    `json:"listen_only"`
	GainInDB     float64 `json:"gain_in_db"`
	GainOutDB    float64 `json:"gain_out_db"`
	// Drops, by cause.
	Garbage          uint64 `json:"dropped_garbage"`
	Foreign          uint64 `json:"dropped_foreign"`
	Malformed        uint64 `json:"dropped_malformed"`
	WrongPayloadType uint64 `json:"dropped_payload_type"`
	SRTPAuthFailures uint64 `json:"dropped_srtp_auth"`
	SRTPReplays      uint64 `json:"dropped_srtp_replay"`
	JitterRejected   uint64 `json:"dropped_jitter"`
	Unsent           uint64 `json:"unsent"`
	RTCP             struct {
		Received   uint64 `json:"received"`
		SR         uint64 `json:"sr"`
		RR         uint64 `json:"rr"`
		Bye        uint64 `json:"bye"`
		ByeIgnored uint64 `json:"bye_ignored"`
		Other      uint64 `json:"other"`
		Bad        uint64 `json:"bad"`
		NotMuxed   uint64 `json:"dropped_not_muxed"`
		Sent       uint64 `json:"sent"`
		// What the peer's reports say about the stream the bridge sends
		// it (zero until one arrives): reports received, the fraction of
		// packets it lost in its last interval (0..1), the total lost, its
		// interarrival jitter and the round trip (from the LSR and DLSR of
		// its report, once it has had a sender report of ours).
		Reports        uint64  `json:"remote_reports"`
		FractionLost   float64 `json:"remote_fraction_lost"`
		CumulativeLost int32   `json:"remote_cumulative_lost"`
		JitterMillis   float64 `json:"remote_jitter_ms"`
		RTTMillis      float64 `json:"rtt_ms,omitempty"`
		// Its canonical name, from its SDES.
		CNAME string `json:"cname,omitempty"`
	} `json:"rtcp"`

	// LatchMoves: how often an SRTP peer's packets authenticated from a
	// new address, which the latch (and, for comedia, media) followed.
	LatchMoves uint64 `json:"latch_moves"`
}

// rtcJSON is what a WebRTC leg adds: pion's connection state (new,
// connecting, connected, disconnected, failed, closed), pion's SSRC for
// what the bridge sends it (the mixer's is rewritten), and, for callers
// with the token, the browser's address on the selected ICE pair.
type rtcJSON struct {
	State  string `json:"state"`
	SSRC   uint32 `json:"ssrc,omitempty"`
	Remote string `json:"remote,omitempty"`
}

// json describes the leg; showAddrs adds its network addresses.
func (l *leg) json(showAddrs bool) participantJSON {
	st := l.p.Stats()
	j := participantJSON{
		ID: l.id, Room: l.room.name, Codec: st.InCodec, PayloadType: l.payloadType(),
		LocalPort: l.rtpPort(),
		PacketsIn: st.PacketsIn, BytesIn: st.BytesIn, PacketsOut: l.out.packets.Load(), BytesOut: l.out.bytes.Load(),
		Loss: st.Jitter.Lost, Late: st.Jitter.Late, Concealed: st.Concealed, FECRecovered: st.FECRecovered,
		JitterMillis: float64(st.Jitter.JitterDuration.Microseconds()) / 1000,
		DelayMillis:  float64(st.Jitter.Delay.Microseconds()) / 1000,
		TalkMillis:   st.TalkTime.Milliseconds(), Level: st.Level, Talking: st.Talking,
		Muted: st.Muted, Deaf: st.Deaf, ListenOnly: st.ListenOnly,
		Garbage: l.cnt.garbage.Load(), Foreign: l.cnt.foreign.Load(),
		Malformed:        st.Refused.Short + st.Refused.Version + st.Refused.Padding + st.Refused.SRTPMalformed,
		WrongPayloadType: st.Refused.PayloadType, SRTPAuthFailures: st.Refused.SRTPAuth, SRTPReplays: st.Refused.SRTPReplay,
		JitterRejected: st.Refused.Late + st.Refused.Duplicate + st.Refused.Full + st.Refused.TooLarge, Unsent: l.cnt.unsent.Load(),
		Sending: l.out.proven.Load(), LatchMoves: l.cnt.latchMoves.Load(),
	}
	l.gainMu.Lock()
	j.GainInDB, j.GainOutDB = l.gainIn, l.gainOut
	l.gainMu.Unlock()
	j.Transport = "rtp"
	if l.offer.crypto != nil {
		j.SRTP = l.offer.crypto.Keys.Profile.String()
	}
	if l.rtc != nil {
		j.Transport, j.SRTP, j.Sending = "webrtc", "DTLS-SRTP", l.rtc.connected.Load()
		j.WebRTC = &rtcJSON{State: l.rtc.stateName(), SSRC: l.rtc.ssrc}
		if showAddrs {
			j.WebRTC.Remote = l.rtc.remoteAddr()
		}
	}
	if showAddrs {
		for _, a := range []struct {
			to *string
			p  *netip.AddrPort
		}{{&j.SendTo, l.out.dst.Load()}, {&j.Latched, l.latched.Load()}, {&j.RTCPLatched, l.rtcpLatched.Load()}} {
			if a.p != nil {
				*a.to = a.p.String()
			}
		}
	}
	c := &l.cnt
	rc := &st.RTCP
	j.RTCP.Received, j.RTCP.SR, j.RTCP.RR = rc.PacketsIn, rc.SR, rc.RR
	j.RTCP.Bye, j.RTCP.ByeIgnored, j.RTCP.Other = rc.Bye, rc.ByeIgnored, rc.Other
	j.RTCP.Bad, j.RTCP.NotMuxed, j.RTCP.Sent = c.rtcpBad.Load(), c.rtcpNotMuxed.Load(), c.rtcpSent.Load()
	rm := &rc.Remote
	j.RTCP.Reports, j.RTCP.FractionLost, j.RTCP.CumulativeLost = rm.Reports, rm.Loss(), rm.CumulativeLost
	j.RTCP.JitterMillis = float64(rm.JitterDuration.Microseconds()) / 1000
	if rm.HasRTT {
		j.RTCP.RTTMillis = float64(rm.RTT.Microseconds()) / 1000
	}
	j.RTCP.CNAME = rc.CNAME
	if l.rtc != nil {
		l.rtc.fillRTCP(&j)
	}
	return j
}

func (s *Server) handleListParticipants(w http.ResponseWriter, req *http.Request) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	out := []participantJSON{}
	for _, l := range r.legList() {
		out = append(out, l.json(s.authenticated()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetParticipant(w http.ResponseWriter, req *http.Request) {
	l, err := s.leg(req)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, l.json(s.authenticated()))
}

// patchJSON is the body of PATCH: absent fields are left as they are.
type patchJSON struct {
	Muted     *bool    `json:"muted"`
	Deaf      *bool    `json:"deaf"`
	GainInDB  *float64 `json:"gain_in_db"`
	GainOutDB *float64 `json:"gain_out_db"`
}

func (s *Server) handlePatchParticipant(w http.ResponseWriter, req *http.Request) {
	l, err := s.leg(req)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	var p patchJSON
	dec := json.NewDecoder(io.LimitReader(req.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("participant JSON: %v", err))
		return
	}
	// Validate both gains before changing anything.
	for _, g := range []*float64{p.GainInDB, p.GainOutDB} {
		if g != nil && (*g < -60 || *g > 24) {
			writeError(w, http.StatusBadRequest, fmt.Errorf("gain %.1f dB outside -60..+24", *g))
			return
		}
	}
	l.gainMu.Lock()
	if p.GainInDB != nil {
		if err := l.p.SetGainIn(*p.GainInDB); err == nil {
			l.gainIn = *p.GainInDB
		}
	}
	if p.GainOutDB != nil {
		if err := l.p.SetGainOut(*p.GainOutDB); err == nil {
			l.gainOut = *p.GainOutDB
		}
	}
	l.gainMu.Unlock()
	if p.Muted != nil {
		l.p.SetMuted(*p.Muted)
	}
	if p.Deaf != nil {
		l.p.SetDeaf(*p.Deaf)
	}
	s.log.Info("participant changed", "conference", l.room.name, "participant", l.id, "muted", p.Muted != nil && *p.Muted,
		"deaf", p.Deaf != nil && *p.Deaf)
	writeJSON(w, http.StatusOK, l.json(s.authenticated()))
}

func (s *Server) handleLeave(w http.ResponseWriter, req *http.Request) {
	l, err := s.leg(req)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	s.removeLeg(l, "deleted")
	w.WriteHeader(http.StatusNoContent)
}

// sseWriteTimeout bounds one event write: a client whose connection does
// not drain within it is disconnected.
const sseWriteTimeout = 5 * time.Second

func (s *Server) handleEvents(w http.ResponseWriter, req *http.Request) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	// Streams hold a connection each for as long as they last: at most
	// half of the connection cap, so that the rest stays for requests.
	if n := s.streams.Add(1); n > int64(s.cfg.HTTPMaxConns/2) {
		s.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("%w: %d event streams are open, the limit", errCapacity, n-1))
		return
	}
	defer s.streams.Add(-1)
	rc := http.NewResponseController(w)
	// The server's read and write timeouts bound whole requests; a stream
	// lasts as long as the room. Its reads stop (the client has sent its
	// request), and each write gets its own deadline (writeEvent).
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return
	}
	sub := r.subscribe()
	defer r.unsubscribe(sub)
	sub.levels.Store(isTrue(req.URL.Query().Get("levels")))
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if !s.writeEvent(rc, w, []byte(": rtpmix events for room "+r.name+"\n\n")) {
		return
	}
	for {
		select {
		case <-req.Context().Done():
			return
		case <-s.done:
			return
		case <-r.done:
			// Deliver what is queued (the left events), then end.
			for {
				select {
				case msg := <-sub.ch:
					if !s.writeEvent(rc, w, msg) {
						return
					}
				default:
					return
				}
			}
		case msg := <-sub.ch:
			if !s.writeEvent(rc, w, msg) {
				return
			}
		}
	}
}

func (s *Server) writeEvent(rc *http.ResponseController, w io.Writer, msg []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := w.Write(msg); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// statsJSON is GET /stats.
type statsJSON struct {
	HTTP         httpStatsJSON  `json:"http"`
	Rooms        int            `json:"rooms"`
	Participants int            `json:"participants"`
	PacketsIn    uint64         `json:"packets_in"`
	PacketsOut   uint64         `json:"packets_out"`
	Dropped      uint64         `json:"dropped_garbage_foreign"`
	PerRoom      []roomTickJSON `json:"per_room"`
	Uptime       float64        `json:"uptime_s"`
}

// httpStatsJSON is the API's connection cap at work.
type httpStatsJSON struct {
	Open     int    `json:"open"`
	Max      int    `json:"max"`
	Streams  int64  `json:"event_streams"`
	Accepted uint64 `json:"accepted"`
	Shed     uint64 `json:"shed"`
	Refused  uint64 `json:"refused"`
}

type roomTickJSON struct {
	Name          string `json:"name"`
	Participants  int    `json:"participants"`
	TickP50Micros int64  `json:"tick_p50_us"`
	TickP99Micros int64  `json:"tick_p99_us"`
	Overruns      uint64 `json:"overruns"`
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	out := statsJSON{PerRoom: []roomTickJSON{}, PacketsIn: s.goneIn.Load(), PacketsOut: s.goneOut.Load(),
		Uptime: time.Since(s.started).Seconds()}
	cs := s.conns.stats()
	out.HTTP = httpStatsJSON{Open: cs.Open, Max: s.cfg.HTTPMaxConns, Streams: s.streams.Load(),
		Accepted: cs.Accepted, Shed: cs.Shed, Refused: cs.Refused}
	for _, r := range s.roomList() {
		st := r.conf.Stats()
		out.Rooms++
		legs := r.legList()
		out.Participants += len(legs)
		for _, l := range legs {
			out.PacketsIn += l.p.Stats().PacketsIn
			out.PacketsOut += l.out.packets.Load()
			out.Dropped += l.cnt.garbage.Load() + l.cnt.foreign.Load()
		}
		out.PerRoom = append(out.PerRoom, roomTickJSON{Name: r.name, Participants: len(legs),
			TickP50Micros: st.Timing.P50.Microseconds(), TickP99Micros: st.Timing.P99.Microseconds(),
			Overruns: st.Overruns})
	}
	writeJSON(w, http.StatusOK, out)
}

// readOffer reads an SDP offer of at most maxOfferSize bytes from the
// request body; on failure it has answered the request (400, or 413 for a
// larger body) and returns false.
func readOffer(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxOfferSize+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("reading offer: %v", err))
		return nil, false
	}
	if len(body) > maxOfferSize {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("offer larger than %d bytes", maxOfferSize))
		return nil, false
	}
	return body, true
}

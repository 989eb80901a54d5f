package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// WebRTC legs. A browser joins by posting its offer to the join route, as
// an RTP peer does (the WHIP shape of RFC 9725: POST application/sdp, 201
// with the answer and a Location to DELETE on leave); package negotiate
// refuses it with ErrDTLS, and the bridge hands it to pion/webrtc instead.
// The leg is then one PeerConnection with one sendrecv audio transceiver,
// and pion does the transport: ICE (the bridge is ICE-lite, on one UDP
// socket shared by every browser), DTLS-SRTP and RTCP (sender and receiver
// reports through its interceptors). The mixer sees plain RTP: its SRTP
// and its RTCP are off on these legs. pion writes its own SSRC on what the
// mixer sends, so stats and events name the participant by its ID, never
// by Participant.SSRC.
//
// Per leg, three goroutines of the bridge's besides pion's: the media
// reader (pion's track → Participant.WriteRTP), the RTCP reader (the
// browser's reports, which pion's interceptors see on the way), and a
// watcher that removes the leg when pion reports it gone: failed (no
// consent or media from the browser for DisconnectedTimeout plus
// FailedTimeout) or closed (the browser sent DTLS close_notify).

// rtcServer is what the WebRTC legs share: one UDP socket on the media IP
// carrying every browser's ICE, DTLS, SRTP and SRTCP (pion's ICE UDP mux
// tells them apart by ICE username, then by address), and the pion
// SettingEngine around it.
type rtcServer struct {
	conn *net.UDPConn
	mux  ice.UDPMux
	se   webrtc.SettingEngine
	port int
}

// rtcMuxBuffer is the receive buffer asked for the shared WebRTC socket:
// every browser's packets queue there.
const rtcMuxBuffer = 4 << 20

// newRTCServer binds the WebRTC socket and configures pion for legs on it.
func newRTCServer(st settings, log *slog.Logger) (*rtcServer, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(st.mediaIP, uint16(st.WebRTC.Port))))
	if err != nil {
		return nil, fmt.Errorf("bridge: WebRTC socket on %v:%d: %w", st.mediaIP, st.WebRTC.Port, err)
	}
	_ = c.SetReadBuffer(rtcMuxBuffer)
	lf := pionLogs{log}
	rs := &rtcServer{conn: c, port: c.LocalAddr().(*net.UDPAddr).Port}
	rs.mux = webrtc.NewICEUDPMux(lf.NewLogger("ice-udp-mux"), c)
	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetICEUDPMux(rs.mux)
	// ICE-lite: the browser (controlling) checks the bridge's one host
	// candidate; the bridge needs none of the browser's, which are often
	// mDNS names or behind NATs anyway.
	se.SetLite(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(st.mediaIP.IsLoopback())
	se.SetICETimeouts(st.WebRTC.DisconnectedTimeout, st.WebRTC.FailedTimeout, 2*time.Second)
	if len(st.WebRTC.PublicIPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: st.WebRTC.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		})
		if err != nil {
			_ = rs.mux.Close()
			return nil, fmt.Errorf("bridge: WebRTC public IPs: %w", err)
		}
	}
	rs.se = se
	return rs, nil
}

func (rs *rtcServer) close() {
	_ = rs.mux.Close() // closes the socket too
}

// gatherTimeout bounds the wait for the bridge's own ICE candidate (a host
// candidate on a bound socket: immediate).
const gatherTimeout = 5 * time.Second

// rtcLeg is a leg's WebRTC transport: its PeerConnection, the track the
// mixer sends through (the mixer.Sink), and what the browser's RTCP said.
//
// Who owns what: the tick goroutine calls WriteRTP and alone uses pkt; the
// media reader owns the remote track once it has it; the RTCP reader
// writes remote; pion's callbacks only store state and signal gone. close
// may be called from any goroutine, once or more.
type rtcLeg struct {
	l      *leg
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP // nil when the browser hears nothing
	sender *webrtc.RTPSender
	// ssrc is pion's SSRC for what the bridge sends (the mixer's is
	// rewritten), which the browser's report blocks name.
	ssrc uint32
	// sends: the offer says the browser sends audio.
	sends bool

	tracks chan remoteTrack // OnTrack hands over the browser's audio
	gone   chan string      // pion says the browser is gone, and why
	stop   chan struct{}    // closed by close
	once   sync.Once

	connected atomic.Bool
	state     atomic.Int32 // webrtc.PeerConnectionState

	// pkt is the sink's scratch packet: the tick goroutine parses each
	// outbound packet into it (reusing its slices) for the track.
	pkt rtp.Packet

	rtcp   rtcRTCPCounts
	remote rtcRemote
}

// remoteTrack is the browser's audio, as pion's OnTrack hands it over.
type remoteTrack struct {
	t *webrtc.TrackRemote
	r *webrtc.RTPReceiver
}

// rtcRTCPCounts counts the browser's reports: its sender reports about
// its stream, its receiver reports about the bridge's. (pion hands a
// compound packet to the reader of each stream it names, so that other
// packet types cannot be counted once each.)
type rtcRTCPCounts struct {
	sr, rr atomic.Uint64
}

// rtcRemote is what the browser's last report block says about the stream
// the bridge sends it.
type rtcRemote struct {
	mu      sync.Mutex
	reports uint64
	lost    float64 // fraction, 0..1
	total   int32
	jitter  time.Duration
	rtt     time.Duration
	hasRTT  bool
}

// newRTCLeg makes the PeerConnection for o and answers it. The leg is not
// started: its goroutines start with leg.start, once it has joined.
func (rs *rtcServer) newRTCLeg(l *leg, o *rtcOffer, body []byte) (*rtcLeg, rtcAnswer, []byte, error) {
	m := &webrtc.MediaEngine{}
	err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: o.capability,
		PayloadType: webrtc.PayloadType(o.format.PayloadType)}, webrtc.RTPCodecTypeAudio)
	if err == nil {
		// RFC 6464 levels: the mixer reads the browser's, and a muted or
		// silent browser is then never decoded.
		err = m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio)
	}
	ir := &interceptor.Registry{}
	if err == nil {
		// RTCP as pion does it: sender reports for what the bridge sends,
		// receiver reports for what the browser sends. No NACK (audio),
		// no transport-wide congestion control (one audio stream).
		err = webrtc.ConfigureRTCPReports(ir)
	}
	if err != nil {
		return nil, rtcAnswer{}, nil, fmt.Errorf("bridge: WebRTC media engine: %w", err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(rs.se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy: webrtc.BundlePolicyMaxBundle, RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, rtcAnswer{}, nil, fmt.Errorf("bridge: WebRTC peer connection: %w", err)
	}
	rl := &rtcLeg{l: l, pc: pc, sends: o.browserSends, tracks: make(chan remoteTrack, 1), gone: make(chan string, 1), stop: make(chan struct{})}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		if t.Kind() == webrtc.RTPCodecTypeAudio {
			select {
			case rl.tracks <- remoteTrack{t, r}:
			default: // one audio stream per leg; parseRTCOffer saw to it
			}
		}
	})
	pc.OnConnectionStateChange(rl.stateChanged)
	fail := func(err error) (*rtcLeg, rtcAnswer, []byte, error) {
		rl.close()
		return nil, rtcAnswer{}, nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(body)}); err != nil {
		return fail(&offerError{errBadOffer, fmt.Errorf("WebRTC offer: %w", err)})
	}
	if o.browserHears {
		rl.track, err = webrtc.NewTrackLocalStaticRTP(o.capability, "audio", "rtpmix-"+l.room.name)
		if err == nil {
			rl.sender, err = pc.AddTrack(rl.track)
		}
		if err != nil {
			return fail(fmt.Errorf("%w: WebRTC track: %v", errNotAcceptable, err))
		}
		if enc := rl.sender.GetParameters().Encodings; len(enc) > 0 {
			rl.ssrc = uint32(enc[0].SSRC)
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: WebRTC answer: %v", errNotAcceptable, err))
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("%w: WebRTC answer: %v", errNotAcceptable, err))
	}
	t := time.NewTimer(gatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		return fail(fmt.Errorf("bridge: WebRTC: no ICE candidate within %v", gatherTimeout))
	}
	local := pc.LocalDescription()
	ra, err := readRTCAnswer(local.SDP)
	if err != nil {
		return fail(err)
	}
	if ra.payloadType != o.format.PayloadType {
		return fail(fmt.Errorf("%w: pion answered payload type %d, the offer's %s is %d", errNotAcceptable,
			ra.payloadType, o.format.SDPName(), o.format.PayloadType))
	}
	return rl, ra, []byte(local.SDP), nil
}

// start runs the leg's goroutines in wg: the media reader when the
// browser sends (which starts a reader of the RTCP about that stream once
// it has it), the RTCP reader of the bridge's stream when it hears (its
// reports are about what the bridge sends), and the watcher.
func (rl *rtcLeg) start(wg *sync.WaitGroup) {
	if rl.sends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rl.readMedia(wg)
		}()
	}
	if rl.sender != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rl.readRTCP()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		rl.watch()
	}()
}

// readMedia waits for the browser's audio track, then hands every packet
// pion decrypted to the mixer (the jitter buffer's one producer). It
// starts a goroutine in wg (which counts this one, so the Add is safe)
// that reads the RTCP about the browser's stream: pion's receiver report
// interceptor must see the browser's sender reports to put LSR and DLSR in
// the bridge's receiver reports, from which the browser measures the
// round trip.
func (rl *rtcLeg) readMedia(wg *sync.WaitGroup) {
	var rt remoteTrack
	select {
	case rt = <-rl.tracks:
	case <-rl.stop:
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		ssrc := uint32(rt.t.SSRC())
		for {
			pkts, _, err := rt.r.ReadRTCP()
			if err != nil {
				return
			}
			rl.l.lastRecv.Store(int64(mixer.Monotonic()))
			for _, p := range pkts {
				if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == ssrc {
					rl.rtcp.sr.Add(1)
				}
			}
		}
	}()
	t, l := rt.t, rl.l
	buf := make([]byte, maxDatagram)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !l.closing.Load() {
				l.s.log.Debug("webrtc media reader stopped", "conference", l.room.name, "participant", l.id, "err", err)
			}
			return
		}
		now := mixer.Monotonic()
		// pion authenticated it (SRTP): whatever the mixer refuses is
		// counted there under its reason.
		_ = l.p.WriteRTPAt(now, buf[:n])
		l.lastRecv.Store(int64(now))
	}
}

// readRTCP reads the browser's RTCP through pion's interceptors (which
// need it read) and keeps what its report blocks say about the bridge's
// stream: loss, jitter and, from LSR and DLSR, the round trip.
func (rl *rtcLeg) readRTCP() {
	for {
		pkts, _, err := rl.sender.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		rl.l.lastRecv.Store(int64(mixer.Monotonic()))
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.SenderReport: // counted by the other reader
				rl.noteReports(now, p.Reports)
			case *rtcp.ReceiverReport:
				rl.rtcp.rr.Add(1)
				rl.noteReports(now, p.Reports)
			}
		}
	}
}

func (rl *rtcLeg) noteReports(now time.Time, blocks []rtcp.ReceptionReport) {
	for _, b := range blocks {
		if b.SSRC != rl.ssrc {
			continue
		}
		r := &rl.remote
		r.mu.Lock()
		r.reports++
		r.lost = float64(b.FractionLost) / 256
		r.total = int32(b.TotalLost<<8) >> 8 // 24-bit signed
		r.jitter = time.Duration(b.Jitter) * time.Second / time.Duration(rl.l.p.Config().Out.ClockRate)
		if b.LastSenderReport != 0 {
			// RFC 3550 §6.4.1: A - LSR - DLSR, in 1/65536 s. pion's sender
			// reports carry the wall clock's NTP time.
			a := rtcpsession.NTPShort(rtcpsession.NTPTime(now))
			// On a LAN the three round to a few units either way.
			if d := int32(a - b.LastSenderReport - b.Delay); d > -rttSlack {
				r.rtt, r.hasRTT = time.Duration(int64(max(d, 0))*int64(time.Second)>>16), true
			}
		}
		r.mu.Unlock()
	}
}

// rttSlack is how far below zero a round trip from LSR and DLSR may come
// out (1/65536 s units: 1 ms) and still read as 0 rather than as a
// report that does not belong to our sender reports.
const rttSlack = 66

// watch removes the leg when pion reports the browser gone.
func (rl *rtcLeg) watch() {
	select {
	case reason := <-rl.gone:
		rl.l.s.removeLeg(rl.l, reason)
	case <-rl.stop:
	}
}

// stateChanged is pion's callback (its own goroutine): it records the
// state and signals the watcher, never blocking.
func (rl *rtcLeg) stateChanged(st webrtc.PeerConnectionState) {
	rl.state.Store(int32(st))
	l := rl.l
	switch st {
	case webrtc.PeerConnectionStateConnected:
		if rl.connected.CompareAndSwap(false, true) {
			l.s.log.Info("webrtc leg connected", "conference", l.room.name, "participant", l.id)
			l.lastRecv.Store(int64(mixer.Monotonic()))
		}
	case webrtc.PeerConnectionStateDisconnected:
		l.s.log.Debug("webrtc leg disconnected", "conference", l.room.name, "participant", l.id)
	case webrtc.PeerConnectionStateFailed:
		rl.signalGone("webrtc failed")
	case webrtc.PeerConnectionStateClosed:
		rl.signalGone("webrtc closed")
	}
}

func (rl *rtcLeg) signalGone(reason string) {
	select {
	case rl.gone <- reason:
	default:
	}
}

// close ends the PeerConnection (DTLS close_notify to the browser) and
// waits for pion's goroutines; the bridge's own readers then return.
func (rl *rtcLeg) close() {
	rl.once.Do(func() {
		close(rl.stop)
		rl.connected.Store(false)
		if err := rl.pc.GracefulClose(); err != nil {
			rl.l.s.log.Debug("webrtc close", "conference", rl.l.room.name, "participant", rl.l.id, "err", err)
		}
	})
}

// WriteRTP is the leg's mixer.Sink, called by the tick goroutine: the
// mix goes to pion's track, which rewrites SSRC and payload type for its
// binding and protects it (SRTP). Nothing is sent before DTLS is up
// (counted as unsent). The mixer's RTCP is off on WebRTC legs, so no RTCP
// should come this way; if any did, pion's own RTCP stands instead.
func (rl *rtcLeg) WriteRTP(pkt []byte) error {
	if rtcpsession.IsRTCP(pkt) {
		return nil
	}
	if !rl.connected.Load() || rl.track == nil {
		rl.l.cnt.unsent.Add(1)
		return nil
	}
	if err := rl.pkt.Unmarshal(pkt); err != nil {
		return err
	}
	if err := rl.track.WriteRTP(&rl.pkt); err != nil {
		return err
	}
	rl.l.out.packets.Add(1)
	rl.l.out.bytes.Add(uint64(len(pkt)))
	return nil
}

// stateName is the connection state for the API.
func (rl *rtcLeg) stateName() string {
	return webrtc.PeerConnectionState(rl.state.Load()).String()
}

// remoteAddr is the browser's address on the selected ICE pair, if any.
func (rl *rtcLeg) remoteAddr() string {
	if rl.sender == nil {
		return ""
	}
	pair, err := rl.sender.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Remote == nil {
		return ""
	}
	return net.JoinHostPort(pair.Remote.Address, strconv.Itoa(int(pair.Remote.Port)))
}

// pionLogs sends pion's logs to the bridge's logger: its warnings and
// errors as warnings, the rest at debug, with the pion scope as a key.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (p pionLogger) logf(level slog.Level, format string, args ...any) {
	ctx := context.Background()
	if p.log.Enabled(ctx, level) {
		p.log.Log(ctx, level, fmt.Sprintf(format, args...))
	}
}

func (p pionLogger) Trace(msg string)                  { p.logf(slog.LevelDebug-4, "%s", msg) }
func (p pionLogger) Tracef(format string, args ...any) { p.logf(slog.LevelDebug-4, format, args...) }
func (p pionLogger) Debug(msg string)                  { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLogger) Debugf(format string, args ...any) { p.logf(slog.LevelDebug, format, args...) }
func (p pionLogger) Info(msg string)                   { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLogger) Infof(format string, args ...any)  { p.logf(slog.LevelDebug, format, args...) }
func (p pionLogger) Warn(msg string)                   { p.logf(slog.LevelWarn, "%s", msg) }
func (p pionLogger) Warnf(format string, args ...any)  { p.logf(slog.LevelWarn, format, args...) }
func (p pionLogger) Error(msg string)                  { p.logf(slog.LevelWarn, "%s", msg) }
func (p pionLogger) Errorf(format string, args ...any) { p.logf(slog.LevelWarn, format, args...) }

// joinWebRTC joins a browser: it checks the offer, takes the
// participant's places (no file descriptors: the WebRTC socket is
// shared), and has pion answer. Like join, it returns the leg not yet
// started.
func (s *Server) joinWebRTC(r *room, jp joinParams, body []byte) (*leg, []byte, error) {
	if s.rtc == nil {
		return nil, nil, fmt.Errorf("%w: a WebRTC offer (DTLS-SRTP), and WebRTC is off on this bridge", errNotAcceptable)
	}
	o, err := parseRTCOffer(body, s.supported)
	if err != nil {
		return nil, nil, err
	}
	if len(jp.id) > 64 {
		return nil, nil, fmt.Errorf("participant id longer than 64 characters")
	}
	if jp.id != "" && r.leg(jp.id) != nil {
		// Before pion does any work; the mixer's Join checks again.
		return nil, nil, fmt.Errorf("%w: %q", errDuplicateID, jp.id)
	}
	id, err := s.reserve(jp.id, 0)
	if err != nil {
		return nil, nil, err
	}
	jp.id = id
	if err := r.reserve(); err != nil {
		s.release(0)
		return nil, nil, err
	}
	l, answer, err := s.joinRTCReserved(r, jp, o, body)
	if err != nil {
		r.release()
		s.release(0)
		return nil, nil, err
	}
	return l, answer, nil
}

// joinRTCReserved is joinWebRTC once the participant's places are taken.
func (s *Server) joinRTCReserved(r *room, jp joinParams, o *rtcOffer, body []byte) (*leg, []byte, error) {
	l := &leg{s: s, room: r, id: jp.id, rtcpIn: &rtcpIn{},
		offer: &offer{format: o.format, payloadType: o.format.PayloadType, direction: "sendrecv"}}
	l.lastRecv.Store(int64(mixer.Monotonic()))
	rl, ra, answer, err := s.rtc.newRTCLeg(l, o, body)
	if err != nil {
		return nil, nil, err
	}
	l.rtc = rl
	pc := mixer.ParticipantConfig{
		ID: jp.id,
		In: o.format, InPayloadType: mixer.PT(ra.payloadType),
		Out: o.format, OutPayloadType: mixer.PT(ra.payloadType),
		InAudioLevelID: ra.levelID, OutAudioLevelID: ra.levelID,
		Encoder: encoderFor(o.format),
		Sink:    rl,
		// From the mixer's side: it sends when the browser hears, and
		// mixes what the browser sends unless the API made it a listener.
		Direction: mixer.DirectionOf(o.browserHears, o.browserSends && !jp.listenOnly),
		// pion does DTLS-SRTP and RTCP on this leg.
		RTCP: mixer.RTCPConfig{Off: true},
	}
	p, err := r.conf.Join(pc)
	if err != nil {
		rl.close()
		switch {
		case errors.Is(err, mixer.ErrDuplicateID):
			return nil, nil, fmt.Errorf("%w: %q", errDuplicateID, jp.id)
		case errors.Is(err, mixer.ErrConfig):
			return nil, nil, fmt.Errorf("%w: %v", errNotAcceptable, err)
		}
		return nil, nil, err
	}
	l.p = p
	if !r.add(l) {
		p.Leave()
		rl.close()
		return nil, nil, fmt.Errorf("%w: %q", errNoRoom, r.name)
	}
	s.log.Info("leg opened", "conference", r.name, "participant", jp.id, "transport", "webrtc",
		"codec", o.format.SDPName(), "pt", ra.payloadType, "audio_level_id", ra.levelID,
		"browser_sends", o.browserSends, "browser_hears", o.browserHears, "listen_only", jp.listenOnly)
	return l, answer, nil
}

// fillRTCP puts what pion's RTCP told into the participant's JSON, where
// the mixer's RTCP (off on this leg) would have: the browser's packets by
// type, and what its last report block said about the bridge's stream.
func (rl *rtcLeg) fillRTCP(j *participantJSON) {
	sr, rr := rl.rtcp.sr.Load(), rl.rtcp.rr.Load()
	j.RTCP.Received, j.RTCP.SR, j.RTCP.RR = sr+rr, sr, rr
	r := &rl.remote
	r.mu.Lock()
	defer r.mu.Unlock()
	j.RTCP.Reports, j.RTCP.FractionLost, j.RTCP.CumulativeLost = r.reports, r.lost, r.total
	j.RTCP.JitterMillis = float64(r.jitter.Microseconds()) / 1000
	if r.hasRTT {
		j.RTCP.RTTMillis = float64(r.rtt.Microseconds()) / 1000
	}
}

package bridge

import (
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
)

// rtcClient is a WebRTC participant driven from Go with pion: what a
// browser does (an offer with one sendrecv Opus transceiver, RFC 6464
// levels, ICE, DTLS-SRTP, RTCP reports), without a browser's start-up
// time, so that tests can run many. Its socket is its own, on 127.0.0.1,
// behind a cuttableConn: cut makes the client vanish from the network
// without a word, as a browser whose machine goes to sleep does.
type rtcClient struct {
	t        *testing.T
	pc       *webrtc.PeerConnection
	conn     *cuttableConn
	mux      ice.UDPMux
	track    *webrtc.TrackLocalStaticRTP
	location string // the participant's URL, from the 201's Location
	levelID  uint8  // the audio level extension ID the client negotiated

	connected    chan struct{}
	closedByPeer chan struct{} // the connection closed before close was called

	mu       sync.Mutex
	heard    []int16 // decoded audio received, 48 kHz mono
	received atomic.Int64

	stopSend chan struct{}
	sendDone chan struct{}
	closed   atomic.Bool
}

// rtcClientOpts change what the client offers.
type rtcClientOpts struct {
	listenOnly bool // listen_only=1 on the join
}

// cuttableConn is a UDP socket that can be cut: afterwards it sends
// nothing and drops what it receives, as if the peer had left the network.
// It implements only net.PacketConn (not the AddrPort methods), so that
// pion's ICE mux goes through ReadFrom and WriteTo.
type cuttableConn struct {
	c   *net.UDPConn
	cut atomic.Bool
}

func (c *cuttableConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.c.ReadFrom(b)
		if err != nil || !c.cut.Load() {
			return n, a, err
		}
	}
}

func (c *cuttableConn) WriteTo(b []byte, a net.Addr) (int, error) {
	if c.cut.Load() {
		return len(b), nil
	}
	return c.c.WriteTo(b, a)
}

func (c *cuttableConn) Close() error                       { return c.c.Close() }
func (c *cuttableConn) LocalAddr() net.Addr                { return c.c.LocalAddr() }
func (c *cuttableConn) SetDeadline(t time.Time) error      { return c.c.SetDeadline(t) }
func (c *cuttableConn) SetReadDeadline(t time.Time) error  { return c.c.SetReadDeadline(t) }
func (c *cuttableConn) SetWriteDeadline(t time.Time) error { return c.c.SetWriteDeadline(t) }

var opusCapability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	SDPFmtpLine: "minptime=10;useinbandfec=1"}

// newRTCClient makes a client and its offer; join posts it.
func newRTCClient(t *testing.T) (*rtcClient, string) {
	t.Helper()
	m := &webrtc.MediaEngine{}
	require.NoError(t, m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability, PayloadType: 111}, webrtc.RTPCodecTypeAudio))
	require.NoError(t, m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio))
	ir := &interceptor.Registry{}
	require.NoError(t, webrtc.ConfigureRTCPReports(ir))
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	conn := &cuttableConn{c: uc}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled // the client's closing mux complains of its closed socket
	se := webrtc.SettingEngine{LoggerFactory: lf}
	mux := webrtc.NewICEUDPMux(lf.NewLogger("mux"), conn)
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Consent checks every 100 ms (browsers send one every few seconds):
	// the tests run the bridge with ICE timeouts of a fraction of a
	// second, and a client that sends no media (or is stuck in a DTLS
	// handshake on a loaded machine) must not look gone to it.
	se.SetICETimeouts(5*time.Second, 25*time.Second, 100*time.Millisecond)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	require.NoError(t, err)
	c := &rtcClient{t: t, pc: pc, conn: conn, mux: mux, connected: make(chan struct{}), closedByPeer: make(chan struct{})}
	t.Cleanup(c.close)
	c.track, err = webrtc.NewTrackLocalStaticRTP(opusCapability, "audio", "client")
	require.NoError(t, err)
	tr, err := pc.AddTransceiverFromTrack(c.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	require.NoError(t, err)
	go func() { // RTCP for the interceptors
		for {
			if _, _, err := tr.Sender().ReadRTCP(); err != nil {
				return
			}
		}
	}()
	var once, closeOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(c.connected) })
		case webrtc.PeerConnectionStateClosed:
			if !c.closed.Load() {
				closeOnce.Do(func() { close(c.closedByPeer) })
			}
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		go func() { // the bridge's sender reports, for the client's receiver reports' LSR
			for {
				if _, _, err := r.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		c.record(tr)
	})
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	gathered := webrtc.GatheringCompletePromise(pc)
	require.NoError(t, pc.SetLocalDescription(offer))
	<-gathered
	for _, h := range tr.Sender().GetParameters().HeaderExtensions {
		if h.URI == sdp.AudioLevelURI {
			c.levelID = uint8(h.ID)
		}
	}
	return c, pc.LocalDescription().SDP
}

// rtcConnectWait bounds a client's wait for ICE and DTLS. Twenty
// handshakes at once under the race detector on a shared 2-core machine
// have taken over 10 s.
const rtcConnectWait = 30 * time.Second

// joinRTC joins a pion client to room as id and waits until it is
// connected.
func joinRTC(t *testing.T, s *Server, room, id string, o rtcClientOpts) *rtcClient {
	t.Helper()
	c, offer := newRTCClient(t)
	path := "/rooms/" + room + "/participants?id=" + id
	if o.listenOnly {
		path += "&listen_only=1"
	}
	code, body, h := call(t, s, "POST", path, "application/sdp", []byte(offer))
	require.Equal(t, http.StatusCreated, code, string(body))
	require.Equal(t, "application/sdp", h.Get("Content-Type"))
	c.location = h.Get("Location")
	require.Equal(t, "/rooms/"+room+"/participants/"+id, c.location)
	require.NoError(t, c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}))
	select {
	case <-c.connected:
	case <-time.After(rtcConnectWait):
		t.Fatalf("%s: not connected within %v (state %v)", id, rtcConnectWait, c.pc.ConnectionState())
	}
	return c
}

// record decodes what the bridge sends the client.
func (c *rtcClient) record(tr *webrtc.TrackRemote) {
	dec, err := codec.NewDecoder("opus/48000/2", codec.Config{SampleRate: 48000, Channels: 1})
	if err != nil {
		c.t.Errorf("opus decoder: %v", err)
		return
	}
	var pkt rtp.Packet
	buf := make([]byte, 1500)
	pcm := make([]int16, 0, 5760)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		c.received.Add(1)
		pcm, err = dec.Decode(pcm[:0], pkt.Payload)
		if err != nil {
			continue
		}
		c.mu.Lock()
		c.heard = append(c.heard, pcm...)
		c.mu.Unlock()
	}
}

// send sends a tone (Opus, 20 ms packets with an RFC 6464 level, as a
// browser does) until stop or close. level is the -dBov the packets say.
func (c *rtcClient) send(freq float64, amplitude float64) {
	c.stopSend, c.sendDone = make(chan struct{}), make(chan struct{})
	enc, err := codec.NewEncoder("opus/48000/2", codec.Config{SampleRate: 48000, Channels: 1, Bitrate: 32000})
	require.NoError(c.t, err)
	level := uint8(min(127, math.Round(-20*math.Log10(amplitude/math.Sqrt2))))
	if amplitude == 0 {
		level = 127
	}
	go func() {
		defer close(c.sendDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pcm := make([]int16, 960)
		var payload []byte
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 1, Timestamp: 960, SSRC: 1}}
		var phase float64
		for {
			select {
			case <-c.stopSend:
				return
			case <-tick.C:
			}
			for i := range pcm {
				pcm[i] = int16(amplitude * 32767 * math.Sin(phase))
				phase += 2 * math.Pi * freq / 48000
			}
			payload, err = enc.Encode(payload[:0], pcm)
			if err != nil {
				c.t.Errorf("opus encode: %v", err)
				return
			}
			pkt.Payload = payload
			pkt.Extensions = pkt.Extensions[:0]
			if c.levelID != 0 {
				_ = pkt.SetExtension(c.levelID, []byte{0x80 | level})
			}
			if err := c.track.WriteRTP(&pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
				return
			}
			pkt.SequenceNumber++
			pkt.Timestamp += 960
		}
	}()
}

func (c *rtcClient) stop() {
	if c.stopSend != nil {
		select {
		case <-c.stopSend:
		default:
			close(c.stopSend)
		}
		<-c.sendDone
	}
}

// heardFrom returns a copy of the audio received after the first skip
// samples.
func (c *rtcClient) heardFrom(skip int) []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if skip >= len(c.heard) {
		return nil
	}
	return append([]int16(nil), c.heard[skip:]...)
}

func (c *rtcClient) heardLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.heard)
}

// close ends the client: it stops sending and closes its PeerConnection
// (DTLS close_notify) and socket, waiting for pion's goroutines.
func (c *rtcClient) close() {
	if c.closed.Swap(true) {
		return
	}
	c.stop()
	_ = c.pc.GracefulClose()
	_ = c.mux.Close() // and its socket
}

// leave is what the page's Leave button does: DELETE, then close. The
// bridge closes its side on DELETE: the client's connection must close
// (DTLS close_notify from the bridge) before the client closes its own.
func (c *rtcClient) leave(t *testing.T, s *Server) {
	t.Helper()
	code, body, _ := call(t, s, "DELETE", c.location, "", nil)
	require.Equal(t, http.StatusNoContent, code, string(body))
	select {
	case <-c.closedByPeer:
	case <-time.After(5 * time.Second):
		// close_notify is one datagram, which a loaded machine can drop
		// (a full socket buffer): then the bridge's side is closed if
		// nothing more comes from it.
		n := c.received.Load()
		time.Sleep(500 * time.Millisecond)
		if m := c.received.Load(); m != n {
			t.Errorf("%s: the bridge still sends after DELETE (%d packets in 0.5 s; state %v)", c.location, m-n, c.pc.ConnectionState())
		} else {
			t.Logf("%s: no close_notify seen within 5 s of DELETE; the bridge sends nothing", c.location)
		}
	}
	c.close()
}

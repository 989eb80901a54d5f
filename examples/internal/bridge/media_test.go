package bridge

import (
	"bufio"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/internal/mediatest"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// pcmuPeer is a plain-RTP PCMU participant driven by the test.
type pcmuPeer struct {
	id     string
	conn   *net.UDPConn // receives the bridge's RTP (and sends ours)
	rtcpC  *net.UDPConn // receives the bridge's RTCP
	bridge *net.UDPAddr // the bridge's RTP port for this peer
	rtcpTo *net.UDPAddr
	seq    uint16
	ts     uint32
}

// joinPCMU joins a PCMU peer whose RTCP port is given with a=rtcp.
func joinPCMU(t *testing.T, s *Server, room, id string, extra ...string) *pcmuPeer {
	t.Helper()
	p := &pcmuPeer{id: id, conn: mediatest.ListenUDP(t), rtcpC: mediatest.ListenUDP(t)}
	lines := append([]string{"a=rtcp:" + itoa(portOf(p.rtcpC))}, extra...)
	code, body, _ := call(t, s, "POST", "/rooms/"+room+"/participants?id="+id, "application/sdp",
		offerSDP(portOf(p.conn), "RTP/AVP", "0", lines...))
	require.Equal(t, http.StatusCreated, code, string(body))
	var port, rtcpPort int
	for _, l := range strings.Split(string(body), "\r\n") {
		if strings.HasPrefix(l, "m=audio ") {
			port = atoi(strings.Fields(l)[1])
		}
		if strings.HasPrefix(l, "a=rtcp:") {
			rtcpPort = atoi(strings.TrimPrefix(l, "a=rtcp:"))
		}
	}
	require.NotZero(t, port)
	require.Equal(t, port+1, rtcpPort)
	p.bridge = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	p.rtcpTo = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: rtcpPort}
	return p
}

// send sends n packets of a tone at freq Hz, 20 ms apart.
func (p *pcmuPeer) send(t *testing.T, n int, freq float64) {
	t.Helper()
	pcm := make([]int16, 160)
	var payload []byte
	for range n {
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*freq*float64(int(p.ts)+j)/8000))
		}
		payload = g711.EncodeUlaw(payload[:0], pcm)
		pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: 0x1234}, Payload: payload}).Marshal()
		require.NoError(t, err)
		_, err = p.conn.WriteToUDP(pkt, p.bridge)
		require.NoError(t, err)
		p.seq++
		p.ts += 160
		time.Sleep(20 * time.Millisecond)
	}
}

// report sends an RTCP receiver report from p's RTCP socket, as a listener
// does to show it is there: it proves p's address, after which the bridge
// sends p media.
func (p *pcmuPeer) report(t *testing.T) {
	t.Helper()
	rr, err := (&rtcp.ReceiverReport{SSRC: 0x4321}).Marshal()
	require.NoError(t, err)
	_, err = p.rtcpC.WriteToUDP(rr, p.rtcpTo)
	require.NoError(t, err)
}

func (p *pcmuPeer) stats(t *testing.T, s *Server) participantJSON {
	var j participantJSON
	getJSON(t, s, "/rooms/r/participants/"+p.id, &j)
	return j
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// TestMediaAndRTCP: alice's tone reaches bob (and not alice), both get
// RTCP sender reports about their streams, and alice's sender report is
// counted.
func TestMediaAndRTCP(t *testing.T) {
	s := testServer(t, Config{RTCPInterval: 200 * time.Millisecond})
	mkRoom(t, s, "r")
	alice := joinPCMU(t, s, "r", "alice")
	bob := joinPCMU(t, s, "r", "bob")
	bob.report(t) // bob only listens: his report proves his address
	eventually(t, 2*time.Second, func() bool { return bob.stats(t, s).Sending }, "bob's report did not prove his address")

	got := make(chan int, 1)
	go func() { // count bob's packets that carry alice (CSRC)
		buf := make([]byte, 1500)
		n := 0
		_ = bob.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			k, err := bob.conn.Read(buf)
			if err != nil {
				got <- n
				return
			}
			var h rtp.Header
			if _, err := h.Unmarshal(buf[:k]); err == nil && len(h.CSRC) > 0 {
				n++
				if n == 20 {
					got <- n
					return
				}
			}
		}
	}()
	alice.send(t, 50, 440)
	assert.Equal(t, 20, <-got, "bob hears alice")

	sr, err := (&rtcp.SenderReport{SSRC: 0x1234, NTPTime: rtcpsession.NTPTime(time.Now()), PacketCount: 50}).Marshal()
	require.NoError(t, err)
	_, err = alice.rtcpC.WriteToUDP(sr, alice.rtcpTo)
	require.NoError(t, err)
	eventually(t, 2*time.Second, func() bool { return alice.stats(t, s).RTCP.SR == 1 }, "alice's SR not counted")

	// The bridge reports to alice about her stream and its own.
	_ = alice.rtcpC.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 1500)
	n, err := alice.rtcpC.Read(buf)
	require.NoError(t, err)
	pkts, err := rtcp.Unmarshal(buf[:n])
	require.NoError(t, err)
	rep, ok := pkts[0].(*rtcp.SenderReport)
	require.True(t, ok, "first packet is a sender report: %T", pkts[0])
	require.Len(t, rep.Reports, 1)
	assert.Equal(t, uint32(0x1234), rep.Reports[0].SSRC)
	assert.NotZero(t, rep.PacketCount)
	st := alice.stats(t, s)
	assert.Positive(t, st.RTCP.Sent)
	assert.Equal(t, "127.0.0.1:"+itoa(portOf(alice.conn)), st.Latched)
}

// TestGarbageAndForeign: datagrams that are not RTP are dropped and counted;
// once alice's address has latched, valid RTP from elsewhere is dropped
// and counted too and does not reach the mix.
func TestGarbageAndForeign(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	alice := joinPCMU(t, s, "r", "alice")
	attacker := mediatest.ListenUDP(t)
	for _, g := range [][]byte{{}, {1, 2, 3}, []byte("GET / HTTP/1.1\r\n\r\n"), make([]byte, 1400)} {
		_, err := attacker.WriteToUDP(g, alice.bridge)
		require.NoError(t, err)
	}
	eventually(t, 2*time.Second, func() bool { return alice.stats(t, s).Garbage == 4 }, "garbage not counted")

	alice.send(t, 5, 440) // latches
	eventually(t, 2*time.Second, func() bool { return alice.stats(t, s).Latched != "" }, "alice did not latch")
	before := alice.stats(t, s)
	pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 99}, Payload: make([]byte, 160)}).Marshal()
	for i := range 500 {
		_, err := attacker.WriteToUDP(pkt, alice.bridge)
		require.NoError(t, err)
		if i%20 == 19 { // paced so that the kernel's socket buffer does not drop them first
			time.Sleep(2 * time.Millisecond)
		}
	}
	eventually(t, 3*time.Second, func() bool { return alice.stats(t, s).Foreign == 500 }, "flood not counted: %+v", alice.stats(t, s))
	after := alice.stats(t, s)
	assert.Equal(t, before.PacketsIn+before.JitterRejected, after.PacketsIn+after.JitterRejected, "no flood packet reached the mixer")
	assert.Equal(t, "127.0.0.1:"+itoa(portOf(alice.conn)), after.Latched)
}

// TestIdleAndBye: a participant that stops sending is removed after the
// idle timeout; one that sends an RTCP BYE leaves at once. Both show up as
// left events on the room's event stream.
func TestIdleAndBye(t *testing.T) {
	s := testServer(t, Config{Idle: 400 * time.Millisecond})
	mkRoom(t, s, "r")

	resp := openStream(t, s, "/rooms/r/events")
	defer resp.Body.Close()
	events := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				events <- ev + " " + v
			}
		}
	}()

	idle := joinPCMU(t, s, "r", "idle")
	quitter := joinPCMU(t, s, "r", "quitter")
	idle.send(t, 5, 440)
	quitter.send(t, 5, 1000)
	bye, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 0x1234},
		&rtcp.Goodbye{Sources: []uint32{0x1234}},
	})
	require.NoError(t, err)
	_, err = quitter.rtcpC.WriteToUDP(bye, quitter.rtcpTo)
	require.NoError(t, err)

	left := map[string]time.Time{}
	start := time.Now()
	deadline := time.After(5 * time.Second)
	for len(left) < 2 {
		select {
		case e := <-events:
			if strings.HasPrefix(e, "left ") {
				for _, id := range []string{"idle", "quitter"} {
					if strings.Contains(e, `"participant":"`+id+`"`) {
						left[id] = time.Now()
					}
				}
			}
		case <-deadline:
			t.Fatalf("left events: %v", left)
		}
	}
	assert.Less(t, left["quitter"].Sub(start), left["idle"].Sub(start), "BYE acts before the idle timeout")
	var st roomStatsJSON
	getJSON(t, s, "/rooms/r", &st)
	assert.Empty(t, st.IDs)
}

// TestSlowEventClient: a subscriber that never reads loses events, counted,
// and the room's event pump does not wait for it.
func TestSlowEventClient(t *testing.T) {
	s := testServer(t, Config{SSEBuffer: 4})
	mkRoom(t, s, "r")
	r, err := s.room("r")
	require.NoError(t, err)
	sub := r.subscribe() // never read
	defer r.unsubscribe(sub)
	start := time.Now()
	for i := range 1000 {
		r.publish(mixer.Event{Type: mixer.TalkingStarted, Conference: "r", Participant: "p" + itoa(i)})
	}
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, uint64(996), sub.dropped.Load())
	assert.Len(t, sub.ch, 4, "memory bounded by the buffer")

	// Over HTTP: a client that connects and never reads does not stop the
	// bridge from serving, joining, leaving, or closing.
	c, err := net.Dial("tcp", s.HTTPAddr())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("GET /rooms/r/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken + "\r\n\r\n"))
	require.NoError(t, err)
	for i := range 30 {
		p := joinPCMU(t, s, "r", "p"+itoa(i))
		code, _, _ := call(t, s, "DELETE", "/rooms/r/participants/"+p.id, "", nil)
		require.Equal(t, http.StatusNoContent, code)
	}
	var st roomStatsJSON
	getJSON(t, s, "/rooms/r", &st)
	assert.GreaterOrEqual(t, st.SSEDropped, uint64(996))
}

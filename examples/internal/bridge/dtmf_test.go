package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/dtmf"
	"github.com/rtpmix/rtpmix/internal/mediatest"
)

// teLines are the SDP lines of a peer that sends and takes RFC 4733.
var teLines = []string{"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"}

// sseEvents reads a room's event stream into a channel of (name, data).
type sseEvent struct {
	name string
	data eventJSON
}

func sseEvents(t *testing.T, s *Server, room string) <-chan sseEvent {
	t.Helper()
	resp := openStream(t, s, "/rooms/"+room+"/events")
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan sseEvent, 256)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "event: "):
				name = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: "):
				var e eventJSON
				if json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &e) == nil {
					ch <- sseEvent{name, e}
				}
			}
		}
	}()
	return ch
}

// waitDigits collects the digits of dtmf_began events of participant id
// until want has arrived or d passed; it checks that each began digit
// ends, and returns the ended events.
func waitDigits(t *testing.T, ch <-chan sseEvent, id, want string, d time.Duration) (string, []dtmfEventJSON) {
	t.Helper()
	got, open := "", false
	var ended []dtmfEventJSON
	deadline := time.After(d)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return got, ended
			}
			if e.data.Participant != id || e.data.DTMF == nil {
				continue
			}
			switch e.name {
			case "dtmf_began":
				assert.False(t, open, "began before the last ended")
				open = true
				got += e.data.DTMF.Digit
			case "dtmf_ended":
				assert.True(t, open)
				open = false
				ended = append(ended, *e.data.DTMF)
				if got == want {
					return got, ended
				}
			}
		case <-deadline:
			return got, ended
		}
	}
}

// rxEvents reads what conn receives for d and returns the telephone-event
// packets (payload type pt), each parsed by hand from its bytes: the
// independent check of what the mixer's dtmf.Sender made, and every
// other packet's payload size.
type teReport struct {
	hdr      rtp.Header
	event    uint8
	end      bool
	duration uint16
}

func rxEvents(t *testing.T, conn *net.UDPConn, pt uint8, d time.Duration) (evs []teReport, audio []int) {
	buf := make([]byte, 1500)
	_ = conn.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		var h rtp.Header
		hl, err := h.Unmarshal(buf[:n])
		if err != nil || h.PayloadType >= 72 && h.PayloadType <= 79 {
			continue // RTCP on the RTP port is not expected; skip anything odd
		}
		p := buf[hl:n]
		if h.PayloadType != pt {
			audio = append(audio, len(p))
			continue
		}
		require.Len(t, p, 4, "one report per packet")
		evs = append(evs, teReport{hdr: h, event: p[0], end: p[1]&0x80 != 0, duration: binary.BigEndian.Uint16(p[2:])})
	}
}

// handDigits turns reports into digits with durations, checking RFC 4733
// §2.5.1: marker on the first packet of each, one timestamp per digit,
// three end packets.
func handDigits(t *testing.T, evs []teReport) (digits []uint8, durs []uint16) {
	ends := 0
	for i, e := range evs {
		if i == 0 || e.hdr.Timestamp != evs[i-1].hdr.Timestamp {
			if i > 0 {
				assert.Equal(t, 3, ends)
			}
			assert.True(t, e.hdr.Marker)
			digits, durs, ends = append(digits, e.event), append(durs, 0), 0
		}
		if e.end {
			ends++
		}
		durs[len(durs)-1] = e.duration
	}
	if len(evs) > 0 {
		assert.Equal(t, 3, ends)
	}
	return digits, durs
}

// TestBridgeDTMF: the bridge agrees telephone-event and the peers' ptime
// in SDP; a digit a phone sends reaches the event stream (and, in a
// "pass" room, the other phone as events on its own stream); POST
// .../dtmf sends a phone digits, decoded here from the bytes.
func TestBridgeDTMF(t *testing.T) {
	var logs logCapture
	s := testServer(t, Config{Logger: logs.logger()})
	code, body, _ := call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":"r","ptime_ms":30,"dtmf":"pass","sample_rate":8000}`))
	require.Equal(t, http.StatusCreated, code, string(body))
	code, _, _ = call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":"bad","dtmf":"loud"}`))
	assert.Equal(t, http.StatusBadRequest, code)
	events := sseEvents(t, s, "r")

	alice, ans := joinPhone(t, s, "r", "alice")
	assert.Contains(t, ans, "a=ptime:30\r\n", "the room's")
	bob, ans := joinPhone(t, s, "r", "bob", "a=ptime:20")
	assert.Contains(t, ans, "a=ptime:20\r\n", "bob asked for 20 ms in a 30 ms room")
	bob.report(t)
	alice.report(t)

	// Alice presses 1, 5, # as RFC 4733 in the place of her audio.
	tx, err := dtmf.NewSender(dtmf.SenderConfig{ClockRate: 8000})
	require.NoError(t, err)
	var bobGot []teReport
	var bobAudio []int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		bobGot, bobAudio = rxEvents(t, bob.conn, 101, 4*time.Second)
	}()
	alice.send(t, 10, 440)
	for _, r := range "15#" {
		ev, _ := dtmf.ParseDigit(r)
		require.NoError(t, tx.Start(ev, 120*time.Millisecond, alice.ts))
		buf := make([]byte, 0, 4)
		for tx.Active() {
			p, _ := tx.Next(buf[:0])
			pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Marker: p.Marker, SequenceNumber: alice.seq,
				Timestamp: p.Timestamp, SSRC: 0x1234}, Payload: p.Payload}).Marshal()
			require.NoError(t, err)
			_, err = alice.conn.WriteToUDP(pkt, alice.bridge)
			require.NoError(t, err)
			alice.seq++
			alice.ts += 160
			time.Sleep(20 * time.Millisecond)
		}
		alice.send(t, 5, 440)
	}
	got, ended := waitDigits(t, events, "alice", "15#", 3*time.Second)
	assert.Equal(t, "15#", got)
	for _, e := range ended {
		assert.Equal(t, int64(120), e.DurationMillis)
		assert.Equal(t, "end", e.Cause)
	}
	for _, d := range []string{"1", "5", "#"} {
		assert.Len(t, logs.records(t, "DTMF digit ended", map[string]string{"participant": "alice", "digit": d, "cause": "end"}), 1,
			"the digit %s in the bridge's log", d)
	}
	wg.Wait()
	digits, durs := handDigits(t, bobGot)
	assert.Equal(t, []uint8{1, 5, 11}, digits, "passed on to bob")
	for _, d := range durs {
		// A digit passed on starts when its start arrives and learns its
		// length when its end does: on a loaded machine the end can come
		// late, and what was already sent cannot be taken back.
		assert.GreaterOrEqual(t, d, uint16(960))
		assert.Less(t, d, uint16(960+8*200))
	}
	for _, n := range bobAudio[5:] {
		assert.Equal(t, 160, n, "bob is sent the 20 ms he asked for")
	}

	// The API sends alice digits; she is sent 30 ms packets (the room's).
	wg.Add(1)
	var aliceGot []teReport
	var aliceAudio []int
	go func() {
		defer wg.Done()
		aliceGot, aliceAudio = rxEvents(t, alice.conn, 101, 2*time.Second)
	}()
	code, body, _ = call(t, s, "POST", "/rooms/r/participants/alice/dtmf", "application/json", []byte(`{"digits":"42*","duration_ms":90}`))
	require.Equal(t, http.StatusAccepted, code, string(body))
	wg.Wait()
	digits, durs = handDigits(t, aliceGot)
	assert.Equal(t, []uint8{4, 2, 10}, digits)
	assert.Equal(t, []uint16{720, 720, 720}, durs)
	for i, e := range aliceGot[1:] {
		if e.hdr.Timestamp == aliceGot[i].hdr.Timestamp && !e.end {
			assert.Equal(t, aliceGot[i].duration+240, e.duration, "a report every 30 ms")
		}
	}
	for _, n := range aliceAudio[3:] {
		assert.Equal(t, 240, n)
	}

	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"digits":"x"}`, http.StatusBadRequest},
		{`{"digits":""}`, http.StatusBadRequest},
		{`{"digits":"1","duration_ms":10}`, http.StatusBadRequest},
		{`{"digits":"1","bogus":1}`, http.StatusBadRequest},
	} {
		code, body, _ := call(t, s, "POST", "/rooms/r/participants/alice/dtmf", "application/json", []byte(tc.body))
		assert.Equal(t, tc.code, code, "%s: %s", tc.body, body)
	}
	code, _, _ = call(t, s, "POST", "/rooms/r/participants/nobody/dtmf", "application/json", []byte(`{"digits":"1"}`))
	assert.Equal(t, http.StatusNotFound, code)
	// A phone without telephone-event cannot be sent digits as events.
	carol := joinPCMU(t, s, "r", "carol")
	code, body, _ = call(t, s, "POST", "/rooms/r/participants/"+carol.id+"/dtmf", "application/json", []byte(`{"digits":"1"}`))
	assert.Equal(t, http.StatusConflict, code, string(body))
}

// joinPhone joins a PCMU peer that offers telephone-event (and extra).
func joinPhone(t *testing.T, s *Server, room, id string, extra ...string) (*pcmuPeer, string) {
	t.Helper()
	p := &pcmuPeer{id: id, conn: listenUDP(t), rtcpC: listenUDP(t)}
	lines := append(append([]string{"a=rtcp:" + itoa(portOf(p.rtcpC))}, teLines...), extra...)
	code, body, _ := call(t, s, "POST", "/rooms/"+room+"/participants?id="+id, "application/sdp",
		offerSDP(portOf(p.conn), "RTP/AVP", "0 101", lines...))
	require.Equal(t, http.StatusCreated, code, string(body))
	ans := string(body)
	assert.Contains(t, ans, "a=rtpmap:101 telephone-event/8000\r\n")
	assert.Contains(t, ans, "a=fmtp:101 0-16\r\n")
	for _, l := range strings.Split(ans, "\r\n") {
		if strings.HasPrefix(l, "m=audio ") {
			port := atoi(strings.Fields(l)[1])
			p.bridge = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
			p.rtcpTo = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1}
		}
	}
	require.NotNil(t, p.bridge)
	return p, ans
}

func listenUDP(t *testing.T) *net.UDPConn {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// gstDTMFScript sends PCMU audio with RFC 4733 digits on one stream, as a
// GStreamer phone does: rtpdtmfmux merges rtppcmupay's audio and
// rtpdtmfsrc's events (one SSRC and sequence, the audio muted while a
// digit is sent).
const gstDTMFScript = `
import sys, time, gi
gi.require_version('Gst', '1.0')
from gi.repository import Gst
Gst.init(None)
host, port, digits = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p = Gst.parse_launch(
    "audiotestsrc is-live=true wave=sine freq=440 volume=0.1 ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay pt=0 ! rtpdtmfmux name=mux ! udpsink host=%s port=%d sync=false "
    "rtpdtmfsrc name=src clock-rate=8000 pt=101 ! mux." % (host, port))
p.set_state(Gst.State.PLAYING)
time.sleep(0.5)
pad = p.get_by_name("src").get_static_pad("src")
codes = {'*': 10, '#': 11, 'A': 12, 'B': 13, 'C': 14, 'D': 15}
for d in digits:
    n = codes.get(d)
    if n is None:
        n = int(d)
    s = Gst.Structure.new_from_string(f"dtmf-event, type=(int)1, number=(int){n}, volume=(int)10, start=(boolean)true")
    assert pad.send_event(Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, s))
    time.sleep(0.25)
    s = Gst.Structure.new_from_string("dtmf-event, type=(int)1, start=(boolean)false")
    assert pad.send_event(Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, s))
    time.sleep(0.3)
time.sleep(0.5)
p.set_state(Gst.State.NULL)
`

// gstPython returns a Python that drives GStreamer through gi with
// rtpdtmfsrc and rtpdtmfmux, or skips (fails under
// RTPMIX_REQUIRE_INTEROP=1).
func gstPython(t *testing.T) string {
	t.Helper()
	var errs []string
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None); assert Gst.ElementFactory.find('rtpdtmfsrc') and Gst.ElementFactory.find('rtpdtmfmux')").CombinedOutput()
		if err == nil {
			return path
		}
		errs = append(errs, fmt.Sprintf("%s: %v %s", path, err, bytes.TrimSpace(out)))
	}
	msg := "GStreamer rtpdtmfsrc/rtpdtmfmux with Python gi missing: " + strings.Join(errs, "; ")
	if os.Getenv("RTPMIX_REQUIRE_INTEROP") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestInteropGStreamerDTMF: a GStreamer phone (PCMU with rtpdtmfsrc's
// RFC 4733 digits on the same stream) joins through SDP; its digits
// arrive as events with their digits, in order, each ended by its end
// packets.
func TestInteropGStreamerDTMF(t *testing.T) {
	py := gstPython(t)
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	events := sseEvents(t, s, "r")
	gst, _ := joinPhone(t, s, "r", "gst")
	script := filepath.Join(t.TempDir(), "phone.py")
	require.NoError(t, os.WriteFile(script, []byte(gstDTMFScript), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const digits = "3#7*0D"
	cmd := exec.CommandContext(ctx, py, script, "127.0.0.1", itoa(gst.bridge.Port), digits)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	got, ended := waitDigits(t, events, "gst", digits, 20*time.Second)
	require.NoError(t, <-done, "GStreamer: %s", tail(stderr.String(), 2000))
	assert.Equal(t, digits, got)
	for _, e := range ended {
		// Ended by its end packets; under -race on a loaded machine the
		// Python-driven sender can stall past the receiver's 300 ms
		// timeout within a digit, which then ends it there.
		assert.Contains(t, []string{"end", "timeout"}, e.Cause, "%+v", e)
		// Held for 250 ms of wall time (longer on a loaded machine).
		assert.GreaterOrEqual(t, e.DurationMillis, int64(120), "%+v", e)
		assert.Less(t, e.DurationMillis, int64(2000), "%+v", e)
	}
	var st participantJSON
	getJSON(t, s, "/rooms/r/participants/gst", &st)
	assert.NotZero(t, st.PacketsIn)
}

var gstEventRe = regexp.MustCompile(`dtmf-event, number=\(int\)(\d+)`)

// TestInteropGStreamerDecodesBridgeDTMF: the digits the bridge sends a
// participant (POST .../dtmf), relayed as they arrive to GStreamer's
// rtpdtmfdepay, an independent RFC 4733 parser, come out as the same
// digits.
func TestInteropGStreamerDecodesBridgeDTMF(t *testing.T) {
	gst, err := exec.LookPath("gst-launch-1.0")
	if err == nil {
		if out, e := exec.Command("gst-inspect-1.0", "rtpdtmfdepay").CombinedOutput(); e != nil {
			err = fmt.Errorf("%v: %s", e, out)
		}
	}
	if err != nil {
		if os.Getenv("RTPMIX_REQUIRE_INTEROP") == "1" {
			t.Fatalf("GStreamer rtpdtmfdepay missing: %v", err)
		}
		t.Skipf("GStreamer rtpdtmfdepay missing: %v", err)
	}
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	phone, _ := joinPhone(t, s, "r", "phone")
	phone.report(t) // proves its address: the bridge sends to it

	lb := mediatest.NewLoopback(t)
	port := lb.PeerPortPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gst, "-e", "-m", "-v",
		"udpsrc", "address="+lb.Peer.String(), "port="+itoa(port),
		"caps=application/x-rtp,media=audio,clock-rate=8000,encoding-name=TELEPHONE-EVENT,payload=101",
		"!", "rtpdtmfdepay", "!", "fakesink", "silent=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	require.NoError(t, cmd.Start())
	lb.WaitBound(t, port)
	relay := lb.DialUDP(t, port)

	relayed := make(chan int, 1)
	go func() { // the telephone-events the phone receives, on to GStreamer
		n := 0
		buf := make([]byte, 1500)
		_ = phone.conn.SetReadDeadline(time.Now().Add(4 * time.Second))
		for {
			k, err := phone.conn.Read(buf)
			if err != nil {
				relayed <- n
				return
			}
			if k > 12 && buf[1]&0x7f == 101 {
				_, _ = relay.Write(buf[:k])
				n++
			}
		}
	}()
	const digits = "9*4#"
	code, body, _ := call(t, s, "POST", "/rooms/r/participants/phone/dtmf", "application/json", []byte(`{"digits":"`+digits+`","duration_ms":160}`))
	require.Equal(t, http.StatusAccepted, code, string(body))
	assert.NotZero(t, <-relayed)
	time.Sleep(300 * time.Millisecond)
	cancel()
	_ = cmd.Wait()
	var got []rune
	for _, line := range strings.Split(out.String(), "\n") {
		if m := gstEventRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			got = append(got, dtmf.Event(n).Rune())
		}
	}
	assert.Equal(t, digits, string(got), "GStreamer's output:\n%s", tail(out.String(), 3000))
}

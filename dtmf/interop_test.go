package dtmf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/internal/mediatest"
)

var update = flag.Bool("update", false, "rewrite testdata/gstreamer-*.rtp from a live GStreamer run")

// The interop peers: GStreamer's rtpdtmfsrc (driven from Python, which
// is the only way to send it the dtmf-event it acts on) sends RFC 4733,
// and its rtpdtmfdepay decodes what a Sender makes. Debian packages:
// gstreamer1.0-tools gstreamer1.0-plugins-good gir1.2-gstreamer-1.0
// python3-gi (scripts/deps.sh installs them). SIPp's package (sip-tester)
// ships captures of its RFC 2833 digits, which TestSIPpCaptures replays.

// needPeer skips the test when a peer is missing, or fails it under
// RTPMIX_REQUIRE_INTEROP=1 (make test), as mediatest.FFmpeg does.
func needPeer(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("RTPMIX_REQUIRE_INTEROP") == "1" {
		t.Fatalf("%s missing and RTPMIX_REQUIRE_INTEROP=1 (run make deps): %v", what, err)
	}
	t.Skipf("%s missing: %v", what, err)
}

// gstPython returns a Python that can drive GStreamer through gi.
func gstPython(t *testing.T) string {
	t.Helper()
	var errs []string
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None); assert Gst.ElementFactory.find('rtpdtmfsrc')").CombinedOutput()
		if err == nil {
			return path
		}
		errs = append(errs, fmt.Sprintf("%s: %v %s", path, err, bytes.TrimSpace(out)))
	}
	needPeer(t, "GStreamer rtpdtmfsrc with Python gi", fmt.Errorf("%s", strings.Join(errs, "; ")))
	return ""
}

const gstSendScript = `
import sys, time, gi
gi.require_version('Gst', '1.0')
from gi.repository import Gst
Gst.init(None)
host, port, rate, redundancy, digits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
p = Gst.parse_launch(f"rtpdtmfsrc name=src clock-rate={rate} pt=101 packet-redundancy={redundancy} ! udpsink host={host} port={port} sync=true")
p.set_state(Gst.State.PLAYING)
time.sleep(0.3)
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
    time.sleep(0.2)
time.sleep(0.2)
p.set_state(Gst.State.NULL)
`

// captured is one packet as it arrived: milliseconds from the first, and
// the whole RTP packet.
type captured struct {
	ms  int
	pkt []byte
}

// TestInteropGStreamerSends: GStreamer's rtpdtmfsrc sends digits at 8
// and 48 kHz (with one and with three copies of its start and end
// packets); the Receiver reports each once, in order, with a plausible
// duration. With -update the packets are written to testdata as the
// seeds of TestGStreamerCaptures and the fuzz targets.
func TestInteropGStreamerSends(t *testing.T) {
	py := gstPython(t)
	for _, c := range []struct {
		rate, redundancy int
		digits           string
	}{{8000, 3, "1#9*0D"}, {48000, 1, "5A7"}} {
		t.Run(fmt.Sprint(c.rate), func(t *testing.T) {
			lb := mediatest.NewLoopback(t)
			conn := lb.ListenUDP(t)
			port := conn.LocalAddr().(*net.UDPAddr).Port
			script := filepath.Join(t.TempDir(), "send.py")
			require.NoError(t, os.WriteFile(script, []byte(gstSendScript), 0o644))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, script, lb.Local.String(), strconv.Itoa(port),
				strconv.Itoa(c.rate), strconv.Itoa(c.redundancy), c.digits)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()

			var caps []captured
			var first time.Time
			buf := make([]byte, 1500)
			var exited bool
			for {
				conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				n, _, err := conn.ReadFromUDP(buf)
				if err == nil {
					if first.IsZero() {
						first = time.Now()
					}
					caps = append(caps, captured{int(time.Since(first) / time.Millisecond), bytes.Clone(buf[:n])})
					continue
				}
				if exited {
					break
				}
				select {
				case err := <-done:
					require.NoError(t, err, "GStreamer sender: %s", stderr.String())
					exited = true
				default:
				}
			}
			require.NotEmpty(t, caps, "nothing arrived from GStreamer")
			// Played out by media time, as a jitter buffer would: on a
			// loaded machine GStreamer's packets arrive in bursts.
			got := replay(t, c.rate, byMediaTime(t, c.rate, caps))
			assert.Equal(t, c.digits, digits(got))
			for _, g := range got {
				if g.Ended {
					assert.Equal(t, CauseEndPacket, g.Cause, "%v", g)
					// Held for 250 ms of wall time (Python's sleep, longer
					// on a loaded machine); GStreamer rounds to its 40 ms
					// packets.
					assert.GreaterOrEqual(t, g.Duration, 200*time.Millisecond, "%v", g)
					assert.Less(t, g.Duration, 2*time.Second, "%v", g)
				}
			}
			if *update {
				writeCapture(t, fmt.Sprintf("testdata/gstreamer-%d.rtp", c.rate), c.rate, c.redundancy, c.digits, caps)
			}
		})
	}
}

// byMediaTime returns the packets with their times replaced by when a
// jitter buffer would play them out: the end of the span each reports,
// from the first packet's timestamp, never going back.
func byMediaTime(t testing.TB, rate int, caps []captured) []captured {
	t.Helper()
	var h rtp.Header
	var t0 uint32
	var last int
	out := make([]captured, len(caps))
	for i, c := range caps {
		n, err := h.Unmarshal(c.pkt)
		require.NoError(t, err)
		if i == 0 {
			t0 = h.Timestamp
		}
		var r Report
		require.NoError(t, r.Unmarshal(c.pkt[n:]))
		ms := int(int64(h.Timestamp-t0+uint32(r.Duration)) * 1000 / int64(rate))
		last = max(last, ms)
		out[i] = captured{last, c.pkt}
	}
	return out
}

// replay feeds captured packets to a fresh Receiver at their arrival
// times and returns the notices.
func replay(t testing.TB, rate int, caps []captured) []Digit {
	t.Helper()
	r, err := NewReceiver(ReceiverConfig{ClockRate: rate})
	require.NoError(t, err)
	var h rtp.Header
	var out []Digit
	var now time.Duration
	for _, c := range caps {
		n, err := h.Unmarshal(c.pkt)
		require.NoError(t, err)
		now = time.Duration(c.ms) * time.Millisecond
		r.Tick(now)
		require.NoError(t, r.Packet(now, h.Timestamp, h.Marker, c.pkt[n:]))
		for d, ok := r.Next(); ok; d, ok = r.Next() {
			out = append(out, d)
		}
	}
	r.Tick(now + time.Second)
	for d, ok := r.Next(); ok; d, ok = r.Next() {
		out = append(out, d)
	}
	return out
}

func writeCapture(t *testing.T, path string, rate, redundancy int, digits string, caps []captured) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# RFC 4733 packets from GStreamer 1.22 rtpdtmfsrc (clock-rate=%d pt=101 packet-redundancy=%d),\n", rate, redundancy)
	fmt.Fprintf(&b, "# digits %q each held 250 ms; written by go test -run TestInteropGStreamerSends -update.\n", digits)
	fmt.Fprintf(&b, "# rate %d digits %s\n# ms-after-first rtp-packet-hex\n", rate, digits)
	for _, c := range caps {
		fmt.Fprintf(&b, "%d %x\n", c.ms, c.pkt)
	}
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// readCapture reads a testdata/*.rtp file: its rate, digits and packets.
func readCapture(t testing.TB, path string) (rate int, digits string, caps []captured) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# rate "); ok {
			_, err := fmt.Sscanf(rest, "%d digits %s", &rate, &digits)
			require.NoError(t, err, line)
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		ms, hx, ok := strings.Cut(line, " ")
		require.True(t, ok, line)
		var c captured
		c.ms, err = strconv.Atoi(ms)
		require.NoError(t, err)
		c.pkt, err = hex.DecodeString(hx)
		require.NoError(t, err)
		caps = append(caps, c)
	}
	require.NoError(t, sc.Err())
	require.NotZero(t, rate, "%s has no rate line", path)
	return rate, digits, caps
}

// TestGStreamerCaptures replays the recorded GStreamer packets (no peer
// needed), and again with every packet delivered twice, with the first
// three of each digit lost, and with neighbours swapped.
func TestGStreamerCaptures(t *testing.T) {
	files, _ := filepath.Glob("testdata/gstreamer-*.rtp")
	require.NotEmpty(t, files)
	for _, path := range files {
		rate, want, caps := readCapture(t, path)
		assert.Equal(t, want, digits(replay(t, rate, caps)), path)
		var dup, swapped []captured
		for _, c := range caps {
			dup = append(dup, c, c)
		}
		swapped = append(swapped, caps...)
		for i := 1; i+1 < len(swapped); i += 2 {
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
		}
		assert.Equal(t, want, digits(replay(t, rate, dup)), "%s twice", path)
		assert.Equal(t, want, digits(replay(t, rate, swapped)), "%s swapped", path)
		var h rtp.Header
		var lossy []captured
		lost := 0
		for _, c := range caps {
			n, _ := h.Unmarshal(c.pkt)
			_ = n
			if h.Marker {
				lost = 3
			}
			if lost > 0 {
				lost--
				continue
			}
			lossy = append(lossy, c)
		}
		assert.Equal(t, want, digits(replay(t, rate, lossy)), "%s without starts", path)
	}
}

var (
	dtmfEventRe = regexp.MustCompile(`dtmf-event, number=\(int\)(\d+)`)
	offsetEndRe = regexp.MustCompile(`last-message = chain .*offset_end: (\d+),`)
)

// TestInteropGStreamerReceives: a Sender's packets, on an RTP stream the
// test numbers, go to GStreamer's rtpdtmfdepay, an independent parser:
// it must report the same digits, and play each for the duration sent.
func TestInteropGStreamerReceives(t *testing.T) {
	gst, err := exec.LookPath("gst-launch-1.0")
	needPeer(t, "gst-launch-1.0", err)
	if out, err := exec.Command("gst-inspect-1.0", "rtpdtmfdepay").CombinedOutput(); err != nil {
		needPeer(t, "GStreamer rtpdtmfdepay (gstreamer1.0-plugins-good)", fmt.Errorf("%v: %s", err, out))
	}
	for _, rate := range []int{8000, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			const seq = "3#8B1"
			durs := []time.Duration{100, 160, 240, 120, 200}
			lb := mediatest.NewLoopback(t)
			port := lb.PeerPortPair(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, gst, "-e", "-m", "-v",
				"udpsrc", "address="+lb.Peer.String(), "port="+strconv.Itoa(port),
				fmt.Sprintf("caps=application/x-rtp,media=audio,clock-rate=%d,encoding-name=TELEPHONE-EVENT,payload=101", rate),
				"!", "rtpdtmfdepay", "!", "fakesink", "silent=false")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
			cmd.WaitDelay = 5 * time.Second
			require.NoError(t, cmd.Start())
			lb.WaitBound(t, port)
			conn := lb.DialUDP(t, port)

			s, err := NewSender(SenderConfig{ClockRate: rate})
			require.NoError(t, err)
			h := rtp.Header{Version: 2, PayloadType: 101, SSRC: 0x5eed, SequenceNumber: 65530, Timestamp: 0xFFFF0000}
			pkt := make([]byte, 0, 64)
			var pl [ReportSize]byte
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			send := func(p Packet) {
				h.Marker, h.Timestamp = p.Marker, p.Timestamp
				b, err := h.MarshalTo(pkt[:cap(pkt)])
				require.NoError(t, err)
				_, err = conn.Write(append(pkt[:b], p.Payload...))
				require.NoError(t, err)
				h.SequenceNumber++
				<-tick.C
			}
			ts := uint32(0xFFFF0000)
			for i, r := range seq {
				ev, _ := ParseDigit(r)
				require.NoError(t, s.Start(ev, durs[i]*time.Millisecond, ts))
				for p, ok := s.Next(pl[:0]); ok; p, ok = s.Next(pl[:0]) {
					send(p)
				}
				// 200 ms of the stream pass before the next digit (a real
				// stream would send audio then).
				ts += s.Samples() + uint32(rate/5)
				time.Sleep(200 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			cancel()
			_ = cmd.Wait()

			var got []rune
			var lens []int64
			for _, line := range strings.Split(out.String(), "\n") {
				if m := dtmfEventRe.FindStringSubmatch(line); m != nil {
					n, _ := strconv.Atoi(m[1])
					got = append(got, Event(n).Rune())
					lens = append(lens, 0)
				} else if m := offsetEndRe.FindStringSubmatch(line); m != nil && len(lens) > 0 {
					v, _ := strconv.ParseInt(m[1], 10, 64)
					lens[len(lens)-1] = max(lens[len(lens)-1], v)
				}
			}
			require.Equal(t, seq, string(got), "GStreamer's output:\n%s", tail(out.String(), 3000))
			for i, l := range lens {
				// rtpdtmfdepay plays each event for its reported duration,
				// in buffers of the packet interval.
				assert.InDelta(t, float64(durs[i]*time.Millisecond), float64(l), float64(20*time.Millisecond), "digit %c", seq[i])
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestSIPpCaptures replays the RFC 2833 captures SIPp ships
// (dtmf_2833_<digit>.pcap, recorded from a real phone) when sip-tester is
// installed. They are not copied into testdata: they are SIPp's (GPL).
func TestSIPpCaptures(t *testing.T) {
	files, _ := filepath.Glob("/usr/share/sip-tester/dtmf_2833_*.pcap")
	if len(files) == 0 {
		needPeer(t, "SIPp's RFC 2833 captures (package sip-tester)", fmt.Errorf("no /usr/share/sip-tester/dtmf_2833_*.pcap"))
	}
	names := map[string]rune{"pound": '#', "star": '*'}
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "dtmf_2833_"), ".pcap")
		want, ok := names[name]
		if !ok {
			want = rune(name[0])
		}
		caps := readPcapUDP(t, path)
		require.NotEmpty(t, caps, path)
		got := replay(t, 8000, caps)
		assert.Equal(t, string(want), digits(got), path)
		if len(got) == 2 {
			assert.Equal(t, CauseEndPacket, got[1].Cause)
			t.Logf("%s: %v", filepath.Base(path), got[1])
		}
	}
}

// readPcapUDP returns the UDP payloads of a classic little-endian pcap
// file of Ethernet frames carrying IPv4, with their capture times.
func readPcapUDP(t testing.TB, path string) []captured {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(b), 24)
	require.Equal(t, uint32(0xa1b2c3d4), binary.LittleEndian.Uint32(b), "pcap magic")
	require.Equal(t, uint32(1), binary.LittleEndian.Uint32(b[20:]), "link type Ethernet")
	var out []captured
	var t0 int64
	for off := 24; off+16 <= len(b); {
		sec, usec := binary.LittleEndian.Uint32(b[off:]), binary.LittleEndian.Uint32(b[off+4:])
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		frame := b[off+16 : min(len(b), off+16+incl)]
		off += 16 + incl
		if len(frame) < 14+20+8 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 || frame[23] != 17 {
			continue
		}
		ihl := int(frame[14]&0x0f) * 4
		udp := frame[14+ihl:]
		if len(udp) < 8 {
			continue
		}
		us := int64(sec)*1e6 + int64(usec)
		if len(out) == 0 {
			t0 = us
		}
		out = append(out, captured{int((us - t0) / 1000), bytes.Clone(udp[8:])})
	}
	return out
}

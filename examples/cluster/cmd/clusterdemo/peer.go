package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec/g711"
)

// peer is one participant: it sends a tone at its own frequency (PCMU,
// -27 dBFS) and keeps the last second of what it hears, for Goertzel.
// Either the demo's own RTP endpoint, or two ffmpeg processes (a sender,
// and a receiver whose decoded audio comes back through a pipe).
type peer struct {
	id     string
	freq   float64
	ffmpeg bool
	node   string // node ID that holds it

	conn *net.UDPConn // own endpoint; nil for ffmpeg
	dst  *net.UDPAddr
	send bool // talks (all in the demo; the talkers only in the capacity run)

	mu    sync.Mutex
	heard []int16 // ring of the last 8000 samples
	pos   int
	got   int // samples heard

	snd, rcv *proc // ffmpeg's
	stopc    chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

func newRing(p *peer) *peer {
	p.heard = make([]int16, 8000)
	p.stopc = make(chan struct{})
	return p
}

func offerSDP(port int, mux bool) []byte {
	s := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
	if mux {
		s += "a=rtcp-mux\r\n"
	}
	return []byte(s)
}

// answer is what the demo needs of the bridge's SDP answer.
type answer struct {
	rtp      *net.UDPAddr
	rtcpPort int
}

func parseAnswer(sdp []byte) (answer, error) {
	var ip net.IP
	var a answer
	for _, l := range strings.Split(string(sdp), "\r\n") {
		if s, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			ip = net.ParseIP(strings.TrimSpace(s))
		}
		if s, ok := strings.CutPrefix(l, "m=audio "); ok {
			port, _ := strconv.Atoi(strings.Fields(s)[0])
			a.rtp = &net.UDPAddr{Port: port}
		}
		if s, ok := strings.CutPrefix(l, "a=rtcp:"); ok {
			a.rtcpPort, _ = strconv.Atoi(strings.Fields(s)[0])
		}
	}
	if ip == nil || a.rtp == nil || a.rtp.Port == 0 {
		return a, fmt.Errorf("answer without address: %q", sdp)
	}
	a.rtp.IP = ip
	if a.rtcpPort == 0 {
		a.rtcpPort = a.rtp.Port + 1
	}
	return a, nil
}

// errStatus is a join refused with an HTTP status.
type errStatus struct {
	code int
	body string
}

func (e *errStatus) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

// joinAt posts an offer; it returns the answer and the API address of
// the node holding the participant (from Location).
func joinAt(ctx context.Context, c *api, entry, room, id string, offer []byte, listenOnly bool) (answer, string, error) {
	path := "/rooms/" + room + "/participants?id=" + id
	if listenOnly {
		path += "&listen_only=1"
	}
	code, h, body, err := c.do(ctx, http.MethodPost, entry, path, "application/sdp", offer)
	if err != nil {
		return answer{}, "", err
	}
	if code != http.StatusCreated {
		return answer{}, "", &errStatus{code, strings.TrimSpace(string(body))}
	}
	holder := entry
	if loc := h.Get("Location"); strings.HasPrefix(loc, "http://") {
		holder = strings.SplitN(strings.TrimPrefix(loc, "http://"), "/", 2)[0]
	}
	a, err := parseAnswer(body)
	return a, holder, err
}

// notAcceptable is the bridge's answer to an offer whose address it
// refuses: here, a port that happens to be (or neighbour) one of a node's
// own (the nodes and the demo share the ephemeral range). Another socket
// is tried.
const notAcceptable = 488

// joinGo joins the demo's own RTP endpoint.
func joinGo(ctx context.Context, c *api, entry, room, id string, freq float64, talk bool) (*peer, string, error) {
	for try := 0; ; try++ {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, "", err
		}
		p := newRing(&peer{id: id, freq: freq, conn: conn, send: talk})
		a, holder, err := joinAt(ctx, c, entry, room, id, offerSDP(conn.LocalAddr().(*net.UDPAddr).Port, true), !talk)
		if err != nil {
			_ = conn.Close()
			var es *errStatus
			if errors.As(err, &es) && es.code == notAcceptable && try < 5 {
				continue
			}
			return nil, "", err
		}
		p.dst = a.rtp
		p.wg.Add(2)
		go p.sendLoop()
		go p.receiveLoop()
		return p, holder, nil
	}
}

// joinFFmpeg joins a participant made of two ffmpeg processes: the
// receiver binds the offered port (and +1 for RTCP) before the join and
// writes what it decodes to a pipe; the sender sends a tone from a port
// of its own (the bridge latches to it; it sends to the offer's).
func joinFFmpeg(ctx context.Context, ps *procs, c *api, entry, room, id string, freq float64) (*peer, string, error) {
	port, err := freeUDPPair()
	if err != nil {
		return nil, "", err
	}
	sdpPath := filepath.Join(ps.dir, id+"-recv.sdp")
	sdp := fmt.Sprintf("v=0\no=- 0 0 IN IP4 127.0.0.1\ns=%s\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", id, port)
	if err := os.WriteFile(sdpPath, []byte(sdp), 0o644); err != nil {
		return nil, "", err
	}
	p := newRing(&peer{id: id, freq: freq, ffmpeg: true, send: true})
	pr, pw := io.Pipe()
	p.rcv, err = ps.start(id+"-ffmpeg-recv", pw, nil, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-protocol_whitelist", "file,udp,rtp", "-probesize", "32", "-analyzeduration", "0", "-fflags", "nobuffer",
		"-i", sdpPath, "-t", "600", "-ac", "1", "-ar", "8000", "-f", "s16le", "-flush_packets", "1", "pipe:1")
	if err != nil {
		return nil, "", err
	}
	go func() { <-p.rcv.done; _ = pw.Close() }()
	p.wg.Add(1)
	go p.readPCM(pr)
	time.Sleep(300 * time.Millisecond) // ffmpeg binds its ports
	a, holder, err := joinAt(ctx, c, entry, room, id, offerSDP(port, false), false)
	if err != nil {
		p.close()
		return nil, "", err
	}
	p.snd, err = ps.start(id+"-ffmpeg-send", nil, nil, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=8000:duration=600", freq),
		"-af", "volume=0.36,asetnsamples=n=160", "-c:a", "pcm_mulaw", "-f", "rtp",
		fmt.Sprintf("rtp://%s:%d?rtcpport=%d", a.rtp.IP, a.rtp.Port, a.rtcpPort))
	if err != nil {
		p.close()
		return nil, "", err
	}
	return p, holder, nil
}

func (p *peer) sendLoop() {
	defer p.wg.Done()
	pcm := make([]int16, 160)
	var seq uint16
	var ts uint32
	ssrc := uint32(0x10000 + int(p.freq))
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-p.stopc:
			return
		case <-tick.C:
		}
		if !p.send {
			// A listener sends a receiver report now and then: the bridge
			// sends nothing before it has heard from the offer's host.
			if n%250 == 0 {
				_, _ = p.conn.WriteToUDP(receiverReport(ssrc), p.dst)
			}
			n++
			continue
		}
		for j := range pcm {
			pcm[j] = int16(1500 * math.Sin(2*math.Pi*p.freq*float64(int(ts)+j)/8000))
		}
		pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc},
			Payload: g711.EncodeUlaw(nil, pcm)}).Marshal()
		_, _ = p.conn.WriteToUDP(pkt, p.dst)
		seq++
		ts += 160
	}
}

// receiverReport is an RTCP RR without report blocks (RFC 3550 6.4.2).
func receiverReport(ssrc uint32) []byte {
	b := []byte{0x80, 201, 0, 1, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], ssrc)
	return b
}

func (p *peer) receiveLoop() {
	defer p.wg.Done()
	buf := make([]byte, 1500)
	var pcm []int16
	for {
		k, err := p.conn.Read(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:k]) != nil || pkt.PayloadType != 0 {
			continue
		}
		pcm = g711.DecodeUlaw(pcm[:0], pkt.Payload)
		p.add(pcm)
	}
}

func (p *peer) readPCM(r io.Reader) {
	defer p.wg.Done()
	br := bufio.NewReader(r)
	buf := make([]byte, 320)
	pcm := make([]int16, 160)
	for {
		k, err := io.ReadFull(br, buf)
		for i := range k / 2 {
			pcm[i] = int16(binary.LittleEndian.Uint16(buf[2*i:]))
		}
		p.add(pcm[:k/2])
		if err != nil {
			return
		}
	}
}

func (p *peer) add(pcm []int16) {
	p.mu.Lock()
	p.got += len(pcm)
	for _, s := range pcm {
		p.heard[p.pos] = s
		p.pos = (p.pos + 1) % len(p.heard)
	}
	p.mu.Unlock()
}

func (p *peer) close() {
	p.once.Do(func() {
		close(p.stopc)
		if p.conn != nil {
			_ = p.conn.Close()
		}
		if p.snd != nil {
			p.snd.stop(time.Second)
		}
		if p.rcv != nil {
			p.rcv.stop(time.Second)
		}
		p.wg.Wait()
	})
}

// power is the Goertzel power of freq in the last second heard, relative
// to a full-scale sine (dB).
func (p *peer) power(freq float64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.heard)
	w := 2 * math.Pi * freq / 8000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for i := range n {
		s0 := float64(p.heard[(p.pos+i)%n])/32768 + c*s1 - s2
		s2, s1 = s1, s0
	}
	pw := s1*s1 + s2*s2 - c*s1*s2
	return 10 * math.Log10(pw/(float64(n)*float64(n)/4)+1e-20)
}

// hearLimit: a tone heard at all (eleven tones at -27 dBFS come out of
// the mix at about -37 to -40 dB each); ownMargin: a talker's own tone
// must be this far under the quietest other (mix-minus; what is left is
// intermodulation of the others through G.711 and the mix).
const (
	hearLimit = -50.0
	ownMargin = 20.0
)

// hearing checks that every listener hears every talker in talkers but
// itself, and not itself.
func hearing(listeners, talkers []*peer) error {
	for _, p := range listeners {
		quietest := 0.0
		for _, o := range talkers {
			if o == p {
				continue
			}
			pw := p.power(o.freq)
			if pw < hearLimit {
				return fmt.Errorf("%s hears %s at %.1f dB", p.id, o.id, pw)
			}
			quietest = min(quietest, pw)
		}
		if p.send {
			if own := p.power(p.freq); own > quietest-ownMargin {
				return fmt.Errorf("%s hears itself at %.1f dB (quietest other %.1f dB)", p.id, own, quietest)
			}
		}
	}
	return nil
}

// levels describes what p hears of each talker, for a failure message.
func levels(p *peer, talkers []*peer) string {
	var b strings.Builder
	for _, o := range talkers {
		fmt.Fprintf(&b, " %s:%.0f", o.id, p.power(o.freq))
	}
	return b.String()
}

// eventually polls f every 50 ms until it returns nil or d passes.
func eventually(ctx context.Context, d time.Duration, f func() error) (time.Duration, error) {
	start := time.Now()
	for {
		err := f()
		if err == nil {
			return time.Since(start), nil
		}
		if time.Since(start) > d {
			return 0, fmt.Errorf("after %v: %w", d, err)
		}
		select {
		case <-ctx.Done():
			return 0, errors.Join(ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

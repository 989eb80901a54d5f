package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/examples/internal/bridge"
)

const testToken = "cluster-test-token-0123456789"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startNode starts a node on loopback; natsURL "" embeds NATS.
func startNode(t *testing.T, id, natsURL string, roomLimit int) *Node {
	t.Helper()
	n, err := NewNode(NodeConfig{ID: id, NATSURL: natsURL, Logger: quiet, Bridge: bridge.Config{
		HTTPAddr: "127.0.0.1:0", APIToken: testToken, MediaIP: "127.0.0.1", TickBudget: -1,
		MaxRoomParticipants: roomLimit, RTCPInterval: -1, DisablePage: true, WebRTC: bridge.WebRTCConfig{Disable: true},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func post(t *testing.T, addr, path, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+addr+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// peer is a PCMU participant sending a tone at its own frequency and
// keeping the last second of what it hears.
type peer struct {
	id   string
	freq float64
	conn *net.UDPConn
	dst  *net.UDPAddr

	mu    sync.Mutex
	heard []int16 // ring of the last 8000 samples
	pos   int
	got   int // packets received
	stop  chan struct{}
	wg    sync.WaitGroup
}

func offer(port int) []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp-mux\r\na=ptime:20\r\na=sendrecv\r\n")
}

// join joins a peer at the node at addr; status 201 or the test fails.
func join(t *testing.T, addr, room, id string, freq float64) *peer {
	t.Helper()
	p, code, body := tryJoin(t, addr, room, id, freq)
	require.Equal(t, http.StatusCreated, code, string(body))
	return p
}

// tryJoin joins a peer, or returns nil with the status and body.
func tryJoin(t *testing.T, addr, room, id string, freq float64) (*peer, int, []byte) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	p := &peer{id: id, freq: freq, conn: conn, heard: make([]int16, 8000), stop: make(chan struct{})}
	code, body := post(t, addr, "/rooms/"+room+"/participants?id="+id, "application/sdp", offer(conn.LocalAddr().(*net.UDPAddr).Port))
	if code != http.StatusCreated {
		_ = conn.Close()
		return nil, code, body
	}
	p.dst = answerAddr(t, body)
	p.wg.Add(2)
	go p.send()
	go p.receive()
	t.Cleanup(p.close)
	return p, code, body
}

func answerAddr(t *testing.T, sdp []byte) *net.UDPAddr {
	t.Helper()
	var ip net.IP
	port := 0
	for _, l := range strings.Split(string(sdp), "\r\n") {
		if s, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			ip = net.ParseIP(strings.TrimSpace(s))
		}
		if s, ok := strings.CutPrefix(l, "m=audio "); ok {
			port, _ = strconv.Atoi(strings.Fields(s)[0])
		}
	}
	require.NotNil(t, ip, string(sdp))
	require.NotZero(t, port, string(sdp))
	return &net.UDPAddr{IP: ip, Port: port}
}

func (p *peer) send() {
	defer p.wg.Done()
	pcm := make([]int16, 160)
	var seq uint16
	var ts uint32
	ssrc := uint32(0x10000 + int(p.freq))
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
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

func (p *peer) receive() {
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
		p.mu.Lock()
		p.got++
		for _, s := range pcm {
			p.heard[p.pos] = s
			p.pos = (p.pos + 1) % len(p.heard)
		}
		p.mu.Unlock()
	}
}

func (p *peer) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	_ = p.conn.Close()
	p.wg.Wait()
}

// power returns the Goertzel power of freq in the last second heard,
// relative to a full-scale sine (dB).
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

// hearing checks that each peer hears every other (above -50 dB: eleven
// tones sent at -27 dBFS come out at -37 to -40 dB each) and not itself
// (20 dB under the quietest other: a mix-minus failure would put its own
// tone level with the others'; what is left, -57 to -68 dB, is the
// intermodulation of the other tones through G.711 and the mix).
func hearing(peers []*peer) error {
	for _, p := range peers {
		quietest := 0.0
		for _, o := range peers {
			if o == p {
				continue
			}
			pw := p.power(o.freq)
			if pw < -50 {
				var all []string
				for _, x := range peers {
					all = append(all, fmt.Sprintf("%s:%.0f", x.id, p.power(x.freq)))
				}
				p.mu.Lock()
				got := p.got
				p.mu.Unlock()
				return fmt.Errorf("%s hears %s at %.1f dB (%d packets; %v)", p.id, o.id, pw, got, all)
			}
			quietest = min(quietest, pw)
		}
		if own := p.power(p.freq); own > quietest-20 {
			return fmt.Errorf("%s hears itself at %.1f dB (quietest other %.1f dB)", p.id, own, quietest)
		}
	}
	return nil
}

func eventually(t *testing.T, d time.Duration, f func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < d {
		if err = f(); err == nil {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, err, "after %v", d)
	return 0
}

// kill stops a node as a crash would: its key is not deleted and its
// trunks stop without a word; its participants' sockets close.
func (n *Node) kill() {
	if n.shut() {
		_ = n.stop()
	}
}

func (n *Node) roomRecord(t *testing.T, room string) roomRec {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, _, err := n.getRoom(ctx, room)
	require.NoError(t, err)
	return rec
}

// TestCluster: three nodes (NATS embedded in the first), a room homed on
// the second, 12 PCMU participants joining at all three with 4 per part:
// everyone hears everyone and nobody hears themselves. Then the home dies:
// the survivors drop its streams after a second of silence, the next join
// re-claims the room (epoch 2), and its participants re-join and hear.
func TestCluster(t *testing.T) {
	// Parts of 4 on the home, 6 elsewhere: room for b's four to re-join
	// at the survivors.
	a := startNode(t, "a", "", 6)
	b := startNode(t, "b", a.NATSURL(), 4)
	c := startNode(t, "c", a.NATSURL(), 6)
	nodes := []*Node{a, b, c}

	code, body := post(t, b.HTTPAddr(), "/rooms", "application/json", []byte(`{"name":"r","max_speakers":12}`))
	require.Equal(t, http.StatusCreated, code, string(body))
	var ro roomOut
	require.NoError(t, json.Unmarshal(body, &ro))
	assert.Equal(t, "b", ro.Home)
	assert.EqualValues(t, 1, ro.Epoch)

	var peers []*peer
	for i := range 12 {
		entry := nodes[i%3]
		peers = append(peers, join(t, entry.HTTPAddr(), "r", "u"+strconv.Itoa(i), 300+200*float64(i)))
	}
	// Home until full, then spilled to the others (which of them first
	// depends on the load they advertised last).
	rec := a.roomRecord(t, "r")
	assert.Len(t, rec.Parts, 3)
	total := 0
	for _, n := range nodes {
		k, _, err := n.Server().RoomOccupancy("r")
		require.NoError(t, err)
		assert.NotZero(t, k, "participants on %s", n.cfg.ID)
		total += k
		t.Logf("node %s: %d participants", n.cfg.ID, k)
	}
	assert.Equal(t, 12, total)
	hk, _, _ := b.Server().RoomOccupancy("r")
	assert.Equal(t, 4, hk, "the home takes joins until full")
	took := eventually(t, 10*time.Second, func() error { return hearing(peers) })
	t.Logf("everyone hears everyone %v after the last join", took.Round(time.Millisecond))

	// The home dies.
	conf, err := b.Server().Conference("r")
	require.NoError(t, err)
	local := map[string]bool{}
	for _, lp := range conf.Participants() {
		local[lp.ID()] = true
	}
	var onB, rest []*peer
	for _, p := range peers {
		if local[p.id] {
			onB = append(onB, p)
		} else {
			rest = append(rest, p)
		}
	}
	require.Len(t, onB, 4)
	killed := time.Now()
	b.kill()
	for _, p := range onB {
		p.close()
	}
	dropped := eventually(t, 3*time.Second, func() error {
		for _, n := range []*Node{a, c} {
			conf, err := n.Server().Conference("r")
			if err != nil {
				return err
			}
			for _, rp := range conf.RemoteParticipants() {
				if local[rp.ID()] {
					return fmt.Errorf("%s still mixes %s", n.cfg.ID, rp.ID())
				}
			}
		}
		return nil
	})
	// 900 ms of silence (TrunkSilence), checked every 45 ms; slack for a
	// loaded machine.
	t.Logf("survivors dropped the dead node's streams %v after the kill", dropped.Round(time.Millisecond))
	assert.Less(t, dropped, 2*time.Second)

	// Its participants re-join at the survivors: refused (503) until its
	// lease lapses, then the first join re-claims the room.
	var back []*peer
	for i, p := range onB {
		entry := []*Node{a, c}[i%2]
		for {
			np, code, body := tryJoin(t, entry.HTTPAddr(), "r", p.id+"-back", p.freq)
			if np != nil {
				back = append(back, np)
				break
			}
			require.Equal(t, http.StatusServiceUnavailable, code, string(body))
			require.Less(t, time.Since(killed), 8*time.Second, "room not re-claimed: %s", body)
			time.Sleep(50 * time.Millisecond)
		}
		if i == 0 {
			// The lease is 3 s, refreshed every second: its key is at
			// most 3 s old when it lapses after the kill.
			d := time.Since(killed)
			t.Logf("room re-claimed %v after the kill", d.Round(time.Millisecond))
			assert.Less(t, d, 3500*time.Millisecond)
		}
	}
	rejoined := time.Now()
	rec = a.roomRecord(t, "r")
	assert.EqualValues(t, 2, rec.Epoch)
	assert.Contains(t, []string{"a", "c"}, rec.Home)
	for _, pr := range rec.Parts {
		assert.NotEqual(t, "b", pr.Node)
	}
	eventually(t, 5*time.Second, func() error { return hearing(append(rest, back...)) })
	t.Logf("re-joined participants hear and are heard %v after re-joining", time.Since(rejoined).Round(time.Millisecond))
}

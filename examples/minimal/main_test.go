package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/rtcpsession"
)

// peer is a UDP endpoint on 127.0.0.1 that sends 20 ms PCMU packets of a
// tone (or of silence) to the server and records what comes back.
type peer struct {
	conn net.PacketConn
	ssrc uint32
	amp  float64 // 0: silence

	mu    sync.Mutex
	rtp   int // RTP packets received from the server
	loud  int // of which with a payload louder than -30 dBov
	ssrcs map[uint32]bool
	rtcp  int
	bye   bool
	errs  []string
}

func newPeer(t *testing.T, ssrc uint32, amp float64) *peer {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	p := &peer{conn: conn, ssrc: ssrc, amp: amp, ssrcs: map[uint32]bool{}}
	go p.receive()
	return p
}

// send sends n packets, one every 20 ms, to server.
func (p *peer) send(t *testing.T, server net.Addr, n int) {
	pcm := make([]int16, 160)
	var payload []byte
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := range n {
		for j := range pcm {
			pcm[j] = int16(p.amp * math.Sin(2*math.Pi*440*float64(i*160+j)/8000))
		}
		payload = g711.EncodeUlaw(payload[:0], pcm)
		pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i),
			Timestamp: uint32(i * 160), SSRC: p.ssrc}, Payload: payload}).Marshal()
		require.NoError(t, err)
		_, err = p.conn.WriteTo(pkt, server)
		require.NoError(t, err)
		<-tick.C
	}
}

func (p *peer) receive() {
	buf := make([]byte, 1500)
	pcm := make([]int16, 0, 160)
	for {
		n, _, err := p.conn.ReadFrom(buf)
		if err != nil {
			return // closed by the test's cleanup
		}
		pkt := buf[:n]
		p.mu.Lock()
		if rtcpsession.IsRTCP(pkt) {
			p.rtcp++
			for b := pkt; len(b) >= 4; { // walk the compound packet for a BYE
				if b[1] == 203 {
					p.bye = true
				}
				l := 4 * (int(binary.BigEndian.Uint16(b[2:])) + 1)
				if l > len(b) {
					break
				}
				b = b[l:]
			}
		} else {
			var r rtp.Packet
			if err := r.Unmarshal(pkt); err != nil || r.PayloadType != 0 || len(r.Payload) != 160 {
				p.errs = append(p.errs, "unexpected packet")
			} else {
				p.rtp++
				p.ssrcs[r.SSRC] = true
				pcm = g711.DecodeUlaw(pcm[:0], r.Payload)
				var sum float64
				for _, s := range pcm {
					sum += float64(s) * float64(s)
				}
				if math.Sqrt(sum/float64(len(pcm))) > 32768*math.Pow(10, -30.0/20) {
					p.loud++
				}
			}
		}
		p.mu.Unlock()
	}
}

type peerStats struct {
	rtp, loud, rtcp, ssrcs int
	bye                    bool
	errs                   []string
}

func (p *peer) stats() peerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return peerStats{rtp: p.rtp, loud: p.loud, rtcp: p.rtcp, ssrcs: len(p.ssrcs), bye: p.bye, errs: p.errs}
}

// syncBuffer is a log output that tests may read while serve writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe: two peers on 127.0.0.1 send to the server for a second; the
// silent one hears the other's tone, the talker hears silence (mix-minus);
// the talker's RTCP BYE makes it leave (and be sent a BYE); cancelling the
// context sends the other a BYE, logs everyone's Left, and serve returns
// nil with no goroutine left behind.
func TestServe(t *testing.T) {
	var logs syncBuffer
	log.SetOutput(&logs)
	defer log.SetOutput(os.Stderr)
	base := runtime.NumGoroutine()

	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, conn) }()

	talker, listener := newPeer(t, 0x1111, 8000), newPeer(t, 0x2222, 0)
	var wg sync.WaitGroup
	for _, p := range []*peer{talker, listener} {
		wg.Add(1)
		go func() { defer wg.Done(); p.send(t, conn.LocalAddr(), 50) }()
	}
	wg.Wait()
	time.Sleep(100 * time.Millisecond) // the jitter buffers' last packets played out

	// The talker hangs up: an RTCP BYE (an empty RR, then the BYE), muxed.
	bye := []byte{0x80, 201, 0, 1, 0, 0, 0x11, 0x11, 0x81, 203, 0, 1, 0, 0, 0x11, 0x11}
	_, err = talker.conn.WriteTo(bye, conn.LocalAddr())
	require.NoError(t, err)
	talkerAddr := talker.conn.LocalAddr().String()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "left "+talkerAddr) },
		5*time.Second, 10*time.Millisecond, "the talker left on its BYE")
	assert.Contains(t, logs.String(), "bye-received "+talkerAddr)
	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after the context ended")
	}

	// serve has sent the BYEs; the peers' goroutines may not have read them yet.
	require.Eventually(t, func() bool { return talker.stats().bye && listener.stats().bye },
		2*time.Second, 10*time.Millisecond, "a BYE to each peer at Close")
	ts, ls := talker.stats(), listener.stats()
	t.Logf("talker received %+v; listener received %+v", ts, ls)
	assert.Empty(t, ts.errs)
	assert.Empty(t, ls.errs)
	// 50 packets sent over a second; the mix comes back every 20 ms.
	assert.Greater(t, ls.rtp, 30, "the listener was sent the mix")
	assert.Greater(t, ls.loud, 20, "the listener heard the talker's tone")
	assert.Greater(t, ts.rtp, 30, "the talker was sent the mix")
	assert.Zero(t, ts.loud, "the talker did not hear himself")
	assert.Equal(t, 1, ls.ssrcs, "one outbound stream")

	out := logs.String()
	for _, p := range []*peer{talker, listener} {
		addr := p.conn.LocalAddr().String()
		assert.Contains(t, out, "joined "+addr, out)
		assert.Contains(t, out, "left "+addr, out)
	}
	talker.conn.Close()
	listener.conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), base, "goroutines left behind")
}

// TestBinary builds the command, runs it on 127.0.0.1, has a peer talk to
// it, and stops it with SIGINT: it exits 0 after sending the peer a BYE.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "minimal")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(bin, "-listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill() //nolint:errcheck // a no-op once it has exited
	lines := bufio.NewScanner(stderr)
	require.True(t, lines.Scan(), "the first log line")
	_, addr, ok := strings.Cut(lines.Text(), "listening on ")
	require.True(t, ok, lines.Text())
	server, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)
	var rest syncBuffer
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		for lines.Scan() {
			rest.Write([]byte(lines.Text() + "\n"))
		}
	}()

	p := newPeer(t, 0x3333, 8000)
	p.send(t, server, 25)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	exited := make(chan error, 1)
	go func() { <-logged; exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("exit status %d:\n%s", exit.ExitCode(), rest.String())
		}
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGINT")
	}
	require.Eventually(t, func() bool { return p.stats().bye }, 2*time.Second, 10*time.Millisecond,
		"a BYE at exit")
	st := p.stats()
	assert.Positive(t, st.rtp, "the mix came back")
	assert.Contains(t, rest.String(), "joined "+p.conn.LocalAddr().String())
	assert.Contains(t, rest.String(), "left "+p.conn.LocalAddr().String())
}

// TestReadmeShowsServe: README.md's Embedding section shows serve exactly
// as it is here, so the documented server is the tested one.
func TestReadmeShowsServe(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Embedding\n")
	require.True(t, ok, "README.md has an Embedding section")
	_, block, ok := strings.Cut(section, "```go\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```\n")
	require.True(t, ok)
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	i := strings.Index(string(src), "func serve(")
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, string(src[i:]), block, "README.md's Embedding code and main.go's serve differ")
}

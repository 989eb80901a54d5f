package bridge

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWebRTCLegCost measures what WebRTC legs cost the bridge: a bridge
// in a process of its own (this test binary, as TestBridgeProcess), an
// idle room, then legs pion clients joined (two talking, the rest
// silent, as a conference is), and the bridge process's CPU time over a
// window of each, from /proc. A measurement, not a check: it runs with
// RTPMIX_WEBRTC_COST=1 (RTPMIX_WEBRTC_COST_LEGS sets the number, 20 by
// default) and logs the figures.
func TestWebRTCLegCost(t *testing.T) {
	if os.Getenv("RTPMIX_WEBRTC_COST") != "1" {
		t.Skip("a measurement: set RTPMIX_WEBRTC_COST=1")
	}
	if !(&Server{}).supported("opus/48000/2") {
		t.Skip("Opus unavailable (built without cgo)")
	}
	legs := 20
	if v := os.Getenv("RTPMIX_WEBRTC_COST_LEGS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		legs = n
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBridgeProcess$")
	cmd.Env = append(os.Environ(), "RTPMIX_BRIDGE_PROCESS=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	addr := strings.TrimSpace(strings.TrimPrefix(line, "http "))
	s := &Server{cfg: settings{Config: Config{HTTPAddr: addr, APIToken: testToken}}}
	mkRoom(t, s, "cost")

	const window = 10 * time.Second
	cpu := func() time.Duration {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
		require.NoError(t, err)
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(ut+st) * time.Second / 100 // USER_HZ
	}
	measure := func() float64 {
		c0, w0 := cpu(), time.Now()
		time.Sleep(window)
		return float64(cpu()-c0) / float64(time.Since(w0))
	}
	idle := measure()
	clients := make([]*rtcClient, legs)
	for i := range clients {
		clients[i] = joinRTC(t, s, "cost", fmt.Sprintf("c%d", i), rtcClientOpts{})
		if i < 2 {
			clients[i].send(440+float64(i)*150, 0.3)
		} else {
			clients[i].send(440, 0) // silence, level 127: never decoded
		}
	}
	time.Sleep(2 * time.Second)
	busy := measure()
	t.Logf("bridge CPU: idle room %.2f %% of a core; %d WebRTC legs (2 talking, Opus 20 ms) %.2f %%: %.3f %% of a core per leg (machine shared and loaded)",
		100*idle, legs, 100*busy, 100*(busy-idle)/float64(legs))
	for _, c := range clients {
		c.leave(t, s)
	}
}

// TestBridgeProcess is TestWebRTCLegCost's bridge: it prints its API
// address and runs until its standard input closes.
func TestBridgeProcess(t *testing.T) {
	if os.Getenv("RTPMIX_BRIDGE_PROCESS") != "1" {
		t.Skip("the bridge process of TestWebRTCLegCost")
	}
	s, err := New(Config{HTTPAddr: "127.0.0.1:0", APIToken: testToken, TickBudget: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, s.Start())
	fmt.Printf("http %s\n", s.HTTPAddr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	require.NoError(t, s.Close())
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/examples/internal/bridge"
)

// startBridge starts the real bridge; idle legs are removed after idle.
func startBridge(t *testing.T, idle time.Duration) string {
	t.Helper()
	srv, err := bridge.New(bridge.Config{HTTPAddr: "127.0.0.1:0", Workers: 1, Idle: idle, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + srv.HTTPAddr()
}

// TestAgainstInProcessBridge runs a small load through the real bridge for
// 2 s: talkers with the speech clip over SRTP, silent senders, a listener,
// two rooms and two codecs. Packets must flow both ways and the report's
// figures must agree with each other and with the bridge's own counters.
// The bridge drops legs idle for 1 s: the listener survives on its RTCP
// receiver reports.
func TestAgainstInProcessBridge(t *testing.T) {
	url := startBridge(t, time.Second)
	mix, err := parseCodecMix("pcmu:1,opus:1")
	require.NoError(t, err)
	talk, err := talkSources(mix, "../../testdata/alice.wav", 0)
	require.NoError(t, err)
	cfg := Config{BridgeURL: url, Participants: 6, Rooms: 2, Codecs: mix, Talkers: 2, ListenOnly: 1, Talk: talk,
		AudioLevels: true, SRTP: true, Duration: 2 * time.Second, RoomPrefix: "t", IP: "127.0.0.1",
		ReportInterval: 300 * time.Millisecond}
	rep, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	var table bytes.Buffer
	rep.WriteTable(&table)
	t.Logf("\n%s", table.String())

	require.Len(t, rep.Rows, 3, "pcmu, opus, all")
	all := rep.Rows[2]
	assert.Equal(t, "all", all.Name)
	assert.Equal(t, 6, all.Legs)
	assert.Equal(t, map[string]int{"pcmu": 3, "opus": 3}, rep.Codecs)
	assert.Equal(t, 3, rep.Silent)
	var sent, recv, expected uint64
	for _, r := range rep.Rows[:2] {
		sent, recv, expected = sent+r.Sent, recv+r.Received, expected+r.Expected
		assert.Positive(t, r.Sent, r.Name)
		assert.Positive(t, r.Received, r.Name)
	}
	assert.Equal(t, all.Sent, sent)
	assert.Equal(t, all.Received, recv)
	assert.Equal(t, all.Expected, expected)

	// Both ways: five senders for ~2 s at 50 packets/s (less frames a
	// stalled generator skipped), every leg hears.
	assert.InDelta(t, 5*50*rep.SendSeconds, float64(all.Sent+all.Skipped), 5*50*rep.SendSeconds*0.05)
	assert.Greater(t, float64(all.Sent), 0.5*5*50*rep.SendSeconds)
	assert.Zero(t, all.SendErrors)
	assert.Zero(t, all.Deaf, "every leg, the listener too, received the mix")
	assert.Zero(t, all.Dropped, "everything the bridge sent authenticated and had the answered payload type")
	assert.Less(t, all.LossPct, 1.0)
	assert.Equal(t, int64(all.Expected)-int64(all.Received), all.Lost)
	assert.Greater(t, all.RecvPPS, 0.8*6*50, "each leg receives about 50 packets/s")
	assert.Less(t, all.RecvPPS, 1.2*6*50)
	assert.LessOrEqual(t, all.JitterP50Ms, all.JitterP99Ms)
	assert.LessOrEqual(t, all.JitterP99Ms, all.JitterMaxMs)
	assert.Positive(t, all.JitterMaxMs)

	// The bridge's counters: what we sent arrived (loopback), and we
	// received no more than it sent.
	b := rep.BridgeDelta
	assert.LessOrEqual(t, b.PacketsIn, all.Sent)
	assert.GreaterOrEqual(t, float64(b.PacketsIn), 0.99*float64(all.Sent))
	assert.LessOrEqual(t, all.Received, b.PacketsOut)
	assert.Zero(t, b.Dropped)
	assert.Equal(t, 6, b.Participants, "no leg was removed as idle")
	assert.GreaterOrEqual(t, all.RTCPSent, 6*5, "every leg reported every 300 ms")
	require.Len(t, b.PerRoom, 2)
	for _, r := range b.PerRoom {
		assert.Equal(t, 3, r.Participants, r.Name)
		assert.Positive(t, r.TickP50us, r.Name)
		assert.GreaterOrEqual(t, r.TickP99us, r.TickP50us, r.Name)
	}
	for _, want := range []string{"6 participants in 2 room(s)", "pcmu", "opus", "all", "tick p99 µs", "t-1", "t-2"} {
		assert.Contains(t, table.String(), want)
	}

	// The run removed its participants and the rooms it created.
	var rooms []map[string]any
	api := &client{base: url, http: http.DefaultClient}
	require.NoError(t, api.do(context.Background(), http.MethodGet, "/rooms", "", nil, &rooms))
	assert.Empty(t, rooms)
}

// TestRunCommandLine: the whole command with an in-process bridge and
// -json, then flags it must refuse.
func TestRunCommandLine(t *testing.T) {
	var out, errs bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-bridge-inprocess", "-bridge-workers", "1", "-n", "3", "-talkers", "1",
		"-tone", "440", "-codecs", "pcma", "-duration", "500ms", "-json"}, &out, &errs), errs.String())
	var rep Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), out.String())
	assert.True(t, rep.InProcess)
	require.Len(t, rep.Rows, 2)
	assert.Equal(t, "pcma", rep.Rows[0].Name)
	assert.Positive(t, rep.Rows[1].Received)
	assert.Positive(t, rep.Rows[1].Sent)

	for _, args := range [][]string{
		{"-n", "0"},
		{"-n", "3", "-rooms", "4"},
		{"-codecs", "g729"},
		{"-talkers", "150%"},
		{"-n", "2", "-talkers", "2", "-listen-only", "1"},
		{"-duration", "-1s"},
		{"-clip", "nope.wav"},
		{"-bridge", "http://127.0.0.1:1", "-talkers", "0", "-duration", "100ms"},
		{"stray"},
	} {
		errs.Reset()
		assert.Error(t, run(context.Background(), args, &out, &errs), "%v", args)
	}
	assert.ErrorIs(t, run(context.Background(), []string{"-h"}, &out, &errs), flag.ErrHelp)
	assert.Contains(t, errs.String(), "-bridge-inprocess")
}

func TestParseCodecMix(t *testing.T) {
	m, err := parseCodecMix("PCMU:50, opus:150,pcma")
	require.NoError(t, err)
	require.Len(t, m, 3)
	assert.Equal(t, []string{"pcmu", "opus", "pcma"}, []string{m[0].Name, m[1].Name, m[2].Name})
	assert.Equal(t, []int{50, 150, 1}, []int{m[0].Weight, m[1].Weight, m[2].Weight})
	assert.Equal(t, uint8(111), m[1].PT)
	for _, bad := range []string{"", "pcmu:", "pcmu:x", "pcmu:-1", "opus,opus", "pcmu:0", "speex:1", "pcmu:1:2"} {
		_, err := parseCodecMix(bad)
		assert.Error(t, err, bad)
	}
}

func TestAssign(t *testing.T) {
	m, err := parseCodecMix("pcmu:1,opus:3,pcma:0")
	require.NoError(t, err)
	got := assign(m, 8)
	assert.Equal(t, []int{1, 0, 1, 1, 1, 0, 1, 1}, got, "interleaved, 1:3, pcma never")
	count := map[int]int{}
	for _, c := range assign(m, 1000) {
		count[c]++
	}
	assert.Equal(t, map[int]int{0: 250, 1: 750}, count)
}

func TestParseCount(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "3": 3, "200": 200, "1.5%": 3, "100%": 200, " 10% ": 20} {
		got, err := parseCount("-talkers", in, 200)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-1", "201", "101%", "x%", "3.5", "%"} {
		_, err := parseCount("-talkers", bad, 200)
		assert.Error(t, err, bad)
	}
}

// FuzzFlags: -codecs, -talkers and -listen-only values either parse into
// something Run can use or give an error.
func FuzzFlags(f *testing.F) {
	f.Add("pcmu:50,opus:50", "3")
	f.Add("opus", "10%")
	f.Add("pcma:0,pcmu:7", "0.5%")
	f.Fuzz(func(t *testing.T, codecs, count string) {
		if m, err := parseCodecMix(codecs); err == nil {
			total := 0
			for _, c := range m {
				if c.Weight < 0 || c.Format.Name == "" {
					t.Fatalf("bad share %+v from %q", c, codecs)
				}
				total += c.Weight
			}
			if total == 0 {
				t.Fatalf("no weight from %q", codecs)
			}
			for _, c := range assign(m, 17) {
				if m[c].Weight == 0 {
					t.Fatalf("assigned a codec of weight 0 from %q", codecs)
				}
			}
		}
		if n, err := parseCount("-talkers", count, 50); err == nil && (n < 0 || n > 50) {
			t.Fatalf("count %d of 50 from %q", n, count)
		}
	})
}

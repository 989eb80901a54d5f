package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNodeConfig(t *testing.T) {
	for _, c := range []NodeConfig{
		{},
		{ID: "a.b"},
		{ID: "a", Refresh: 2 * time.Second},
		{ID: "a", TrunkSilence: -1},
		{ID: "a", TrunkIP: "host"},
	} {
		_, err := c.withDefaults()
		assert.Error(t, err, "%+v", c)
	}
	c, err := NodeConfig{ID: "node-1"}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, c.Lease)
	assert.Equal(t, "127.0.0.1", c.TrunkIP)
}

func TestJoinRoom(t *testing.T) {
	for path, want := range map[string]string{
		"/rooms/r/participants":      "r",
		"/rooms/r/participants/x":    "",
		"/rooms//participants":       "",
		"/rooms/a/b/participants":    "",
		"/rooms/r":                   "",
		"/other/r/participants":      "",
		"/rooms/room-1/participants": "room-1",
	} {
		assert.Equal(t, want, joinRoom(path), path)
	}
}

func TestLeastLoaded(t *testing.T) {
	nodes := map[string]nodeRec{
		"self": {ID: "self"},
		"x":    {ID: "x", Participants: 50, MaxParticipants: 100},
		"y":    {ID: "y", Participants: 10, MaxParticipants: 100, TickP99Micros: 900},
		"z":    {ID: "z", Participants: 10, MaxParticipants: 100, TickP99Micros: 100},
	}
	var ids []string
	for _, r := range leastLoaded(nodes, "self") {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"z", "y", "x"}, ids)
}

// TestLeaseFences: a node cut off from NATS stops admitting once its
// lease is no longer fresh, and admits again when NATS is back (it
// registers anew; a failure is never sticky).
func TestLeaseFences(t *testing.T) {
	a := startNode(t, "a", "", 4) // NATS is a's
	b := startNode(t, "b", a.NATSURL(), 4)
	code, body := post(t, b.HTTPAddr(), "/rooms", "application/json", []byte(`{"name":"r"}`))
	require.Equal(t, http.StatusCreated, code, string(body))
	join(t, b.HTTPAddr(), "r", "p1", 440)

	natsAddr := strings.TrimPrefix(a.NATSURL(), "nats://")
	a.kill()
	eventually(t, 5*time.Second, func() error {
		if b.admitting() {
			return assert.AnError
		}
		return nil
	})
	_, code, body = tryJoin(t, b.HTTPAddr(), "r", "p2", 550)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, string(body), "not admitting")

	// NATS back (empty: its buckets are made anew), b re-registers.
	a2, err := NewNode(NodeConfig{ID: "a2", NATSListen: natsAddr, Logger: quiet, Bridge: b.cfg.Bridge})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a2.Close() })
	eventually(t, 10*time.Second, func() error {
		if !b.admitting() {
			return assert.AnError
		}
		return nil
	})
}

// TestTrunkRepair: a trunk lost while both parts live (one side drops it,
// as after a network blip; the other then drops it for silence) is set up
// again by reconcile, and the two parts hear each other again.
func TestTrunkRepair(t *testing.T) {
	a := startNode(t, "a", "", 1)
	b := startNode(t, "b", a.NATSURL(), 1)
	code, body := post(t, a.HTTPAddr(), "/rooms", "application/json", []byte(`{"name":"r"}`))
	require.Equal(t, http.StatusCreated, code, string(body))
	peers := []*peer{join(t, a.HTTPAddr(), "r", "x", 440), join(t, a.HTTPAddr(), "r", "y", 700)}
	for _, n := range []*Node{a, b} {
		k, _, err := n.Server().RoomOccupancy("r")
		require.NoError(t, err)
		require.Equal(t, 1, k, "one participant on %s", n.cfg.ID)
	}
	eventually(t, 5*time.Second, func() error { return hearing(peers) })

	pa := a.part("r")
	pa.mu.Lock()
	require.Len(t, pa.byPeer, 1)
	for peer, l := range pa.byPeer {
		l.t.Close()
		delete(pa.byPeer, peer)
		delete(pa.byAddr, l.addr)
	}
	pa.mu.Unlock()
	cut := time.Now()
	eventually(t, 5*time.Second, func() error {
		for _, p := range peers {
			if pw := p.power(peers[0].freq + peers[1].freq - p.freq); pw > -60 {
				return fmt.Errorf("%s still hears the other at %.1f dB", p.id, pw)
			}
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error { return hearing(peers) })
	t.Logf("parts hear each other again %v after the trunk was cut", time.Since(cut).Round(time.Millisecond))
}

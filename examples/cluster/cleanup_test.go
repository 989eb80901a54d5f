package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/examples/internal/bridge"
)

func del(t *testing.T, addr, path string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, "http://"+addr+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestEmptyParts: a part whose last participant left is dropped after
// PartIdle and leaves the room's record; the other part drops its trunk;
// the room's key goes with the last part, and the name can be created
// again. A part that never had anyone (a new room) is kept.
func TestEmptyParts(t *testing.T) {
	start := func(id, natsURL string) *Node {
		n, err := NewNode(NodeConfig{ID: id, NATSURL: natsURL, Logger: quiet, PartIdle: 300 * time.Millisecond,
			Bridge: bridge.Config{HTTPAddr: "127.0.0.1:0", APIToken: testToken, MediaIP: "127.0.0.1", TickBudget: -1,
				MaxRoomParticipants: 1, RTCPInterval: -1, DisablePage: true, WebRTC: bridge.WebRTCConfig{Disable: true}}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		return n
	}
	a := start("a", "")
	b := start("b", a.NATSURL())

	code, body := post(t, a.HTTPAddr(), "/rooms", "application/json", []byte(`{"name":"r"}`))
	require.Equal(t, http.StatusCreated, code, string(body))
	time.Sleep(time.Second) // three idle periods: the new, empty part stays
	require.NotNil(t, a.part("r"), "a part nobody joined yet is kept")

	p1 := join(t, a.HTTPAddr(), "r", "p1", 400) // a's part (limit 1)
	p2 := join(t, a.HTTPAddr(), "r", "p2", 900) // spilled to b
	require.NotNil(t, b.part("r"))
	eventually(t, 10*time.Second, func() error { return hearing([]*peer{p1, p2}) })
	bPart := b.part("r").id

	// GET /cluster: a's part mixes p2 over its trunk to b's part.
	req, err := http.NewRequest(http.MethodGet, "http://"+a.HTTPAddr()+"/cluster", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var st statusJSON
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	_ = resp.Body.Close()
	assert.Equal(t, "a", st.Node)
	assert.True(t, st.Admitting)
	require.Len(t, st.Parts, 1)
	assert.Equal(t, 1, st.Parts[0].Local)
	assert.Equal(t, []string{"p2"}, st.Parts[0].Remote)
	require.Len(t, st.Parts[0].Trunks, 1)
	assert.Equal(t, bPart, st.Parts[0].Trunks[0].Peer)
	assert.NotZero(t, st.Parts[0].Trunks[0].PacketsIn)

	// p2 leaves: b's part goes, and with it its place in the record and
	// a's trunk to it.
	p2.close()
	require.Equal(t, http.StatusNoContent, del(t, b.HTTPAddr(), "/rooms/r/participants/p2"))
	eventually(t, 5*time.Second, func() error {
		if b.part("r") != nil {
			return errors.New("b still has its part")
		}
		for _, pr := range a.roomRecord(t, "r").Parts {
			if pr.Part == bPart {
				return errors.New("b's part still in the record")
			}
		}
		ap := a.part("r")
		ap.mu.Lock()
		defer ap.mu.Unlock()
		if len(ap.byPeer) != 0 {
			return fmt.Errorf("a keeps %d trunks", len(ap.byPeer))
		}
		return nil
	})
	_, err = b.Server().Conference("r")
	assert.ErrorIs(t, err, bridge.ErrNoRoom)

	// A new join spills to b again: a new part, trunked, heard.
	p3 := join(t, a.HTTPAddr(), "r", "p3", 1300)
	require.NotNil(t, b.part("r"))
	assert.NotEqual(t, bPart, b.part("r").id)
	eventually(t, 10*time.Second, func() error { return hearing([]*peer{p1, p3}) })

	// Everyone leaves: both parts go, and the room's key.
	p1.close()
	p3.close()
	require.Equal(t, http.StatusNoContent, del(t, a.HTTPAddr(), "/rooms/r/participants/p1"))
	require.Equal(t, http.StatusNoContent, del(t, b.HTTPAddr(), "/rooms/r/participants/p3"))
	eventually(t, 5*time.Second, func() error {
		if a.part("r") != nil || b.part("r") != nil {
			return errors.New("parts left")
		}
		if _, _, err := a.getRoom(t.Context(), "r"); !errors.Is(err, bridge.ErrNoRoom) {
			return fmt.Errorf("room key: %v", err)
		}
		return nil
	})
	code, body = post(t, b.HTTPAddr(), "/rooms", "application/json", []byte(`{"name":"r"}`))
	require.Equal(t, http.StatusCreated, code, string(body))
	assert.Equal(t, "b", b.roomRecord(t, "r").Home)
	assert.EqualValues(t, 1, b.roomRecord(t, "r").Epoch)
}

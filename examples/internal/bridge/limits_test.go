package bridge

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refusal joins and expects a 503 whose reason contains want.
func refusal(t *testing.T, s *Server, room, id string, o peerOpts, want string) {
	t.Helper()
	p, code, body := tryJoinPeer(t, s, room, id, o)
	require.Nil(t, p, "joined past the limit")
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))
	var e map[string]string
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	assert.Contains(t, e["error"], want)
}

// TestFileLimit is issue 10's 10,000 joins that ran the process out of
// file descriptors ("no free UDP port pair"). With a file limit lowered
// through Config, the media sockets get what the HTTP connection cap and
// the process's reserve leave; a join that would need more is refused with
// 503 naming the limit, and a leave makes room again.
func TestFileLimit(t *testing.T) {
	const httpConns = 16
	s := testServer(t, Config{FileLimit: httpConns + fdReserve + 5, HTTPMaxConns: httpConns})
	mkRoom(t, s, "r")
	a := joinPeer(t, s, "r", "a", peerOpts{})     // 2 sockets
	joinPeer(t, s, "r", "b", peerOpts{})          // 4
	joinPeer(t, s, "r", "c", peerOpts{mux: true}) // 5: rtcp-mux needs one
	refusal(t, s, "r", "d", peerOpts{mux: true}, "file descriptors: the legs hold 5 sockets of the 5")
	refusal(t, s, "r", "d", peerOpts{}, "raise ulimit -n")
	code, _, _ := call(t, s, "DELETE", "/rooms/r/participants/"+a.id, "", nil)
	require.Equal(t, http.StatusNoContent, code)
	joinPeer(t, s, "r", "d", peerOpts{})
	refusal(t, s, "r", "e", peerOpts{mux: true}, "file descriptors")

	_, err := New(Config{FileLimit: 100, HTTPMaxConns: 100})
	assert.ErrorContains(t, err, "leaves no descriptors for media")
}

// TestParticipantLimits: a room holds at most MaxRoomParticipants, the
// bridge MaxParticipants and MaxRooms; past each, 503 with the reason.
func TestParticipantLimits(t *testing.T) {
	s := testServer(t, Config{MaxRoomParticipants: 2, MaxParticipants: 3, MaxRooms: 2})
	mkRoom(t, s, "r")
	mkRoom(t, s, "q")
	joinPeer(t, s, "r", "a", peerOpts{})
	joinPeer(t, s, "r", "b", peerOpts{})
	refusal(t, s, "r", "c", peerOpts{}, `room "r" has 2 participants, its limit`)
	joinPeer(t, s, "q", "c", peerOpts{})
	refusal(t, s, "q", "d", peerOpts{}, "the bridge's participant limit (3)")
	code, body, _ := call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":"third"}`))
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, string(body), "room limit (2)")
	code, _, _ = call(t, s, "DELETE", "/rooms/r/participants/a", "", nil)
	require.Equal(t, http.StatusNoContent, code)
	joinPeer(t, s, "r", "d", peerOpts{})
}

// TestTickBudget: joins are refused (503, Retry-After) while the room's
// recent ticks run over budget, before they overrun ptime. A budget of
// 0.01% of 20 ms (2 µs), which every tick exceeds, stands in for a room
// that has reached what the machine can mix.
func TestTickBudget(t *testing.T) {
	s := testServer(t, Config{TickBudget: 0.0001})
	mkRoom(t, s, "r")
	joinPeer(t, s, "r", "a", peerOpts{}) // a new room: nothing to judge by
	// Once the room is old enough to judge (a second), joins are refused.
	var code int
	var body []byte
	for i := 0; ; i++ {
		var p *peer
		p, code, body = tryJoinPeer(t, s, "r", "b"+itoa(i), peerOpts{})
		if p == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))
	assert.Contains(t, string(body), "room busy")
	assert.Contains(t, string(body), "ptime")

	// The header, from a raw request.
	code, body, hdr := call(t, s, "POST", "/rooms/r/participants?id=c", "application/sdp", offerSDP(40000, "RTP/AVP", "0"))
	assert.Equal(t, http.StatusServiceUnavailable, code, string(body))
	assert.Equal(t, "2", hdr.Get("Retry-After"), string(body))

	_, err := New(Config{TickBudget: 1.5})
	assert.ErrorContains(t, err, "tick budget")
}

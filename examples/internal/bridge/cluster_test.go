package bridge

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/mixer"
)

// TestClusterHooks: what examples/cluster uses. The middleware sees the
// API's requests behind the token check; CreateRoom makes a trunked part
// before any join; occupancy and load count the participants.
func TestClusterHooks(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	seenNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
	s := testServer(t, Config{MaxRoomParticipants: 2, Middleware: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			seen = append(seen, req.Method+" "+req.URL.Path)
			mu.Unlock()
			next.ServeHTTP(w, req)
		})
	}})
	conf, err := s.CreateRoom(RoomOptions{Name: "r", Ptime: 20 * time.Millisecond, Trunking: mixer.TrunkingConfig{Part: 7}})
	require.NoError(t, err)
	assert.EqualValues(t, 7, conf.Part())
	_, err = conf.AddTrunk(mixer.TrunkConfig{Peer: 9, Sink: mixer.SinkFunc(func([]byte) error { return nil })})
	require.NoError(t, err)
	_, err = s.CreateRoom(RoomOptions{Name: "r"})
	assert.ErrorIs(t, err, ErrRoomExists)
	_, err = s.CreateRoom(RoomOptions{Name: "q", Ptime: 1500 * time.Microsecond})
	assert.Error(t, err)

	got, err := s.Conference("r")
	require.NoError(t, err)
	assert.Same(t, conf, got)
	_, err = s.Conference("nope")
	assert.True(t, errors.Is(err, ErrNoRoom))

	joinPCMU(t, s, "r", "alice")
	n, limit, err := s.RoomOccupancy("r")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, 2, limit)
	ld := s.Load()
	assert.Equal(t, 1, ld.Rooms)
	assert.Equal(t, 1, ld.Participants)
	assert.Contains(t, seenNow(), "POST /rooms/r/participants")

	// Unauthenticated requests never reach the middleware.
	before := len(seenNow())
	resp, err := http.Get("http://" + s.HTTPAddr() + "/rooms")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Len(t, seenNow(), before)

	require.NoError(t, s.DeleteRoom("r"))
	assert.ErrorIs(t, s.DeleteRoom("r"), ErrNoRoom)
}

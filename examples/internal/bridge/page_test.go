package bridge

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPageServed: the page's files need no token (they hold no data) and
// come with a Content-Security-Policy that allows nothing from elsewhere;
// the API behind them still needs the token; DisablePage turns them off.
func TestPageServed(t *testing.T) {
	s := testServer(t, Config{})
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get("http://" + s.HTTPAddr() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	resp, body := get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Contains(t, body, `<label for="room">`)
	for _, f := range []struct{ path, ctype string }{{"/ui/app.js", "javascript"}, {"/ui/style.css", "text/css"}} {
		resp, body := get(f.path)
		assert.Equal(t, http.StatusOK, resp.StatusCode, f.path)
		assert.Contains(t, resp.Header.Get("Content-Type"), f.ctype, f.path)
		assert.NotEmpty(t, body, f.path)
	}
	// Nothing on the page comes from another origin.
	for _, p := range []string{"/", "/ui/app.js", "/ui/style.css"} {
		_, body := get(p)
		assert.NotContains(t, body, "http://", p)
		assert.NotContains(t, body, "https://", p)
	}
	resp, _ = get("/rooms")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the API needs the token beside the page")
	resp, _ = get("/ui/missing.js")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	off := testServer(t, Config{DisablePage: true})
	resp2, err := http.Get("http://" + off.HTTPAddr() + "/")
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp2.StatusCode, "with the page off, / is an API path like any other")
}

// TestLevelsEvents: an event stream opened with levels=1 gets the room's
// participants by ID every levelsInterval, with level, talking state,
// loss and jitter; one opened without gets none.
func TestLevelsEvents(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "lv")
	with := openStream(t, s, "/rooms/lv/events?levels=1")
	defer with.Body.Close()
	without := openStream(t, s, "/rooms/lv/events")
	defer without.Body.Close()
	evWith, evWithout := readEvents(with.Body), readEvents(without.Body)
	a := joinPeer(t, s, "lv", "alice", peerOpts{})
	joinPeer(t, s, "lv", "bob", peerOpts{})
	a.sendRTP(t, 25)
	var got levelsJSON
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		e := waitEvent(t, evWith, "levels")
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(e, "levels ")), &got))
		if len(got.Participants) == 2 && got.Participants[0].PacketsIn > 0 {
			break
		}
	}
	require.Len(t, got.Participants, 2)
	assert.Equal(t, "lv", got.Room)
	al, bo := got.Participants[0], got.Participants[1]
	assert.Equal(t, "alice", al.ID)
	assert.Equal(t, "bob", bo.ID)
	assert.Equal(t, "rtp", al.Transport)
	assert.Equal(t, "PCMU/8000", al.Codec)
	assert.Positive(t, al.PacketsIn)
	assert.True(t, al.Connected, "alice sent from her address")
	assert.False(t, bo.Connected, "bob has sent nothing")
	assert.Zero(t, al.LossPct)
	// The stream without levels has the joins and nothing else.
	waitEvent(t, evWithout, "joined", `"participant":"bob"`)
	timeout := time.After(3 * levelsInterval)
	for {
		select {
		case e := <-evWithout:
			assert.False(t, strings.HasPrefix(e, "levels "), "levels sent to a stream that did not ask: %s", e)
			continue
		case <-timeout:
		}
		break
	}
}

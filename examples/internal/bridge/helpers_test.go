package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testToken is the API token of the test servers: every test goes
// through the authorization check, and sees participants' addresses.
const testToken = "test-token-0123456789abcdef"

// noToken in Config.APIToken makes testServer start a bridge without one.
const noToken = "-"

// testServer starts a bridge on free ports and closes it when the test ends.
// Unless cfg says otherwise it has no tick budget for joins: on a loaded
// machine (make test runs packages in parallel, under -race) a tick may be
// descheduled past any budget, and a refused join would fail a test about
// something else. TestTickBudget tests the budget.
func testServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	cfg.HTTPAddr = "127.0.0.1:0"
	if cfg.TickBudget == 0 {
		cfg.TickBudget = -1
	}
	switch cfg.APIToken {
	case "":
		cfg.APIToken = testToken
	case noToken:
		cfg.APIToken = ""
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// call does an HTTP request against s and returns status and body.
func call(t *testing.T, s *Server, method, path, contentType string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.HTTPAddr()+path, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if s.cfg.APIToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.APIToken)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b, resp.Header
}

// openStream starts a GET of path on s (an event stream) and returns the
// response, whose body the caller reads and closes.
func openStream(t *testing.T, s *Server, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.HTTPAddr()+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.cfg.APIToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return resp
}

func mkRoom(t *testing.T, s *Server, name string) {
	t.Helper()
	code, body, _ := call(t, s, "POST", "/rooms", "application/json", []byte(`{"name":"`+name+`"}`))
	require.Equal(t, http.StatusCreated, code, string(body))
}

func getJSON(t *testing.T, s *Server, path string, v any) {
	t.Helper()
	code, body, _ := call(t, s, "GET", path, "", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	require.NoError(t, json.Unmarshal(body, v), string(body))
}

// offerSDP is an offer for one audio stream received at port on
// 127.0.0.1; extra lines follow the m-line.
func offerSDP(port int, proto, fmts string, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=test\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d %s %s\r\n", port, proto, fmts)
	for _, l := range extra {
		b.WriteString(l + "\r\n")
	}
	return []byte(b.String())
}

func portOf(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

// eventually polls cond every 10 ms for up to d.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf(msg, args...)
}

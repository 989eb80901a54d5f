package bridge

import (
	"net"
	"net/http"
	"testing"
)

// TestConnLimiterShedStaysShed: a connection shed for a new one may still
// report its state (its server goroutine read a request before the close
// reached it); that report must not bring it back over the cap.
func TestConnLimiterShedStaysShed(t *testing.T) {
	cl := newConnLimiter(2)
	var conns []net.Conn
	for range 3 {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		conns = append(conns, a)
	}
	cl.track(conns[0], http.StateNew)
	cl.track(conns[1], http.StateNew)
	cl.track(conns[2], http.StateNew) // over the cap: a fresh one is shed
	for _, c := range conns {
		cl.track(c, http.StateActive)
		cl.track(c, http.StateIdle)
	}
	if st := cl.stats(); st.Open > 2 {
		t.Fatalf("%d open against a cap of 2 (%+v)", st.Open, st)
	}
	for _, c := range conns {
		cl.track(c, http.StateClosed)
	}
	if st := cl.stats(); st.Open != 0 {
		t.Fatalf("%d open after every connection closed", st.Open)
	}
}

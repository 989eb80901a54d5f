package bridge

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/srtp"
)

// logCapture is a JSON slog handler's output, safe for concurrent writes.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// logger returns a logger that writes JSON records into c, at debug.
func (c *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records returns the records whose message is msg and whose attributes
// include every key and value of match.
func (c *logCapture) records(t *testing.T, msg string, match map[string]string) []map[string]any {
	t.Helper()
	c.mu.Lock()
	lines := strings.Split(strings.TrimSpace(c.buf.String()), "\n")
	c.mu.Unlock()
	var out []map[string]any
	for _, line := range lines {
		if line == "" {
			continue
		}
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		if r["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range match {
			if s, _ := r[k].(string); s != v {
				ok = false
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// srtpPacket is the peer's next SRTP packet, as sendRTP would send it.
func (p *peer) srtpPacket(t *testing.T) []byte {
	t.Helper()
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc},
		Payload: make([]byte, 160)}).Marshal()
	require.NoError(t, err)
	pkt, err = p.prot.ProtectRTP(nil, pkt)
	require.NoError(t, err)
	p.seq++
	p.ts += 160
	return pkt
}

// sendFrom sends n of the peer's next packets from c instead of its own
// socket: the peer restarted on another port, or moved.
func (p *peer) sendFrom(t *testing.T, c *net.UDPConn, n int) {
	t.Helper()
	own := p.rtpC
	p.rtpC = c
	defer func() { p.rtpC = own }()
	p.sendRTP(t, n)
}

func addrOf(c *net.UDPConn) string { return c.LocalAddr().(*net.UDPAddr).AddrPort().String() }

// TestSRTPLatchMoves: an SRTP sender that restarts on another port is
// followed once its packets authenticate there (it was dropped as foreign
// until it rejoined); a genuine packet that a third party replays from
// its own address moves nothing. For a comedia offer, media follows the
// latch.
func TestSRTPLatchMoves(t *testing.T) {
	for _, comedia := range []bool{false, true} {
		name := "offer-address"
		if comedia {
			name = "comedia"
		}
		t.Run(name, func(t *testing.T) {
			var logs logCapture
			s := testServer(t, Config{Logger: logs.logger()})
			mkRoom(t, s, "r")
			o := peerOpts{srtp: true, mux: true}
			if comedia {
				o.offerAddr = netip.MustParseAddrPort("0.0.0.0:9")
			}
			bob := joinPeer(t, s, "r", "bob", o)
			// Someone to hear, so that the room sends bob a mix.
			joinPeer(t, s, "r", "carol", peerOpts{})
			bob.sendRTP(t, 5)
			var j participantJSON
			eventually(t, 2*time.Second, func() bool { j, _ = bob.stats(t, s, "r"); return j.Sending }, "bob not latched")
			require.Equal(t, addrOf(bob.rtpC), j.Latched)

			// A third party replays a genuine packet from elsewhere.
			genuine := bob.srtpPacket(t)
			_, err := bob.rtpC.WriteToUDP(append([]byte(nil), genuine...), bob.toRTP)
			require.NoError(t, err)
			attacker := listenOn(t, attackerIP)
			for range 3 {
				_, err = attacker.WriteToUDP(genuine, bob.toRTP)
				require.NoError(t, err)
			}
			eventually(t, 2*time.Second, func() bool { j, _ = bob.stats(t, s, "r"); return j.SRTPReplays == 3 },
				"replays not refused: %+v", &j)
			assert.Equal(t, addrOf(bob.rtpC), j.Latched, "a replay moved the latch")
			assert.Zero(t, j.LatchMoves)
			assert.Zero(t, j.Foreign, "counted once, as replays")
			assert.Equal(t, "127.0.0.1:"+itoa(portOf(bob.rtpC)), j.SendTo)

			// Bob restarts on another port, same keys.
			restarted := listenOn(t, netip.MustParseAddr("127.0.0.1"))
			before := j.PacketsIn + j.JitterRejected
			bob.sendFrom(t, restarted, 5)
			eventually(t, 2*time.Second, func() bool { j, _ = bob.stats(t, s, "r"); return j.PacketsIn+j.JitterRejected == before+5 },
				"the restarted sender's packets did not reach the mixer: %+v", &j)
			assert.Equal(t, addrOf(restarted), j.Latched)
			assert.Equal(t, uint64(1), j.LatchMoves)
			assert.Equal(t, uint64(3), j.SRTPReplays, "nothing more refused")
			moved := logs.records(t, "latch moved: SRTP authenticated from a new address",
				map[string]string{"conference": "r", "participant": "bob", "from": addrOf(bob.rtpC), "to": addrOf(restarted)})
			require.Len(t, moved, 1)
			if comedia {
				assert.Equal(t, addrOf(restarted), j.SendTo, "comedia: media follows the latch")
				assert.True(t, receives(restarted, 2*time.Second), "no media at the new address")
			} else {
				assert.Equal(t, addrOf(bob.rtpC), j.SendTo, "media still goes where the offer said")
			}
		})
	}
}

// TestPlainLatchStays: without SRTP nothing proves a sender, so the latch
// stays and packets from a new address are dropped as foreign; the log
// says so, at most once per leg per LogInterval, naming the source and
// the latch.
func TestPlainLatchStays(t *testing.T) {
	var logs logCapture
	const interval = 400 * time.Millisecond
	s := testServer(t, Config{Logger: logs.logger(), LogInterval: interval, RTCPInterval: 50 * time.Millisecond})
	mkRoom(t, s, "r")
	alice := joinPeer(t, s, "r", "alice", peerOpts{})
	alice.sendRTP(t, 3)
	var j participantJSON
	// Wait for all three, not just the latch: the reader may still be
	// handing the second and third to the mixer when the first latches.
	eventually(t, 2*time.Second, func() bool {
		j, _ = alice.stats(t, s, "r")
		return j.Latched != "" && j.PacketsIn == 3
	}, "alice not latched with 3 packets in")
	in := j.PacketsIn

	restarted := listenOn(t, netip.MustParseAddr("127.0.0.1"))
	start := time.Now()
	for time.Since(start) < 1300*time.Millisecond {
		alice.sendFrom(t, restarted, 1)
		time.Sleep(20 * time.Millisecond)
	}
	sent := uint64(0)
	eventually(t, 2*time.Second, func() bool {
		j, _ = alice.stats(t, s, "r")
		sent = j.Foreign
		return len(logs.records(t, "inbound packets refused", map[string]string{"reason": "foreign"})) > 0
	}, "foreign drops not logged")
	assert.Equal(t, in, j.PacketsIn, "nothing from the new address reached the mixer")
	assert.Equal(t, addrOf(alice.rtpC), j.Latched)
	assert.Zero(t, j.LatchMoves)
	assert.Positive(t, sent)

	time.Sleep(interval) // the last report
	recs := logs.records(t, "inbound packets refused", map[string]string{"conference": "r", "participant": "alice", "reason": "foreign"})
	require.NotEmpty(t, recs)
	assert.LessOrEqual(t, len(recs), 1+int(time.Since(start)/interval), "at most once per interval")
	var prev time.Time
	for i, r := range recs {
		assert.Equal(t, addrOf(restarted), r["src"])
		assert.Equal(t, addrOf(alice.rtpC), r["latched"])
		assert.Contains(t, r["detail"], "plain RTP cannot prove a sender, so the latch stays")
		at, err := time.Parse(time.RFC3339Nano, r["time"].(string))
		require.NoError(t, err)
		if i > 0 {
			assert.GreaterOrEqual(t, at.Sub(prev), interval-50*time.Millisecond, "record %d too soon", i)
		}
		prev = at
	}
}

// TestWrongKeyLogged: a sender with the wrong SRTP key had every packet
// dropped and nothing logged, even at debug. Now the mixer reports it,
// once per LogInterval, as a warning that names the room, the participant
// and the reason.
func TestWrongKeyLogged(t *testing.T) {
	var logs logCapture
	s := testServer(t, Config{Logger: logs.logger()})
	mkRoom(t, s, "r")
	bob := joinPeer(t, s, "r", "bob", peerOpts{srtp: true})
	wrong, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	bob.prot, err = srtp.NewProtector(wrong)
	require.NoError(t, err)
	bob.sendRTP(t, 60)
	match := map[string]string{"conference": "r", "participant": "bob", "reason": "srtp_auth"}
	eventually(t, 3*time.Second, func() bool { return len(logs.records(t, "inbound packets refused", match)) > 0 },
		"wrong key not logged")
	bob.sendRTP(t, 20)
	time.Sleep(1500 * time.Millisecond) // more passes: nothing more within the interval
	recs := logs.records(t, "inbound packets refused", match)
	require.Len(t, recs, 1)
	assert.Equal(t, "WARN", recs[0]["level"])
	assert.Equal(t, srtp.ErrAuth.Error(), recs[0]["err"])
	assert.Equal(t, recs[0]["count"], recs[0]["total"], "the first report counts from the start")
	assert.LessOrEqual(t, recs[0]["total"].(float64), 60.0)
	j, _ := bob.stats(t, s, "r")
	assert.Equal(t, uint64(80), j.SRTPAuthFailures)
	assert.Empty(t, j.Latched)

	// The room's lifecycle comes from the mixer, with the bridge's reason.
	code, body, _ := call(t, s, "DELETE", "/rooms/r/participants/bob", "", nil)
	require.Equal(t, 204, code, string(body))
	eventually(t, 2*time.Second, func() bool {
		return len(logs.records(t, "participant left", map[string]string{"conference": "r", "participant": "bob", "reason": "deleted"})) == 1
	}, "no participant left record with the reason")
	assert.Len(t, logs.records(t, "conference created", map[string]string{"conference": "r"}), 1)
}

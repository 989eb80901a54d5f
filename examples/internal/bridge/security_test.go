package bridge

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestForgedSRTCPAtBothPorts is issue 10's remote crash: forged SRTCP (a
// random tag, no keys needed) at both the RTP and the RTCP port of an
// AES_CM_128_HMAC_SHA1_80 leg without rtcp-mux, from two goroutines. The
// bridge used to hand RTCP-typed packets from its RTP reader to the SRTCP
// context its RTCP reader was using, and died within a second at 20k
// packets/s (panic: d.nx != 0 in crypto/sha1; data races under -race).
// Now RTCP on the RTP port of a leg without rtcp-mux is dropped and the
// RTCP reader alone owns the context: the bridge survives, the leg stays,
// the drops are counted, and the peer's own SRTCP still gets through.
func TestForgedSRTCPAtBothPorts(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "r")
	victim := joinPeer(t, s, "r", "victim", peerOpts{srtp: true})
	victim.sendRTP(t, 3)
	eventually(t, 2*time.Second, func() bool { j, _ := victim.stats(t, s, "r"); return j.Sending }, "victim not latched")

	// 5,000 packets/s at each port for 2 s, at most 10,000 each.
	const rate, perPort, span = 5000, 10000, 2 * time.Second
	var sent atomic.Uint64
	var wg sync.WaitGroup
	start := time.Now()
	for _, to := range []*net.UDPAddr{victim.toRTP, victim.toRTCP} {
		c := listenOn(t, attackerIP)
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkts := make([][]byte, 64)
			for i := range pkts {
				pkts[i] = forgedSRTCP(200 + uint8(i%2)) // SR, RR
			}
			for n := 0; n < perPort; {
				el := time.Since(start)
				if el > span {
					return
				}
				for want := min(perPort, int(el.Seconds()*rate)); n < want; n++ {
					if _, err := c.WriteToUDP(pkts[n%len(pkts)], to); err == nil {
						sent.Add(1)
					}
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)

	// Wait until the readers have dealt with what arrived (the kernel may
	// have dropped some when a reader fell behind).
	var j participantJSON
	prev := uint64(1<<64 - 1)
	eventually(t, 5*time.Second, func() bool {
		var ok bool
		j, ok = victim.stats(t, s, "r")
		require.True(t, ok, "the victim was removed")
		h := j.handled()
		settled := h == prev
		prev = h
		time.Sleep(50 * time.Millisecond)
		return settled
	}, "counters did not settle")
	t.Logf("sent %d forged SRTCP packets in %v (%.0f/s); dropped: %d RTCP on the RTP port without rtcp-mux, %d failed SRTCP; %d foreign",
		sent.Load(), took.Round(time.Millisecond), float64(sent.Load())/took.Seconds(), j.RTCP.NotMuxed, j.RTCP.Bad, j.Foreign)
	assert.Positive(t, j.RTCP.NotMuxed, "RTCP at the RTP port is dropped and counted")
	assert.Positive(t, j.RTCP.Bad, "forged SRTCP at the RTCP port fails and is counted")
	assert.LessOrEqual(t, j.handled(), sent.Load())
	assert.Zero(t, j.RTCP.Received, "nothing forged was accepted")
	assert.True(t, j.Sending)

	victim.report(t)
	eventually(t, 2*time.Second, func() bool { j, _ = victim.stats(t, s, "r"); return j.RTCP.RR == 1 },
		"the peer's own SRTCP report is not accepted after the flood: %+v", &j)
	assert.Equal(t, uint64(1), j.RTCP.Received)
}

// byeSetup is one of the ways a participant can be set up when a foreign
// BYE arrives.
type byeSetup struct {
	opts  peerOpts
	stage string // fresh: nothing received yet; rtp: after its RTP; rtcp: after RTP and a report
}

func (b byeSetup) String() string {
	s := "plain"
	if b.opts.srtp {
		s = "srtp"
	}
	if b.opts.mux {
		s += "/mux"
	} else {
		s += "/no-mux"
	}
	if b.opts.listenOnly {
		s += "/listen-only"
	}
	return s + "/" + b.stage
}

// TestForeignBye: an RTCP BYE from anyone but the participant removes
// nobody, in every setup: plain RTP and SRTP, with and without rtcp-mux,
// before anything has arrived from the peer, after its RTP, after its
// reports, listen-only legs (which send no RTP), at the RTP port and at the
// RTCP port, naming the peer's SSRC, another one or none. (Before: a
// foreign BYE removed plain-RTP participants in 7 of 9 such setups.) A BYE
// from the peer's own address naming another SSRC is ignored too. The
// peer's own BYE still removes it.
func TestForeignBye(t *testing.T) {
	s := testServer(t, Config{Idle: -1})
	mkRoom(t, s, "r")
	var setups []byeSetup
	for _, srtp := range []bool{false, true} {
		for _, mux := range []bool{false, true} {
			for _, stage := range []string{"fresh", "rtp", "rtcp"} {
				setups = append(setups, byeSetup{peerOpts{srtp: srtp, mux: mux}, stage})
			}
			for _, stage := range []string{"fresh", "rtcp"} {
				setups = append(setups, byeSetup{peerOpts{srtp: srtp, mux: mux, listenOnly: true}, stage})
			}
		}
	}
	attacker := listenOn(t, attackerIP)
	for i, setup := range setups {
		t.Run(setup.String(), func(t *testing.T) {
			p := joinPeer(t, s, "r", fmt.Sprintf("p%d", i), setup.opts)
			switch setup.stage {
			case "rtp":
				p.sendRTP(t, 3)
			case "rtcp":
				if !setup.opts.listenOnly {
					p.sendRTP(t, 3)
				}
				p.report(t)
			}
			eventually(t, 2*time.Second, func() bool {
				j, _ := p.stats(t, s, "r")
				switch setup.stage {
				case "rtp":
					return j.Sending && j.PacketsIn == 3
				case "rtcp":
					return j.Sending && j.RTCP.Received == 1
				}
				return true
			}, "the peer's packets did not arrive")
			before, _ := p.stats(t, s, "r")

			// What an attacker sends, at each port: BYEs naming the
			// peer's SSRC, another SSRC and none; forged SRTCP for SRTP.
			var forged [][]byte
			for _, srcs := range [][]uint32{{p.ssrc}, {0xdeadbeef}, nil} {
				b, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0xdeadbeef}, &rtcp.Goodbye{Sources: srcs}})
				require.NoError(t, err)
				forged = append(forged, b)
			}
			forged = append(forged, forgedSRTCP(201), forgedSRTCP(203))
			n := 0
			for _, to := range []*net.UDPAddr{p.toRTP, p.toRTCP} {
				for _, b := range forged {
					_, err := attacker.WriteToUDP(b, to)
					require.NoError(t, err)
					n++
				}
			}
			// From the peer's own RTCP socket, but naming another SSRC.
			_, err := p.rtcpC.WriteToUDP(p.rtcpPacket(t, &rtcp.ReceiverReport{SSRC: p.ssrc}, &rtcp.Goodbye{Sources: []uint32{0xdeadbeef}}), p.toRTCP)
			require.NoError(t, err)
			n++
			var j participantJSON
			eventually(t, 2*time.Second, func() bool {
				var ok bool
				j, ok = p.stats(t, s, "r")
				require.True(t, ok, "a foreign BYE removed the participant")
				return j.handled() == before.handled()+uint64(n)
			}, "not every datagram was counted: %+v", &j)
			assert.Equal(t, before.RTCP.ByeIgnored+1, j.RTCP.ByeIgnored, "the BYE naming another SSRC was ignored")
			assert.Equal(t, before.RTCP.Received+1, j.RTCP.Received, "only the peer's own packet was accepted")

			p.bye(t)
			eventually(t, 2*time.Second, func() bool { _, ok := p.stats(t, s, "r"); return !ok }, "the peer's own BYE did not remove it")
		})
	}
}

// count reads c for d and returns how many datagrams arrived.
func count(c *net.UDPConn, d time.Duration) int {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 1500)
	n := 0
	for {
		if _, err := c.Read(buf); err != nil {
			return n
		}
		n++
	}
}

// receives reports whether a datagram arrives at c within d.
func receives(c *net.UDPConn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1500))
	return err == nil
}

// TestReflection: an offer that names somebody else's address makes the
// bridge send nothing there, even while the attacker feeds its leg with
// valid RTP from its own address (before: ~50 packets/s to the third
// party). A listen-only peer that sends only a receiver report proves its
// address and then hears the room; a comedia offer is answered where it
// sends from; the operator may trust offers and send at once.
func TestReflection(t *testing.T) {
	t.Run("third party", func(t *testing.T) {
		s := testServer(t, Config{})
		mkRoom(t, s, "r")
		third := listenOn(t, thirdIP)
		att := joinPeer(t, s, "r", "attacker", peerOpts{offerAddr: third.LocalAddr().(*net.UDPAddr).AddrPort()})
		att.rtpC = listenOn(t, attackerIP) // it sends from elsewhere than it offered
		got := make(chan int, 1)
		go func() { got <- count(third, time.Second) }()
		for range 10 {
			att.sendRTP(t, 5)
			time.Sleep(100 * time.Millisecond)
		}
		assert.Zero(t, <-got, "the third party received packets")
		j, ok := att.stats(t, s, "r")
		require.True(t, ok)
		assert.Positive(t, j.PacketsIn, "the attacker's RTP was taken")
		assert.False(t, j.Sending)
		assert.Positive(t, j.Unsent, "the mix for the leg was counted, not sent")
		assert.Zero(t, count(att.rtpC, 100*time.Millisecond), "nor did the attacker's own address get any (it is not the offer's)")
	})
	for _, o := range []peerOpts{{}, {mux: true}, {srtp: true}, {srtp: true, mux: true}} {
		o.listenOnly = true
		t.Run(byeSetup{o, "listener"}.String(), func(t *testing.T) {
			s := testServer(t, Config{})
			mkRoom(t, s, "r")
			p := joinPeer(t, s, "r", "listener", o)
			assert.Zero(t, count(p.rtpC, 200*time.Millisecond), "sent before the peer proved its address")
			p.report(t)
			assert.True(t, receives(p.rtpC, 3*time.Second), "the report did not prove the listener's address")
			j, _ := p.stats(t, s, "r")
			assert.True(t, j.Sending)
			assert.Equal(t, p.rtpC.LocalAddr().String(), j.SendTo)
		})
	}
	t.Run("comedia", func(t *testing.T) {
		s := testServer(t, Config{})
		mkRoom(t, s, "r")
		p := joinPeer(t, s, "r", "natted", peerOpts{mux: true, offerAddr: netip.MustParseAddrPort("0.0.0.0:9")})
		assert.Zero(t, count(p.rtpC, 200*time.Millisecond))
		p.sendRTP(t, 1)
		assert.True(t, receives(p.rtpC, 3*time.Second), "comedia: not answered where it sends from")
	})
	t.Run("trusted offers", func(t *testing.T) {
		s := testServer(t, Config{TrustOfferAddress: true})
		mkRoom(t, s, "r")
		third := listenOn(t, thirdIP)
		joinPeer(t, s, "r", "trusted", peerOpts{offerAddr: third.LocalAddr().(*net.UDPAddr).AddrPort()})
		assert.True(t, receives(third, 3*time.Second), "TrustOfferAddress sends at once")
	})
}

// TestOffersAimedAtTheBridge: an offer whose RTP or RTCP address is the
// bridge's own (a media port it holds or may hold) is refused, so two offers naming each other's ports cannot make the loop
// that used to echo the room forever; so are multicast and broadcast
// groups. A port an offer names is never bound for a later leg.
func TestOffersAimedAtTheBridge(t *testing.T) {
	lo := freePortRange(t, 8)
	s := testServer(t, Config{PortMin: lo, PortMax: lo + 7})
	mkRoom(t, s, "r")
	a := joinPeer(t, s, "r", "a", peerOpts{})
	require.Equal(t, lo, a.toRTP.Port, "ports are handed out from the bottom of the range")
	cases := map[string][]byte{
		"next leg's port (predictable)": offerSDP(lo+2, "RTP/AVP", "0", "a=rtcp-mux"),
		"a held port":                   offerSDP(lo, "RTP/AVP", "0"),
		"RTCP at a held port":           offerSDP(40000, "RTP/AVP", "0", "a=rtcp:"+itoa(lo+1)),
		"multicast":                     offerSDPAt(netip.MustParseAddrPort("224.0.0.1:40000"), "RTP/AVP", "0"),
		"broadcast":                     offerSDPAt(netip.MustParseAddrPort("255.255.255.255:40000"), "RTP/AVP", "0"),
		"RTCP to 0.0.0.0 (this host)":   offerSDP(40000, "RTP/AVP", "0", "a=rtcp:40001 IN IP4 0.0.0.0"),
	}
	for name, offer := range cases {
		t.Run(name, func(t *testing.T) {
			code, body, _ := call(t, s, "POST", "/rooms/r/participants", "application/sdp", offer)
			assert.Equal(t, statusNotAcceptableHere, code, string(body))
			assert.Contains(t, string(body), "not acceptable")
		})
	}
	var st roomStatsJSON
	getJSON(t, s, "/rooms/r", &st)
	assert.Equal(t, []string{"a"}, st.IDs)

	// With kernel-chosen ports: a leg's own ports are refused, and a port
	// an offer names on the media IP is skipped when binding.
	s2 := testServer(t, Config{})
	mkRoom(t, s2, "r")
	b := joinPeer(t, s2, "r", "b", peerOpts{})
	code, body, _ := call(t, s2, "POST", "/rooms/r/participants", "application/sdp", offerSDP(b.toRTP.Port, "RTP/AVP", "0"))
	assert.Equal(t, statusNotAcceptableHere, code, string(body))
	// The API's port is TCP: a peer whose RTP port has its number (the
	// kernel hands out UDP and TCP ports independently) is no loop.
	httpPort := s2.ln.Addr().(*net.TCPAddr).Port
	code, body, _ = call(t, s2, "POST", "/rooms/r/participants?id=h", "application/sdp", offerSDP(httpPort, "RTP/AVP", "0"))
	assert.Equal(t, http.StatusCreated, code, string(body))

	s3 := testServer(t, Config{PortMin: lo, PortMax: lo + 3})
	o := &offer{rtpDst: netip.AddrPortFrom(s3.mediaIP, uint16(lo)), rtcpDst: netip.AddrPortFrom(s3.mediaIP, uint16(lo+1))}
	s3.target(o, true)
	rtpC, rtcpC, err := s3.bindPair(false)
	require.NoError(t, err)
	assert.Equal(t, lo+2, rtpC.LocalAddr().(*net.UDPAddr).Port, "the targeted pair was skipped")
	_ = rtpC.Close()
	_ = rtcpC.Close()
	s3.target(o, false)
	assert.False(t, s3.isTarget(uint16(lo)))
}

// freePortRange finds n consecutive free UDP ports on 127.0.0.1, starting
// at an even one, for a bridge's media range.
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		c := listenOn(t, netip.MustParseAddr("127.0.0.1"))
		lo := c.LocalAddr().(*net.UDPAddr).Port &^ 1
		_ = c.Close()
		if lo < 1024 || lo+n > 65535 {
			continue
		}
		ok := true
		for p := lo; p < lo+n && ok; p++ {
			d, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				ok = false
				continue
			}
			_ = d.Close()
		}
		if ok {
			return lo
		}
	}
	t.Fatal("no free port range")
	return 0
}

// TestAddressesOnlyWithToken: without an API token (loopback only) the API
// shows no participant's addresses; with one, every caller has it and sees
// them.
func TestAddressesOnlyWithToken(t *testing.T) {
	for _, token := range []string{noToken, ""} {
		s := testServer(t, Config{APIToken: token})
		mkRoom(t, s, "r")
		p := joinPeer(t, s, "r", "alice", peerOpts{})
		p.sendRTP(t, 3)
		p.report(t)
		eventually(t, 2*time.Second, func() bool { j, _ := p.stats(t, s, "r"); return j.Sending && j.RTCP.Received == 1 }, "not latched")
		code, body, _ := call(t, s, "GET", "/rooms/r/participants", "", nil)
		require.Equal(t, http.StatusOK, code)
		var m []map[string]any
		require.NoError(t, json.Unmarshal(body, &m))
		require.Len(t, m, 1)
		for _, k := range []string{"send_to", "latched", "rtcp_latched"} {
			_, shown := m[0][k]
			assert.Equal(t, s.authenticated(), shown, "token %v: %s", s.authenticated(), k)
		}
		if s.authenticated() {
			assert.Equal(t, p.rtpC.LocalAddr().String(), m[0]["latched"])
			assert.Equal(t, p.rtcpC.LocalAddr().String(), m[0]["rtcp_latched"])
		}
	}
}

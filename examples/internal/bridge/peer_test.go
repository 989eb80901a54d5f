package bridge

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/srtp"
)

// The addresses of the security tests: the peer on 127.0.0.1 (where its
// offer says it is), an attacker and a third party on other hosts of the
// loopback network.
var (
	attackerIP = netip.MustParseAddr("127.0.0.2")
	thirdIP    = netip.MustParseAddr("127.0.0.3")
)

// listenOn opens a UDP socket on a free port of ip, closed when the test
// ends.
func listenOn(t *testing.T, ip netip.Addr) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// peerOpts describe a test participant's offer.
type peerOpts struct {
	srtp       bool // RTP/SAVP with AES_CM_128_HMAC_SHA1_80
	mux        bool // a=rtcp-mux
	listenOnly bool // a=recvonly and listen_only=1
	// offerAddr, when valid, is the address the offer names instead of
	// the peer's own sockets (an attacker's offer).
	offerAddr netip.AddrPort
}

// peer is a PCMU participant driven by the test, plain or SRTP, with or
// without rtcp-mux. It sends RTP from rtpC and RTCP from rtcpC (the same
// socket under rtcp-mux).
type peer struct {
	id          string
	rtpC, rtcpC *net.UDPConn
	toRTP       *net.UDPAddr // the bridge's ports for this peer
	toRTCP      *net.UDPAddr
	prot        *srtp.Protector // nil for plain RTP
	keys        srtp.Keys
	ssrc        uint32
	seq         uint16
	ts          uint32
}

// joinPeer joins a participant to room through the API.
func joinPeer(t *testing.T, s *Server, room, id string, o peerOpts) *peer {
	t.Helper()
	p, code, body := tryJoinPeer(t, s, room, id, o)
	require.Equal(t, http.StatusCreated, code, string(body))
	return p
}

// tryJoinPeer is joinPeer that returns the status and body of a refusal.
func tryJoinPeer(t *testing.T, s *Server, room, id string, o peerOpts) (*peer, int, []byte) {
	t.Helper()
	p := &peer{id: id, rtpC: listenOn(t, netip.MustParseAddr("127.0.0.1")), ssrc: 0x5000_0000 | uint32(len(id))}
	p.rtcpC = p.rtpC
	if !o.mux {
		p.rtcpC = listenOn(t, netip.MustParseAddr("127.0.0.1"))
	}
	rtpAt, rtcpAt := p.rtpC.LocalAddr().(*net.UDPAddr).AddrPort(), p.rtcpC.LocalAddr().(*net.UDPAddr).AddrPort()
	if o.offerAddr.IsValid() {
		rtpAt, rtcpAt = o.offerAddr, netip.AddrPortFrom(o.offerAddr.Addr(), o.offerAddr.Port()+1)
	}
	proto := "RTP/AVP"
	var extra []string
	if o.srtp {
		proto = "RTP/SAVP"
		k, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
		require.NoError(t, err)
		p.keys = k
		p.prot, err = srtp.NewProtector(k)
		require.NoError(t, err)
		extra = append(extra, srtp.Crypto{Tag: 1, Keys: k}.SDPLine())
	}
	if o.mux {
		extra = append(extra, "a=rtcp-mux")
	} else {
		extra = append(extra, "a=rtcp:"+itoa(int(rtcpAt.Port())))
	}
	path := "/rooms/" + room + "/participants?id=" + id
	if o.listenOnly {
		extra = append(extra, "a=recvonly")
		path += "&listen_only=1"
	}
	offer := offerSDPAt(rtpAt, proto, "0", extra...)
	code, body, _ := call(t, s, "POST", path, "application/sdp", offer)
	if code != http.StatusCreated {
		return nil, code, body
	}
	var ans sdp.SessionDescription
	require.NoError(t, ans.UnmarshalString(string(body)))
	port := ans.MediaDescriptions[0].MediaName.Port.Value
	rtcpPort := port
	if v, ok := ans.MediaDescriptions[0].Attribute("rtcp"); ok {
		rtcpPort = atoi(v)
	}
	p.toRTP = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	p.toRTCP = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: rtcpPort}
	return p, code, body
}

// offerSDPAt is offerSDP with the c= address and m= port of at.
func offerSDPAt(at netip.AddrPort, proto, fmts string, extra ...string) []byte {
	b := offerSDP(int(at.Port()), proto, fmts, extra...)
	return []byte(strings.ReplaceAll(string(b), "IN IP4 127.0.0.1", "IN IP4 "+at.Addr().String()))
}

// sendRTP sends n PCMU packets of silence (SRTP when the peer has keys).
func (p *peer) sendRTP(t *testing.T, n int) {
	t.Helper()
	for range n {
		pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc},
			Payload: make([]byte, 160)}).Marshal()
		require.NoError(t, err)
		if p.prot != nil {
			pkt, err = p.prot.ProtectRTP(nil, pkt)
			require.NoError(t, err)
		}
		_, err = p.rtpC.WriteToUDP(pkt, p.toRTP)
		require.NoError(t, err)
		p.seq++
		p.ts += 160
	}
}

// rtcpPacket is a compound RTCP packet from the peer (SRTCP when it has
// keys).
func (p *peer) rtcpPacket(t *testing.T, pkts ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	require.NoError(t, err)
	if p.prot != nil {
		b, err = p.prot.ProtectRTCP(nil, b)
		require.NoError(t, err)
	}
	return b
}

// sendRTCP sends a compound packet from the peer's RTCP socket.
func (p *peer) sendRTCP(t *testing.T, pkts ...rtcp.Packet) {
	t.Helper()
	_, err := p.rtcpC.WriteToUDP(p.rtcpPacket(t, pkts...), p.toRTCP)
	require.NoError(t, err)
}

// report sends a receiver report: a listener's proof that it is there.
func (p *peer) report(t *testing.T) {
	t.Helper()
	p.sendRTCP(t, &rtcp.ReceiverReport{SSRC: p.ssrc})
}

// bye sends the peer's own goodbye for its stream.
func (p *peer) bye(t *testing.T) {
	t.Helper()
	p.sendRTCP(t, &rtcp.ReceiverReport{SSRC: p.ssrc}, &rtcp.Goodbye{Sources: []uint32{p.ssrc}})
}

func (p *peer) stats(t *testing.T, s *Server, room string) (participantJSON, bool) {
	t.Helper()
	code, body, _ := call(t, s, "GET", "/rooms/"+room+"/participants/"+p.id, "", nil)
	if code == http.StatusNotFound {
		return participantJSON{}, false
	}
	require.Equal(t, http.StatusOK, code, string(body))
	var j participantJSON
	require.NoError(t, json.Unmarshal(body, &j))
	return j, true
}

// handled is how many datagrams a leg has dealt with that did not reach
// the mixer: dropped by cause, or accepted as RTCP.
func (j participantJSON) handled() uint64 {
	return j.Garbage + j.Foreign + j.RTCP.NotMuxed + j.RTCP.Bad + j.RTCP.Received
}

// forgedSRTCP is what an attacker without keys sends: an RTCP header, a
// random body, an SRTCP index with the E flag and a random 80-bit tag.
func forgedSRTCP(pt uint8) []byte {
	b := make([]byte, 8+20+4+10)
	_, _ = rand.Read(b)
	b[0], b[1] = 0x80, pt
	binary.BigEndian.PutUint16(b[2:], 6) // 28 bytes of RTCP
	b[28] |= 0x80
	return b
}

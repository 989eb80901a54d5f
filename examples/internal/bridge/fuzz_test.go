package bridge

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"

	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// FuzzOffer: any body either is refused with errBadOffer or
// errNotAcceptable, or yields an offer whose answer is SDP that parses
// again with the chosen codec and the bridge's own key; never a panic.
// Package negotiate fuzzes the negotiation itself; what is fuzzed here is
// the bridge's use of it.
func FuzzOffer(f *testing.F) {
	keys, _ := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	f.Add(string(offerSDP(40000, "RTP/SAVP", "97 0", "a=rtpmap:97 opus/48000/2", "a=fmtp:97 useinbandfec=1",
		srtp.Crypto{Tag: 1, Keys: keys}.SDPLine(), "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on")))
	f.Add(string(offerSDP(40000, "RTP/AVP", "8 13", "a=rtpmap:13 CN/8000", "a=rtcp-mux", "a=sendonly")))
	f.Add(string(offerSDP(40000, "RTP/AVP", "0", "a=rtcp:40005 IN IP4 127.0.0.2", "a=ptime:20")))
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")
	f.Add("garbage")
	ok := func(name string) bool { return name != "G722/8000" }
	f.Fuzz(func(t *testing.T, body string) {
		o, err := parseOffer([]byte(body), ok)
		if err != nil {
			if !errors.Is(err, errBadOffer) && !errors.Is(err, errNotAcceptable) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if o.format.Name == "" || !o.rtpDst.IsValid() || (o.crypto == nil) != (o.proto == "RTP/AVP" || o.proto == "RTP/AVPF") {
			t.Fatalf("accepted an unusable offer: %+v", o)
		}
		ans, err := buildAnswer(o, answerParams{ip: netip.MustParseAddr("127.0.0.1"), rtpPort: 30000, rtcpPort: 30001,
			ptimeMillis: 20})
		if err != nil {
			t.Fatalf("answer: %v", err)
		}
		var sd sdp.SessionDescription
		if err := sd.UnmarshalString(string(ans)); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, ans)
		}
		back, err := parseOffer(ans, ok)
		if err != nil {
			t.Fatalf("answer is not readable back: %v\n%s", err, ans)
		}
		if back.format != o.format || (back.crypto == nil) != (o.crypto == nil) ||
			(o.crypto != nil && !back.crypto.Keys.Equal(o.leg.SRTP.Local.Keys)) {
			t.Fatalf("answer read back differs: %+v, offer %+v\n%s", back, o, ans)
		}
	})
}

// FuzzLegRTCP sends hostile datagrams at a leg's RTCP path: plain and SRTP
// legs, with and without rtcp-mux, at the RTP and the RTCP socket, from the
// peer's RTP and RTCP addresses, another port of its host and another
// host. Each input is a sequence of datagrams for a fresh leg (so that a
// failure replays from its input alone): a byte choosing the leg, then
// records of a byte choosing source and socket, a 16-bit length and the
// datagram. Whatever arrives: no panic; each datagram is counted exactly
// once (dropped by cause, accepted as RTCP, or taken by the mixer); one
// that is not accepted changes nothing (no latch, no proven address, no
// removal); a plain leg accepts RTCP from another host only where its RTP
// latched; only the offered host proves the address; the RTP latch moves
// only on an SRTP leg, to the source of an authenticated RTP datagram; and
// a leg leaves only on an accepted BYE.
func FuzzLegRTCP(f *testing.F) {
	keys := srtp.Keys{Profile: srtp.ProfileAESCM128HMACSHA1_80,
		MasterKey:  []byte("0123456789abcdef"),
		MasterSalt: []byte("0123456789abcd")}
	const ssrc = 0x11223344
	prot, err := srtp.NewProtector(keys)
	if err != nil {
		f.Fatal(err)
	}
	must := func(b []byte, err error) []byte {
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	rr := must(rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: ssrc, Reports: []rtcp.ReceptionReport{{SSRC: 1, LastSequenceNumber: 9}}},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: ssrc, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "peer"}}}}}}))
	sr := must((&rtcp.SenderReport{SSRC: ssrc, NTPTime: 1 << 40, RTPTime: 160, PacketCount: 1, OctetCount: 160}).Marshal())
	bye := must(rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: ssrc}, &rtcp.Goodbye{Sources: []uint32{ssrc}, Reason: "done"}}))
	byeOther := must(rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 7}, &rtcp.Goodbye{Sources: []uint32{7}}}))
	app := must((&rtcp.ApplicationDefined{SSRC: ssrc, Name: "test", Data: []byte{1, 2, 3, 4}}).Marshal())
	rtpPkt := must((&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: ssrc}, Payload: make([]byte, 160)}).Marshal())
	srtpPkt := must(prot.ProtectRTP(nil, rtpPkt))
	rtpPkt2 := must((&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: ssrc, SequenceNumber: 1, Timestamp: 160}, Payload: make([]byte, 160)}).Marshal())
	srtpPkt2 := must(prot.ProtectRTP(nil, rtpPkt2))
	srtcpRR, srtcpBye := must(prot.ProtectRTCP(nil, rr)), must(prot.ProtectRTCP(nil, bye))
	// record: selector (source = sel%4, RTCP socket = sel&4), length, bytes.
	seq := func(leg byte, recs ...any) []byte {
		out := []byte{leg}
		for i := 0; i < len(recs); i += 2 {
			d := recs[i+1].([]byte)
			out = append(out, recs[i].(byte), byte(len(d)>>8), byte(len(d)))
			out = append(out, d...)
		}
		return out
	}
	for leg := range byte(4) {
		for _, src := range []byte{0, 1, 2, 3} {
			for _, sock := range []byte{0, 4} {
				for _, d := range [][]byte{rr, sr, bye, byeOther, app, forgedSRTCP(201), {0x80, 201}, srtcpRR, srtcpBye} {
					f.Add(seq(leg, src|sock, d))
				}
			}
		}
		// Whole calls: media, reports, then a BYE, from the right and
		// the wrong places.
		media, report, end := rtpPkt, rr, bye
		if leg >= 2 {
			media, report, end = srtpPkt, srtcpRR, srtcpBye
		}
		f.Add(seq(leg, byte(0), media, byte(1|4), report, byte(3|4), byeOther, byte(1|4), end))
		f.Add(seq(leg, byte(3), media, byte(3), report, byte(3|4), end))
		f.Add(seq(leg, byte(1|4), report, byte(2|4), end, byte(0), end))
		// A sender that moves (SRTP: the latch follows fresh packets, not
		// replays; plain: it stays), then RTCP from the new place.
		media2 := rtpPkt2
		if leg >= 2 {
			media2 = srtpPkt2
		}
		f.Add(seq(leg, byte(0), media, byte(2), media, byte(2), media2, byte(3), media2, byte(2|4), report))
	}

	s := testServer(f, Config{Idle: -1, RTCPInterval: -1})
	r, err := s.createRoom(roomParams{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	peerRTP := netip.MustParseAddrPort("127.0.0.1:40000")
	peerRTCP := netip.MustParseAddrPort("127.0.0.1:40001")
	sources := []netip.AddrPort{peerRTP, peerRTCP, netip.MustParseAddrPort("127.0.0.1:40100"), netip.AddrPortFrom(attackerIP, 40001)}
	n := 0
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		srtpLeg, mux := in[0]&2 != 0, in[0]&1 != 0
		in = in[1:]
		proto, extra := "RTP/AVP", []string{}
		if srtpLeg {
			proto = "RTP/SAVP"
			extra = append(extra, srtp.Crypto{Tag: 1, Keys: keys}.SDPLine())
		}
		if mux {
			extra = append(extra, "a=rtcp-mux")
		}
		o, err := parseOffer(offerSDP(int(peerRTP.Port()), proto, "0", extra...), s.supported)
		if err != nil {
			t.Fatal(err)
		}
		n++
		// Not started: this goroutine is the leg's one reader.
		l, _, err := s.join(r, joinParams{id: "f" + itoa(n)}, o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.removeLeg(l, "fuzz input done")
		rp := &rtpIn{}
		type view struct {
			handled, accepted, bye uint64
			latched, rtcpLatched   *netip.AddrPort
			proven, closing        bool
		}
		look := func() view {
			c, st := &l.cnt, l.p.Stats()
			if c.rtcpBad.Load() != st.RTCP.Refused.Packets {
				t.Fatalf("the bridge counted %d bad RTCP, the mixer refused %d", c.rtcpBad.Load(), st.RTCP.Refused.Packets)
			}
			return view{
				handled: c.garbage.Load() + c.foreign.Load() + c.rtcpNotMuxed.Load() + c.rtcpBad.Load() +
					st.RTCP.PacketsIn + st.PacketsIn + st.Refused.Packets,
				// What passed parsing and SRTP: taken by the jitter buffer or refused by it.
				accepted: st.RTCP.PacketsIn + st.PacketsIn +
					st.Refused.Late + st.Refused.Duplicate + st.Refused.Full + st.Refused.TooLarge,
				bye:         st.RTCP.Bye - st.RTCP.ByeIgnored,
				latched:     l.latched.Load(),
				rtcpLatched: l.rtcpLatched.Load(),
				proven:      l.out.proven.Load(),
				closing:     l.closing.Load(),
			}
		}
		for len(in) > 0 && !l.closing.Load() {
			sel := in[0]
			var pkt []byte
			if len(in) >= 3 {
				k := min(int(in[1])<<8|int(in[2]), len(in)-3)
				pkt, in = append([]byte(nil), in[3:3+k]...), in[3+k:]
			} else {
				pkt, in = append([]byte(nil), in[1:]...), nil
			}
			src := sources[sel%4]
			toRTCPSocket := sel&4 != 0 && !mux // under rtcp-mux there is no RTCP socket
			rtcpPath := toRTCPSocket || rtcpsession.IsRTCP(pkt)
			before := look()
			now := mixer.Monotonic()
			if toRTCPSocket {
				l.handleRTCP(l.rtcpIn, now, src, pkt)
			} else {
				var rc *rtcpIn
				if mux {
					rc = l.rtcpIn
				}
				l.handleRTP(rp, rc, now, src, pkt)
			}
			after := look()
			if after.handled != before.handled+1 {
				t.Fatalf("datagram counted %d times", after.handled-before.handled)
			}
			if after.accepted == before.accepted {
				if after.latched != before.latched || after.rtcpLatched != before.rtcpLatched ||
					after.proven != before.proven || after.closing != before.closing {
					t.Fatalf("a refused datagram from %s changed the leg: %+v -> %+v", src, before, after)
				}
			} else if rtcpPath && !srtpLeg && src.Addr() == attackerIP && (before.latched == nil || *before.latched != src) {
				t.Fatalf("a plain leg accepted RTCP from another host where its RTP had not latched")
			}
			if before.latched != nil && after.latched != before.latched &&
				(!srtpLeg || after.accepted == before.accepted || rtcpPath || *after.latched != src) {
				t.Fatalf("the RTP latch moved from %s to %s on a datagram from %s that proved nothing (srtp %v)",
					before.latched, after.latched, src, srtpLeg)
			}
			if after.proven && !before.proven && src.Addr() != peerRTP.Addr() {
				t.Fatalf("a datagram from %s proved the offer's address", src)
			}
			if after.closing && !before.closing && after.bye == before.bye {
				t.Fatalf("left without an accepted BYE")
			}
		}
	})
}

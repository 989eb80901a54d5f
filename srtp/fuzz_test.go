package srtp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pion/rtp"
)

// FuzzUnprotect feeds arbitrary bytes to every profile's SRTP and SRTCP
// unprotect (in place and not), on both backends, to Payload, and, when
// the bytes parse as an RTP header, round-trips them through ProtectRTP,
// within and across backends. Nothing may panic; a successful unprotect
// must strip exactly the overhead.
func FuzzUnprotect(f *testing.F) {
	for i, p := range allProfiles {
		pr, err := NewProtector(testKeys(p, 40))
		if err != nil {
			f.Fatal(err)
		}
		for v := 0; v < 4; v++ {
			out, err := pr.ProtectRTP(nil, testRTP(uint16(100+v), 0x11, 40*v, v))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(out, byte(i))
		}
		out, err := pr.ProtectRTCP(nil, testRTCP(0x11, 3))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(out, byte(i))
	}
	f.Add([]byte{}, byte(0))
	f.Add([]byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff}, byte(1))
	f.Add([]byte{0xbf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, byte(2))
	// A one-byte extension element running past its block.
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x13, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, byte(0))

	uns := make([][]*Unprotector, len(backends))
	for b, be := range backends {
		for _, p := range allProfiles {
			u, err := NewUnprotector(testKeys(p, 40), UseBackend(be))
			if err != nil {
				f.Fatal(err)
			}
			uns[b] = append(uns[b], u)
		}
	}
	var hdr rtp.Header
	f.Fuzz(func(t *testing.T, data []byte, sel byte) {
		i := int(sel) % len(allProfiles)
		for b := range backends {
			u := uns[b][i]
			if out, err := u.UnprotectRTP(nil, data, &hdr); err == nil && len(out) != len(data)-u.RTPOverhead() {
				t.Fatalf("SRTP: %d bytes in, %d out", len(data), len(out))
			}
			if out, err := u.UnprotectRTCP(nil, data); err == nil && len(out) != len(data)-u.RTCPOverhead() {
				t.Fatalf("SRTCP: %d bytes in, %d out", len(data), len(out))
			}
			buf := bytes.Clone(data)
			_, _ = u.UnprotectRTP(buf[:0], buf, nil)
			copy(buf, data)
			_, _ = u.UnprotectRTCP(buf[:0], buf)
		}
		_, _ = Payload(data)

		if _, err := hdr.Unmarshal(data); err != nil {
			return // not RTP: nothing to round-trip
		}
		k := testKeys(allProfiles[i], sel)
		for _, from := range backends {
			for _, to := range backends {
				pr, err := NewProtector(k, UseBackend(from))
				if err != nil {
					t.Fatal(err)
				}
				un, err := NewUnprotector(k, UseBackend(to))
				if err != nil {
					t.Fatal(err)
				}
				out, err := pr.ProtectRTP(nil, data)
				if cryptexProfile(data) {
					if !errors.Is(err, errPacket) {
						t.Fatalf("%s: protect of a cryptex-profiled header: %v, want refusal", from, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: protect of a packet with a whole header: %v", from, err)
				}
				plain, err := un.UnprotectRTP(out[:0], out, &hdr)
				if err != nil {
					t.Fatalf("round trip %s to %s: %v", from, to, err)
				}
				if !bytes.Equal(plain, data) {
					t.Fatalf("round trip %s to %s changed the packet", from, to)
				}
			}
		}
	})
}

// FuzzParseSDES: arbitrary attribute text never panics, and whatever
// parses re-parses from its String to the same Crypto, which then prints
// identically.
func FuzzParseSDES(f *testing.F) {
	key30 := "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	for _, s := range []string{
		rfc4568Line,
		"a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" + key30,
		"crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:1;inline:" + key30 + "|2^31|2:1 WSH=64",
		"3 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==",
		"4 AEAD_AES_256_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=|1000",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|123456789012345678901234567890:16",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=1 UNENCRYPTED_SRTP",
		"1 F8_128_HMAC_SHA1_80 inline:" + key30,
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSDES(s)
		if err != nil {
			return
		}
		if err := c.Keys.Validate(); err != nil {
			t.Fatalf("parsed keys invalid: %v", err)
		}
		for _, k := range c.ExtraKeys {
			if err := k.Validate(); err != nil {
				t.Fatalf("parsed extra keys invalid: %v", err)
			}
		}
		again, err := ParseSDES(c.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", c.String(), err)
		}
		if !cryptoEqual(c, again) || again.String() != c.String() {
			t.Fatalf("round trip differs: %q vs %q", c.String(), again.String())
		}
	})
}

// FuzzSRTCPChurn drives one Unprotector, bounded to 2 SSRCs so that
// evictions and rebuilds come within a few operations, through a sequence
// of operations read from ops: genuine SRTCP under one of 8 SSRCs, a
// replay of a delivered packet, genuine SRTP and SRTCP under a new SSRC
// (churn), data as SRTCP or SRTP (forged, or a real packet the corpus
// holds), and a genuine SRTCP packet with data's bytes written over part
// of it. Whatever the input: no panic; a genuine packet never delivered is
// accepted; a replay is refused while its SSRC keeps the state that
// accepted it; a refused packet changes no state; the tables stay within
// the bound and every call is counted once.
func FuzzSRTCPChurn(f *testing.F) {
	for i, p := range allProfiles {
		pr, err := NewProtector(testKeys(p, 41))
		if err != nil {
			f.Fatal(err)
		}
		// A real packet under an SSRC the genuine senders never use.
		real, err := pr.ProtectRTCP(nil, testRTCP(0xF0000000, 2))
		if err != nil {
			f.Fatal(err)
		}
		for b := range backends { // sel: profile + 4*backend
			sel := byte(i + len(allProfiles)*b)
			f.Add(sel, []byte{0, 8, 16, 3, 3, 3, 4, 2, 0, 4, 12, 5, 7, 7, 7, 0, 10, 3, 3, 3, 3, 3, 3, 0, 2}, real)
			f.Add(sel, []byte{5, 13, 21, 6, 4, 4, 1, 9}, []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0xff})
		}
	}
	f.Add(byte(0), []byte{4, 6}, []byte{})
	// SSRC 1 keeps sending while new SSRCs evict each other past a
	// rebuild; then its delivered packets are replayed.
	keep := []byte{}
	for range 20 {
		keep = append(keep, 0, 3)
	}
	for i := range 16 {
		keep = append(keep, byte(2+8*i))
	}
	f.Add(byte(1), keep, []byte{})
	f.Add(byte(1+len(allProfiles)), keep, []byte{})
	f.Fuzz(func(t *testing.T, sel byte, ops, data []byte) {
		if len(ops) > 128 {
			ops = ops[:128]
		}
		p := allProfiles[int(sel)%len(allProfiles)]
		be := backends[int(sel)/len(allProfiles)%len(backends)]
		k := testKeys(p, 41)
		un, err := NewUnprotector(k, MaxSSRCs(2), UseBackend(be))
		if err != nil {
			t.Fatal(err)
		}
		pr, err := NewProtector(k)
		if err != nil {
			t.Fatal(err)
		}
		type delivered struct {
			pkt   []byte
			ssrc  uint32
			epoch int // of the SSRC's state when it was accepted
		}
		var ring []delivered
		// epoch[ssrc] changes whenever ssrc is seen without state, so a
		// replay of a packet of the same epoch is one its state accepted.
		epoch := map[uint32]int{}
		calls := 0
		newSSRC := uint32(0x10000)
		accept := func(what string, pkt []byte, ssrc uint32, rtcp bool) {
			var err error
			if rtcp {
				_, err = un.UnprotectRTCP(nil, pkt)
			} else {
				_, err = un.UnprotectRTP(nil, pkt, nil)
			}
			calls++
			if err != nil {
				t.Fatalf("%s under SSRC %#x refused: %v", what, ssrc, err)
			}
			if rtcp {
				ring = append(ring, delivered{pkt, ssrc, epoch[ssrc]})
				if len(ring) > 16 {
					ring = ring[1:]
				}
			}
		}
		// refusable runs a call that may fail; if it does, nothing changed.
		refusable := func(f func() error) {
			before := snapshotSSRCs(un)
			calls++
			if f() != nil && snapshotSSRCs(un) != before {
				t.Fatal("a refused packet changed the SSRC state")
			}
		}
		for _, op := range ops {
			arg := int(op >> 3)
			switch op & 7 {
			case 0, 1: // genuine SRTCP under one of 8 SSRCs
				ssrc := uint32(1 + arg%8)
				out, err := pr.ProtectRTCP(nil, testRTCP(ssrc, 1+arg%3))
				if err != nil {
					t.Fatal(err)
				}
				accept("genuine SRTCP", out, ssrc, true)
			case 2: // replay
				if len(ring) == 0 {
					continue
				}
				d := ring[arg%len(ring)]
				calls++
				_, err := un.UnprotectRTCP(nil, d.pkt)
				if epoch[d.ssrc] == d.epoch && err != ErrReplay {
					t.Fatalf("replay under SSRC %#x with the state that accepted it: %v", d.ssrc, err)
				}
			case 3: // churn: a new SSRC, SRTP and SRTCP
				newSSRC++
				out, err := pr.ProtectRTP(nil, testRTP(uint16(arg), newSSRC, 20, 0))
				if err != nil {
					t.Fatal(err)
				}
				accept("churn SRTP", out, newSSRC, false)
				out, err = pr.ProtectRTCP(nil, testRTCP(newSSRC, 1))
				if err != nil {
					t.Fatal(err)
				}
				accept("churn SRTCP", out, newSSRC, true)
			case 4: // data as SRTCP
				refusable(func() error { _, err := un.UnprotectRTCP(nil, data); return err })
			case 5: // a genuine packet with data written over part of it
				ssrc := uint32(1 + arg%8)
				out, err := pr.ProtectRTCP(nil, testRTCP(ssrc, 1))
				if err != nil {
					t.Fatal(err)
				}
				orig := bytes.Clone(out)
				if len(out) > 0 {
					copy(out[arg%len(out):], data)
				}
				if bytes.Equal(out, orig) {
					// Not continue: the epoch bookkeeping below must see
					// the eviction this acceptance may cause.
					accept("genuine SRTCP (overwritten by the same bytes)", out, ssrc, true)
				} else {
					refusable(func() error { _, err := un.UnprotectRTCP(nil, out); return err })
				}
			case 6: // data as SRTP
				refusable(func() error { _, err := un.UnprotectRTP(nil, data, nil); return err })
			case 7: // a new SSRC in SRTCP only
				newSSRC++
				out, err := pr.ProtectRTCP(nil, testRTCP(newSSRC, 2))
				if err != nil {
					t.Fatal(err)
				}
				accept("churn SRTCP", out, newSSRC, true)
			}
			for _, d := range ring {
				if _, rtcpT := un.tables(); rtcpT.lookup(d.ssrc) == nil {
					epoch[d.ssrc]++
				}
			}
			if st := snapshotSSRCs(un); st.rtp > 2 || st.rtcp > 2 || be == Pion && un.pion.stale >= un.pion.rebuildAt {
				t.Fatalf("beyond the bound: %d SRTP, %d SRTCP SSRCs, %d stale",
					st.rtp, st.rtcp, st.stale)
			}
		}
		st := un.Stats()
		if n := st.RTPPackets + st.RTCPPackets + st.AuthFailures + st.Replays + st.ShortPackets + st.OtherErrors; n != uint64(calls) {
			t.Fatalf("%d calls, %d counted (%+v)", calls, n, st)
		}
	})
}

// ssrcSnapshot is what a refused packet must not change of an
// Unprotector's SSRC state.
type ssrcSnapshot struct {
	rtp, rtcp, stale  int
	rebuilds          uint64
	rtpHead, rtcpHead *ssrcState
	rtpIndex          uint64
}

func snapshotSSRCs(u *Unprotector) ssrcSnapshot {
	rtpT, rtcpT := u.tables()
	s := ssrcSnapshot{rtp: rtpT.Len(), rtcp: rtcpT.Len(), rebuilds: rebuilds(u), rtpHead: rtpT.head, rtcpHead: rtcpT.head}
	if u.pion != nil {
		s.stale = u.pion.stale
	}
	if rtpT.head != nil {
		s.rtpIndex = rtpT.head.index
	}
	return s
}

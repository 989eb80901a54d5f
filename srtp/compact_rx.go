package srtp

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/pion/rtp"
)

// The compact backend's unprotect side. An Unprotector keeps its first
// master key's SRTP session keys in compactRx, ahead of its counters, and
// the state of one SSRC inline (Unprotector.first): a packet of that SSRC
// touches the Unprotector's first three cache lines and nothing else of
// it (TestLayout). Other SSRCs' states are allocated when their first
// packet authenticates, in the same bounded tables the pion backend uses;
// an evicted state is simply dropped.

// compactRx is what UnprotectRTP touches besides the SSRC's state.
type compactRx struct {
	srtp sessionKey // SRTP session keys of the first master key
}

// compactRxCold is the rest of the compact unprotect side.
type compactRxCold struct {
	rtp, rtcp ssrcTable
	rtcpKey   sessionKey // SRTCP session keys of the first master key
	mki       string     // the first master key's MKI, or ""
	// keys are the master keys added with AddKey, by MKI.
	keys map[string]*rxKey
}

// rxKey is a master key added with AddKey.
type rxKey struct {
	rtp, rtcp sessionKey
}

func (c *compactRxCold) init(k Keys, rtcp sessionKey, maxSSRCs int) {
	c.rtp, c.rtcp = newSSRCTable(maxSSRCs), newSSRCTable(maxSSRCs)
	c.rtcpKey = rtcp
	c.mki = string(k.MKI)
}

// compactAddKey is AddKey on the compact backend, k validated and of the
// context's profile and MKI length.
func (u *Unprotector) compactAddKey(k Keys) error {
	c := &u.rxCold
	if string(k.MKI) == c.mki || c.keys[string(k.MKI)] != nil {
		return fmt.Errorf("%w: %x", errMKIDuplicate, k.MKI)
	}
	rtp, rtcp, err := compactKeys(k)
	if err != nil {
		return err
	}
	if c.keys == nil {
		c.keys = make(map[string]*rxKey)
	}
	c.keys[string(k.MKI)] = &rxKey{rtp: rtp, rtcp: rtcp}
	return nil
}

// rtpKey and rtcpKey return the session keys that mki selects, or nil.
func (u *Unprotector) rtpKey(mki []byte) *sessionKey {
	if string(mki) == u.rxCold.mki {
		return &u.rx.srtp
	}
	if k := u.rxCold.keys[string(mki)]; k != nil {
		return &k.rtp
	}
	return nil
}

func (u *Unprotector) rtcpKey(mki []byte) *sessionKey {
	if string(mki) == u.rxCold.mki {
		return &u.rxCold.rtcpKey
	}
	if k := u.rxCold.keys[string(mki)]; k != nil {
		return &k.rtcp
	}
	return nil
}

// rxState returns the SRTP state of ssrc, or nil.
func (u *Unprotector) rxState(ssrc uint32) *ssrcState {
	if s := &u.first; s.live && s.ssrc == ssrc {
		return s
	}
	return u.rxCold.rtp.lookup(ssrc)
}

// admitRTP creates and admits the SRTP state of ssrc, which has none: in
// u.first when that is free, which it is until an SSRC takes it and again
// once that SSRC is evicted.
func (u *Unprotector) admitRTP(ssrc uint32) *ssrcState {
	s := &u.first
	if s.live {
		s = new(ssrcState)
	}
	*s = ssrcState{ssrc: ssrc, window: replayWindow{size: uint64(u.window)}}
	u.admit(&u.rxCold.rtp, s)
	return s
}

func (u *Unprotector) admit(t *ssrcTable, s *ssrcState) {
	if t.admit(s) != nil {
		u.fails.evictions.Add(1)
	}
}

// compactUnprotectRTP is UnprotectRTP on the compact backend, under the
// lock, pkt holding at least its header and the overhead. It returns
// ErrReplay, ErrAuth, errUnknownMKI or an error wrapping errPacket, in
// pion's order: a malformed header, a replay, cryptex, an unknown MKI, a
// tag that does not verify.
func (u *Unprotector) compactUnprotectRTP(dst, pkt []byte, hdr *rtp.Header) ([]byte, error) {
	n, err := checkRTPHeader(pkt)
	if err != nil {
		return nil, err
	}
	if hdr != nil {
		if _, err := hdr.Unmarshal(pkt); err != nil {
			return nil, fmt.Errorf("%w: %w", errPacket, err) // checkRTPHeader refuses all pion/rtp does
		}
	}
	seq := binary.BigEndian.Uint16(pkt[2:])
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	s := u.rxState(ssrc)
	var latest uint64 // an SSRC without state starts at index 0, unindexed
	var indexed bool
	if s != nil {
		latest, indexed = s.index, s.indexed
	}
	roc, diff, _ := nextROC(latest, indexed, seq)
	index := uint64(roc)<<16 | uint64(seq)
	if s != nil && !s.window.check(index) {
		return nil, ErrReplay
	}
	if cryptexProfile(pkt) {
		return nil, errCryptexRecvd
	}
	k := &u.rx.srtp
	tag, mki := int(k.tagLen), int(k.mkiLen)
	if mki > 0 {
		at := len(pkt) - mki
		if k.aead == nil {
			at -= tag
		}
		if k = u.rtpKey(pkt[at : at+mki]); k == nil {
			return nil, errUnknownMKI
		}
	}

	var out []byte
	if k.aead != nil {
		// header | ciphertext | tag | MKI (RFC 7714 §8)
		end := len(pkt) - mki
		out = grow(dst, end-tag)
		iv, _ := k.gcmArgs()
		ivGCM(iv, &k.salt, ssrc, index, false)
		if !open(k.aead, out, pkt, n, end, iv[:], nil) {
			return nil, ErrAuth
		}
	} else {
		// header | encrypted payload | MKI | tag (RFC 3711 §3.1)
		plain := len(pkt) - mki - tag
		sc := getScratch()
		hi, lo := ivCM(&k.salt, ssrc, index)
		sc.primeKeyStream(k.block, hi, lo)
		binary.BigEndian.PutUint32(sc.roc[:], roc)
		sum := sc.mac(&k.mac, pkt[:plain], sc.roc[:])
		if !tagEqual(pkt[len(pkt)-tag:], sum[:tag]) {
			putScratch(sc)
			return nil, ErrAuth
		}
		out = grow(dst, plain)
		place(out, pkt, plain)
		sc.xorKeyStream(k.block, hi, lo, out[n:plain])
		putScratch(sc)
	}

	if s == nil {
		s = u.admitRTP(ssrc)
	} else if !s.recent {
		u.rxCold.rtp.touch(s)
	}
	s.window.accept(index)
	s.index, s.indexed = nextIndex(latest, indexed, seq, diff), true
	return out, nil
}

// compactUnprotectRTCP is UnprotectRTCP on the compact backend, under the
// lock, pkt holding at least 8 bytes and the overhead. Errors and their
// order are as for compactUnprotectRTP.
func (u *Unprotector) compactUnprotectRTCP(dst, pkt []byte) ([]byte, error) {
	if pkt[0]>>6 != 2 {
		return nil, errRTCPVersion
	}
	c := &u.rxCold
	k := &c.rtcpKey
	tag, mki := int(k.tagLen), int(k.mkiLen)
	// AES-CM: header | payload | E||index | MKI | tag (RFC 3711 §3.4);
	// GCM: header | ciphertext | tag | E||index | MKI (RFC 7714 §9).
	wordAt := len(pkt) - mki - 4
	if k.aead == nil {
		wordAt -= tag
	}
	word := binary.BigEndian.Uint32(pkt[wordAt:])
	index := uint64(word &^ srtcpE)
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	s := c.rtcp.lookup(ssrc)
	if s != nil && !s.window.check(index) {
		return nil, ErrReplay
	}
	if mki > 0 {
		if k = u.rtcpKey(pkt[wordAt+4 : wordAt+4+mki]); k == nil {
			return nil, errUnknownMKI
		}
	}
	encrypted := word&srtcpE != 0

	var out []byte
	if k.aead != nil {
		plain := wordAt - tag
		out = grow(dst, plain)
		iv, aad := k.gcmArgs()
		ivGCM(iv, &k.salt, ssrc, index, true)
		if encrypted {
			// The associated data is the header and E||index (§9.3).
			copy(aad[:8], pkt[:8])
			binary.BigEndian.PutUint32(aad[8:], word)
			if !open(k.aead, out, pkt, 8, wordAt, iv[:], aad[:]) {
				return nil, ErrAuth
			}
		} else if !u.verifyPlainGCM(k, pkt, plain, word) {
			return nil, ErrAuth
		} else {
			place(out, pkt, plain)
		}
	} else {
		sc := getScratch()
		sum := sc.mac(&k.mac, pkt[:wordAt+4], nil)
		if !tagEqual(pkt[len(pkt)-tag:], sum[:tag]) {
			putScratch(sc)
			return nil, ErrAuth
		}
		out = grow(dst, wordAt)
		place(out, pkt, wordAt)
		if encrypted {
			hi, lo := ivCM(&k.salt, ssrc, index)
			sc.xorKeyStream(k.block, hi, lo, out[8:wordAt])
		}
		putScratch(sc)
	}

	if s == nil {
		s = &ssrcState{ssrc: ssrc, window: replayWindow{size: uint64(u.window)}}
		u.admit(&c.rtcp, s)
	} else if !s.recent {
		c.rtcp.touch(s)
	}
	s.window.accept(index)
	s.authenticated(index)
	return out, nil
}

// verifyPlainGCM verifies an SRTCP packet sent unencrypted (E = 0) under
// GCM, whose associated data is the whole RTCP packet and E||index,
// contiguous (RFC 7714 §9.3): pkt[:plain] then the tag, then the word.
// The word is written over the first 4 bytes of the tag for the check and
// the tag restored after, so pkt is as it was. The tag's copy, an argument
// of Open, goes where the associated data of an encrypted packet would.
func (u *Unprotector) verifyPlainGCM(k *sessionKey, pkt []byte, plain int, word uint32) bool {
	iv, _ := k.gcmArgs()
	t := (*[16]byte)(k.mac.outer[:16])
	copy(t[:], pkt[plain:plain+len(t)])
	binary.BigEndian.PutUint32(pkt[plain:], word)
	_, err := k.aead.Open(t[:0], iv[:], t[:], pkt[:plain+4])
	copy(pkt[plain:], t[:4])
	return err == nil
}

// open authenticates and decrypts the GCM ciphertext and tag pkt[at:end]
// (the associated data pkt[:at], or aad when not nil) into out, where
// out[:at] receives pkt[:at]. In place when out starts where pkt does.
// Buffers that overlap otherwise, which cipher.AEAD refuses with a panic,
// are decrypted through a copy of pkt.
func open(aead cipher.AEAD, out, pkt []byte, at, end int, iv, aad []byte) bool {
	if !sameStart(out, pkt) && overlap(out, pkt[:end]) {
		tmp := bytes.Clone(pkt[:end])
		if aad == nil {
			aad = tmp[:at]
		}
		if _, err := aead.Open(tmp[at:at], iv, tmp[at:end], aad); err != nil {
			return false
		}
		copy(out, tmp)
		return true
	}
	if aad == nil {
		aad = pkt[:at]
	}
	if _, err := aead.Open(out[at:at], iv, pkt[at:end], aad); err != nil {
		return false
	}
	place(out, pkt, at)
	return true
}

// overlap reports whether x and y share any byte.
func overlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}

// compactROC is ROC on the compact backend.
func (u *Unprotector) compactROC(ssrc uint32) (uint32, bool) {
	if s := u.rxState(ssrc); s != nil {
		return uint32(s.index >> 16), true
	}
	return 0, false
}

// compactSetROC is SetROC on the compact backend: as pion, the next packet
// is taken to be in rollover period roc whatever its SEQ; the replay
// window stays.
func (u *Unprotector) compactSetROC(ssrc, roc uint32) {
	s := u.rxState(ssrc)
	if s == nil {
		s = u.admitRTP(ssrc)
	} else if !s.recent {
		u.rxCold.rtp.touch(s)
	}
	s.index, s.indexed = uint64(roc)<<16, false
}

package srtp

import (
	"crypto/subtle"
	"encoding/binary"
)

// The compact backend's protect side. A Protector keeps the state of its
// first SSRC and its SRTP session keys in compactTx, which with the mutex
// before it and the packet counters after it fills the Protector's first
// two cache lines (TestLayout); everything a packet of another SSRC or an
// SRTCP packet needs is in compactTxCold, further on.

// txState is the protect-side state of one SSRC's SRTP stream: the index
// of the latest packet and whether it holds one yet.
type txState struct {
	index uint64 // ROC << 16 | SEQ, see rollover.go
	ssrc  uint32
	flags uint32
}

const (
	txUsed    = 1 << iota // the state belongs to ssrc (compactTx.first: is in use)
	txIndexed             // index holds a SEQ (rollover.go's indexed)
)

// compactTx is what ProtectRTP touches: 104 bytes.
type compactTx struct {
	first txState    // the first SSRC protected or set by SetROC
	srtp  sessionKey // SRTP session keys
}

// compactTxCold is the rest of the compact protect side.
type compactTxCold struct {
	rtcp sessionKey // SRTCP session keys
	mki  string     // carried by every packet, or ""
	// more holds the SRTP state of SSRCs other than the first; rtcpIndex
	// the latest SRTCP index of every SSRC that sent SRTCP (from 1). Like
	// pion's maps they only grow: the application chooses the SSRCs it
	// sends.
	more      map[uint32]*txState
	rtcpIndex map[uint32]uint32
}

func (c *compactTxCold) init(k Keys, rtcp sessionKey) {
	c.rtcp = rtcp
	if len(k.MKI) > 0 {
		c.mki = string(k.MKI)
	}
}

// txState returns the SRTP state of ssrc, if any.
func (p *Protector) txState(ssrc uint32) *txState {
	if s := &p.tx.first; s.flags&txUsed != 0 && s.ssrc == ssrc {
		return s
	}
	return p.txCold.more[ssrc] // nil map or absent: nil
}

// newTxState creates the SRTP state of ssrc, which has none.
func (p *Protector) newTxState(ssrc uint32) *txState {
	s := &p.tx.first
	if s.flags&txUsed != 0 {
		if p.txCold.more == nil {
			p.txCold.more = make(map[uint32]*txState)
		}
		s = new(txState)
		p.txCold.more[ssrc] = s
	}
	*s = txState{ssrc: ssrc, flags: txUsed}
	return s
}

// compactProtectRTP is ProtectRTP on the compact backend, under the lock.
// Errors are classified by the caller (Protector.fail).
func (p *Protector) compactProtectRTP(dst, pkt []byte) ([]byte, error) {
	n, err := checkRTPHeader(pkt)
	if err != nil {
		return nil, err
	}
	seq := binary.BigEndian.Uint16(pkt[2:])
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	s := p.txState(ssrc)
	if s == nil {
		s = p.newTxState(ssrc)
	}
	indexed := s.flags&txIndexed != 0
	roc, diff, overflow := nextROC(s.index, indexed, seq)
	if overflow {
		return nil, errExhausted
	}
	s.index = nextIndex(s.index, indexed, seq, diff)
	s.flags |= txIndexed

	k := &p.tx.srtp
	m := len(pkt)
	mki := int(k.mkiLen)
	out := grow(dst, m+int(k.tagLen)+mki)
	place(out, pkt, m)
	index := uint64(roc)<<16 | uint64(seq)
	if k.aead != nil {
		// RFC 7714 §8: the header is the associated data; ciphertext and
		// tag follow it, then the MKI.
		iv, _ := k.gcmArgs()
		ivGCM(iv, &k.salt, ssrc, index, false)
		k.aead.Seal(out[n:n], iv[:], out[n:m], out[:n])
		if mki > 0 { // the MKI is in a cold line: not read without one
			copy(out[m+int(k.tagLen):], p.txCold.mki)
		}
		return out, nil
	}
	// RFC 3711 §3.1, §4.2: encrypt the payload, then authenticate header,
	// payload and ROC (M = Authenticated Portion || ROC), whose 4 bytes are
	// written where the MKI and tag go next; then MKI and tag.
	sc := getScratch()
	hi, lo := ivCM(&k.salt, ssrc, index)
	sc.xorKeyStream(k.block, hi, lo, out[n:m])
	binary.BigEndian.PutUint32(out[m:], roc)
	tag := sc.mac(&k.mac, out[:m+4], nil)
	if mki > 0 {
		copy(out[m:], p.txCold.mki)
	}
	copy(out[m+mki:], tag[:k.tagLen])
	putScratch(sc)
	return out, nil
}

// srtcpE is the E flag of the SRTCP index word: the payload is encrypted.
const srtcpE = 1 << 31

// maxSRTCPIndex is the largest 31-bit SRTCP index.
const maxSRTCPIndex = 1<<31 - 1

// compactProtectRTCP is ProtectRTCP on the compact backend, under the
// lock: the SRTCP packet of RFC 3711 §3.4 (AES-CM) or RFC 7714 §9
// (GCM), E flag set, index counting from 1 per SSRC.
func (p *Protector) compactProtectRTCP(dst, pkt []byte) ([]byte, error) {
	if len(pkt) < 8 {
		return nil, ErrShortPacket
	}
	if pkt[0]>>6 != 2 {
		return nil, errRTCPVersion
	}
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	c := &p.txCold
	index := c.rtcpIndex[ssrc]
	if index >= maxSRTCPIndex {
		return nil, errExhausted
	}
	index++
	if c.rtcpIndex == nil {
		c.rtcpIndex = make(map[uint32]uint32)
	}
	c.rtcpIndex[ssrc] = index

	k := &c.rtcp
	m := len(pkt)
	word := index | srtcpE
	if k.aead != nil {
		// header (8) | ciphertext | tag | E||index | MKI; the associated
		// data is the header and E||index (RFC 7714 §9.3, §17).
		out := grow(dst, m+int(k.tagLen)+4+int(k.mkiLen))
		place(out, pkt, m)
		iv, aad := k.gcmArgs()
		copy(aad[:8], out[:8])
		binary.BigEndian.PutUint32(aad[8:], word)
		ivGCM(iv, &k.salt, ssrc, uint64(index), true)
		k.aead.Seal(out[8:8], iv[:], out[8:m], aad[:])
		binary.BigEndian.PutUint32(out[m+int(k.tagLen):], word)
		copy(out[m+int(k.tagLen)+4:], c.mki)
		return out, nil
	}
	// header (8) | encrypted payload | E||index | MKI | tag, the tag over
	// everything before the MKI (RFC 3711 §3.4).
	out := grow(dst, m+4+int(k.mkiLen)+int(k.tagLen))
	place(out, pkt, m)
	sc := getScratch()
	hi, lo := ivCM(&k.salt, ssrc, uint64(index))
	sc.xorKeyStream(k.block, hi, lo, out[8:m])
	binary.BigEndian.PutUint32(out[m:], word)
	tag := sc.mac(&k.mac, out[:m+4], nil)
	copy(out[m+4:], c.mki)
	copy(out[m+4+int(k.mkiLen):], tag[:k.tagLen])
	putScratch(sc)
	return out, nil
}

// compactROC is ROC on the compact backend.
func (p *Protector) compactROC(ssrc uint32) (uint32, bool) {
	if s := p.txState(ssrc); s != nil {
		return uint32(s.index >> 16), true
	}
	return 0, false
}

// compactSetROC is SetROC on the compact backend: as pion, the next
// packet is taken to be in rollover period roc whatever its SEQ.
func (p *Protector) compactSetROC(ssrc, roc uint32) {
	s := p.txState(ssrc)
	if s == nil {
		s = p.newTxState(ssrc)
	}
	s.index = uint64(roc) << 16
	s.flags &^= txIndexed
}

// tagEqual compares an authentication tag in constant time.
func tagEqual(got, want []byte) bool {
	return subtle.ConstantTimeCompare(got, want) == 1
}

package srtp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pion/rtp"
)

// FuzzUnprotect feeds arbitrary bytes to every profile's SRTP and SRTCP
// unprotect (in place and not), to Payload, and, when the bytes parse as
// an RTP header, round-trips them through ProtectRTP. Nothing may panic; a
// successful unprotect must strip exactly the overhead.
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

	uns := make([]*Unprotector, len(allProfiles))
	for i, p := range allProfiles {
		u, err := NewUnprotector(testKeys(p, 40))
		if err != nil {
			f.Fatal(err)
		}
		uns[i] = u
	}
	var hdr rtp.Header
	f.Fuzz(func(t *testing.T, data []byte, sel byte) {
		i := int(sel) % len(allProfiles)
		u := uns[i]
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
		_, _ = Payload(data)

		if _, err := hdr.Unmarshal(data); err != nil {
			return // not RTP: nothing to round-trip
		}
		k := testKeys(allProfiles[i], sel)
		pr, err := NewProtector(k)
		if err != nil {
			t.Fatal(err)
		}
		un, err := NewUnprotector(k)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pr.ProtectRTP(nil, data)
		if cryptexProfile(data) {
			if !errors.Is(err, errPacket) {
				t.Fatalf("protect of a cryptex-profiled header: %v, want refusal", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("protect of a packet with a whole header: %v", err)
		}
		plain, err := un.UnprotectRTP(out[:0], out, &hdr)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if !bytes.Equal(plain, data) {
			t.Fatalf("round trip changed the packet")
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

package srtp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/srtp"
)

// An SDES exchange and one packet each way through it, in place.
func Example() {
	// The offerer generates a key and puts it in its SDP.
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	if err != nil {
		panic(err)
	}
	offer := srtp.Crypto{Tag: 1, Keys: keys}.SDPLine()

	// The answerer parses the line and unprotects what the offerer sends.
	remote, err := srtp.ParseSDES(offer)
	if err != nil {
		panic(err)
	}
	sender, err := srtp.NewProtector(keys)
	if err != nil {
		panic(err)
	}
	receiver, err := srtp.NewUnprotector(remote.Keys)
	if err != nil {
		panic(err)
	}

	pkt := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 0x1234},
		Payload: []byte("hello"),
	}
	raw, err := pkt.Marshal()
	if err != nil {
		panic(err)
	}
	buf := make([]byte, len(raw), len(raw)+sender.RTPOverhead())
	copy(buf, raw)

	secured, err := sender.ProtectRTP(buf[:0], buf)
	if err != nil {
		panic(err)
	}
	wire := append([]byte(nil), secured...) // kept to replay below
	var hdr rtp.Header
	plain, err := receiver.UnprotectRTP(secured[:0], secured, &hdr)
	if err != nil {
		panic(err)
	}
	payload, err := srtp.Payload(plain)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d bytes on the wire, ssrc %#x seq %d, payload %q\n",
		remote.Keys.Profile, len(secured), hdr.SSRC, hdr.SequenceNumber, payload)

	// Delivering the same packet again is a replay.
	_, err = receiver.UnprotectRTP(nil, wire, &hdr)
	fmt.Println(err == srtp.ErrReplay, err)
	// A forged or damaged one fails authentication.
	wire[len(wire)-1] ^= 1
	binary.BigEndian.PutUint16(wire[2:], 2)
	_, err = receiver.UnprotectRTP(nil, wire, &hdr)
	fmt.Println(err == srtp.ErrAuth, err)
	fmt.Printf("%+v\n", receiver.Stats())
	// Output:
	// AES_CM_128_HMAC_SHA1_80: 27 bytes on the wire, ssrc 0x1234 seq 1, payload "hello"
	// true srtp: replayed packet
	// true srtp: authentication failed
	// {RTPPackets:1 RTPBytes:27 RTCPPackets:0 RTCPBytes:0 AuthFailures:1 Replays:1 ShortPackets:0 OtherErrors:0 SSRCEvictions:0}
}

// Keys for both directions from DTLS-SRTP exported keying material.
func ExampleKeysFromDTLS() {
	p := srtp.ProfileAEADAES128GCM
	material := make([]byte, p.KeyingMaterialLen()) // from conn.ExportKeyingMaterial(srtp.DTLSExporterLabel, nil, n)
	local, remote, err := srtp.KeysFromDTLS(material, p, true)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(material), len(local.MasterKey), len(local.MasterSalt), remote.Profile)
	// Output: 56 16 12 AEAD_AES_128_GCM
}

// Parsing a peer's offer line.
func ExampleParseSDES() {
	c, err := srtp.ParseSDES("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Tag, c.Keys.Profile, c.Keys.Lifetime, c.Keys.MKI)

	_, err = srtp.ParseSDES("a=crypto:2 F8_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")
	fmt.Println(errors.Is(err, srtp.ErrUnsupported))
	// Output:
	// 1 AES_CM_128_HMAC_SHA1_80 1048576 [0 0 0 1]
	// true
}

// The two backends are interchangeable: the same keys and packet give the
// same bytes, and each unprotects what the other protected.
func ExampleUseBackend() {
	keys, err := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	if err != nil {
		panic(err)
	}
	compact, err := srtp.NewProtector(keys) // the default
	if err != nil {
		panic(err)
	}
	viaPion, err := srtp.NewProtector(keys, srtp.UseBackend(srtp.Pion))
	if err != nil {
		panic(err)
	}
	receiver, err := srtp.NewUnprotector(keys)
	if err != nil {
		panic(err)
	}
	pkt := []byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0x12, 0x34, 'h', 'i'}
	a, err := compact.ProtectRTP(nil, pkt)
	if err != nil {
		panic(err)
	}
	b, err := viaPion.ProtectRTP(nil, pkt)
	if err != nil {
		panic(err)
	}
	fmt.Println(compact.Backend(), viaPion.Backend(), bytes.Equal(a, b))
	plain, err := receiver.UnprotectRTP(nil, b, nil)
	fmt.Printf("%q %v\n", plain[12:], err)
	// Output:
	// compact pion true
	// "hi" <nil>
}

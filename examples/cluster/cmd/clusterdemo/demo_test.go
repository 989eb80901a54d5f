package main

import (
	"encoding/binary"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseAnswer(t *testing.T) {
	a, err := parseAnswer([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 40000 RTP/AVP 0\r\na=rtcp:40007\r\n"))
	if err != nil || a.rtp.Port != 40000 || a.rtp.IP.String() != "127.0.0.1" || a.rtcpPort != 40007 {
		t.Fatalf("%+v %v", a, err)
	}
	a, err = parseAnswer([]byte("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 40000 RTP/AVP 0\r\n"))
	if err != nil || a.rtcpPort != 40001 {
		t.Fatalf("without a=rtcp: %+v %v", a, err)
	}
	if _, err := parseAnswer([]byte("v=0\r\nm=audio 40000 RTP/AVP 0\r\n")); err == nil {
		t.Fatal("an answer without c= parsed")
	}
}

func TestReceiverReport(t *testing.T) {
	b := receiverReport(0xdeadbeef)
	// V=2, no report blocks, PT 201, length 1 (two 32-bit words), SSRC.
	if len(b) != 8 || b[0] != 0x80 || b[1] != 201 || binary.BigEndian.Uint16(b[2:]) != 1 || binary.BigEndian.Uint32(b[4:]) != 0xdeadbeef {
		t.Fatalf("% x", b)
	}
}

// tonePeer is a peer that heard the given tones at -30 dBFS each.
func tonePeer(id string, own float64, heard ...float64) *peer {
	p := newRing(&peer{id: id, freq: own, send: true})
	pcm := make([]int16, 8000)
	for i := range pcm {
		var v float64
		for _, f := range heard {
			v += 0.0316 * math.Sin(2*math.Pi*f*float64(i)/8000)
		}
		pcm[i] = int16(v * 32767)
	}
	p.add(pcm)
	return p
}

func TestHearing(t *testing.T) {
	a := tonePeer("a", 500, 700, 900)
	if pw := a.power(700); math.Abs(pw-(-30)) > 0.5 {
		t.Fatalf("a 700 Hz tone at -30 dBFS measured %.2f dB", pw)
	}
	if pw := a.power(500); pw > -80 {
		t.Fatalf("an absent tone measured %.2f dB", pw)
	}
	b := tonePeer("b", 700, 500, 900)
	c := tonePeer("c", 900, 500, 700)
	if err := hearing([]*peer{a, b, c}, []*peer{a, b, c}); err != nil {
		t.Fatal(err)
	}
	deaf := tonePeer("c", 900, 500)
	if err := hearing([]*peer{deaf}, []*peer{a, b, deaf}); err == nil || !strings.Contains(err.Error(), "hears b") {
		t.Fatalf("a missing talker: %v", err)
	}
	echo := tonePeer("c", 900, 500, 700, 900)
	if err := hearing([]*peer{echo}, []*peer{a, b, echo}); err == nil || !strings.Contains(err.Error(), "itself") {
		t.Fatalf("own voice: %v", err)
	}
}

func TestCPUTime(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		x++
	}
	after, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("CPU time %v then %v after 200 ms of spinning (%d)", before, after, x)
	}
}

// Command consumer is what a module that imports rtpmix builds. It is a
// module of its own (go.mod, with a replace to this checkout) named outside
// github.com/rtpmix/rtpmix, so it sees only the public packages, as a
// user's module does; make test builds and tests it with cgo (and the
// nolibopusfile tag) and with CGO_ENABLED=0.
//
// Alice sends one second of a 440 Hz tone as PCMU over SRTP into a
// conference; Bob's leg takes the mix out as plain RTP through a jitter
// buffer, a G.711 decoder and a resampler to 48 kHz. Then it asks for Opus,
// which a CGO_ENABLED=0 build refuses with codec.ErrUnsupported.
package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

func main() {
	r, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
	fmt.Printf("bob received %d packets; %.2f of his audio is the 440 Hz tone\n", r.packets, r.tone)
	if r.opusErr != nil {
		fmt.Println("opus:", r.opusErr)
	} else {
		fmt.Println("opus: available")
	}
}

type result struct {
	packets     int     // RTP packets Bob's leg received
	rtcp        int     // RTCP reports Bob's leg received (through the same sink)
	tone        float64 // share of Bob's decoded audio at 440 Hz
	opusOK      bool    // opus.Available()
	opusErr     error   // from opus.NewEncoder
	opusJoinErr error   // from a Join with an Opus leg
}

const ptime = 20 * time.Millisecond

func run() (result, error) {
	var res result
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	if err != nil {
		return res, err
	}
	protector, err := srtp.NewProtector(keys)
	if err != nil {
		return res, err
	}
	conf, err := mixer.NewConference(mixer.ConferenceConfig{Name: "consumer", SampleRate: 48000})
	if err != nil {
		return res, err
	}
	alice, err := conf.Join(mixer.ParticipantConfig{ID: "alice", In: g711.PCMU, Out: g711.PCMU, InSRTP: &keys})
	if err != nil {
		return res, err
	}
	var toBob [][]byte // what the conference sends Bob, in order (Tick runs on this goroutine)
	if _, err := conf.Join(mixer.ParticipantConfig{ID: "bob", In: g711.PCMU, Out: g711.PCMU,
		Sink: mixer.SinkFunc(func(pkt []byte) error { toBob = append(toBob, bytes.Clone(pkt)); return nil })}); err != nil {
		return res, err
	}

	enc, err := codec.NewEncoder("PCMU/8000", codec.Config{Ptime: ptime})
	if err != nil {
		return res, err
	}
	jb, err := jitter.New(jitter.Config{ClockRate: 8000})
	if err != nil {
		return res, err
	}
	up, err := resample.New(8000, 48000, 1)
	if err != nil {
		return res, err
	}
	pcm := make([]int16, enc.FrameSamples())
	var payload []byte
	var decoded, upsampled, heard []int16
	var hdr rtp.Header
	for i := 0; i < 100; i++ { // 2 s of ticks; Alice talks for the first second
		now := time.Duration(i) * ptime
		if i < 50 {
			for j := range pcm {
				pcm[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*len(pcm)+j)/8000))
			}
			if payload, err = enc.Encode(payload[:0], pcm); err != nil {
				return res, err
			}
			pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i),
				Timestamp: uint32(i * len(pcm)), SSRC: 0xa11ce}, Payload: payload}).Marshal()
			if err != nil {
				return res, err
			}
			wire, err := protector.ProtectRTP(nil, pkt)
			if err != nil {
				return res, err
			}
			if err := alice.WriteRTPAt(now, wire); err != nil {
				return res, err
			}
		}
		conf.Tick(now)

		for _, pkt := range toBob {
			if rtcpsession.IsRTCP(pkt) {
				res.rtcp++ // Bob's RTCP reports come through his sink too (rtcp-mux)
				continue
			}
			if _, err := hdr.Unmarshal(pkt); err != nil {
				return res, err
			}
			res.packets++
			_ = jb.Push(now, &jitter.Packet{SSRC: hdr.SSRC, SequenceNumber: hdr.SequenceNumber,
				Timestamp: hdr.Timestamp, Marker: hdr.Marker, PayloadType: hdr.PayloadType,
				AudioLevel: -1, Payload: pkt[hdr.MarshalSize():]})
		}
		toBob = toBob[:0]
		if f := jb.Pop(now); f.Kind == jitter.KindPacket {
			decoded = g711.DecodeUlaw(decoded[:0], f.Payload)
			upsampled = up.Process(upsampled[:0], decoded)
			heard = append(heard, upsampled...)
		}
	}
	res.tone = toneShare(heard, 48000, 440)

	res.opusOK = opus.Available()
	_, res.opusErr = opus.NewEncoder(codec.Config{SampleRate: 48000, Channels: 1})
	_, res.opusJoinErr = conf.Join(mixer.ParticipantConfig{ID: "carol",
		In: opus.Format, Out: opus.Format})
	return res, nil
}

// toneShare is the share of x's power at freq, from a Goertzel filter over
// each 100 ms block weighted by the block's power: the talker's fade-in and
// the phase steps a jitter buffer makes would smear one long window.
func toneShare(x []int16, rate int, freq float64) float64 {
	c := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	n := rate / 10
	var tone, total float64
	for off := 0; off+n <= len(x); off += n {
		var s1, s2, energy float64
		for _, v := range x[off : off+n] {
			f := float64(v)
			s1, s2 = f+c*s1-s2, s1
			energy += f * f
		}
		tone += 2 * (s1*s1 + s2*s2 - c*s1*s2) / float64(n)
		total += energy
	}
	if total == 0 {
		return 0
	}
	return tone / total
}

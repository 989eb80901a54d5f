package mixer

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/g711"
	"github.com/rtpmix/rtpmix/codec/g722"
	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/pcm"
	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// The harness plays RTP clients in virtual time: each encodes its source
// audio every 20 ms, sends it into its participant, and decodes what the
// conference sends back into a recording.

const levelExtID = 1

type clientSpec struct {
	id         string
	format     codec.Format
	pt         uint8
	src        []int16 // at 48 kHz; resampled to the codec's rate
	srtp       bool
	listenOnly bool
	noLevels   bool // send no RFC 6464 extension
	fec        bool
}

type client struct {
	t      testing.TB
	spec   clientSpec
	p      *Participant
	enc    codec.Encoder
	dec    codec.Decoder
	src    []int16 // at enc rate
	pos    int
	seq    uint16
	ts     uint32
	ssrc   uint32
	frame  int
	send   *srtp.Protector   // client → mixer
	recv   *srtp.Unprotector // mixer → client
	pkt    []byte
	enc8   []byte
	pcmBuf []int16
	silent bool // send silence instead of the source

	// What came back.
	got     []int16 // decoded at the client's rate
	headers []rtp.Header
	hdr     rtp.Header
	recvErr int
	decBuf  []int16
	keep    bool // keep headers (off for benchmarks)

	// The RTCP that came back through the sink (rtcp-mux), unprotected.
	rtcp    [][]byte
	rtcpN   int
	rtcpErr int
}

func formatRate(f codec.Format) int {
	if f.Name == "opus" {
		return 48000
	}
	return f.NaturalRate() // 16 kHz for G.722 on its 8000 Hz clock
}

func loadClip(t testing.TB, name string) []int16 {
	a, err := wav.ReadFile("../testdata/" + name + ".wav")
	require.NoError(t, err)
	require.Equal(t, 48000, a.SampleRate)
	return a.Samples
}

func toRate(t testing.TB, src []int16, rate int) []int16 {
	if rate == 48000 {
		return src
	}
	r, err := resample.New(48000, rate, 1)
	require.NoError(t, err)
	return r.Process(nil, src)
}

func scaled(x []int16, g float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(float64(v) * g)
	}
	return out
}

func tone(freq float64, seconds float64, amp float64) []int16 {
	n := int(48000 * seconds)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/48000))
	}
	return out
}

func newClient(t testing.TB, c *Conference, spec clientSpec) *client {
	rate := formatRate(spec.format)
	cl := &client{t: t, spec: spec, keep: true}
	ecfg := codec.Config{SampleRate: rate, Channels: 1}
	if spec.fec {
		ecfg.FEC, ecfg.PacketLossPercent = true, 10
	}
	var err error
	cl.enc, err = codec.NewEncoder(spec.format.SDPName(), ecfg)
	require.NoError(t, err)
	cl.dec, err = codec.NewDecoder(spec.format.SDPName(), codec.Config{SampleRate: rate, Channels: 1})
	require.NoError(t, err)
	cl.frame = cl.enc.FrameSamples()
	cl.src = toRate(t, spec.src, rate)
	for _, ch := range spec.id { // FNV-1a: a distinct SSRC per client
		cl.ssrc = (cl.ssrc ^ uint32(ch)) * 0x01000193
	}
	cl.seq = uint16(cl.ssrc)
	cl.ts = cl.ssrc * 7
	cl.pkt = make([]byte, 0, 1600)
	cl.pcmBuf = make([]int16, cl.frame)
	cl.decBuf = make([]int16, 0, 5760)

	pc := ParticipantConfig{
		ID: spec.id, In: spec.format, InPayloadType: PT(spec.pt),
		Out: spec.format, OutPayloadType: PT(spec.pt),
		ListenOnly:      spec.listenOnly,
		Encoder:         codec.Config{FEC: spec.fec, PacketLossPercent: 10},
		OutAudioLevelID: levelExtID, OutCSRCLevelsID: 2,
		Sink: SinkFunc(cl.receive),
	}
	if !spec.noLevels {
		pc.InAudioLevelID = levelExtID
	}
	if spec.srtp {
		in, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
		require.NoError(t, err)
		out, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
		require.NoError(t, err)
		pc.InSRTP, pc.OutSRTP = &in, &out
		cl.send, err = srtp.NewProtector(in)
		require.NoError(t, err)
		cl.recv, err = srtp.NewUnprotector(out)
		require.NoError(t, err)
	}
	cl.p, err = c.Join(pc)
	require.NoError(t, err)
	return cl
}

// packet encodes the next frame into an RTP (or SRTP) packet.
func (cl *client) packet() []byte {
	fr := cl.pcmBuf
	if cl.silent || cl.spec.listenOnly {
		clear(fr)
	} else {
		for i := range fr {
			if cl.pos+i < len(cl.src) {
				fr[i] = cl.src[cl.pos+i]
			} else {
				fr[i] = 0
			}
		}
	}
	cl.pos += cl.frame
	payload, err := cl.enc.Encode(cl.enc8[:0], fr)
	if err != nil {
		panic(err) // not require: packet also runs inside fuzz targets
	}
	cl.enc8 = payload
	b := appendClientRTP(cl.pkt[:0], cl.spec.pt, cl.seq, cl.ts, cl.ssrc, fr, !cl.spec.noLevels, payload)
	cl.seq++
	cl.ts += uint32(cl.spec.format.FrameSamples(20 * time.Millisecond))
	if cl.send != nil {
		if b, err = cl.send.ProtectRTP(b[:0], b); err != nil {
			panic(err)
		}
	}
	cl.pkt = b[:0]
	return b
}

// receive is the participant's sink: unprotect, parse, decode; RTCP, which
// comes through the same sink, is checked and kept apart.
func (cl *client) receive(pkt []byte) error {
	if rtcpsession.IsRTCP(pkt) {
		cl.receiveRTCP(pkt)
		return nil
	}
	var err error
	if cl.recv != nil {
		pkt, err = cl.recv.UnprotectRTP(pkt[:0], pkt, &cl.hdr)
		if err != nil {
			cl.recvErr++
			return nil
		}
	} else if _, err = cl.hdr.Unmarshal(pkt); err != nil {
		cl.recvErr++
		return nil
	}
	if cl.keep {
		h := cl.hdr.Clone()
		cl.headers = append(cl.headers, h)
	}
	out, err := cl.dec.Decode(cl.decBuf[:0], pkt[cl.hdr.MarshalSize():])
	if err != nil {
		cl.recvErr++
		return nil
	}
	if cl.keep {
		cl.got = append(cl.got, out...)
	}
	return nil
}

func (cl *client) receiveRTCP(pkt []byte) {
	if cl.recv != nil {
		var err error
		if pkt, err = cl.recv.UnprotectRTCP(pkt[:0], pkt); err != nil {
			cl.rtcpErr++
			return
		}
	}
	if _, err := rtcpsession.Walk(pkt); err != nil {
		cl.rtcpErr++
		return
	}
	cl.rtcpN++
	if cl.keep {
		cl.rtcp = append(cl.rtcp, append([]byte(nil), pkt...))
	}
}

// run sends a frame from every client and ticks, for d of virtual time.
// drop, when set, says whether to lose a client's packet.
func run(c *Conference, clients []*client, start, d time.Duration, drop func(cl *client, i int) bool) time.Duration {
	now := start
	for i := 0; now < start+d; i++ {
		for _, cl := range clients {
			pkt := cl.packet()
			if drop != nil && drop(cl, i) {
				continue
			}
			_ = cl.p.WriteRTPAt(now, pkt)
		}
		c.Tick(now)
		now += 20 * time.Millisecond
	}
	return now
}

var (
	pcmu  = g711.PCMU
	pcma  = g711.PCMA
	opf   = opus.Format
	g722f = g722.Format
)
var srtpErrReplay, srtpErrAuth = srtp.ErrReplay, srtp.ErrAuth

// appendClientRTP appends to b what a test client sends: an RTP header,
// with levels the RFC 6464 level of the frame fr (voice flag above
// −60 dBov) in a one-byte extension, and payload.
func appendClientRTP(b []byte, pt uint8, seq uint16, ts, ssrc uint32, fr []int16, levels bool, payload []byte) []byte {
	b = append(b, 0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	if levels {
		b[0] |= 0x10
		lvl := byte(pcm.LevelDBov(fr))
		if lvl < 60 {
			lvl |= 0x80
		}
		b = append(b, 0xBE, 0xDE, 0, 1, levelExtID<<4, lvl, 0, 0)
	}
	return append(b, payload...)
}

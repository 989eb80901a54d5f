package bench

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// Codec mixes for a Room.
const (
	CodecPCMU = "PCMU"
	CodecOpus = "Opus"
	CodecMix  = "mix" // even participants PCMU, odd ones Opus: two encode groups, 8↔48 kHz resampling
)

// Speaking scenarios for a Room.
const (
	// Talk3: three participants speak, everyone else sends silence marked
	// as such by its RFC 6464 level — a meeting.
	Talk3 = "3talk"
	// TalkAll: everyone sends speech (levels included); the mixer still
	// mixes only the three loudest, but must read every level and keep
	// every stream's state.
	TalkAll = "all"
)

// Codecs and Scenarios list the values the tables iterate over.
var (
	Codecs    = []string{CodecPCMU, CodecOpus, CodecMix}
	Scenarios = []string{Talk3, TalkAll}
)

// Ptime of every room: 20 ms.
const Ptime = 20 * time.Millisecond

// levelExtID is the RFC 6464 extension ID the senders use.
const levelExtID = 1

// RoomConfig describes a conference to time.
type RoomConfig struct {
	N        int    // participants
	Codec    string // CodecPCMU, CodecOpus or CodecMix
	Scenario string // Talk3, TalkAll, or (at most SmallRoomSize) Turns4, All4
	Clips    *Clips
	// Profile of every leg's SRTP, both ways; 0 means AES_CM_128_HMAC_SHA1_80.
	Profile srtp.Profile
	// Warmup is how many ticks NewRoom runs before returning; 0 means 100
	// (2 s: jitter buffers settle, speakers are chosen).
	Warmup int
	// Seed chooses a Turns4 room's schedule and where in it the room
	// starts (TurnSchedule).
	Seed uint64
}

// Room is a conference of N participants over SRTP, in and out, fed by
// simulated senders in virtual time. Per tick: Prepare (the senders' work,
// not timed), then Tick (every inbound packet through WriteRTPAt — SRTP
// unprotect, parse, jitter push — then the conference tick: pop, decode
// speakers, mix, encode, SRTP protect, Sink).
type Room struct {
	Conf    *mixer.Conference
	cfg     RoomConfig
	senders []*sender
	now     time.Duration
	ticks   int
	Out     CountSink
	// turns (Turns4): who talks at each tick, from tick turnAt on.
	turns  []uint8
	turnAt int
}

// CountSink counts what the conference sends: RTP packets, and the RTCP
// reports that come through the same sink apart.
type CountSink struct{ Packets, Bytes, RTCP int }

// WriteRTP implements mixer.Sink.
func (c *CountSink) WriteRTP(p []byte) error {
	if rtcpsession.IsRTCP(p) {
		c.RTCP++
		return nil
	}
	c.Packets++
	c.Bytes += len(p)
	return nil
}

// sender plays one participant's far end: a pre-encoded clip sent as SRTP.
type sender struct {
	p     *mixer.Participant
	clip  *Clip
	off   int
	seq   uint16
	ts    uint32
	ssrc  uint32
	pt    uint8
	step  uint32
	prot  *srtp.Protector
	buf   []byte
	ready []byte
	// speech and silence are what the sender sends when it talks and
	// when it does not, under a turn schedule (Turns4).
	speech, silence *Clip
}

// FormatOf returns participant i's codec in a room of codec c.
func FormatOf(c string, i int) (codec.Format, error) {
	switch c {
	case CodecPCMU:
		return PCMU, nil
	case CodecOpus:
		return Opus, nil
	case CodecMix:
		if i%2 == 0 {
			return PCMU, nil
		}
		return Opus, nil
	}
	return codec.Format{}, fmt.Errorf("bench: unknown codec mix %q", c)
}

// NewRoom joins cfg.N participants and warms the room up (cfg.Warmup).
func NewRoom(cfg RoomConfig) (*Room, error) {
	if cfg.Profile == 0 {
		cfg.Profile = srtp.ProfileAESCM128HMACSHA1_80
	}
	switch {
	case cfg.Scenario == Talk3 || cfg.Scenario == TalkAll:
	case isSmall(cfg.Scenario) && cfg.N <= SmallRoomSize:
	default:
		return nil, fmt.Errorf("bench: scenario %q in a room of %d", cfg.Scenario, cfg.N)
	}
	c, err := mixer.NewConference(mixer.ConferenceConfig{Name: fmt.Sprintf("%s/%s/N=%d", cfg.Codec, cfg.Scenario, cfg.N)})
	if err != nil {
		return nil, err
	}
	r, err := joinRoom(c, cfg, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = 100
	}
	for i := 0; i < cfg.Warmup; i++ {
		r.Prepare()
		r.Tick()
	}
	return r, nil
}

// joinRoom joins cfg.N participants to c, each sending to sink (nil: to
// the room's Out, which is not safe for concurrent use).
func joinRoom(c *mixer.Conference, cfg RoomConfig, sink mixer.Sink) (*Room, error) {
	r := &Room{Conf: c, cfg: cfg, senders: make([]*sender, cfg.N)}
	if sink == nil {
		sink = &r.Out
	}
	if cfg.Scenario == Turns4 && cfg.N > 1 {
		r.turns = TurnSchedule(cfg.Seed, cfg.N, TurnCycle)
		r.turnAt = int(cfg.Seed*577) % TurnCycle
	}
	for i := range r.senders {
		f, err := FormatOf(cfg.Codec, i)
		if err != nil {
			return nil, err
		}
		pt := PayloadType(f)
		in, err := srtp.GenerateKeys(cfg.Profile)
		if err != nil {
			return nil, err
		}
		out, err := srtp.GenerateKeys(cfg.Profile)
		if err != nil {
			return nil, err
		}
		p, err := c.Join(mixer.ParticipantConfig{In: f, InPayloadType: mixer.PT(pt), Out: f, OutPayloadType: mixer.PT(pt),
			InAudioLevelID: levelExtID, InSRTP: &in, OutSRTP: &out, Sink: sink})
		if err != nil {
			return nil, err
		}
		prot, err := srtp.NewProtector(in)
		if err != nil {
			return nil, err
		}
		clip := &Clip{}
		*clip = cfg.Clips.Silence[f.Name]
		speech := cfg.Clips.Speech[f.Name]
		talk := &speech[(i+int(cfg.Seed))%len(speech)]
		if cfg.Scenario == TalkAll || cfg.Scenario == All4 || (cfg.Scenario == Talk3 && i < 3) {
			clip = talk
		}
		r.senders[i] = &sender{p: p, clip: clip, off: i*7 + int(cfg.Seed)*31, ssrc: uint32(i + 1), pt: pt,
			step: uint32(f.FrameSamples(Ptime)), prot: prot, buf: make([]byte, 0, 1600),
			seq: uint16(i * 100), ts: uint32(i) * 4000, speech: talk, silence: clip}
	}
	return r, nil
}

// Prepare builds every sender's next SRTP packet (the far ends' work).
func (r *Room) Prepare() {
	if r.turns != nil {
		mask := r.turns[(r.turnAt+r.ticks)%len(r.turns)]
		for i, s := range r.senders {
			s.clip = s.silence
			if mask&(1<<i) != 0 {
				s.clip = s.speech
			}
		}
	}
	for _, s := range r.senders {
		s.prepare(r.ticks)
	}
}

// Tick delivers the prepared packets, runs one conference tick at the
// room's virtual time and advances it by one ptime. This is the timed work.
func (r *Room) Tick() {
	for _, s := range r.senders {
		_ = s.p.WriteRTPAt(r.now, s.ready)
	}
	r.Conf.Tick(r.now)
	r.now += Ptime
	r.ticks++
}

// Close ends the conference.
func (r *Room) Close() { r.Conf.Close() }

func (s *sender) prepare(i int) {
	b := s.plain((s.off + i) % len(s.clip.Payloads))
	out, err := s.prot.ProtectRTP(b[:0], b)
	if err != nil {
		panic(err) // keys and buffers are ours: cannot fail
	}
	s.ready = out
}

// plain writes the RTP packet carrying the clip's frame k into s.buf and
// advances the sequence number and timestamp.
func (s *sender) plain(k int) []byte {
	payload := s.clip.Payloads[k]
	b := s.buf[:20]
	b[0], b[1] = 0x90, s.pt // version 2, extension
	binary.BigEndian.PutUint16(b[2:], s.seq)
	binary.BigEndian.PutUint32(b[4:], s.ts)
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	// RFC 8285 one-byte header extension: the RFC 6464 level, padded.
	copy(b[12:], []byte{0xBE, 0xDE, 0, 1, levelExtID << 4, s.clip.Levels[k], 0, 0})
	b = append(b, payload...)
	s.seq++
	s.ts += s.step
	return b
}

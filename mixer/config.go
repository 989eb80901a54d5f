package mixer

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/srtp"
)

// SilenceMode says what listeners receive while nobody they can hear talks.
type SilenceMode int

const (
	// SilenceFrames sends encoded digital silence every ptime: a continuous
	// stream, which NATs and strict endpoints like.
	SilenceFrames SilenceMode = iota
	// ComfortNoise sends low-level noise (ConferenceConfig.ComfortNoiseLevel)
	// so that listeners do not think the call dropped.
	ComfortNoise
	// DTX sends nothing while the mix is silent (Opus DTX semantics, RFC 3551
	// silence suppression for G.711). Timestamps keep running, sequence
	// numbers do not, and the first packet after the gap has the marker bit.
	DTX
)

func (m SilenceMode) String() string {
	switch m {
	case SilenceFrames:
		return "silence"
	case ComfortNoise:
		return "comfort-noise"
	case DTX:
		return "dtx"
	}
	return fmt.Sprintf("SilenceMode(%d)", int(m))
}

// TalkConfig tunes talking detection. Levels are RFC 6464 -dBov values:
// 0 is the loudest, 127 silence, so "above" a threshold means a smaller
// number.
type TalkConfig struct {
	// StartLevel: the smoothed level must be at least this loud to start
	// talking. Default 45 (-45 dBov).
	StartLevel int
	// StopLevel: talking stops once the level stays quieter than this for
	// HangOver. Default 52.
	StopLevel int
	// StartDelay: how long the level must stay above StartLevel. Default 40 ms.
	StartDelay time.Duration
	// HangOver: how long talking lasts after the level falls. Default 400 ms.
	HangOver time.Duration
}

func (t TalkConfig) withDefaults() TalkConfig {
	if t.StartLevel == 0 {
		t.StartLevel = 45
	}
	if t.StopLevel == 0 {
		t.StopLevel = t.StartLevel + 7
	}
	if t.StartDelay == 0 {
		t.StartDelay = 40 * time.Millisecond
	}
	if t.HangOver == 0 {
		t.HangOver = 400 * time.Millisecond
	}
	return t
}

// ConferenceConfig configures a Conference. The zero value is valid.
type ConferenceConfig struct {
	// Name identifies the conference in stats and events.
	Name string
	// SampleRate of the mix: 8000, 16000, 24000 or 48000. 0 chooses the
	// highest rate among the participants' codecs, capped at MaxSampleRate,
	// as Asterisk's automatic rate does; the rate changes on join and leave.
	SampleRate int
	// MaxSampleRate caps the automatic rate. Default 48000.
	MaxSampleRate int
	// Ptime is the tick and output packet duration: 10, 20, 30, 40 or 60
	// ms. Default 20 ms. A participant may be sent packets of another
	// duration (ParticipantConfig.Ptime); inbound packets may have any.
	// Opus has no 30 ms frame: in a 30 ms conference its participants
	// are sent 20 ms packets unless they ask otherwise.
	Ptime time.Duration
	// MaxSpeakers is how many talkers are mixed at once. Default 3.
	MaxSpeakers int
	// SwitchMargin (dB) and SwitchHold: a talker replaces the quietest
	// speaker only when louder by this margin for this long, so speakers do
	// not flap. Defaults 6 dB, 300 ms.
	SwitchMargin int
	SwitchHold   time.Duration
	// Talk tunes talking detection.
	Talk TalkConfig
	// DisableLimiter turns the soft limiter off: outputs are hard clamped.
	DisableLimiter bool
	// Silence selects what is sent while a listener's mix is silent.
	Silence SilenceMode
	// ComfortNoiseLevel in -dBov for Silence == ComfortNoise. Default 70.
	ComfortNoiseLevel int
	// Jitter holds defaults for every participant's jitter buffer
	// (ClockRate is set per participant).
	Jitter jitter.Config
	// OverloadShare is the share of ptime a tick may take before the
	// conference degrades (lower encoder complexity, then fewer
	// speakers). Default 0.8.
	OverloadShare float64
	// Complexity chooses the Opus encoders' complexity by role and how
	// overload control lowers it (see ComplexityConfig).
	Complexity ComplexityConfig
	// EventBuffer is the capacity of the Events channel. Default 256.
	EventBuffer int
	// FinalEventsWait bounds how long Close's last events (TalkingStopped
	// and Left for everyone still there) that find the Events channel full
	// wait for the reader: each may wait this long for the reader to take
	// it before the rest are dropped (counted in EventsDropped) and the
	// channel is closed. Default DefaultFinalEventsWait (1 s); negative:
	// they do not wait.
	FinalEventsWait time.Duration
	// Clock gives "now" for WriteRTP; default Monotonic. The Engine sets
	// its own.
	Clock func() time.Duration

	// Logger, when set, receives the conference's lifecycle (created,
	// closed, participants joined and left), its events, and rate-limited
	// warnings (overruns, refused inbound packets per participant and
	// reason, media errors, dropped events); see the package
	// documentation, "Logging". Nil logs nothing and costs nothing. It is
	// called from the tick goroutine: its handler must not block for long
	// (unlike a Sink in an Engine, nothing isolates the tick from it). An
	// Engine's conferences default to its Logger.
	Logger *slog.Logger
	// LogInterval is the least time between two warnings of the same kind
	// (per participant and reason for refused packets). Default
	// DefaultLogInterval (10 s); an Engine's conferences default to its
	// LogInterval.
	LogInterval time.Duration

	// Tones turns on join and leave tones (see ToneConfig).
	Tones ToneConfig

	// DTMF is what the conference does with keypad digits by default:
	// swallow them (they raise DTMFBegan and DTMFEnded events for the
	// application) and detect them in-band for legs without
	// telephone-event. A participant's ParticipantConfig.DTMF overrides
	// it field by field.
	DTMF DTMFConfig
}

var validRates = [...]int{8000, 16000, 24000, 48000}

func (c ConferenceConfig) withDefaults() (ConferenceConfig, error) {
	if c.MaxSampleRate == 0 {
		c.MaxSampleRate = 48000
	}
	if c.Ptime == 0 {
		c.Ptime = 20 * time.Millisecond
	}
	if c.MaxSpeakers == 0 {
		c.MaxSpeakers = 3
	}
	if c.SwitchMargin == 0 {
		c.SwitchMargin = 6
	}
	if c.SwitchHold == 0 {
		c.SwitchHold = 300 * time.Millisecond
	}
	if c.ComfortNoiseLevel == 0 {
		c.ComfortNoiseLevel = 70
	}
	if c.OverloadShare == 0 {
		c.OverloadShare = 0.8
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = 256
	}
	if c.FinalEventsWait == 0 {
		c.FinalEventsWait = DefaultFinalEventsWait
	}
	if c.Clock == nil {
		c.Clock = Monotonic
	}
	if c.LogInterval == 0 {
		c.LogInterval = DefaultLogInterval
	}
	c.Talk = c.Talk.withDefaults()
	var err error
	if c.Complexity, err = c.Complexity.withDefaults(); err != nil {
		return c, err
	}
	if !c.DTMF.valid() {
		return c, fmt.Errorf("%w: DTMF policy %v, in-band detection %v", ErrConfig, c.DTMF.Policy, c.DTMF.InBand)
	}
	c.DTMF = c.DTMF.over(DTMFConfig{Policy: DTMFSwallow, InBand: InBandOn})
	switch c.Ptime {
	case 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond:
	default:
		return c, fmt.Errorf("%w: ptime %v (want 10, 20, 30, 40 or 60 ms)", ErrConfig, c.Ptime)
	}
	if c.SampleRate != 0 && !isValidRate(c.SampleRate) {
		return c, fmt.Errorf("%w: sample rate %d (want 8000, 16000, 24000 or 48000)", ErrConfig, c.SampleRate)
	}
	if !isValidRate(c.MaxSampleRate) {
		return c, fmt.Errorf("%w: max sample rate %d", ErrConfig, c.MaxSampleRate)
	}
	if c.MaxSpeakers < 1 || c.MaxSpeakers > maxCSRC {
		return c, fmt.Errorf("%w: max speakers %d (want 1..%d)", ErrConfig, c.MaxSpeakers, maxCSRC)
	}
	if c.Talk.StartLevel < 0 || c.Talk.StartLevel > 127 || c.Talk.StopLevel < c.Talk.StartLevel || c.Talk.StopLevel > 127 {
		return c, fmt.Errorf("%w: talk levels start %d stop %d (want 0 ≤ start ≤ stop ≤ 127)", ErrConfig, c.Talk.StartLevel, c.Talk.StopLevel)
	}
	if c.LogInterval < 0 {
		return c, fmt.Errorf("%w: log interval %v", ErrConfig, c.LogInterval)
	}
	if c.OverloadShare < 0 || c.OverloadShare > 1 {
		return c, fmt.Errorf("%w: overload share %v", ErrConfig, c.OverloadShare)
	}
	return c, nil
}

func isValidRate(r int) bool {
	for _, v := range validRates {
		if v == r {
			return true
		}
	}
	return false
}

// Sink receives a participant's outbound packets, one WriteRTP call per
// packet. pkt is valid only during the call (it is a slot of the
// participant's queue, reused once the call returns): a sink sends it at
// once or copies it. Errors are counted (ParticipantStats.SinkErrors), never
// fatal.
//
// Which goroutine calls it:
//
//   - In a conference ticked by hand (Conference.Tick), the goroutine
//     calling Tick, during the tick, as soon as each packet is built:
//     deterministic, and a sink that blocks blocks Tick. The BYEs of a
//     Close go out from the goroutine calling Close, unless a Tick is
//     running then (that Tick sends them).
//   - In a conference an Engine runs, never the tick: a delivery goroutine
//     of the worker that ticks it (EngineConfig describes them), so that
//     sends run beside the ticks.
//
// Ordering: a participant's packets reach its sink in the order they were
// built, one call at a time, never two at once — though not always from
// the same goroutine. Each packet goes to the Sink the participant had when
// the packet was built: after Participant.Update changes it, packets still
// queued go to the old one, the next ones to the new. Sinks of different participants may be called
// concurrently (in an Engine), so a Sink value shared by several
// participants must be safe for concurrent use.
//
// Blocking: in an Engine a sink may block — for a moment (a full socket
// buffer, a TCP or TURN relay pushing back) or for good — without delaying
// any other participant or conference. A call that lasts longer than
// EngineConfig.SinkBudget (default 5 ms) is declared stalled: the
// conference emits SinkStalled, the other participants are served by a
// fresh delivery goroutine, and the stalled participant's packets go on, in
// order, from the goroutine of the stalled call once it returns. Until then
// its queue (EngineConfig.SinkQueue packets) fills and what does not fit is
// dropped and counted (ParticipantStats.SinkDropped); the receiver sees
// them as lost, the stream's sequence numbers running on. When its sink has
// kept within budget for a second or so, SinkRecovered. When the
// participant leaves while a call is blocked, what it has queued (its BYE
// last) goes out once the call returns, and then Participant.Done closes;
// a call still blocked when Engine.Close returns is left to return in its
// own time, and nothing is called after it.
//
// A sink may call any method of the mixer (Leave, Close, ...) but Tick.
//
// Unless ParticipantConfig.RTCP says otherwise, the participant's RTCP
// (a report every few seconds, a BYE as it leaves) comes through the same
// Sink, multiplexed with its RTP as on a port with rtcp-mux, in order with
// it: a sink that treats packets apart tells them by rtcpsession.IsRTCP.
type Sink interface {
	WriteRTP(pkt []byte) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(pkt []byte) error

// WriteRTP calls f.
func (f SinkFunc) WriteRTP(pkt []byte) error { return f(pkt) }

// ParticipantConfig describes one leg: what it sends us and what we send it.
type ParticipantConfig struct {
	// ID names the participant in events and stats; default "p<n>".
	ID string

	// In is the inbound codec (a registered format, e.g. g711.PCMU) and
	// InPayloadType the payload type it arrives with; unset, it is
	// In.PayloadType. Packets with other payload types are dropped and
	// counted, except CNPayloadType.
	In            codec.Format
	InPayloadType PayloadType
	// CNPayloadType, when non-zero, marks RFC 3389 comfort noise packets,
	// treated as a silence gap. (0 is PCMU's static type, never comfort
	// noise, so a plain number serves.)
	CNPayloadType uint8
	// InAudioLevelID is the RFC 6464 extension ID the sender uses (from SDP
	// a=extmap); 0 when it sends none and levels are computed from PCM.
	InAudioLevelID uint8
	// InSRTP, when set, holds the keys to unprotect inbound SRTP.
	InSRTP *srtp.Keys
	// SRTPReplayWindow is the inbound replay window in packets: 0 means
	// the default (64), negative turns replay protection off.
	SRTPReplayWindow int

	// Out is the outbound codec, OutPayloadType its payload type (unset:
	// Out.PayloadType), and Encoder its options (bitrate, complexity, FEC,
	// DTX...). Out.ClockRate sets the RTP timestamp rate.
	//
	// Join refuses payload types that cannot work, naming the numbers:
	// outside 0..127 or in 64..95 (RTCP's, RFC 5761), a number RFC 3551
	// assigns to another codec, a codec with a static type left to a
	// Format that says otherwise, one number for two formats (In and Out,
	// or comfort noise).
	Out            codec.Format
	OutPayloadType PayloadType
	Encoder        codec.Config
	// SSRC of the outbound stream; 0 picks a random one.
	SSRC uint32
	// OutAudioLevelID, when non-zero, adds the RFC 6464 level of the mix to
	// outbound packets; OutCSRCLevelsID adds RFC 6465 levels per CSRC.
	OutAudioLevelID uint8
	OutCSRCLevelsID uint8
	// OutSRTP, when set, holds the keys to protect outbound packets.
	OutSRTP *srtp.Keys
	// Sink receives outbound packets. Nil discards them (a listen-nothing
	// leg, or a test that only counts).
	Sink Sink

	// Direction is which ways media flows, from the mixer's side (see
	// Direction): SendRecv by default, SendOnly for an audience, RecvOnly
	// or Inactive for a participant that put the call on hold.
	Direction Direction
	// ListenOnly is the older spelling of a Direction that does not
	// receive: Join and Update fold it into Direction (SendRecv becomes
	// SendOnly, RecvOnly becomes Inactive), and Config reports it as
	// !Direction.Recv(). Muted participants are not heard, by a choice
	// that can flip every tick; Deaf ones hear silence (their stream goes
	// on as the conference's Silence mode says, keeping NAT bindings and
	// the peer's jitter buffer warm), where a Direction that does not send
	// sends nothing at all.
	ListenOnly, Muted, Deaf bool
	// GainIn and GainOut in dB, applied to what the participant sends and
	// to what it hears. Range -60..+24.
	GainIn, GainOut float64

	// Jitter overrides the conference's jitter buffer defaults field by
	// field: each non-zero field wins (jitter.Config.Merge); ClockRate is
	// the inbound format's at Join, and CNPayloadType the one above at
	// Join. Update cannot change them.
	Jitter jitter.Config

	// UpdateOverlap is how long, after an Update that changes the inbound
	// SRTP keys or payload type, packets under the old ones are still
	// accepted: those in flight, and those of a peer that switches only
	// when the answer to its re-INVITE reaches it. Default
	// DefaultUpdateOverlap; negative: none, the old ones are refused at
	// once.
	UpdateOverlap time.Duration

	// RTCP configures the participant's RTCP: reports every ~5 s and a
	// BYE on leaving, through Sink, by default.
	RTCP RTCPConfig

	// Ptime is the duration of the packets the participant is sent (the
	// peer's a=ptime): 10, 20, 30, 40 or 60 ms, as its codec allows. 0
	// means the conference's (20 ms for Opus in a 30 ms conference). A
	// participant whose packet time differs from the conference's gets
	// its own packetization: the mix is queued until a packet's worth is
	// in, so some ticks send it none and some two. What it sends may have
	// any packet time.
	Ptime time.Duration

	// InTelephoneEvent and OutTelephoneEvent are the RFC 4733
	// telephone-event formats the participant sends and is sent (the zero
	// value: none); DTMF says what becomes of its digits, over the
	// conference's ConferenceConfig.DTMF. See the package documentation,
	// "DTMF".
	InTelephoneEvent, OutTelephoneEvent TelephoneEvent
	DTMF                                DTMFConfig
}

// DefaultUpdateOverlap is the UpdateOverlap of a ParticipantConfig that
// leaves it 0: a SIP transaction's round trip with margin, plus the
// longest a packet waits in the jitter buffer.
const DefaultUpdateOverlap = 2 * time.Second

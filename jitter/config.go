package jitter

import (
	"fmt"
	"time"
)

// Defaults for zero Config fields.
const (
	DefaultFrameDuration = 20 * time.Millisecond
	// DefaultCapacity is the Capacity the default MaxDelay and
	// FrameDuration give (see Config.Capacity).
	DefaultCapacity        = 64
	DefaultMaxPayload      = 1200
	DefaultMaxDelay        = time.Second
	DefaultStartDelay      = 80 * time.Millisecond
	DefaultQuantile        = 0.995
	DefaultForgetFactor    = 0.9993
	DefaultWindow          = 2 * time.Second
	DefaultResyncThreshold = 3 * time.Second
	DefaultQuietLevel      = 60
)

// Config holds the options of a Buffer. Only ClockRate is required; every
// other zero field takes the default named after it.
type Config struct {
	// ClockRate is the RTP clock in Hz (8000, 48000, …).
	ClockRate int
	// FrameDuration is the packet duration assumed until one is learnt from
	// timestamps or given in Packet.Duration.
	FrameDuration time.Duration
	// Capacity is the number of slots, a power of two between 8 and 4096.
	// The ring holds at most Capacity consecutive sequence numbers ahead of
	// the playout cursor (less an eighth before playback starts, kept for
	// packets reordered before the first). 0 sizes it from MaxDelay and
	// FrameDuration, so that it holds MaxDelay of audio ahead of the
	// cursor at all times: 64 slots for the defaults, 512 for 6 s of 20 ms
	// packets. Packets shorter than FrameDuration fill it sooner.
	Capacity int
	// MaxPayload is the largest payload a slot stores, in bytes. Memory is
	// Capacity × MaxPayload, allocated once in New.
	MaxPayload int

	// MinDelay and MaxDelay bound the target delay; StartDelay is the target
	// until enough packets have arrived to estimate one (DefaultStartDelay
	// clamped to [MinDelay, MaxDelay] when zero). Delays are measured beyond
	// the fastest packet of the last Window, so they exclude the network's
	// base latency. MaxDelay is also how much audio the buffer accepts
	// ahead of what it plays: a source that sends faster than real time (a
	// text-to-speech engine, a file player, a sender catching up after a
	// stall) may run that far ahead, and its packets are kept and played,
	// none skipped; set it above the longest such burst.
	MinDelay, MaxDelay, StartDelay time.Duration

	// Quantile of the relative arrival delay the target covers: 0.995 means
	// about 0.5% of packets may arrive too late. Between 0.5 and 1.
	Quantile float64
	// ForgetFactor is the weight each packet leaves to the history before it
	// (NetEq's default, 0.9993, remembers about 1400 packets). Between 0.9
	// and 1.
	ForgetFactor float64
	// Window is how far back (in RTP time) the fastest packet is looked for;
	// relative arrival delays are measured against it. Short enough that a
	// drifting sender clock moves it little, long enough to hold a fast one.
	Window time.Duration
	// JitterFactor, when positive, keeps the target at least this many RFC
	// 3550 interarrival jitters. Off by default: that jitter averages the
	// differences of consecutive transits, so it underrates heavy tails and
	// overrates the delay needed when packets interleave across two paths
	// (a route change); the quantile covers both. It is reported in Stats
	// either way.
	JitterFactor float64
	// ResyncThreshold is how far the timestamps may jump against the arrival
	// clock before the stream counts as restarted.
	ResyncThreshold time.Duration
	// QuietLevel: a packet whose RFC 6464 level is at or below −QuietLevel
	// dBov (or whose V flag is clear) counts as quiet, so the buffer may drop
	// it or insert silence before it to change its delay unheard. 1..127.
	QuietLevel int
	// CNPayloadType, when not 0, is the payload type of RFC 3389 comfort
	// noise packets (a dynamic one; the static type 13 always counts).
	// Like Opus DTX packets (payloads of one or two bytes), they tell the
	// buffer that the talker has stopped, so that the silence after them
	// is played as silence, not concealed as lost speech.
	CNPayloadType uint8
}

// Merge returns c with every non-zero field of over in place of c's: zero
// means inherit. It is how a per-stream override is laid over shared
// defaults (mixer.ParticipantConfig.Jitter over mixer.Config.Jitter), so a
// field is overridable as soon as it exists here.
//
// Because zero inherits, an override cannot set a field back to zero where
// zero has a meaning of its own (MinDelay 0, JitterFactor off): leave those
// zero in the defaults and set them per stream instead.
func (c Config) Merge(over Config) Config {
	if over.ClockRate != 0 {
		c.ClockRate = over.ClockRate
	}
	if over.FrameDuration != 0 {
		c.FrameDuration = over.FrameDuration
	}
	if over.Capacity != 0 {
		c.Capacity = over.Capacity
	}
	if over.MaxPayload != 0 {
		c.MaxPayload = over.MaxPayload
	}
	if over.MinDelay != 0 {
		c.MinDelay = over.MinDelay
	}
	if over.MaxDelay != 0 {
		c.MaxDelay = over.MaxDelay
	}
	if over.StartDelay != 0 {
		c.StartDelay = over.StartDelay
	}
	if over.Quantile != 0 {
		c.Quantile = over.Quantile
	}
	if over.ForgetFactor != 0 {
		c.ForgetFactor = over.ForgetFactor
	}
	if over.Window != 0 {
		c.Window = over.Window
	}
	if over.JitterFactor != 0 {
		c.JitterFactor = over.JitterFactor
	}
	if over.ResyncThreshold != 0 {
		c.ResyncThreshold = over.ResyncThreshold
	}
	if over.QuietLevel != 0 {
		c.QuietLevel = over.QuietLevel
	}
	if over.CNPayloadType != 0 {
		c.CNPayloadType = over.CNPayloadType
	}
	return c
}

const (
	minCapacity  = 8
	maxCapacity  = 4096
	bucketWidth  = 5 * time.Millisecond
	maxFrameTime = 120 * time.Millisecond // longest Opus packet
)

// capacityFor returns the least ring (a power of two, at most
// maxCapacity) that holds maxDelay of frame-long packets ahead of the
// cursor: beyond the eighth kept for reordering before the first packet,
// and the few slots the consumer hands back late (headBatch).
func capacityFor(maxDelay, frame time.Duration) int {
	need := int((maxDelay+frame-1)/frame) + headBatch
	c := minCapacity
	for c-c/reorderShare < need && c < maxCapacity {
		c <<= 1
	}
	return c
}

// normalized fills defaults and validates.
func (c Config) normalized() (Config, error) {
	if c.ClockRate <= 0 || c.ClockRate > 1_000_000 {
		return c, fmt.Errorf("%w: ClockRate %d Hz is not in 1..1000000", errConfig, c.ClockRate)
	}
	if c.FrameDuration == 0 {
		c.FrameDuration = DefaultFrameDuration
	}
	if c.FrameDuration < 0 || c.FrameDuration > time.Second {
		return c, fmt.Errorf("%w: FrameDuration %v is not in (0, 1s]", errConfig, c.FrameDuration)
	}
	if int64(c.FrameDuration)*int64(c.ClockRate) < int64(time.Second) {
		return c, fmt.Errorf("%w: FrameDuration %v is less than one tick at %d Hz", errConfig, c.FrameDuration, c.ClockRate)
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxPayload < 1 || c.MaxPayload > 65535 {
		return c, fmt.Errorf("%w: MaxPayload %d is not in 1..65535", errConfig, c.MaxPayload)
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.MinDelay < 0 || c.MaxDelay < c.MinDelay || c.MaxDelay > time.Minute {
		return c, fmt.Errorf("%w: need 0 <= MinDelay (%v) <= MaxDelay (%v) <= 1m", errConfig, c.MinDelay, c.MaxDelay)
	}
	if c.Capacity == 0 {
		c.Capacity = capacityFor(c.MaxDelay, c.FrameDuration)
	}
	if c.Capacity < minCapacity || c.Capacity > maxCapacity || c.Capacity&(c.Capacity-1) != 0 {
		return c, fmt.Errorf("%w: Capacity %d is not a power of two in %d..%d", errConfig, c.Capacity, minCapacity, maxCapacity)
	}
	if c.StartDelay == 0 {
		c.StartDelay = min(max(DefaultStartDelay, c.MinDelay), c.MaxDelay)
	}
	if c.StartDelay < c.MinDelay || c.StartDelay > c.MaxDelay {
		return c, fmt.Errorf("%w: StartDelay %v is outside [%v, %v]", errConfig, c.StartDelay, c.MinDelay, c.MaxDelay)
	}
	if c.Quantile == 0 {
		c.Quantile = DefaultQuantile
	}
	if !(c.Quantile > 0.5 && c.Quantile < 1) {
		return c, fmt.Errorf("%w: Quantile %v is not in (0.5, 1)", errConfig, c.Quantile)
	}
	if c.ForgetFactor == 0 {
		c.ForgetFactor = DefaultForgetFactor
	}
	if !(c.ForgetFactor >= 0.9 && c.ForgetFactor < 1) {
		return c, fmt.Errorf("%w: ForgetFactor %v is not in [0.9, 1)", errConfig, c.ForgetFactor)
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Window < c.FrameDuration || c.Window > time.Minute {
		return c, fmt.Errorf("%w: Window %v is not in [FrameDuration, 1m]", errConfig, c.Window)
	}
	if c.JitterFactor < 0 || c.JitterFactor > 100 {
		return c, fmt.Errorf("%w: JitterFactor %v is not in [0, 100]", errConfig, c.JitterFactor)
	}
	if c.ResyncThreshold == 0 {
		// A source sending faster than real time (see MaxDelay) runs
		// ahead of the arrival clock by up to MaxDelay, and after a burst
		// the next packet's timestamp lags it by as much: no jump.
		c.ResyncThreshold = max(DefaultResyncThreshold, c.MaxDelay+2*time.Second)
	}
	if c.ResyncThreshold < c.MaxDelay || c.ResyncThreshold > time.Hour {
		return c, fmt.Errorf("%w: ResyncThreshold %v is not in [MaxDelay (%v), 1h]", errConfig, c.ResyncThreshold, c.MaxDelay)
	}
	if c.QuietLevel == 0 {
		c.QuietLevel = DefaultQuietLevel
	}
	if c.QuietLevel < 1 || c.QuietLevel > 127 {
		return c, fmt.Errorf("%w: QuietLevel %d is not in 1..127", errConfig, c.QuietLevel)
	}
	return c, nil
}

// Package jitter is a lock-free, adaptive jitter buffer for one RTP audio
// stream, whose delay follows the network and never creeps.
//
// One goroutine (the one reading the socket) calls [Buffer.Push] with each
// packet as it arrives; another (the mixer tick) calls [Buffer.Pop] once per
// stretch of audio it plays. The two share a preallocated power-of-two ring
// of slots, each with its own payload storage, and synchronise through
// padded atomic positions only: no mutex, no channel, no allocation after
// [New].
//
// # Playout
//
// Playout follows RTP timestamps, so Opus DTX gaps and senders that change
// their packet time work; sequence numbers give order, duplicates and loss.
// Pop says what to play for the next stretch of time:
//
//   - [KindPacket]: decode the payload;
//   - [KindLost]: a packet never came; when [Frame.NextAvailable] is set the
//     next packet is already here, so an Opus decoder can rebuild the lost
//     frame from its in-band FEC;
//   - [KindConceal]: the buffer ran dry while the sender was talking, or it
//     is stretching its delay: run the decoder's concealment;
//   - [KindGap]: silence (DTX, a voice-activity gap): play comfort noise;
//   - [KindEmpty]: nothing yet.
//
// A talkspurt ends with a DTX or comfort noise packet (a payload of one or
// two bytes, as Opus DTX sends, or RFC 3389 comfort noise: payload type
// 13 or [Config.CNPayloadType]) or a quiet RFC 6464 level; the silence
// after it is played as KindGap, not concealed. A sender that just stops
// sending is told from a lost packet by its habits: once it has paused
// (a timestamp gap between consecutive packets) more often than it has
// lost packets, running dry is taken for a pause.
//
// # Delay
//
// The target delay is a high quantile (default 99.5%) of each packet's
// arrival delay relative to the fastest packet of a sliding window, kept as
// a histogram with exponential forgetting, as WebRTC's NetEq does; the RFC
// 3550 interarrival jitter is kept alongside and may set a floor. Measuring
// against the fastest recent packet rather than the first one is what stops
// a sender clock that runs 1% fast or slow from dragging the delay with it.
// Push measures arrivals in batches of up to eight packets (160 ms at
// most), so the target follows the newest arrivals with that lag, far less
// than the histogram's memory of about 1400 packets.
//
// The caller pops at its own ticks, so a packet is in time when it is
// there at the Pop of the tick its audio starts in, and the delay the
// listener hears is that deadline plus how far into the tick (or beyond)
// the audio starts. The buffer steers both: it plays each packet at the
// first tick at which it is in time by the target, with its audio starting
// right at that tick, which is what the best fixed-delay player that ticks
// like the caller would do.
//
// Delay changes in three ways:
//
//   - In silence (a DTX or voice-activity gap, a quiet packet, the start
//     of a talkspurt) the buffer skips or inserts silence itself, any
//     amount.
//   - While the talker talks, it asks the caller to time-scale: each
//     packet frame carries a request, [Frame.Stretch], to play the audio a
//     little longer or shorter (at most 15 ms at once, a quarter of the
//     audio over time, NetEq's accelerate and preemptive expand rates). A
//     caller that can do so unheard (a time-scaler on decoded PCM, or a
//     mixer dropping or repeating audio nobody hears) applies what it can
//     and reports it with [Buffer.Stretched].
//   - A caller that never answers is served by whole frames: the buffer
//     conceals a frame while it waits for a packet that is due, and drops
//     one frame at a time, spaced out, when the delay is a frame and 20 ms
//     over the target (beyond 100 ms over it for a caller that answers).
//
// It never flushes. Packets that arrive after their playout time are
// dropped and counted; a large jump in timestamps or a new SSRC (a
// restarted sender) resyncs the buffer once the next packet confirms it.
//
// # Sources faster than real time
//
// A text-to-speech engine, a file player or a sender catching up after a
// stall may send seconds of audio at once. The ring holds MaxDelay of
// audio ahead of what plays (its size follows MaxDelay and FrameDuration),
// before playback starts as during it; packets that arrive ahead of the
// stream's pace are kept and played in turn, none skipped, and left out of
// the delay estimate (they say nothing about the network), so the buffer
// neither sheds them as excess delay nor takes them for a shorter route.
// Only the packet that starts each burst can come late, and the target's
// margin is for it: while a burst's audio is buffered, a caller that
// time-scales is asked to play it a tick earlier, and the delay is
// lengthened back before the buffered audio runs out (about 1% of the
// audio time-scaled per 5 s burst). Set MaxDelay above the longest burst
// such a source sends.
//
// A consumer that stalls for longer than the ring holds plays what the
// ring kept, then starts over, as at the start, from the packets arriving
// after the stall (those the ring had no room for are counted as
// overflow).
//
// [Buffer.Stats] is a snapshot readable from any goroutine: packets
// received, played, lost, late, duplicated, reordered, concealed, dropped to
// shrink the delay, resyncs, the audio the caller lengthened and shortened,
// RFC 3550 jitter, current and target delay.
package jitter

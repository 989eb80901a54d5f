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
// The buffer grows its delay by concealing one frame, and shrinks it by
// dropping a quiet frame (RFC 6464 level, a DTX gap) or one at a talkspurt
// start; it never flushes. Packets that arrive after their playout time are
// dropped and counted; a large jump in timestamps or a new SSRC (a
// restarted sender) resyncs the buffer once the next packet confirms it.
// A consumer that stalls for longer than the ring holds plays what the
// ring kept, then starts over, as at the start, from the packets arriving
// after the stall (those the ring had no room for are counted as
// overflow).
//
// [Buffer.Stats] is a snapshot readable from any goroutine: packets
// received, played, lost, late, duplicated, reordered, concealed, dropped to
// shrink the delay, resyncs, RFC 3550 jitter, current and target delay.
package jitter

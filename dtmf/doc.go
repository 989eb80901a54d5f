// Package dtmf carries telephone keypad digits through a media path: the
// RFC 4733 telephone-event payload (parse and write), a [Receiver] that
// turns a stream's event packets into digit notices, a [Sender] that makes
// the packets of a digit for an outbound stream, and a [Detector] that
// finds the digits a phone without telephone-event sends as tones in its
// audio (ITU-T Q.23/Q.24). Digits are the events 0-9, *, #, A-D and the
// hook flash (16), [Event]; other codes (RFC 4734) parse and can be
// accepted through an [EventSet].
//
// Nothing here owns a socket, a goroutine or a clock: callers give it
// payloads, timestamps, PCM and the current (virtual) time, as everywhere
// in rtpmix.
//
// # Receiving RFC 4733
//
//	rx, _ := dtmf.NewReceiver(dtmf.ReceiverConfig{ClockRate: 8000})
//	rx.Packet(now, hdr.Timestamp, hdr.Marker, payload) // each telephone-event packet
//	rx.Audio(now, audioTS)                             // each audio packet of the stream
//	rx.Tick(now)                                       // each playout tick
//	for d, ok := rx.Next(); ok; d, ok = rx.Next() { ... } // Digit: began, or ended with its duration
//
// The Receiver reports each digit once when it begins and once when it
// ends, whatever the network did: repeated start and end packets, a lost
// start, lost ends (the digit ends at the next event, when audio resumes,
// or after a timeout), reordering left over after the jitter buffer, a new
// digit before the old one's end, events longer than the 16-bit duration
// (RFC 4733 §2.5.1.3 segments, and wrapping durations from older
// senders), several reports in one packet (§2.5.1.5), 8 and 48 kHz clocks,
// timestamp wrap. Malformed payloads return ErrShortPayload and are
// counted ([ReceiverStats]); nothing panics or allocates. The tests replay
// packets captured from GStreamer's rtpdtmfsrc (testdata/) and SIPp's
// recorded RFC 2833 digits, and fuzz the state machine with them.
//
// # Sending RFC 4733
//
//	tx, _ := dtmf.NewSender(dtmf.SenderConfig{ClockRate: 8000, Interval: ptime})
//	tx.Start(ev, 100*time.Millisecond, nextAudioTS)
//	// each packet interval, instead of an audio packet:
//	if p, ok := tx.Next(buf[:0]); ok { send(header(ssrc, seq++, p.Timestamp, p.Marker, pt), p.Payload) }
//
// The Sender follows RFC 4733 §2.5.1: marker on the first packet, one
// timestamp (the start) for the whole event, the duration so far in each
// packet, the final report (E bit) three times ([EndRepeats]), segments
// for events past 0xFFFF clock units. [Sender.SetDuration] lets a digit
// received from one participant be sent on to another before its length
// is known. GStreamer's rtpdtmfdepay decodes its packets in the interop
// test.
//
// # In-band detection
//
//	det, _ := dtmf.NewDetector(dtmf.DetectorConfig{SampleRate: 8000})
//	det.Process(pcm) // each decoded frame of the participant, any length
//	for d, ok := det.Next(); ok; d, ok = det.Next() { ... }
//
// A bank of eight Goertzel filters over 5 ms hops, combined coherently
// into 25 ms windows, with the classic tests (level, twist, each tone 10
// dB above the others of its group, the two tones holding most of the
// energy, every hop of the window filled alike) and a frequency test
// (each tone closer to its nominal frequency than to 5 % off it). A digit
// begins after 35 ms that pass every test and ends after 20 ms without
// it. What the tests hold, with the generated signals at each edge
// (TestQ24, TestQ24Duration, TestQ24Pause, TestNoise):
//
//	requirement (Q.24; North American values where stricter)  result
//	frequency within ±1.5 % accepted, each of the 8, both ways  accepted (row, column, both, opposite ways)
//	frequency ±3.5 % off rejected, each of the 8, both ways     rejected
//	twist: column 4 dB above row (reverse), 8 dB below (normal) accepted, also with the tones 1.5 % off
//	twist 10 dB reverse, 14 dB normal                           rejected
//	level -25 dBm0 per tone (Q.24's floor), up to -3 dBm0       accepted (default MinLevel -32 dBm0)
//	level -40 dBm0                                              rejected
//	duration 40 ms accepted, at every alignment                 accepted, reported within 5 ms
//	duration 25 ms (and 20, 10) rejected, at every alignment    rejected (the edge is 29-33 ms with alignment)
//	pause of 40 ms between digits (same digit too)              recognized: 16 digits of 40 ms on/40 ms off
//	drop-out of 10 ms within a digit                            bridged: one digit, full duration
//	white noise, SNR 15 dB and better over the 4 kHz band       every digit found (found down to 5 dB)
//	below 15 dB, and noise alone                                never a wrong or invented digit
//	talk-off: 30 s of speech (4 talkers) at 8/16/48 kHz, at 3   0 digits; not one 25 ms window of the
//	levels, with noise, and pitch-shifted ×½, ×2, ×3            8 kHz clips passes all the tests
//	all 16 digits through μ-law and A-law at -25 and -6 dBm0,   all found (TestG711)
//	with the frequency and twist edges
//	music-like: sines on DTMF frequencies, chords, sawtooths,   0 digits
//	sweeps, a DTMF pair under a stronger third tone
//
// The duration thresholds are chosen as the North American receivers'
// (Bellcore): a tone of 40 ms must be accepted, one of 23 ms or less
// rejected; 25 ms is rejected here at every alignment, and the uncertain
// range lies between 29 and 33 ms.
//
// # Cost
//
// Measured with go test -bench BenchmarkDetector -benchtime 5000x on the
// 2-core reference machine while it ran other work (load average 8; the
// ranges are over five runs), per 20 ms frame of one participant:
//
//	input                 speech      digits sounding
//	8 kHz                 1.5-3.3 µs  4.0-4.6 µs
//	16 kHz (resampled)    2.7-5.4 µs  4.3-7.9 µs
//	48 kHz (resampled)    2.8-4.5 µs  4.3-7.9 µs
//
// The frequency test runs only on windows that passed every other test,
// which speech never did in the talk-off clips, so speech costs the
// filter bank alone. A telephone-event packet costs about 20 ns in the
// Receiver, an outbound one about 6 ns in the Sender. Nothing allocates
// after construction (the Alloc tests). A Detector holds about 3 KB (plus
// a resampler above 8 kHz), a Receiver about 1 KB, a Sender 100 bytes.
//
// # What a mixer does with it
//
// Per participant with a telephone-event payload type (a=rtpmap:101
// telephone-event/8000 or /48000, a=fmtp:101 0-16):
//
//   - Inbound: after SRTP and the RTP header, packets of that payload type
//     never go to a decoder. They share the audio's SSRC, sequence numbers
//     and clock (RFC 4733 §2.1), so the audio jitter buffer sees the
//     sequence numbers they used as a gap, and usually a timestamp jump
//     (senders stop audio during a digit): it must not count them as
//     lost. The socket goroutine hands them to the tick (a small SPSC ring
//     of {timestamp, marker, payload ≤ 16 bytes} is enough; the Receiver
//     copes with the reordering a ring does not fix), where Packet,
//     Audio (for each audio packet played out) and Tick run, and Next's
//     notices become conference events. Reset on an SSRC change.
//   - Without telephone-event (a G.711 phone sending tones): a Detector
//     per participant, fed the decoded PCM at the codec's rate (8 kHz for
//     G.711, before resampling to the conference rate, which is the
//     cheapest input) for the participants whose audio is decoded this
//     tick; when a participant is not decoded for a tick (silence, DTX,
//     not among the speakers) call Reset (a digit in progress ends with
//     CauseReset) or feed it the concealment, so that frames that are not
//     consecutive are never joined. The tone itself is already in the
//     audio: a conference that swallows digits mutes the participant
//     while a digit is active.
//   - Outbound (SendDTMF, or passing a received digit on): a Sender per
//     listener stream with that listener's clock rate and packet time;
//     Start from the tick with the stream's next audio timestamp, then
//     each tick send Next's packet (the listener's SSRC, its next sequence
//     number, the telephone-event payload type, the packet's timestamp and
//     marker) instead of the audio packet, and keep advancing the audio
//     timestamp by the packet time so that audio resumes after the digit.
//     A digit passed on starts at its Began notice with MaxDuration and
//     gets SetDuration at its Ended notice.
//
// # Concurrency
//
// Receiver, Sender and Detector each serve one stream and are not safe
// for concurrent use: one goroutine (the one that runs that participant's
// playout or sending) calls all of a value's methods. Report, Digit,
// Event and EventSet are values, safe to copy and share. The package has
// no global mutable state.
package dtmf

// Package mixer is rtpmix's N-way conference mixer: participants send RTP or
// SRTP in, each hears everyone else (mix-minus) in its own codec, rate and
// RTP stream.
//
// # Cost model
//
// Codec work per tick grows with the number of speakers and output formats,
// not with the number of participants:
//
//   - Every tick, each participant's jitter buffer is read and the RFC 6464
//     audio level of its packets noted (cheap).
//   - Up to MaxSpeakers loud talkers are chosen from those levels, with
//     hysteresis so the set does not flap; only their packets are decoded.
//     Senders without level headers are decoded to measure their level.
//   - The speakers are summed once in int32. Each speaker hears the sum
//     minus its own contribution, limited once, through its own encoder.
//   - Every other participant is a listener: listeners with the same output
//     format (codec, options, gain) share one mix, one resample and one
//     encode. Only the RTP header and SRTP protection are per listener.
//
// So a 1000-party Opus room with three talkers decodes three streams and
// encodes four, and spends the rest on packet work.
//
// # Delay and time-scaling
//
// Each participant's jitter buffer changes its delay while the talker
// talks by asking for the audio to be played a little longer or shorter
// (jitter.Frame.Stretch). For the participants it decodes, the mixer does
// so on the decoded PCM, a pitch period or a stretch of silence at a time
// (internal/tsm, about 2 µs per change at 48 kHz, only while the delay
// moves), or declines when no change would go unheard; for the others,
// whose audio nobody hears, it applies the request exactly to the silence
// their undecoded frames are owed as. Either way it tells the buffer
// exactly what it applied, so the buffer's account of the audio not yet
// played, and so its delay, stays exact; ParticipantStats.TimeScale says
// how much. The buffer drops a whole frame of speech only when its delay
// is 100 ms or more above its target.
//
// # Streams
//
// Each participant's outbound stream has its own SSRC, sequence numbers and
// timestamps, continuous across silence and across the switch between the
// shared and its own encoder; the marker bit starts each talkspurt; the CSRC
// list names the speakers heard, and RFC 6464 / RFC 6465 levels are added
// when configured. While nobody is heard, ConferenceConfig.Silence chooses
// digital silence, comfort noise or DTX (nothing sent). An Opus stream's
// silence costs no encoding: after two real frames, digital silence goes
// out as CELT silence frames, comfort noise as libopus's DTX sends it
// (TOC-only frames, a real update every 400 ms), and with Encoder.DTX
// nothing, so a room of four with one talker runs one encoder, not two.
// Opus encoders run at a complexity chosen by role (ComplexityConfig): the
// shared encode at the participant's, a speaker's own mix-minus at Own
// (by default the same: lower costs the talkers audible coding noise),
// and overload control steps both down before it sheds speakers.
//
// # RTCP
//
// Each participant has its RTCP (package rtcpsession does the protocol):
// Participant.WriteRTCP takes what the participant sends (SRTCP on its
// inbound keys), and WriteRTP hands RTCP on to it (RFC 5761), so a socket
// that carries both needs one call. The tick sends each participant a
// report every ~5 s (RFC 3550's randomised interval): an SR about the
// stream the mixer sends it, with a report block about the stream it
// sends (fraction and cumulative loss, extended highest sequence number,
// the jitter buffer's interarrival jitter, LSR/DLSR), and an SDES CNAME;
// and a BYE when it leaves. Reports go through the participant's Sink,
// multiplexed with its RTP, or a separate RTCPConfig.Sink; SRTCP when it
// has outbound keys. ParticipantStats.RTCP holds what its reports say
// about the stream we send it (loss, jitter, round-trip time); a BYE for
// its own stream raises a ByeReceived event and the application decides.
//
// # Running
//
// A Conference is driven by Tick(now), every ptime, from one goroutine: that
// is how tests and benchmarks run it in virtual time, and its sinks are
// called during each Tick, on that goroutine. An Engine runs many
// conferences on a pool of workers against the monotonic clock, with
// per-conference timing stats and overload control (a conference whose
// ticks overrun first lowers its Opus encoders' complexity, then sheds
// speakers, and ticks missed by a stall are skipped, never queued, so
// latency does not pile up).
//
// # Changing a participant
//
// Participant.Update changes a leg in place, as a SIP re-INVITE, a hold or
// resume, a codec change or an SRTP re-key needs: formats and payload
// types both ways, encoder options, extension IDs, SRTP keys both ways,
// Direction, gains, mute and deaf, the outbound SSRC. It validates as Join
// does and applies all or nothing. Talk state, speaker status and the
// jitter buffer carry on; the outbound stream keeps its SSRC and numbering
// (the timestamp counts on at the new clock rate after a codec change);
// packets under the old inbound keys and payload types are still accepted,
// and decoded by the old decoder, for ParticipantConfig.UpdateOverlap.
// Direction (sendrecv, sendonly, recvonly, inactive, from the mixer's side)
// says whether a participant is mixed and whether it is sent packets: hold
// is a direction, not a deafness.
//
// # Sinks
//
// Each tick builds every outbound packet (header, payload, SRTP) straight
// into a slot of its participant's queue: no copy, no allocation. In an
// Engine the tick never calls a sink: a delivery goroutine beside each
// worker drains the queues of the conferences the worker just ticked, so
// the sends (UDP syscalls, microseconds each) run in parallel with
// the ticks, and no sink can delay a tick or anyone else. The worker
// watches its delivery goroutine: a Sink call over EngineConfig.SinkBudget
// leaves that participant to a goroutine of its own (SinkStalled), a fresh
// delivery goroutine serves everyone else, and the participant's queue
// (EngineConfig.SinkQueue) overflows into ParticipantStats.SinkDropped until
// its sink catches up (SinkRecovered). A participant's packets are
// delivered in order, one call at a time; Sink has the whole contract.
//
// # Closing
//
// Conference.Close ends a conference wherever it runs: everyone leaves,
// with their Left events, it never ticks again, and Events is closed after
// the last event, so `for ev := range conf.Events()` ends. Engine.Close
// closes every conference and returns once the sinks are done. Calls on a
// closed conference or engine return ErrClosed.
//
// # Embedding
//
// A server brings the sockets and the signalling; the mixer does the rest.
// The whole of examples/minimal (one shared UDP socket, a participant per
// sending address) is, trimmed of its error handling:
//
//	eng := mixer.NewEngine(mixer.EngineConfig{})
//	room, _ := eng.NewConference(mixer.ConferenceConfig{Name: "room"})
//	go func() {
//		for ev := range room.Events() { // ends after Close, with everyone's Left
//			log.Println(ev.Type, ev.Participant, ev.Detail)
//		}
//	}()
//	context.AfterFunc(ctx, func() { eng.Close(); conn.Close() }) // BYEs out, sinks done, then the socket
//	parts := map[string]*mixer.Participant{}
//	for {
//		n, from, err := conn.ReadFrom(buf)
//		if err != nil {
//			return
//		}
//		p := parts[from.String()]
//		if p == nil {
//			p, _ = room.Join(mixer.ParticipantConfig{ID: from.String(), In: g711.PCMU, Out: g711.PCMU,
//				Sink: mixer.SinkFunc(func(pkt []byte) error { _, err := conn.WriteTo(pkt, from); return err })})
//			parts[from.String()] = p
//		}
//		_ = p.WriteRTP(buf[:n]) // RTP, or RTCP multiplexed on the port
//	}
//
// A ParticipantConfig usually comes from an SDP offer (package negotiate);
// Join defaults what it leaves out (payload types to the format's, RTCP
// through the Sink). Example (Embedding) gives each participant a socket of
// its own.
//
// # Prompts, music and recording
//
// Not every member of a room speaks RTP. Conference.AddSource adds a
// Source: PCM the application writes (a WAV prompt, a TTS stream, music on
// hold), at 8 to 48 kHz, that the tick plays into the room with the same
// speaker selection, gain, mute, talking events and CSRC levels as a
// participant's voice — or, with SourceConfig.To, whispers to one
// participant only (heard even while that participant is deaf to the
// room), or, with Priority, mixes on top of the talkers. A feeder faster
// than real time is buffered (SourceConfig.Buffer, default 10 s): Write
// waits for the tick to play room for the rest, TryWrite queues what fits
// and returns ErrSourceFull; audio is never dropped.
//
//	src, _ := conf.AddSource(mixer.SourceConfig{SampleRate: 16000})
//	src.Write(ctx, prompt) // returns once queued; runs at most Buffer ahead
//	src.Wait(ctx)          // returns once played
//	src.Close()
//
// Conference.AddTap takes audio out: the room's mix (TapMix), what one
// participant hears (TapHears: its mix-minus, whispers, gain), what one
// sends (TapInbound, decoded, silence where it sent nothing) at a rate of
// the application's choice, or an Opus leg's packets untranscoded
// (TapInboundPackets). Every frame is stamped on the conference's media
// clock (MediaTime), so the taps of a room line up. A tap hands its frames
// to a FrameWriter from the tick — a *record.Recorder is one, which copies
// the frame into a bounded queue and writes the file on a goroutine of its
// own, so a slow disk never delays a tick — or queues them for Read.
//
//	rec, _ := record.Create("room.opus", record.Format{SampleRate: 48000, Channels: 1},
//		record.FileConfig{Config: record.Config{Start: conf.MediaTime()}})
//	tap, _ := conf.AddTap(mixer.TapConfig{Kind: mixer.TapMix, SampleRate: 48000, Writer: rec})
//	...
//	tap.Close()
//	<-tap.Done()
//	rec.WriteSilence(tap.Stats().End) // the file lasts as long as the room was recorded
//	rec.Close()
//
// Gaps (loss, DTX, a late join, a stall whose ticks were skipped) are
// silence in the files, so a participant's leg recorded from the moment
// the room's recording started lines up with the mix sample for sample.
// ConferenceConfig.Tones plays a short chime when someone joins or
// leaves, through a priority source of the conference's own. Sources,
// taps and tones allocate nothing per tick. What recording costs, as
// process CPU per second of a room of three Opus talkers and two PCMU
// listeners mixed at 48 kHz, tick and recorder goroutines together
// (go test -bench RecordRoom ./mixer, a loaded shared 2-core machine):
//
//	no recording                                 38–40 ms
//	the mix to WAV                               38–39 ms (within the noise)
//	each of the three legs to WAV (16 kHz)       38–41 ms (within the noise)
//	each Opus leg's packets to Ogg/Opus          36–38 ms (within the noise)
//	the mix to Ogg/Opus (one libopus encode)     48–52 ms (+10 ms, 1 % of a core)
//
// # Concurrency
//
// Join, Leave, Update, SetMuted, SetDeaf, SetGainIn/Out and all Stats calls
// are safe from any goroutine while the conference ticks: changes are
// queued and applied at the start of the next tick, and the tick never
// waits for them.
// Participant.WriteRTP and WriteRTCP may be called from the goroutines that
// read the participant's sockets; the jitter buffer between them and the
// tick is lock-free. Events are delivered on a buffered channel and dropped
// (and counted) rather than block the tick — except the closing Left
// events, which wait for the reader for a while
// (ConferenceConfig.FinalEventsWait).
//
// # Logging
//
// ConferenceConfig.Logger (EngineConfig.Logger for an Engine's
// conferences) takes a *slog.Logger; nil, the default, logs nothing and
// costs nothing. Every record of a conference has the key "conference"
// (its Name); the other keys are participant, event, reason, detail,
// count (how many since the last such record), total (since the start),
// err and level_dbov.
//
//   - Info: "conference created", "conference closed", "participant
//     joined" (detail: formats, payload types, SRTP), "participant left"
//     (reason, when known: Participant.LeaveWithReason, or "conference
//     closed"), "participant updated" (detail: the configuration an Update
//     left), "conference recovered"; an Engine's start and close.
//   - Debug: "talking started" and "talking stopped" (level_dbov).
//   - Warn, each kind at most once per ConferenceConfig.LogInterval
//     (default 10 s): "inbound packets refused" per participant and
//     reason (the names of RefusedStats.Reasons: srtp_auth, payload_type,
//     version...; late and duplicate packets at Debug), with err the error
//     WriteRTP returned; "media errors" per participant and reason
//     (decode, encode, protect, sink); "ticks over budget" (with budget,
//     p99 and speakers_shed); "events dropped: the Events reader is
//     behind".
//   - Every Event is logged, with event set to its type's String, so that
//     event types added later are covered; types not named above (and
//     Overloaded) are warnings, at most 10 per type and LogInterval.
//
// The counters behind the warnings are the ones Stats reads; the tick
// compares them with what it last reported at most once a second. Nothing
// on the packet path knows about logging, and a tick that logs nothing
// allocates nothing. The handler runs on the tick goroutine, like a Sink:
// it must not block for long.
//
// # Errors
//
// Every error a call returns matches an exported sentinel with errors.Is:
// ErrConfig for configurations that cannot work (Join, Update,
// NewConference, SetGainIn/Out; the message names the field and numbers, and a cause found
// by package codec, srtp or jitter is wrapped too), ErrDuplicateID,
// ErrClosed, and for SendDTMF ErrNoTelephoneEvent and ErrDTMFQueueFull. Participant.WriteRTP returns exactly one of ErrClosed,
// ErrMalformed, ErrPayloadType, srtp.ErrAuth, srtp.ErrReplay, jitter.ErrLate,
// jitter.ErrDuplicate, jitter.ErrFull or jitter.ErrTooLarge, unwrapped, and
// allocates nothing in this package to refuse a packet, so a flood of bad
// packets costs no garbage. The detail is in ParticipantStats: PacketsIn
// counts the packets accepted, Refused the others by reason. WriteRTCP
// returns ErrClosed, ErrMalformed, srtp.ErrAuth or srtp.ErrReplay the same
// way, counted in ParticipantStats.RTCP.Refused.
//
// # DTMF
//
// A participant with an inbound telephone-event payload type
// (ParticipantConfig.InTelephoneEvent, what SDP's a=rtpmap:101
// telephone-event/8000 and a=fmtp:101 0-16 say; 8 or 48 kHz clock) has its
// RFC 4733 event packets taken out after SRTP and the RTP header: they
// never reach a decoder, and their sequence numbers are taken out of the
// audio's so the jitter buffer does not count them as lost. The tick holds
// them for the jitter buffer's delay and feeds them in order to a
// dtmf.Receiver, so that each digit raises one DTMFBegan and one
// DTMFEnded event (Event.DTMF: the digit, its duration, how its end was
// known) whatever the network did: repeated or lost end packets, lost
// starts, reordering, a digit before the last one's end. A participant
// without one is listened to in-band: a Q.24 Goertzel detector (package
// dtmf) runs on its decoded audio, at the codec's rate, for the
// participants decoded in a tick only, so silent participants cost
// nothing (1.3-3.5 µs per decoded speaker per 20 ms of G.711 speech or
// keypad tones, BenchmarkDTMFInBandTick on a loaded 2-core machine; the
// same with it on as off for senders that are not decoded); its events
// have DTMF.InBand set.
// ConferenceConfig.DTMF and ParticipantConfig.DTMF (per field) choose
// what becomes of the digits:
//
//   - DTMFSwallow (the default): they are the application's (an IVR, a PIN,
//     a mute toggle). An in-band tone is muted out of the mix from the
//     moment it is recognised (35 ms in).
//   - DTMFPass: they are also sent to the other participants that have an
//     outbound telephone-event payload type (OutTelephoneEvent), as RFC
//     4733 events regenerated on each one's own stream (its SSRC, sequence
//     numbers, timestamps, clock and packet time), in the place of its
//     audio while the digit lasts.
//
// Participant.SendDTMF sends one participant a digit (queued, up to 32,
// DTMFGap apart) as RFC 4733 events with the three end packets:
//
//	p, _ := conf.Join(mixer.ParticipantConfig{In: g711.PCMU, Out: g711.PCMU,
//		InTelephoneEvent:  mixer.TelephoneEvent{PayloadType: 101},
//		OutTelephoneEvent: mixer.TelephoneEvent{PayloadType: 101}, Sink: sink})
//	for e := range conf.Events() {
//		if e.Type == mixer.DTMFEnded {
//			fmt.Println(e.Participant, string(e.DTMF.Digit.Rune()), e.DTMF.Duration)
//		}
//	}
//	err := p.SendDTMF(dtmf.EventPound, 100*time.Millisecond) // ErrNoTelephoneEvent without OutTelephoneEvent
//
// negotiate.Leg.Apply fills in both payload types from the SDP exchange.
// ParticipantStats.DTMF counts digits both ways; malformed event packets
// are refused (ErrMalformed) and counted in Refused.TelephoneEvent.
//
// # Packet time
//
// A conference ticks (and mixes) every ConferenceConfig.Ptime: 10, 20, 30,
// 40 or 60 ms. Each participant is sent packets of its own
// ParticipantConfig.Ptime (the peer's a=ptime; Participant.Ptime says what
// it is, for the answer), by default the conference's, except Opus in a
// 30 ms conference, which has no 30 ms frame and gets 20 ms. A participant
// whose packet time differs from the tick gets its own packetization: its
// chains queue the mix until a packet's worth is in, so a 30 ms phone in a
// 20 ms room gets packets on two ticks of three with timestamps 240 apart,
// and its digits are sent at its packet time too. Listeners with the same
// codec and packet time still share one encode. Inbound packets may have
// any duration.
//
// # Payload types
//
// ParticipantConfig.InPayloadType and OutPayloadType default to the
// format's payload type (0 PCMU, 8 PCMA, 111 Opus); PT(n) sets one
// explicitly, e.g. the number an SDP offer gave. Join refuses payload types
// no peer could take, naming the numbers.
//
// The mixer depends only on package codec's registry: import
// github.com/rtpmix/rtpmix/codec/g711 and .../codec/opus for the codecs you
// need (opus needs cgo; everything else here builds without it).
//
// # Trunks: one room over several bridges
//
// A room too large for one bridge, or whose people sit far apart, runs as
// parts, one Conference per bridge, joined pairwise by trunks
// (EnableTrunking, AddTrunk). Each part sends every other part the
// streams of its own top-N talkers (N = MaxSpeakers) as they arrived,
// never a mix: the talker's payload untouched, one stable SSRC per
// talker, its RFC 6464 level (measured by the origin when the talker
// sent none) and the origin part's ID in a header extension (the wire
// format is described in trunkwire.go), SRTP per trunk and direction.
// What arrives on a trunk is a remote participant (Participant.Remote,
// Conference.RemoteParticipants): selected and mixed like a local one,
// never forwarded again. A stream whose origin is this part
// (ErrTrunkLoop) or that already arrives on another trunk
// (ErrTrunkDuplicate) is dropped and counted, so every talker is mixed
// once in every part and no cycle of trunks carries audio back.
//
// Every part runs the same selection over the same candidates, with no
// primary: the union of the parts' top Ns holds the room's top N, ties
// are broken by each stream's (part, SSRC), and a new speaker's place
// stays open to any louder talker for TrunkingConfig.Settle, so parts
// that saw talkers start in a different order (a trunk's delay apart)
// agree. Each part selects on the audio it plays, and plays a remote
// talker a trunk's delay and a jitter buffer after the talker's own part
// does; so the parts agree on which talkers are mixed for each moment of
// their speech (a G.711 talker's missing level is measured on the packet
// forwarded, so it belongs to that packet everywhere), while on the
// clock a change of the set reaches them that far apart. A talker is forwarded from the first packet loud enough to
// enter its part's top N (the tick confirms within a few hundred ms, or
// the run ends), with the packets of the last PreRoll before it, dated
// back by the time they were held, so its first syllable reaches the
// other parts on time. Forwarding runs on the goroutine that calls the
// talker's WriteRTP and allocates nothing.
//
// The application makes the trunks: a Part ID per part, unique in the
// room; for each pair, addresses and SRTP keys exchanged by its own
// signalling; a Sink that sends to the peer; and Trunk.WriteRTP for what
// arrives from it. A trunk with nothing to forward sends a keepalive
// every 250 ms, so TrunkStats.LastPacket tells a peer that died from a
// quiet one; Trunk.Close removes the peer's streams at once. Remote
// participants are named by their origin's participant IDs (so those
// should be unique in the room) and emit Joined, Left and talking events
// like local ones; they are counted in ConferenceStats.Participants but
// are not in Participants, and leave after TrunkingConfig.StreamTimeout
// without packets (Leave makes one leave at once, but the stream's next
// packet makes it anew: SetMuted is how a part stops mixing a remote
// talker).
package mixer

// Package rtpclient is the far end of an rtpmix call for the examples and
// their tests: it sends a WAV clip, a tone or silence as RTP or SRTP over UDP
// and receives what comes back with RFC 3550 loss and jitter statistics.
//
// # Sending
//
// A Source holds a whole clip encoded once, frame by frame, with the RFC 6464
// level of each frame, so that hundreds of senders share the encoding work
// of one. A Sender turns the next frame into a packet (RTP header, optional
// audio-level extension, optional SRTP) and writes it to its UDP socket,
// without allocating. Pace drives any number of Senders from one goroutine
// on an absolute schedule (start + k·ptime), so a load test of a thousand
// legs costs one timer, not a thousand.
//
// # Receiving
//
// A Receiver reads its socket until the socket is closed or its read deadline
// passes. It drops and counts what is not RTP for it (garbage, RTCP
// multiplexed on the port, SRTP that does not authenticate, other payload
// types) and keeps, per RFC 3550 Appendix A.3 and A.8, the extended highest
// sequence number, the cumulative loss and the interarrival jitter. Given a
// decoder it also records the audio, in arrival order, for tests that check
// what was heard.
//
// # SDP
//
// The examples' SDP offers and answers are package negotiate's: NewOffer
// writes a participant's offer and Offer.Accept reads the bridge's answer
// into the address, payload type and SRTP keys a Sender and Receiver take.
//
// # Concurrency
//
// A Sender belongs to one goroutine (Pace's, or the caller's). A Receiver's
// Run owns its socket's read side; Stats may be called from any goroutine at
// any time. A Source is immutable once built and may be shared.
package rtpclient

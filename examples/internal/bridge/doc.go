// Package bridge is a UDP RTP/SRTP conference bridge built on rtpmix's mixer:
// an HTTP/JSON control API (rooms, SDP offer/answer joins, mute, deaf, gain,
// stats, Server-Sent Events) in front of a mixer.Engine, with one pair of UDP
// sockets (RTP and RTCP) per participant.
//
// It is the server behind examples/bridge, examples/demo and the load
// generator; the contract they share is Config, New, Start, HTTPAddr and
// Close plus the HTTP routes documented on Server.
//
// # Sockets
//
// Each participant gets its own RTP socket and, next to it, an RTCP socket
// (port+1, or rtcp-mux on the RTP socket when the offer asks for it). One
// socket per participant keeps the SDP simple (the answer's port names the
// leg), lets the kernel demultiplex instead of a map lookup per packet, and
// lets one goroutine per socket own the participant's inbound side, which is
// what the mixer's single-producer jitter buffer wants. Reads go through
// golang.org/x/net/ipv4's ReadBatch (recvmmsg on Linux).
//
// # Address latching
//
// Media is sent to the address of the offer's c= and m= lines (RTCP to
// port+1, a=rtcp or the RTP port under rtcp-mux); an offer with 0.0.0.0
// receives media at the address it sends from (comedia). Inbound, a leg
// latches to the source address of the first packet that is authentic: for
// SRTP one that authenticates, for RTP one that parses with the negotiated
// payload type. From then on packets from any other address are dropped and
// counted (ParticipantStats "foreign"). The source port is not required to
// equal the offer's port because many senders (ffmpeg among them) send from
// another port than they receive on.
//
// # Liveness
//
// A participant that sends neither RTP nor RTCP for Config.Idle is removed,
// as is one that sends an RTCP BYE for its stream. Listen-only endpoints
// keep their leg alive with RTCP receiver reports, as RFC 3550 endpoints do.
//
// # Concurrency
//
// Every Server method is safe for concurrent use.
package bridge

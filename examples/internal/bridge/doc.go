// Package bridge is a UDP RTP/SRTP conference bridge built on rtpmix's mixer:
// an HTTP/JSON control API (rooms, SDP offer/answer joins and re-offers,
// mute, deaf, gain, stats, Server-Sent Events) in front of a mixer.Engine, with one pair of UDP
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
// # Addresses
//
// Inbound, a leg latches to the source address of the first packet that is
// authentic: for SRTP one that authenticates, for RTP one that parses with
// the negotiated payload type. From then on packets from any other address
// are dropped and counted (ParticipantStats "foreign"). The source port is
// not required to equal the offer's port because many senders (ffmpeg
// among them) send from another port than they receive on, and NATs
// rewrite addresses. With plain RTP, whoever sends first takes the latch,
// and it never moves: a sender that restarts on another port is dropped
// as foreign (and logged so) until it joins again. With SRTP a packet from
// another address is handed to the mixer, and if it authenticates and is
// no replay it proves the sender: the latch moves there (logged, counted
// in latch_moves), and a comedia peer is answered at its new address. A
// genuine packet that someone else sends again from elsewhere is refused
// by the SRTP replay window and moves nothing. (So on SRTP legs RTP that
// fails is counted under its SRTP reason wherever it comes from, and
// "foreign" counts only RTCP.)
//
// Outbound is symmetric RTP: nothing is sent until an authentic packet
// (RTP, or RTCP that passed the checks below, such as a listener's first
// receiver report) has arrived from the offer's host; then media goes to
// the offer's c= and m= address (RTCP to port+1, a=rtcp, or the RTP port
// under rtcp-mux). An offer naming someone else's address therefore makes
// the bridge send nothing there. An offer with 0.0.0.0 (comedia) is
// answered at the address it sends from. Config.TrustOfferAddress sends at
// once instead. Offers naming the bridge's own media ports, a multicast or
// broadcast group are refused (488).
//
// # RTCP
//
// The mixer does each leg's RTCP (mixer.Participant.WriteRTCP and
// RTCPConfig, on package rtcpsession): it verifies SRTCP with the leg's
// keys, reads the peer's reports (its loss, jitter and round trip show in
// the participant's stats), and sends the peer a sender report with a
// report block about its stream and an SDES CNAME every -rtcp-interval
// (randomised as RFC 3550 says), and a BYE when it leaves, through the
// leg's RTCP socket (its RTP socket under rtcp-mux). The bridge keeps the
// transport's rules. RTCP is read by one goroutine per leg: the RTCP
// socket's reader, or the RTP socket's under rtcp-mux. RTCP that arrives
// on the RTP port of a leg without rtcp-mux is dropped and counted. RTCP
// is accepted from the address RTCP latched to; before that, under
// rtcp-mux only from the RTP latch, for SRTP legs from any address whose
// SRTCP authenticates, and for plain legs from the RTP latch's host with
// the RTCP port, or before any RTP from the offer's host. A BYE removes
// the participant only when the mixer reports it for the peer's own
// stream (the SSRC of its authenticated RTP, or of its first accepted
// report: a listen-only peer sends no RTP). A leaving leg keeps its
// sockets until the mixer has sent its BYE (at most half a second).
//
// # Logs and metrics
//
// The mixer.Engine logs to Config.Logger too: rooms created and closed,
// participants joined and left (with the bridge's reason: deleted, idle,
// rtcp bye...), and, at most once per Config.LogInterval per participant
// and reason, refused packets (a wrong SRTP key shows as srtp_auth). The
// bridge logs its own drops (garbage, foreign, rtcp_bad, rtcp_not_muxed)
// the same way and with the same keys: conference, participant, reason,
// count (since the last record), total. GET /metrics serves the counters
// per room in the Prometheus text format, read at scrape time.
//
// # Concurrency
//
// Every Server method is safe for concurrent use.
package bridge

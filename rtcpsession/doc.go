// Package rtcpsession is the RTCP of one RTP session (RFC 3550 §6, RFC
// 5761, RFC 5506), from one endpoint's point of view, without allocating
// per packet: it reads the compound packets the remote sends, keeps the
// statistics RTCP reports, and writes our reports.
//
// It has four parts, each owned by whoever drives that side of the
// session:
//
//   - Walk checks a compound packet as RFC 3550 A.2 says and iterates over
//     its packets (SR, RR, SDES, BYE as typed views; APP, XR, feedback and
//     unknown types skipped by their length). IsRTCP tells RTCP from RTP
//     on a port that carries both (rtcp-mux, RFC 5761 §4).
//   - A Receiver takes the RTP and RTCP that arrive: per-source reception
//     statistics (A.1's sequence validation with probation and restarts,
//     A.3's loss, A.8's interarrival jitter), the remote's sender reports
//     (for the LSR and DLSR of our blocks), what it reports about our
//     stream (RemoteReport: loss, jitter, round-trip time), its CNAME and
//     its BYE.
//   - A Sender counts what our stream sent and maps its RTP timestamps to
//     the wall clock for sender reports.
//   - A Scheduler times the reports: §6.3's randomised interval with timer
//     reconsideration, a configurable minimum (5 s by default, the reduced
//     minimum of §6.2 as an option).
//
// A Report is the compound packet we send: an SR when we sent media since
// the last report or the one before (else an RR), report blocks, an SDES
// with our CNAME and optionally a BYE; MarshalTo writes it into the
// caller's buffer (io.ErrShortBuffer when it does not fit).
//
// A Session puts the parts together for a caller that runs the session on
// one goroutine. Package mixer uses the parts on their own: the Receiver
// under the lock of the participant's inbound path, the Sender and the
// Scheduler in the tick.
//
// # Time
//
// Times are time.Durations on the caller's clock (the mixer's conference
// clock, or virtual time in tests). A Clock maps that clock to the NTP
// timestamps of sender reports; round-trip times need only that the
// sender reports and the Receiver use the same Clock.
//
// # Trust
//
// A Receiver believes what it is given. The caller passes it RTCP that
// came from the remote: SRTCP that authenticated, or RTCP from the address
// the remote's media comes from. A BYE counts only when it names one of
// the remote's own sources: the SSRC of RTP it sent, or the sender SSRC
// of its first report.
//
// # Errors
//
// Walk and Receiver.ReceiveRTCP refuse a malformed packet whole with one
// of ErrTooShort, ErrVersion, ErrLength, ErrPadding, ErrNotCompound or
// ErrContent, unwrapped and allocation-free; each matches ErrMalformed.
// Constructors return errors matching ErrConfig.
package rtcpsession

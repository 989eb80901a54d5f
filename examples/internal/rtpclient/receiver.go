package rtpclient

import (
	"errors"
	"math"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/internal/seqnum"
	"github.com/rtpmix/rtpmix/srtp"
)

// ReceiverConfig describes the stream a Receiver expects.
type ReceiverConfig struct {
	// ClockRate of the RTP timestamps (8000 for G.711, 48000 for Opus), for
	// the interarrival jitter. Required.
	ClockRate int
	// PayloadType accepted; packets with another are dropped and counted,
	// unless AnyPayloadType.
	PayloadType    uint8
	AnyPayloadType bool
	// SRTP, when set, holds the peer's keys: packets are unprotected and
	// those that do not authenticate are dropped and counted.
	SRTP *srtp.Keys
	// Decoder, when set, decodes every accepted payload and keeps the PCM,
	// in arrival order, up to MaxRecord (default 60 s) of audio.
	Decoder   codec.Decoder
	MaxRecord time.Duration
}

// ReceiverStats is a snapshot of a Receiver's counters. Expected and Lost
// follow RFC 3550 Appendix A.3 (Lost may be negative when packets were
// duplicated); Jitter is the interarrival jitter of Appendix A.8.
type ReceiverStats struct {
	Packets, Bytes uint64
	Expected       uint64
	Lost           int64
	Jitter         time.Duration
	// Dropped before counting as received.
	Malformed, RTCP, WrongPayloadType, SRTPFailures uint64
	DecodeErrors                                    uint64
	// SSRCChanges counts restarts of the stream under a new SSRC; loss is
	// accumulated across them.
	SSRCChanges uint64
	// First and Last are the arrival times of the first and last accepted
	// packets (zero before any).
	First, Last time.Time
}

// Dropped is the number of datagrams that were not accepted as RTP.
func (s ReceiverStats) Dropped() uint64 {
	return s.Malformed + s.RTCP + s.WrongPayloadType + s.SRTPFailures
}

// Receiver reads one RTP stream from a UDP socket and keeps RFC 3550
// reception statistics.
//
// Concurrency: Run (or Handle, for callers that read the socket themselves)
// from one goroutine; Stats and Audio from any goroutine.
type Receiver struct {
	conn  *net.UDPConn
	cfg   ReceiverConfig
	unpro *srtp.Unprotector
	hdr   rtp.Header

	mu          sync.Mutex
	st          ReceiverStats
	ssrc        uint32
	seqs        seqnum.Unwrapper16
	base, max   int64
	prevExp     uint64 // Expected of earlier SSRCs
	rrExpected  uint64 // Expected and Packets at the last ReceiverReport
	rrReceived  uint64
	lastTS      uint32
	lastArrival time.Time
	jitter      float64 // timestamp units
	pcm         []int16
	frame       []int16
	maxPCM      int
}

// NewReceiver prepares a Receiver for conn (which it reads in Run).
func NewReceiver(conn *net.UDPConn, cfg ReceiverConfig) (*Receiver, error) {
	if cfg.ClockRate <= 0 {
		return nil, errors.New("rtpclient: ReceiverConfig.ClockRate is required")
	}
	r := &Receiver{conn: conn, cfg: cfg}
	if cfg.SRTP != nil {
		u, err := srtp.NewUnprotector(*cfg.SRTP)
		if err != nil {
			return nil, err
		}
		r.unpro = u
	}
	if cfg.Decoder != nil {
		if cfg.MaxRecord <= 0 {
			cfg.MaxRecord = 60 * time.Second
		}
		r.maxPCM = int(cfg.MaxRecord.Seconds() * float64(cfg.Decoder.SampleRate()*cfg.Decoder.Channels()))
		r.frame = make([]int16, 0, 5760*2)
	}
	return r, nil
}

// Run reads and handles datagrams until the socket is closed or its read
// deadline passes, and returns nil then; other read errors are returned.
func (r *Receiver) Run() error {
	buf := make([]byte, 1500)
	for {
		n, err := r.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return err
		}
		_ = r.Handle(buf[:n], time.Now()) // drops are counted
	}
}

// Handle processes one datagram that arrived at the given time. It may
// modify pkt (SRTP is decrypted in place). The error says why a datagram was
// dropped; it is also counted. Allocation-free unless recording audio.
func (r *Receiver) Handle(pkt []byte, arrival time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// RFC 5761 §4: with RTCP multiplexed on this port, RTCP packet types
	// 192..223 sit where RTP would have marker+payload type 64..95.
	if len(pkt) >= 2 && pkt[0]>>6 == 2 && pkt[1] >= 192 && pkt[1] <= 223 {
		r.st.RTCP++
		return errRTCP
	}
	var payload []byte
	if r.unpro != nil {
		plain, err := r.unpro.UnprotectRTP(pkt[:0], pkt, &r.hdr)
		if err != nil {
			if errors.Is(err, srtp.ErrAuth) || errors.Is(err, srtp.ErrReplay) || errors.Is(err, srtp.ErrShortPacket) {
				r.st.SRTPFailures++
			} else {
				r.st.Malformed++
			}
			return err
		}
		if payload, err = srtp.Payload(plain); err != nil {
			r.st.Malformed++
			return err
		}
	} else {
		if _, err := r.hdr.Unmarshal(pkt); err != nil || r.hdr.Version != 2 {
			r.st.Malformed++
			return errNotRTP
		}
		var err error
		if payload, err = srtp.Payload(pkt); err != nil {
			r.st.Malformed++
			return errNotRTP
		}
	}
	if !r.cfg.AnyPayloadType && r.hdr.PayloadType != r.cfg.PayloadType {
		r.st.WrongPayloadType++
		return errPayloadType
	}
	r.account(arrival, len(pkt))
	if r.cfg.Decoder != nil && len(r.pcm) < r.maxPCM {
		f, err := r.cfg.Decoder.Decode(r.frame[:0], payload)
		if err != nil {
			r.st.DecodeErrors++
		} else {
			r.frame = f
			r.pcm = append(r.pcm, f...)
		}
	}
	return nil
}

// account updates the RFC 3550 sequence and jitter state for the accepted
// packet in r.hdr.
func (r *Receiver) account(arrival time.Time, size int) {
	h := &r.hdr
	if r.st.Packets == 0 || h.SSRC != r.ssrc {
		if r.st.Packets > 0 {
			r.st.SSRCChanges++
			r.prevExp += uint64(r.max - r.base + 1)
		}
		r.ssrc = h.SSRC
		r.seqs.Reset()
		ext := r.seqs.Unwrap(h.SequenceNumber)
		r.base, r.max = ext, ext
		r.jitter = 0
		r.lastTS, r.lastArrival = h.Timestamp, arrival
		if r.st.First.IsZero() {
			r.st.First = arrival
		}
	} else {
		ext := r.seqs.Unwrap(h.SequenceNumber)
		r.base, r.max = min(r.base, ext), max(r.max, ext)
		// A.8: D = (Rj − Ri) − (Sj − Si) in timestamp units.
		d := arrival.Sub(r.lastArrival).Seconds()*float64(r.cfg.ClockRate) - float64(seqnum.Diff32(h.Timestamp, r.lastTS))
		r.jitter += (math.Abs(d) - r.jitter) / 16
		r.lastTS, r.lastArrival = h.Timestamp, arrival
	}
	r.st.Packets++
	r.st.Bytes += uint64(size)
	r.st.Last = arrival
}

// Stats returns a snapshot; safe from any goroutine.
func (r *Receiver) Stats() ReceiverStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	if st.Packets > 0 {
		st.Expected = r.prevExp + uint64(r.max-r.base+1)
		st.Lost = int64(st.Expected) - int64(st.Packets)
		st.Jitter = time.Duration(r.jitter / float64(r.cfg.ClockRate) * float64(time.Second))
	}
	return st
}

// Audio returns a copy of the decoded audio (nil without a Decoder).
func (r *Receiver) Audio() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.Decoder == nil {
		return nil
	}
	return append([]int16(nil), r.pcm...)
}

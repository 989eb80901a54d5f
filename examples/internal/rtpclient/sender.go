package rtpclient

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/srtp"
)

// VoiceLevel is the loudest RFC 6464 level (-dBov) a Sender still marks as
// not voice: frames louder than -50 dBov carry the V flag.
const VoiceLevel = 50

// SenderConfig describes one outbound RTP stream. The zero value sends plain
// RTP with the Source's static payload type, a random SSRC, no extension,
// the Source once.
type SenderConfig struct {
	// PayloadType of the packets; 0 means the Source format's PayloadType
	// (which is 0 for PCMU itself).
	PayloadType uint8
	// SSRC of the stream; 0 picks a random one. The first sequence number
	// and timestamp are always random (RFC 3550 §5.1).
	SSRC uint32
	// AudioLevelID, 1..14, adds the RFC 6464 client-to-mixer audio level
	// (one-byte header extension, RFC 8285) with that ID; 0 adds none.
	AudioLevelID uint8
	// SRTP, when set, protects every packet with these keys.
	SRTP *srtp.Keys
	// Loop restarts the Source at its end; otherwise the Sender is Done
	// after the last frame.
	Loop bool
	// Offset is the frame the Sender starts at, so that talkers sharing a
	// Source do not speak in unison.
	Offset int
}

// SenderStats counts what a Sender sent. Bytes are UDP payload bytes.
type SenderStats struct {
	Packets, Bytes, Errors, Skipped uint64
}

// Sender writes one RTP stream from a Source to a UDP peer.
//
// Concurrency: Send and Skip belong to one goroutine; Stats and SSRC may be
// called from any goroutine.
type Sender struct {
	conn   *net.UDPConn
	remote *net.UDPAddr // nil when conn is connected
	src    *Source
	cfg    SenderConfig
	prot   *srtp.Protector
	ssrc   uint32
	seq    uint16
	ts     uint32
	frame  int
	sent   int
	buf    [1500]byte

	packets, bytes, errs, skipped atomic.Uint64
}

// NewSender prepares a stream of src from conn to remote (nil when conn is
// already connected to its peer).
func NewSender(conn *net.UDPConn, remote *net.UDPAddr, src *Source, cfg SenderConfig) (*Sender, error) {
	if cfg.AudioLevelID > 14 {
		return nil, fmt.Errorf("%w: audio level extension ID %d (want 1..14)", errSenderConfig, cfg.AudioLevelID)
	}
	if cfg.PayloadType == 0 {
		cfg.PayloadType = src.format.PayloadType
	}
	if cfg.PayloadType > 127 {
		return nil, fmt.Errorf("%w: payload type %d", errSenderConfig, cfg.PayloadType)
	}
	s := &Sender{conn: conn, remote: remote, src: src, cfg: cfg, ssrc: cfg.SSRC,
		seq: uint16(rand.Uint32()), ts: rand.Uint32(), frame: cfg.Offset}
	for s.ssrc == 0 {
		s.ssrc = rand.Uint32()
	}
	if cfg.SRTP != nil {
		p, err := srtp.NewProtector(*cfg.SRTP)
		if err != nil {
			return nil, err
		}
		s.prot = p
	}
	return s, nil
}

// SSRC is the stream's synchronisation source.
func (s *Sender) SSRC() uint32 { return s.ssrc }

// Done reports whether a non-looping Sender has sent its whole Source.
func (s *Sender) Done() bool { return !s.cfg.Loop && s.sent >= s.src.Len() }

// Stats returns the counters; safe from any goroutine.
func (s *Sender) Stats() SenderStats {
	return SenderStats{Packets: s.packets.Load(), Bytes: s.bytes.Load(), Errors: s.errs.Load(), Skipped: s.skipped.Load()}
}

// Send builds the next packet and writes it. It allocates nothing. A write
// error is counted and returned; the stream moves on either way, as a real
// sender's clock would.
func (s *Sender) Send() error {
	if s.Done() {
		return nil
	}
	pkt, err := s.build()
	s.advance()
	if err != nil {
		s.errs.Add(1)
		return err
	}
	if s.remote != nil {
		_, err = s.conn.WriteToUDP(pkt, s.remote)
	} else {
		_, err = s.conn.Write(pkt)
	}
	if err != nil {
		s.errs.Add(1)
		return err
	}
	s.packets.Add(1)
	s.bytes.Add(uint64(len(pkt)))
	return nil
}

// Skip lets one frame's time pass without sending, as a sender that stalled
// would: the timestamp advances, the sequence number does not.
func (s *Sender) Skip() {
	s.ts += s.src.samples
	s.frame++
	s.sent++
	s.skipped.Add(1)
}

func (s *Sender) advance() {
	s.seq++
	s.ts += s.src.samples
	s.frame++
	s.sent++
}

// build writes the packet for the current frame into s.buf:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	|V=2|P|X|  CC   |M|     PT      |       sequence number         |
//	|                           timestamp                           |
//	|                             SSRC                              |
//	|      0xBE     |      0xDE     |           length=1            |  X=1 only
//	|  ID   | len=0 |V| level       |             0 (pad)           |
//	|                            payload ...                        |
func (s *Sender) build() ([]byte, error) {
	payload, level := s.src.Frame(s.frame)
	b := s.buf[:]
	b[0] = 0x80
	b[1] = s.cfg.PayloadType
	if s.sent == 0 {
		b[1] |= 0x80 // marker: the stream starts with a talkspurt
	}
	binary.BigEndian.PutUint16(b[2:], s.seq)
	binary.BigEndian.PutUint32(b[4:], s.ts)
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	n := 12
	if id := s.cfg.AudioLevelID; id != 0 {
		b[0] |= 0x10
		binary.BigEndian.PutUint16(b[12:], 0xBEDE)
		binary.BigEndian.PutUint16(b[14:], 1)
		b[16] = id << 4
		b[17] = level & 0x7f
		if level <= VoiceLevel {
			b[17] |= 0x80
		}
		b[18], b[19] = 0, 0
		n = 20
	}
	overhead := 0
	if s.prot != nil {
		overhead = s.prot.RTPOverhead()
	}
	if n+len(payload)+overhead > len(b) {
		return nil, fmt.Errorf("%w: %d bytes", errShortBuffer, n+len(payload)+overhead)
	}
	n += copy(b[n:], payload)
	pkt := b[:n]
	if s.prot != nil {
		return s.prot.ProtectRTP(pkt[:0], pkt)
	}
	return pkt, nil
}

// maxLag is how far Pace may fall behind its schedule before it skips
// frames instead of sending a burst to catch up.
const maxLag = 100 * time.Millisecond

// Pace sends a frame from every sender every ptime, on the schedule
// start + k·ptime so that the rate does not drift, until ctx is done or every
// sender is Done. When the process stalls for more than 100 ms, the frames
// whose time has passed are skipped (Sender.Skip), not sent in a burst.
// It returns the number of ticks run.
func Pace(ctx context.Context, ptime time.Duration, senders []*Sender) int {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	ticks := 0
	for {
		select {
		case <-ctx.Done():
			return ticks
		case <-timer.C:
		}
		due := start.Add(time.Duration(ticks) * ptime)
		for time.Since(due) > maxLag {
			for _, s := range senders {
				s.Skip()
			}
			ticks++
			due = start.Add(time.Duration(ticks) * ptime)
		}
		done := true
		for _, s := range senders {
			if !s.Done() {
				_ = s.Send() // counted in the sender's stats
				done = done && s.Done()
			}
		}
		ticks++
		if done {
			return ticks
		}
		timer.Reset(time.Until(start.Add(time.Duration(ticks) * ptime)))
	}
}

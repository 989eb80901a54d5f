package rtpclient

import (
	"errors"
	"math"
	"net"

	"github.com/pion/rtcp"

	"github.com/rtpmix/rtpmix/srtp"
)

// ReceiverReport returns an RTCP receiver report (RFC 3550 §6.4.2) from the
// endpoint ssrc about the stream received so far: one report block with the
// fraction lost since the previous call, the cumulative loss, the extended
// highest sequence number and the jitter, or no block before any packet.
// Endpoints that only listen send these to show they are alive; a bridge
// that removes silent legs counts them. Protect it with SRTCP on SRTP legs.
// It allocates; call it every few seconds, not per packet.
func (r *Receiver) ReceiverReport(ssrc uint32) ([]byte, error) {
	r.mu.Lock()
	rr := rtcp.ReceiverReport{SSRC: ssrc}
	if r.st.Packets > 0 {
		expected := r.prevExp + uint64(r.max-r.base+1)
		// A.3: the fraction lost over the interval since the last report.
		dExp, dRecv := int64(expected-r.rrExpected), int64(r.st.Packets-r.rrReceived)
		var fraction uint8
		if lost := dExp - dRecv; dExp > 0 && lost > 0 {
			fraction = uint8(min(255, (lost<<8)/dExp))
		}
		r.rrExpected, r.rrReceived = expected, r.st.Packets
		total := max(0, int64(expected)-int64(r.st.Packets))
		rr.Reports = []rtcp.ReceptionReport{{
			SSRC:               r.ssrc,
			FractionLost:       fraction,
			TotalLost:          uint32(min(total, 1<<23-1)), // 24-bit field
			LastSequenceNumber: uint32(r.max),
			Jitter:             uint32(math.Min(r.jitter, math.MaxUint32)),
		}}
	}
	r.mu.Unlock()
	return rr.Marshal()
}

// SendReport sends the ReceiverReport from the Receiver's socket to to,
// as SRTCP with prot when it is not nil (prot belongs to the caller's
// goroutine for the call). Listeners send one as soon as they have joined
// and then every few seconds: the bridge sends media only to an address
// that something authentic has come from (symmetric RTP), and removes
// legs it hears nothing from. Safe to call while Run reads the socket.
func (r *Receiver) SendReport(ssrc uint32, to *net.UDPAddr, prot *srtp.Protector) error {
	if r.conn == nil {
		return errors.New("rtpclient: SendReport on a Receiver without a socket")
	}
	b, err := r.ReceiverReport(ssrc)
	if err == nil && prot != nil {
		b, err = prot.ProtectRTCP(nil, b)
	}
	if err == nil {
		_, err = r.conn.WriteToUDP(b, to)
	}
	return err
}

package bridge

import (
	"fmt"
	"net"
	"net/netip"
)

// checkTarget refuses an offer whose RTP or RTCP destination would make
// the bridge send to itself (two such offers make a loop that echoes the
// room and never idles out) or to an address no participant has: a
// multicast or broadcast group, or the bridge host's loopback when the
// bridge serves other hosts.
func (s *Server) checkTarget(o *offer) error {
	if !o.rtpDst.Addr().IsUnspecified() && o.rtcpDst.Addr().IsUnspecified() {
		// Sending to 0.0.0.0 reaches this host: the bridge itself.
		return fmt.Errorf("%w: a=rtcp address %s with a c= address", errNotAcceptable, o.rtcpDst.Addr())
	}
	for _, d := range []netip.AddrPort{o.rtpDst, o.rtcpDst} {
		a := d.Addr()
		switch {
		case a.IsUnspecified(): // comedia: answered where the peer sends from
		case a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return fmt.Errorf("%w: c= %s is a multicast or broadcast address", errNotAcceptable, a)
		case a.IsLoopback() && !s.mediaIP.IsLoopback():
			return fmt.Errorf("%w: c= %s is the bridge host's loopback", errNotAcceptable, a)
		case s.isSelf(d):
			return fmt.Errorf("%w: %s is the bridge's own address", errNotAcceptable, d)
		}
	}
	return nil
}

// isSelf reports whether d reaches the bridge: its media IP with a port in
// its media range or one of its media sockets. (Its HTTP port is TCP: RTP
// sent there reaches no socket, and refusing it refused real peers whose
// RTP port happened to have the API's number.)
func (s *Server) isSelf(d netip.AddrPort) bool {
	a, port := d.Addr(), d.Port()
	if a != s.mediaIP {
		return false
	}
	if s.cfg.PortMin != 0 && int(port) >= s.cfg.PortMin && int(port) <= s.cfg.PortMax {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, own := s.ports[port]
	return own
}

// target counts (add) or uncounts the ports of the bridge's media IP that
// o names as destinations, which bindPair then skips.
func (s *Server) target(o *offer, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range []netip.AddrPort{o.rtpDst, o.rtcpDst} {
		if d.Addr() != s.mediaIP {
			continue
		}
		if add {
			s.targets[d.Port()]++
		} else if s.targets[d.Port()]--; s.targets[d.Port()] <= 0 {
			delete(s.targets, d.Port())
		}
	}
}

// isTarget reports whether an offer names port of the media IP.
func (s *Server) isTarget(port uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.targets[port] > 0
}

// ownPorts records (own) or forgets l's media ports; forgetting also
// releases the destinations its offer named (see target).
func (s *Server) ownPorts(l *leg, own bool) {
	if !own {
		s.target(l.offer, false)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range []*net.UDPConn{l.rtp, l.rtcp} {
		if c == nil {
			continue
		}
		p := uint16(c.LocalAddr().(*net.UDPAddr).Port)
		if own {
			s.ports[p] = struct{}{}
		} else {
			delete(s.ports, p)
		}
	}
}

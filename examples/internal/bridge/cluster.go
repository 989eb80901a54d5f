package bridge

import (
	"fmt"
	"time"

	"github.com/rtpmix/rtpmix/mixer"
)

// What a clustered bridge (examples/cluster) needs from a Server: rooms
// made as parts of a cascaded room (trunking enabled before any join),
// their conferences for AddTrunk, their occupancy, and the bridge's load
// for placement. The cluster's own transport (trunk sockets, NATS) stays
// out of this package, so that the plain bridge does not depend on it.

// Errors a Config.Middleware branches on (errors.Is).
var (
	// ErrNoRoom: the room does not exist on this bridge (HTTP 404).
	ErrNoRoom = errNoRoom
	// ErrRoomExists: CreateRoom of a name this bridge hosts already.
	ErrRoomExists = errRoomExists
	// ErrCapacity: a limit of the bridge or the room is reached (HTTP 503).
	ErrCapacity = errCapacity
)

// RoomOptions configures CreateRoom. Zero fields take the Config's room
// defaults, as POST /rooms does.
type RoomOptions struct {
	Name        string
	SampleRate  int
	Ptime       time.Duration
	MaxSpeakers int
	// Trunking, when its Part is non-zero, makes the room one part of a
	// room cascaded over several bridges: trunking is enabled before the
	// room takes its first join (mixer.Conference.EnableTrunking).
	Trunking mixer.TrunkingConfig
}

// CreateRoom creates a room as POST /rooms does and returns its
// conference, on which the caller adds trunks. Errors match ErrRoomExists,
// ErrCapacity, mixer.ErrConfig, or say what is wrong with o.
func (s *Server) CreateRoom(o RoomOptions) (*mixer.Conference, error) {
	if o.Ptime%time.Millisecond != 0 {
		return nil, fmt.Errorf("bridge: ptime %v is not whole milliseconds", o.Ptime)
	}
	r, err := s.createRoom(roomParams{Name: o.Name, SampleRate: o.SampleRate,
		PtimeMillis: int(o.Ptime / time.Millisecond), MaxSpeakers: o.MaxSpeakers, trunking: o.Trunking})
	if err != nil {
		return nil, err
	}
	return r.conf, nil
}

// Conference returns the conference of the room name. Errors match
// ErrNoRoom.
func (s *Server) Conference(name string) (*mixer.Conference, error) {
	r, err := s.room(name)
	if err != nil {
		return nil, err
	}
	return r.conf, nil
}

// DeleteRoom removes the room name as DELETE /rooms/{room} does: its
// participants leave and its conference closes (with its trunks). Errors
// match ErrNoRoom.
func (s *Server) DeleteRoom(name string) error { return s.deleteRoom(name) }

// RoomOccupancy returns how many participants the room name holds or is
// admitting, and its limit (Config.MaxRoomParticipants). Errors match
// ErrNoRoom.
func (s *Server) RoomOccupancy(name string) (participants, limit int, err error) {
	r, err := s.room(name)
	if err != nil {
		return 0, 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count, s.cfg.MaxRoomParticipants, nil
}

// Load is a bridge's load, as a clustered bridge advertises it for
// placement.
type Load struct {
	Rooms, Participants int           // local participants: remote ones (from trunks) are not counted
	MaxParticipants     int           // Config.MaxParticipants
	TickP99             time.Duration // the largest of the rooms' recent tick p99
	Overruns            uint64        // the rooms' tick overruns, summed over the rooms that exist now
}

// Load returns the bridge's load now. Safe from any goroutine; it takes
// the room locks briefly, so call it about once a second, not per packet.
func (s *Server) Load() Load {
	ld := Load{MaxParticipants: s.cfg.MaxParticipants}
	for _, r := range s.roomList() {
		st := r.conf.Stats()
		ld.Rooms++
		r.mu.Lock()
		ld.Participants += len(r.legs)
		r.mu.Unlock()
		ld.TickP99 = max(ld.TickP99, st.Timing.P99)
		ld.Overruns += st.Overruns
	}
	return ld
}

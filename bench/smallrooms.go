package bench

import (
	"fmt"
	"math/rand/v2"
)

// Small-room scenarios: what most conferences are, three to six people
// with one of them talking at a time. A capacity point of N participants
// in these scenarios is N/4 rooms of four on each core, ticked one after
// another as an Engine's worker ticks its conferences.
const (
	// Turns4: rooms of four taking turns (TurnSchedule): one talker at a
	// time sends a speech clip (with the clip's own pauses), the others
	// silence, all marked with RFC 6464 levels; turns overlap briefly now
	// and then, and pause between.
	Turns4 = "turns4"
	// All4: rooms of four where everyone talks all the time, the worst
	// case beside Turns4.
	All4 = "all4"
	// SmallRoomSize is the number of participants in a Turns4 or All4 room.
	SmallRoomSize = 4
)

// SmallScenarios lists the small-room scenarios.
var SmallScenarios = []string{Turns4, All4}

// isSmall says whether a scenario runs rooms of SmallRoomSize.
func isSmall(sc string) bool { return sc == Turns4 || sc == All4 }

// TurnCycle is how many ticks a turn schedule runs before it repeats
// (60 s of 20 ms ticks).
const TurnCycle = 3000

// TurnSchedule says who talks in a room of size participants, tick by
// tick, over ticks ticks: one talker at a time taking turns of 2–7 s, the
// next one (never the same) starting after a pause of 0.2–1 s or, one turn
// in three, 0.2–0.6 s before the last one stops. Bit i of a tick's mask is
// participant i talking. Deterministic from seed; size is 2..8.
func TurnSchedule(seed uint64, size, ticks int) []uint8 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	masks := make([]uint8, ticks)
	ms := func(lo, hi int) int { return (lo + rng.IntN(hi-lo+1)) / 20 } // in ticks
	t, who := 0, rng.IntN(size)
	for t < ticks {
		end := t + ms(2000, 7000)
		for k := t; k < min(end, ticks); k++ {
			masks[k] |= 1 << who
		}
		next := (who + 1 + rng.IntN(size-1)) % size
		if rng.IntN(3) == 0 {
			t = max(t+1, end-ms(200, 600)) // overlap
		} else {
			t = end + ms(200, 1000)
		}
		who = next
	}
	return masks
}

// RoomSet is many rooms ticked one after another on one goroutine, the
// way an Engine's worker runs its conferences.
type RoomSet struct {
	Rooms []*Room
}

// NewRoomSet builds cfg.N participants in rooms of SmallRoomSize (the last
// one smaller when N is not a multiple), each room at its own point of its
// turn schedule.
func NewRoomSet(cfg RoomConfig) (*RoomSet, error) {
	if cfg.N < 1 {
		return nil, fmt.Errorf("bench: a room set of %d participants", cfg.N)
	}
	s := &RoomSet{}
	for left, i := cfg.N, 0; left > 0; i++ {
		rc := cfg
		rc.N = min(left, SmallRoomSize)
		rc.Seed = cfg.Seed + uint64(i)
		r, err := NewRoom(rc)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Rooms = append(s.Rooms, r)
		left -= rc.N
	}
	return s, nil
}

// Prepare builds every sender's next packet in every room.
func (s *RoomSet) Prepare() {
	for _, r := range s.Rooms {
		r.Prepare()
	}
}

// Tick ticks every room once, in order.
func (s *RoomSet) Tick() {
	for _, r := range s.Rooms {
		r.Tick()
	}
}

// Close ends every room.
func (s *RoomSet) Close() {
	for _, r := range s.Rooms {
		r.Close()
	}
}

// ticker is what Measure times: a Room or a RoomSet.
type ticker interface {
	Prepare()
	Tick()
	Close()
}

// newTicker builds what a scenario ticks on one core: one room of n, or a
// set of small rooms holding n participants.
func newTicker(cfg RoomConfig) (ticker, error) {
	if isSmall(cfg.Scenario) {
		return NewRoomSet(cfg)
	}
	return NewRoom(cfg)
}

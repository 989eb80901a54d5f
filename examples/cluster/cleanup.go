package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rtpmix/rtpmix/examples/internal/bridge"
)

// Empty parts: a part whose last participant has left is dropped after
// NodeConfig.PartIdle (its conference and trunk socket close, it leaves
// the room's record; the other parts drop their trunks to it for
// silence), and the room's key goes with the last part. A part that has
// never had a participant (a room just created, waiting for its first
// join) is kept.

// hold marks a join in flight on p, so that the idle loop does not drop
// the part between ensurePart and the bridge's join; false if p is no
// longer the room's part (it was dropped: make it again).
func (n *Node) hold(p *part) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.parts[p.room] != p {
		return false
	}
	p.inflight++
	return true
}

// release ends a join held by hold; joined: it admitted a participant.
func (n *Node) release(p *part, joined bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p.inflight--
	if joined {
		p.used = true
	}
}

// idleLoop drops the parts that have been empty for PartIdle.
func (n *Node) idleLoop() {
	defer n.wg.Done()
	t := time.NewTicker(min(n.cfg.PartIdle/4, time.Second))
	defer t.Stop()
	empty := map[*part]time.Time{} // since when, for the parts empty now
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
		}
		now := time.Now()
		seen := map[*part]bool{}
		for _, p := range n.partsWhere(func(p *part) bool { return p.used && p.inflight == 0 }) {
			k, _, err := n.srv.RoomOccupancy(p.room)
			if err == nil && k > 0 {
				continue
			}
			seen[p] = true
			// A room deleted through the bridge's API (ErrNoRoom) goes at once.
			if since, ok := empty[p]; !errors.Is(err, bridge.ErrNoRoom) && (!ok || now.Sub(since) < n.cfg.PartIdle) {
				if !ok {
					empty[p] = now
				}
				continue
			}
			if n.dropEmpty(p) {
				n.log.Info("empty part dropped", "conference", p.room, "part", p.id)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := n.leaveRecord(ctx, p.room, p.id); err != nil {
					n.log.Warn("empty part not removed from the room's record", "conference", p.room, "part", p.id, "err", err)
				}
				cancel()
			}
		}
		for p := range empty {
			if !seen[p] {
				delete(empty, p)
			}
		}
	}
}

// dropEmpty closes p if it is still the room's part, still empty and no
// join is in flight on it. The bridge's room is deleted under the node's
// lock, so a join that comes now makes a new part only once it is gone.
func (n *Node) dropEmpty(p *part) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.parts[p.room] != p || p.inflight > 0 {
		return false
	}
	if k, _, err := n.srv.RoomOccupancy(p.room); err == nil && k > 0 {
		return false
	}
	delete(n.parts, p.room)
	_ = p.conn.Close() // ends its readTrunks
	_ = n.srv.DeleteRoom(p.room)
	return true
}

// leaveRecord removes part id from the room's record by compare-and-swap,
// and deletes the room's key when no part is left (unless this node has
// made a new part of it meanwhile).
func (n *Node) leaveRecord(ctx context.Context, room string, id uint32) error {
	for range 16 {
		rec, rev, err := n.getRoom(ctx, room)
		if errors.Is(err, bridge.ErrNoRoom) {
			return nil
		}
		if err != nil {
			return err
		}
		parts := rec.Parts[:0:0]
		for _, p := range rec.Parts {
			if p.Part != id {
				parts = append(parts, p)
			}
		}
		if len(parts) == len(rec.Parts) {
			return nil
		}
		rec.Parts = parts
		if len(parts) == 0 && n.part(room) == nil {
			err = n.rooms.Delete(ctx, room, jetstream.LastRevision(rev))
		} else {
			err = n.casRoom(ctx, room, rec, rev)
		}
		var apiErr *jetstream.APIError
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errConflict),
			errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence:
			continue
		default:
			return err
		}
	}
	return fmt.Errorf("room %q: %w 16 times", room, errConflict)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rtpmix/rtpmix/examples/internal/bridge"
)

// hopHeader marks a join forwarded by another node: "home" asks the
// room's home to place it (it may spill it further), "placed" asks the
// node to serve it itself. A client never sets it (a forged one only
// skips a hop: every node checks its own lease and capacity).
const hopHeader = "X-Rtpmix-Hop"

// maxBody bounds what the middleware reads of a request it forwards or
// interprets (the bridge's SDP offer limit is below it).
const maxBody = 64 << 10

// middleware puts the cluster in front of the bridge's API: POST /rooms
// claims the room in the rooms bucket, a join is placed (home until full,
// then the least-loaded node), every other route is the local bridge's.
func (n *Node) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.Method == http.MethodPost && req.URL.Path == "/rooms":
			n.handleCreate(w, req)
		case req.Method == http.MethodPost && joinRoom(req.URL.Path) != "":
			n.handleJoin(w, req, next, joinRoom(req.URL.Path))
		case req.Method == http.MethodGet && req.URL.Path == "/cluster":
			n.handleStatus(w, req)
		default:
			next.ServeHTTP(w, req)
		}
	})
}

// joinRoom returns the room of a join's path, /rooms/{room}/participants.
func joinRoom(path string) string {
	rest, ok := strings.CutPrefix(path, "/rooms/")
	if !ok {
		return ""
	}
	room, ok := strings.CutSuffix(rest, "/participants")
	if !ok || room == "" || strings.Contains(room, "/") {
		return ""
	}
	return room
}

func writeErr(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, bridge.ErrNoRoom):
		return http.StatusNotFound
	case errors.Is(err, bridge.ErrRoomExists):
		return http.StatusConflict
	case errors.Is(err, errNotAdmitting), errors.Is(err, bridge.ErrCapacity), errors.Is(err, errConflict):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway // NATS or a peer failed
}

// errNotAdmitting: the node's lease is not fresh; it takes no joins.
var errNotAdmitting = errors.New("cluster: this node's lease is not fresh: not admitting")

// createJSON is the body of POST /rooms (the bridge's fields).
type createJSON struct {
	Name        string `json:"name"`
	SampleRate  int    `json:"sample_rate"`
	PtimeMillis int    `json:"ptime_ms"`
	MaxSpeakers int    `json:"max_speakers"`
}

// roomOut is the answer to POST /rooms.
type roomOut struct {
	Name  string `json:"name"`
	Home  string `json:"home"`
	Epoch uint64 `json:"epoch"`
	Part  uint32 `json:"part"`
}

// handleCreate claims a new room, with this node as its home, atomically
// with its creation in the rooms bucket; a room whose home is dead is
// re-claimed (epoch + 1).
func (n *Node) handleCreate(w http.ResponseWriter, req *http.Request) {
	var c createJSON
	dec := json.NewDecoder(io.LimitReader(req.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("room JSON: %v", err))
		return
	}
	if c.Name == "" || len(c.Name) > 64 || strings.ContainsAny(c.Name, "/.*> \t") {
		writeErr(w, http.StatusBadRequest, errors.New("room name must be 1..64 characters, none of / . * > or blanks"))
		return
	}
	if !n.admitting() {
		writeErr(w, http.StatusServiceUnavailable, errNotAdmitting)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
	defer cancel()
	rec := roomRec{Home: n.cfg.ID, Epoch: 1, SampleRate: c.SampleRate, PtimeMillis: c.PtimeMillis, MaxSpeakers: c.MaxSpeakers}
	err := n.casRoom(ctx, c.Name, rec, 0)
	if errors.Is(err, errConflict) {
		// It exists: ours only if its home is dead (re-claimed).
		var cur roomRec
		cur, err = n.updateRoom(ctx, c.Name, func(r *roomRec) error {
			if r.Home != n.cfg.ID {
				return fmt.Errorf("%w: %q, home %s", bridge.ErrRoomExists, c.Name, r.Home)
			}
			return nil
		})
		if err == nil && n.part(c.Name) != nil {
			err = fmt.Errorf("%w: %q", bridge.ErrRoomExists, c.Name)
		}
		rec = cur
	}
	if err != nil {
		writeErr(w, statusOf(err), err)
		return
	}
	p, err := n.ensurePart(ctx, c.Name)
	if err != nil {
		writeErr(w, statusOf(err), err)
		return
	}
	w.Header().Set("Location", "/rooms/"+c.Name)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(roomOut{Name: c.Name, Home: rec.Home, Epoch: rec.Epoch, Part: p.id})
}

// handleJoin places a join: at the room's home while its part has room,
// else at the least-loaded other node, as a new part of the room there.
func (n *Node) handleJoin(w http.ResponseWriter, req *http.Request, next http.Handler, room string) {
	if !n.admitting() {
		writeErr(w, http.StatusServiceUnavailable, errNotAdmitting)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeErr(w, http.StatusBadRequest, errors.New("offer unreadable or too large"))
		return
	}
	// Participants are named by their IDs in every part: unique in the
	// room, so a name the node makes carries the node's.
	q := req.URL.Query()
	if q.Get("id") == "" {
		q.Set("id", n.cfg.ID+"-"+randHex(4))
		req.URL.RawQuery = q.Encode()
	}
	ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
	defer cancel()
	hop := req.Header.Get(hopHeader)
	if hop == "placed" {
		n.serveLocal(ctx, w, req, next, room, body)
		return
	}
	// The record, re-claimed by this node if its home is dead.
	rec, err := n.updateRoom(ctx, room, func(*roomRec) error { return nil })
	if err != nil {
		writeErr(w, statusOf(err), err)
		return
	}
	if rec.Home != n.cfg.ID && hop == "" {
		home, ok := n.node(ctx, rec.Home)
		if !ok { // died since: the next join re-claims it
			writeErr(w, http.StatusServiceUnavailable, fmt.Errorf("room %q: home %s is not live", room, rec.Home))
			return
		}
		n.forward(ctx, w, req, home.API, "home", body)
		return
	}
	// This node places: here while its part has room.
	if p, limit, err := n.srv.RoomOccupancy(room); err != nil || p < limit {
		if n.serveLocal(ctx, w, req, next, room, body) {
			return
		}
	}
	nodes, err := n.liveNodes(ctx)
	if err != nil {
		writeErr(w, statusOf(err), err)
		return
	}
	for _, o := range leastLoaded(nodes, n.cfg.ID) {
		if n.forward(ctx, w, req, o.API, "placed", body) {
			return
		}
	}
	writeErr(w, http.StatusServiceUnavailable, fmt.Errorf("%w: room %q: no node has room", bridge.ErrCapacity, room))
}

// serveLocal joins here, making the room's part first if needed. It
// returns false, having written nothing, when the part is full (so the
// caller may spill the join).
func (n *Node) serveLocal(ctx context.Context, w http.ResponseWriter, req *http.Request, next http.Handler, room string, body []byte) bool {
	var p *part
	var err error
	for range 3 {
		p, err = n.ensurePart(ctx, room)
		if errors.Is(err, bridge.ErrRoomExists) { // made by a join racing this one
			continue
		}
		if err != nil || n.hold(p) {
			break
		}
		p = nil // dropped empty since: make it again
	}
	if err == nil && p == nil {
		err = fmt.Errorf("%w: part of %q made and dropped at once", errConflict, room)
	}
	if err != nil {
		writeErr(w, statusOf(err), err)
		return true
	}
	rec := &recorder{h: http.Header{}}
	req.Body = io.NopCloser(bytes.NewReader(body))
	next.ServeHTTP(rec, req)
	n.release(p, rec.status == http.StatusCreated)
	if rec.status == http.StatusServiceUnavailable && req.Header.Get(hopHeader) != "placed" {
		return false
	}
	rec.copyTo(w, "")
	return true
}

// forward sends the join to another node's API and relays the answer. It
// returns false, having written nothing, when that node is full or
// unreachable.
func (n *Node) forward(ctx context.Context, w http.ResponseWriter, req *http.Request, api, hop string, body []byte) bool {
	fr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+req.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	fr.Header.Set("Content-Type", req.Header.Get("Content-Type"))
	fr.Header.Set(hopHeader, hop)
	resp, err := n.http.do(fr)
	if err != nil {
		n.log.Warn("join not forwarded", "to", api, "err", err)
		if hop == "home" {
			writeErr(w, http.StatusServiceUnavailable, fmt.Errorf("room's home unreachable: %v", err))
			return true
		}
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return false
	}
	if resp.StatusCode == http.StatusServiceUnavailable && hop == "placed" {
		return false
	}
	rec := &recorder{h: resp.Header, status: resp.StatusCode}
	rec.body.Write(b)
	rec.copyTo(w, api)
	return true
}

// recorder holds a response to relay, or to drop when the join spills.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }

// copyTo relays the response; the participant's Location names the node
// that holds it (api) when that is another.
func (r *recorder) copyTo(w http.ResponseWriter, api string) {
	for _, k := range []string{"Content-Type", "Location", "Retry-After"} {
		if v := r.h.Get(k); v != "" {
			if k == "Location" && api != "" && strings.HasPrefix(v, "/") {
				v = "http://" + api + v
			}
			w.Header().Set(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(r.body.Len()))
	w.WriteHeader(max(r.status, 200))
	_, _ = w.Write(r.body.Bytes())
}

// forwarder is the HTTP client of joins forwarded between nodes, with
// the cluster's API token.
type forwarder struct {
	c     *http.Client
	token string
}

func newForwarder(token string) *forwarder {
	return &forwarder{c: &http.Client{Timeout: 5 * time.Second}, token: token}
}

func (f *forwarder) do(req *http.Request) (*http.Response, error) {
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	return f.c.Do(req)
}

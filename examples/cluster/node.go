package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rtpmix/rtpmix/examples/internal/bridge"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

// NodeConfig configures one clustered bridge.
type NodeConfig struct {
	// ID names the node in the cluster: unique, a NATS subject token
	// (letters, digits, '-', '_').
	ID string
	// NATSURL is an external NATS server (with JetStream) to join. Empty
	// runs an embedded one on NATSListen, which other nodes then name as
	// their NATSURL.
	NATSURL string
	// NATSListen is the embedded server's client address. Default
	// "127.0.0.1:-1" (a free port; see Node.NATSURL).
	NATSListen string
	// NATSDir holds the embedded server's JetStream state. Default a
	// temporary directory, removed by Close.
	NATSDir string
	// TrunkIP is the address the trunk sockets bind and advertise (one
	// UDP socket per room part). Default the bridge's MediaIP, else
	// 127.0.0.1.
	TrunkIP string
	// Lease is the TTL of the node's key in the nodes bucket: other nodes
	// take it for dead (and may re-claim its rooms) once it has not been
	// refreshed for this long. Default 3 s.
	Lease time.Duration
	// Refresh is how often the node refreshes its key. Default 1 s; it
	// must be under half of Lease.
	Refresh time.Duration
	// TrunkSilence drops a trunk that has carried nothing, keepalives
	// included, for this long (its peer died). Default 900 ms (3.6
	// keepalive intervals: two lost keepalives never drop a trunk), checked
	// every 1/20 of it, so that a dead peer's streams are gone within a
	// second of its last packet.
	TrunkSilence time.Duration
	// PartIdle drops a part this long after its last participant left
	// (and the room's key with the room's last part). Default 5 s;
	// negative keeps empty parts until the node closes.
	PartIdle time.Duration
	// Bridge configures the node's bridge (its Middleware is the node's).
	Bridge bridge.Config
	// Logger; default slog.Default().
	Logger *slog.Logger
}

func (c NodeConfig) withDefaults() (NodeConfig, error) {
	if c.NATSListen == "" {
		c.NATSListen = "127.0.0.1:-1"
	}
	if c.TrunkIP == "" {
		c.TrunkIP = c.Bridge.MediaIP
	}
	if c.TrunkIP == "" {
		c.TrunkIP = "127.0.0.1"
	}
	if c.Lease == 0 {
		c.Lease = 3 * time.Second
	}
	if c.Refresh == 0 {
		c.Refresh = time.Second
	}
	if c.TrunkSilence == 0 {
		c.TrunkSilence = DefaultTrunkSilence
	}
	if c.PartIdle == 0 {
		c.PartIdle = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Bridge.Logger == nil {
		c.Bridge.Logger = c.Logger
	}
	switch {
	case c.ID == "" || !validToken(c.ID):
		return c, fmt.Errorf("cluster: node ID %q: want 1..32 letters, digits, '-' or '_'", c.ID)
	case c.Refresh <= 0 || 2*c.Refresh > c.Lease:
		return c, fmt.Errorf("cluster: refresh %v must be positive and at most half the lease %v", c.Refresh, c.Lease)
	case c.TrunkSilence <= 0:
		return c, fmt.Errorf("cluster: trunk silence %v", c.TrunkSilence)
	}
	if _, err := netip.ParseAddr(c.TrunkIP); err != nil {
		return c, fmt.Errorf("cluster: trunk IP: %w", err)
	}
	return c, nil
}

func validToken(s string) bool {
	if len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Bucket names and the subject prefix of trunk requests.
const (
	nodesBucket  = "nodes"
	roomsBucket  = "rooms"
	trunkSubject = "rtpmix.trunk." // + node ID
)

// nodeRec is a node's value in the nodes bucket.
type nodeRec struct {
	ID              string `json:"id"`
	API             string `json:"api"`   // host:port of the HTTP API
	Trunk           string `json:"trunk"` // trunk IP (each part binds its own port there)
	State           string `json:"state"` // "up"; "draining" while it closes
	Rooms           int    `json:"rooms"`
	Participants    int    `json:"participants"`
	MaxParticipants int    `json:"max_participants"`
	TickP99Micros   int64  `json:"tick_p99_us"`
	Overruns        uint64 `json:"overruns"`
}

// roomRec is a room's value in the rooms bucket, changed only by
// compare-and-swap on its revision.
type roomRec struct {
	Home        string    `json:"home"`  // node ID
	Epoch       uint64    `json:"epoch"` // +1 at every re-claim
	SampleRate  int       `json:"sample_rate,omitempty"`
	PtimeMillis int       `json:"ptime_ms,omitempty"`
	MaxSpeakers int       `json:"max_speakers,omitempty"`
	Parts       []partRec `json:"parts"`
}

// partRec is one part of a room: where it runs and where its trunks
// reach it.
type partRec struct {
	Node  string `json:"node"`
	Part  uint32 `json:"part"`
	Trunk string `json:"trunk"` // its trunk socket, ip:port
}

// trunkReq asks the node of an existing part to open a trunk to a new
// one; the new part made both directions' keys.
type trunkReq struct {
	Room      string    `json:"room"`
	To        uint32    `json:"to"` // the answering part
	From      partRec   `json:"from"`
	KeysToYou srtp.Keys `json:"keys_to_you"` // what From sends with
	KeysToMe  srtp.Keys `json:"keys_to_me"`  // what the answering part sends with
}

type trunkResp struct {
	Error string `json:"error,omitempty"`
}

// Node is one clustered bridge: a bridge.Server whose rooms are parts of
// rooms placed and found through NATS JetStream key-value buckets, and
// joined by trunks set up through NATS request/reply.
//
// Concurrency: all methods are safe for concurrent use.
type Node struct {
	cfg   NodeConfig
	log   *slog.Logger
	srv   *bridge.Server
	ns    *server.Server // embedded NATS, nil with NATSURL
	nsDir string         // its store when temporary
	nc    *nats.Conn
	nodes jetstream.KeyValue
	rooms jetstream.KeyValue
	sub   *nats.Subscription
	http  *forwarder

	// leaseAt is when the node's key was last refreshed (UnixNano), 0 never.
	leaseAt atomic.Int64

	mu     sync.Mutex
	parts  map[string]*part // by room name
	closed bool

	done chan struct{}
	wg   sync.WaitGroup
}

// part is this node's part of one room.
type part struct {
	room string
	id   uint32
	conf *mixer.Conference
	conn *net.UDPConn
	made time.Time // reconcile leaves a new part's trunks to ensurePart for a while

	// Under the node's mu: joins in flight on the part (hold), and
	// whether it has admitted anyone (only such a part is dropped empty).
	inflight int
	used     bool

	mu     sync.Mutex
	byAddr map[netip.AddrPort]*link
	byPeer map[uint32]*link
}

// link is one trunk of a part.
type link struct {
	peer    uint32
	addr    netip.AddrPort
	t       *mixer.Trunk
	created time.Duration // conference clock
}

// NewNode starts the embedded NATS server if there is one, connects,
// makes the buckets, starts the bridge and registers the node.
func NewNode(cfg NodeConfig) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), parts: map[string]*part{}, done: make(chan struct{})}
	if err := n.startNATS(); err != nil {
		n.closeNATS()
		return nil, err
	}
	bc := cfg.Bridge
	bc.Middleware = n.middleware
	srv, err := bridge.New(bc)
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		n.closeNATS()
		return nil, err
	}
	n.srv = srv
	n.http = newForwarder(bc.APIToken)
	n.sub, err = n.nc.Subscribe(trunkSubject+cfg.ID, n.handleTrunkReq)
	if err == nil {
		err = n.refresh()
	}
	if err != nil {
		_ = srv.Close()
		n.closeNATS()
		return nil, err
	}
	n.wg.Add(3)
	go n.leaseLoop()
	go n.silenceLoop()
	go n.reconcileLoop()
	if cfg.PartIdle > 0 {
		n.wg.Add(1)
		go n.idleLoop()
	}
	n.log.Info("cluster node up", "api", srv.HTTPAddr(), "nats", n.NATSURL())
	return n, nil
}

func (n *Node) startNATS() error {
	url := n.cfg.NATSURL
	if url == "" {
		host, port, err := net.SplitHostPort(n.cfg.NATSListen)
		if err != nil {
			return fmt.Errorf("cluster: NATS listen address: %w", err)
		}
		var p int
		if _, err := fmt.Sscan(port, &p); err != nil {
			return fmt.Errorf("cluster: NATS listen port %q", port)
		}
		dir := n.cfg.NATSDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "rtpmix-nats-"); err != nil {
				return err
			}
			n.nsDir = dir
		}
		ns, err := server.NewServer(&server.Options{ServerName: n.cfg.ID, Host: host, Port: p,
			JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
		if err != nil {
			return fmt.Errorf("cluster: embedded NATS: %w", err)
		}
		ns.Start()
		n.ns = ns
		if !ns.ReadyForConnections(10 * time.Second) {
			return errors.New("cluster: embedded NATS did not start")
		}
		url = ns.ClientURL()
	}
	nc, err := nats.Connect(url, nats.Name("rtpmix-"+n.cfg.ID), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return fmt.Errorf("cluster: NATS %s: %w", url, err)
	}
	n.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Memory storage: both buckets are rebuilt within a lease by the nodes
	// that are alive (nodes) or hold again by the next join (rooms).
	n.nodes, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: nodesBucket,
		TTL: n.cfg.Lease, History: 1, Storage: jetstream.MemoryStorage})
	if err != nil {
		return fmt.Errorf("cluster: bucket %s: %w", nodesBucket, err)
	}
	n.rooms, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: roomsBucket,
		History: 1, Storage: jetstream.MemoryStorage})
	if err != nil {
		return fmt.Errorf("cluster: bucket %s: %w", roomsBucket, err)
	}
	return nil
}

func (n *Node) closeNATS() {
	if n.nc != nil {
		n.nc.Close()
	}
	if n.ns != nil {
		n.ns.Shutdown()
		n.ns.WaitForShutdown()
	}
	if n.nsDir != "" {
		_ = os.RemoveAll(n.nsDir)
	}
}

// NATSURL is the NATS server the node uses (the embedded one's client URL).
func (n *Node) NATSURL() string {
	if n.ns != nil {
		return n.ns.ClientURL()
	}
	return n.cfg.NATSURL
}

// HTTPAddr is the node's API address.
func (n *Node) HTTPAddr() string { return n.srv.HTTPAddr() }

// Server is the node's bridge.
func (n *Node) Server() *bridge.Server { return n.srv }

// Close leaves the cluster: the node's key is deleted (its rooms can be
// re-claimed at once), its parts close with their trunks, the bridge and
// NATS stop.
func (n *Node) Close() error {
	if !n.shut() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = n.nodes.Delete(ctx, n.cfg.ID)
	cancel()
	return n.stop()
}

// shut marks the node closed and stops its loops; false if it was.
func (n *Node) shut() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.closed = true
	close(n.done)
	return true
}

func (n *Node) stop() error {
	if n.sub != nil {
		_ = n.sub.Unsubscribe()
	}
	n.mu.Lock()
	parts := n.parts
	n.parts = map[string]*part{}
	n.mu.Unlock()
	for _, p := range parts {
		_ = p.conn.Close() // ends its readTrunks
	}
	n.wg.Wait()
	err := n.srv.Close()
	n.closeNATS()
	return err
}

// admitting reports whether the node's lease is fresh enough to take
// joins: it stops a refresh before the others may take it for dead, so
// that a node cut off from NATS never admits into a room another node
// has re-claimed (the lease fences it).
func (n *Node) admitting() bool {
	at := n.leaseAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < n.cfg.Lease-n.cfg.Refresh
}

func (n *Node) leaseLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.Refresh)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
		}
		err := n.refresh()
		switch {
		case err != nil && !failing:
			n.log.Warn("cluster lease not refreshed", "err", err)
		case err == nil && failing:
			n.log.Info("cluster lease refreshed again")
		}
		failing = err != nil
	}
}

// refresh puts the node's key with its load: a node that returns after
// losing NATS registers again with its next refresh.
func (n *Node) refresh() error {
	ld := n.srv.Load()
	rec := nodeRec{ID: n.cfg.ID, API: n.srv.HTTPAddr(), Trunk: n.cfg.TrunkIP, State: "up",
		Rooms: ld.Rooms, Participants: ld.Participants, MaxParticipants: ld.MaxParticipants,
		TickP99Micros: ld.TickP99.Microseconds(), Overruns: ld.Overruns}
	b, _ := json.Marshal(rec)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Refresh)
	defer cancel()
	if _, err := n.nodes.Put(ctx, n.cfg.ID, b); err != nil {
		return err
	}
	n.leaseAt.Store(start.UnixNano()) // from before the put: never later than the server's stamp
	return nil
}

// liveNodes returns the nodes whose lease holds, by ID.
func (n *Node) liveNodes(ctx context.Context) (map[string]nodeRec, error) {
	out := map[string]nodeRec{}
	kl, err := n.nodes.ListKeys(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return out, nil
		}
		return nil, err
	}
	defer func() { _ = kl.Stop() }()
	for k := range kl.Keys() {
		if rec, ok := n.node(ctx, k); ok {
			out[k] = rec
		}
	}
	return out, nil
}

// node returns a node's record if its lease holds: the key exists and
// was put within the lease (the bucket's TTL removes it soon after; the
// age check does not wait for that).
func (n *Node) node(ctx context.Context, id string) (nodeRec, bool) {
	if id == n.cfg.ID {
		return nodeRec{ID: id, API: n.srv.HTTPAddr(), State: "up"}, n.admitting()
	}
	e, err := n.nodes.Get(ctx, id)
	if err != nil || time.Since(e.Created()) >= n.cfg.Lease {
		return nodeRec{}, false
	}
	var rec nodeRec
	if json.Unmarshal(e.Value(), &rec) != nil || rec.State != "up" {
		return nodeRec{}, false
	}
	return rec, true
}

// DefaultTrunkSilence is Config.TrunkSilence's default.
const DefaultTrunkSilence = 900 * time.Millisecond

// silenceLoop drops the trunks whose peer went silent.
func (n *Node) silenceLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.TrunkSilence / 20)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
		}
		for _, p := range n.partsWhere(func(*part) bool { return true }) {
			now := p.conf.Config().Clock()
			p.mu.Lock()
			for _, l := range p.byPeer {
				last := l.t.Stats().LastPacket
				if last < 0 {
					last = l.created
				}
				if now-last >= n.cfg.TrunkSilence {
					l.t.Close() // its remote participants leave at once
					delete(p.byPeer, l.peer)
					delete(p.byAddr, l.addr)
					n.log.Info("trunk dropped: silent", "conference", p.room, "part", p.id, "peer", l.peer,
						"silent", (now - last).Round(time.Millisecond))
				}
			}
			p.mu.Unlock()
		}
	}
}

// reconcileGrace is how long after a part is made reconcile leaves its
// trunks to ensurePart's requests (each bounded by 1 s), so that the two
// never ask for the same pair at once.
const reconcileGrace = 3 * time.Second

// reconcileLoop sets trunks up again: every part checks, once a second,
// the room's record for live parts it has no trunk with (dropped for
// silence after a network blip, or never set up because a request
// failed), and the part with the smaller ID asks for the trunk. (A part
// made later asks at once, in ensurePart; this is the repair.)
func (n *Node) reconcileLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
		}
		parts := n.partsWhere(func(p *part) bool { return time.Since(p.made) > reconcileGrace })
		for _, p := range parts {
			n.reconcile(p)
		}
	}
}

func (n *Node) reconcile(p *part) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Refresh)
	defer cancel()
	rec, _, err := n.getRoom(ctx, p.room)
	if err != nil {
		return
	}
	var me *partRec
	for i := range rec.Parts {
		if rec.Parts[i].Part == p.id {
			me = &rec.Parts[i]
		}
	}
	if me == nil {
		return // not (or no longer) in the record: the next join there adds one
	}
	for _, o := range rec.Parts {
		if o.Part <= p.id {
			continue // the smaller ID asks
		}
		p.mu.Lock()
		_, ok := p.byPeer[o.Part]
		p.mu.Unlock()
		if ok {
			continue
		}
		if _, live := n.node(ctx, o.Node); !live {
			continue
		}
		if err := n.requestTrunk(p, *me, o); err != nil {
			n.log.Warn("trunk not set up again", "conference", p.room, "peer_node", o.Node, "peer", o.Part, "err", err)
			continue
		}
		n.log.Info("trunk set up again", "conference", p.room, "part", p.id, "peer", o.Part, "peer_node", o.Node)
	}
}

// getRoom reads a room's record and revision.
func (n *Node) getRoom(ctx context.Context, name string) (roomRec, uint64, error) {
	e, err := n.rooms.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return roomRec{}, 0, fmt.Errorf("%w: %q", bridge.ErrNoRoom, name)
	}
	if err != nil {
		return roomRec{}, 0, err
	}
	var rec roomRec
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return roomRec{}, 0, fmt.Errorf("room %q: bad record: %w", name, err)
	}
	return rec, e.Revision(), nil
}

// errConflict: a compare-and-swap lost to another node's; read again.
var errConflict = errors.New("room record changed")

// casRoom writes rec over revision rev (0: create).
func (n *Node) casRoom(ctx context.Context, name string, rec roomRec, rev uint64) error {
	b, _ := json.Marshal(rec)
	var err error
	if rev == 0 {
		_, err = n.rooms.Create(ctx, name, b)
	} else {
		_, err = n.rooms.Update(ctx, name, b, rev)
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
		return errConflict
	}
	return err
}

// updateRoom applies change to the room's record by compare-and-swap,
// after dropping the parts of dead nodes and re-claiming the room (epoch
// + 1) when its home is dead. change may return an error to give up.
func (n *Node) updateRoom(ctx context.Context, name string, change func(*roomRec) error) (roomRec, error) {
	for range 16 {
		rec, rev, err := n.getRoom(ctx, name)
		if err != nil {
			return roomRec{}, err
		}
		live := rec.Parts[:0:0]
		for _, p := range rec.Parts {
			if p.Node == n.cfg.ID {
				if lp := n.part(name); lp == nil || lp.id != p.Part {
					continue // this node's part from before it restarted
				}
			} else if _, ok := n.node(ctx, p.Node); !ok {
				continue
			}
			live = append(live, p)
		}
		rec.Parts = live
		if _, ok := n.node(ctx, rec.Home); !ok {
			rec.Home = n.cfg.ID
			rec.Epoch++
		}
		if err := change(&rec); err != nil {
			return roomRec{}, err
		}
		switch err := n.casRoom(ctx, name, rec, rev); {
		case err == nil:
			return rec, nil
		case !errors.Is(err, errConflict):
			return roomRec{}, err
		}
	}
	return roomRec{}, fmt.Errorf("room %q: %w 16 times", name, errConflict)
}

func (n *Node) part(room string) *part {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.parts[room]
}

// ensurePart makes sure this node hosts a part of the room: it creates
// the conference with trunking and its trunk socket, publishes the part
// in the room's record, then asks every other part for a trunk. The part
// that comes later always asks, so each pair is trunked once.
func (n *Node) ensurePart(ctx context.Context, name string) (*part, error) {
	if p := n.part(name); p != nil {
		return p, nil
	}
	rec, _, err := n.getRoom(ctx, name)
	if err != nil {
		return nil, err
	}
	p, err := n.newPart(name, rec, 0)
	if err != nil {
		return nil, err
	}
	me := partRec{Node: n.cfg.ID, Part: p.id, Trunk: p.conn.LocalAddr().String()}
	rec, err = n.updateRoom(ctx, name, func(r *roomRec) error {
		for _, o := range r.Parts {
			if o.Part == p.id {
				return fmt.Errorf("part ID %d taken", p.id) // 1 in 2^32: the caller retries
			}
		}
		r.Parts = append(r.Parts, me)
		return nil
	})
	if err != nil {
		n.dropPart(p)
		return nil, err
	}
	for _, o := range rec.Parts {
		if o.Part != p.id {
			if err := n.requestTrunk(p, me, o); err != nil {
				n.log.Warn("trunk not set up", "conference", name, "peer_node", o.Node, "peer", o.Part, "err", err)
			}
		}
	}
	return p, nil
}

// newPart creates the local conference of a part, with its trunk socket,
// and registers it so that trunk requests find it. id 0 picks one.
func (n *Node) newPart(name string, rec roomRec, id uint32) (*part, error) {
	for id == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		id = binary.BigEndian.Uint32(b[:])
	}
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(n.cfg.TrunkIP), 0)))
	if err != nil {
		return nil, fmt.Errorf("%w: trunk socket: %v", bridge.ErrCapacity, err)
	}
	conf, err := n.srv.CreateRoom(bridge.RoomOptions{Name: name, SampleRate: rec.SampleRate,
		Ptime: time.Duration(rec.PtimeMillis) * time.Millisecond, MaxSpeakers: rec.MaxSpeakers,
		Trunking: mixer.TrunkingConfig{Part: id}})
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	p := &part{room: name, id: id, conf: conf, conn: conn, made: time.Now(), byAddr: map[netip.AddrPort]*link{}, byPeer: map[uint32]*link{}}
	n.mu.Lock()
	if n.closed || n.parts[name] != nil {
		n.mu.Unlock()
		_ = conn.Close()
		_ = n.srv.DeleteRoom(name)
		return nil, fmt.Errorf("%w: part of %q made twice", bridge.ErrRoomExists, name)
	}
	n.parts[name] = p
	n.mu.Unlock()
	n.wg.Add(1)
	go n.readTrunks(p)
	return p, nil
}

func (n *Node) dropPart(p *part) {
	n.mu.Lock()
	if n.parts[p.room] == p {
		delete(n.parts, p.room)
	}
	n.mu.Unlock()
	_ = p.conn.Close()
	_ = n.srv.DeleteRoom(p.room)
}

// readTrunks hands what arrives on a part's trunk socket to the trunk of
// the peer it comes from; anything else is dropped.
func (n *Node) readTrunks(p *part) {
	defer n.wg.Done()
	buf := make([]byte, 1500)
	for {
		k, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.mu.Lock()
		l := p.byAddr[from]
		p.mu.Unlock()
		if l != nil {
			_ = l.t.WriteRTP(buf[:k]) // refusals are counted in TrunkStats
		}
	}
}

// addTrunk opens the part's trunk to a peer part at addr. A trunk to the
// same peer at the same address is replaced: the peer set it up again
// (reconcile) while this side still had it, with new keys.
func (p *part) addTrunk(peer uint32, addr string, out, in srtp.Keys) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("peer trunk address %q: %w", addr, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.byPeer[peer]; old != nil && old.addr == ap {
		old.t.Close()
		delete(p.byPeer, peer)
		delete(p.byAddr, ap)
	}
	if old := p.byAddr[ap]; old != nil {
		return fmt.Errorf("trunk address %s is part %d's", ap, old.peer)
	}
	conn := p.conn
	dst := net.UDPAddrFromAddrPort(ap)
	t, err := p.conf.AddTrunk(mixer.TrunkConfig{Peer: peer, OutSRTP: &out, InSRTP: &in,
		Sink: mixer.SinkFunc(func(pkt []byte) error {
			_, err := conn.WriteToUDP(pkt, dst)
			return err
		})})
	if err != nil {
		return err
	}
	l := &link{peer: peer, addr: ap, t: t, created: p.conf.Config().Clock()}
	p.byAddr[ap] = l
	p.byPeer[peer] = l
	return nil
}

// requestTrunk asks the node of part o for a trunk to part p (me).
func (n *Node) requestTrunk(p *part, me, o partRec) error {
	toYou, err := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	if err != nil {
		return err
	}
	toMe, err := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(trunkReq{Room: p.room, To: o.Part, From: me, KeysToYou: toYou, KeysToMe: toMe})
	msg, err := n.nc.Request(trunkSubject+o.Node, b, time.Second)
	if err != nil {
		return err
	}
	var resp trunkResp
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return err
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	return p.addTrunk(o.Part, o.Trunk, toYou, toMe)
}

// errTrunkReq: a trunk request that is not one.
var errTrunkReq = errors.New("cluster: bad trunk request")

// parseTrunkReq reads and checks a trunk request from NATS: anyone who
// can publish there can send one, so nothing in it is trusted before it
// is checked.
func parseTrunkReq(b []byte) (trunkReq, error) {
	var req trunkReq
	if len(b) > 4096 {
		return req, fmt.Errorf("%w: %d bytes", errTrunkReq, len(b))
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("%w: %v", errTrunkReq, err)
	}
	switch {
	case req.Room == "" || len(req.Room) > 64:
		return req, fmt.Errorf("%w: room %q", errTrunkReq, req.Room)
	case req.To == 0 || req.From.Part == 0 || req.To == req.From.Part:
		return req, fmt.Errorf("%w: parts %d to %d", errTrunkReq, req.From.Part, req.To)
	}
	if ap, err := netip.ParseAddrPort(req.From.Trunk); err != nil || ap.Port() == 0 || !ap.Addr().Is4() && !ap.Addr().Is6() {
		return req, fmt.Errorf("%w: trunk address %q", errTrunkReq, req.From.Trunk)
	}
	for _, k := range []srtp.Keys{req.KeysToYou, req.KeysToMe} {
		if err := k.Validate(); err != nil {
			return req, fmt.Errorf("%w: %v", errTrunkReq, err)
		}
	}
	return req, nil
}

// handleTrunkReq answers another node's trunk request for one of our
// parts.
func (n *Node) handleTrunkReq(m *nats.Msg) {
	reply := func(err error) {
		var r trunkResp
		if err != nil {
			r.Error = err.Error()
		}
		b, _ := json.Marshal(r)
		_ = m.Respond(b)
	}
	req, err := parseTrunkReq(m.Data)
	if err != nil {
		reply(err)
		return
	}
	p := n.part(req.Room)
	if p == nil || p.id != req.To {
		reply(fmt.Errorf("node %s has no part %d of room %q", n.cfg.ID, req.To, req.Room))
		return
	}
	if err := p.addTrunk(req.From.Part, req.From.Trunk, req.KeysToMe, req.KeysToYou); err != nil {
		reply(err)
		return
	}
	n.log.Info("trunk up", "conference", req.Room, "part", p.id, "peer", req.From.Part, "peer_node", req.From.Node)
	reply(nil)
}

// leastLoaded returns the live nodes other than this one, least loaded
// first (participants over capacity, then tick p99).
func leastLoaded(nodes map[string]nodeRec, self string) []nodeRec {
	var out []nodeRec
	for id, r := range nodes {
		if id != self {
			out = append(out, r)
		}
	}
	share := func(r nodeRec) float64 { return float64(r.Participants) / float64(max(r.MaxParticipants, 1)) }
	sort.Slice(out, func(i, j int) bool {
		if a, b := share(out[i]), share(out[j]); a != b {
			return a < b
		}
		if out[i].TickP99Micros != out[j].TickP99Micros {
			return out[i].TickP99Micros < out[j].TickP99Micros
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// partsWhere returns the node's parts that keep accepts, taken under the
// node's lock so that the caller can work on them without it.
func (n *Node) partsWhere(keep func(*part) bool) []*part {
	n.mu.Lock()
	defer n.mu.Unlock()
	parts := make([]*part, 0, len(n.parts))
	for _, p := range n.parts {
		if keep(p) {
			parts = append(parts, p)
		}
	}
	return parts
}

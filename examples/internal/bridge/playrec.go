package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rtpmix/rtpmix/internal/wav"
	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/record"
)

// Prompts and recordings: POST /rooms/{room}/play plays a WAV file into a
// room (or whispers it to one participant), POST /rooms/{room}/recordings
// records the room's mix or one participant's inbound leg to WAV or
// Ogg/Opus. Every file name the API takes is relative to Config.MediaDir
// and is opened through an os.Root on it, so that no name — "..", an
// absolute path, a symlink pointing out — reaches outside it; without a
// MediaDir the API answers 404.

// Limits of the media API, so that it cannot exhaust memory, goroutines or
// file descriptors.
const (
	maxPlayBytes    = 64 << 20 // a WAV file to play: 11 min of 48 kHz mono
	maxPlays        = 256      // playing at once, over all rooms
	maxRecordings   = 64       // recording at once, over all rooms
	maxMediaName    = 255      // bytes of a file name the API takes
	playBuffer      = 2 * time.Second
	recordingQueue  = 4 * time.Second // how long the disk may stall before frames drop
	finishRecording = 5 * time.Second // DELETE waits this long for the file to be final
)

var (
	errNoMedia     = errors.New("no media directory (start the bridge with -media-dir)")
	errMediaName   = errors.New("bad file name")
	errMediaFile   = errors.New("unusable media file")
	errNoPlay      = errors.New("no such playback")
	errNoRecording = errors.New("no such recording")
)

// mediaAPI is the server's side of playback and recording.
type mediaAPI struct {
	root *os.Root // nil: the API is off

	mu      sync.Mutex
	nextID  uint64
	plays   map[string]*playback
	records map[string]*recording
}

func (m *mediaAPI) init(dir string) error {
	m.plays = map[string]*playback{}
	m.records = map[string]*recording{}
	if dir == "" {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("bridge: media directory: %w", err)
	}
	m.root = root
	return nil
}

func (m *mediaAPI) close() {
	if m.root != nil {
		_ = m.root.Close()
	}
}

// checkName validates a file name from the API: relative, inside the
// directory (no "..", no absolute path, no empty name), printable, with
// one of exts. The os.Root it is then opened through refuses symlinks
// that lead out.
func checkName(name string, exts ...string) error {
	if name == "" || len(name) > maxMediaName {
		return fmt.Errorf("%w: want 1..%d bytes", errMediaName, maxMediaName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: %q has a control character or backslash", errMediaName, name)
		}
	}
	if !filepath.IsLocal(name) {
		return fmt.Errorf("%w: %q is not a relative path inside the media directory", errMediaName, name)
	}
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range exts {
		if ext == e {
			return nil
		}
	}
	return fmt.Errorf("%w: %q: want a name ending in %s", errMediaName, name, strings.Join(exts, ", "))
}

func mediaStatus(err error) int {
	switch {
	case errors.Is(err, errNoMedia), errors.Is(err, errNoPlay), errors.Is(err, errNoRecording),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, mixer.ErrNoParticipant):
		return http.StatusNotFound
	case errors.Is(err, fs.ErrExist), errors.Is(err, mixer.ErrDuplicateID):
		return http.StatusConflict
	case errors.Is(err, errMediaFile):
		return http.StatusUnprocessableEntity
	case errors.Is(err, errMediaName), errors.Is(err, mixer.ErrConfig):
		return http.StatusBadRequest
	case errors.Is(err, mixer.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return statusOf(err)
}

func (s *Server) mediaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /rooms/{room}/play", s.handlePlay)
	mux.HandleFunc("GET /rooms/{room}/play", s.handleListPlays)
	mux.HandleFunc("DELETE /rooms/{room}/play/{id}", s.handleStopPlay)
	mux.HandleFunc("POST /rooms/{room}/recordings", s.handleRecord)
	mux.HandleFunc("GET /rooms/{room}/recordings", s.handleListRecordings)
	mux.HandleFunc("GET /rooms/{room}/recordings/{id}", s.handleGetRecording)
	mux.HandleFunc("DELETE /rooms/{room}/recordings/{id}", s.handleStopRecording)
}

// decodeBody reads a small JSON body into v, refusing unknown fields.
func decodeBody(req *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(req.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: JSON body: %v", errMediaName, err)
	}
	return nil
}

// --- playback ---

// playParams is the body of POST /rooms/{room}/play.
type playParams struct {
	File     string  `json:"file"`
	To       string  `json:"to"`       // whisper to this participant only
	Priority bool    `json:"priority"` // mixed on top of the talkers
	GainDB   float64 `json:"gain_db"`
}

// playback is a WAV file being played by a goroutine feeding a Source.
type playback struct {
	id, room, file string
	to             string
	priority       bool
	dur            time.Duration
	src            *mixer.Source
}

type playJSON struct {
	ID         string `json:"id"`
	Room       string `json:"room"`
	File       string `json:"file"`
	To         string `json:"to,omitempty"`
	Priority   bool   `json:"priority,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	PlayedMS   int64  `json:"played_ms"`
	QueuedMS   int64  `json:"queued_ms"`
}

func (p *playback) json() playJSON {
	st := p.src.Stats()
	return playJSON{ID: p.id, Room: p.room, File: p.file, To: p.to, Priority: p.priority,
		DurationMS: p.dur.Milliseconds(), PlayedMS: st.Played.Milliseconds(), QueuedMS: st.Queued.Milliseconds()}
}

// loadWAV reads a 16-bit PCM WAV file from the media directory as mono at
// a rate a Source takes.
func (m *mediaAPI) loadWAV(name string) (*wav.Audio, error) {
	if err := checkName(name, ".wav"); err != nil {
		return nil, err
	}
	// O_NONBLOCK: opening a FIFO planted in the directory must not hang
	// the request; it is refused below as not a regular file.
	f, err := m.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// The root's errors name the file as given, never the directory.
		return nil, fmt.Errorf("%w: %w", errMediaName, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %q is not a regular file", errMediaFile, name)
	}
	if fi.Size() > maxPlayBytes {
		return nil, fmt.Errorf("%w: %q is %d bytes, more than %d", errMediaFile, name, fi.Size(), maxPlayBytes)
	}
	a, err := wav.Read(io.LimitReader(f, maxPlayBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", errMediaFile, name, err)
	}
	if a.Channels > 2 {
		return nil, fmt.Errorf("%w: %q has %d channels (want 1 or 2)", errMediaFile, name, a.Channels)
	}
	switch a.SampleRate {
	case 8000, 16000, 24000, 32000, 48000:
	default:
		return nil, fmt.Errorf("%w: %q is at %d Hz (want 8000, 16000, 24000, 32000 or 48000: sox in.wav -r 48000 out.wav)",
			errMediaFile, name, a.SampleRate)
	}
	if a.Channels == 2 {
		mono := make([]int16, len(a.Samples)/2)
		for i := range mono {
			mono[i] = int16((int32(a.Samples[2*i]) + int32(a.Samples[2*i+1])) / 2)
		}
		a.Samples, a.Channels = mono, 1
	}
	if len(a.Samples) == 0 {
		return nil, fmt.Errorf("%w: %q holds no audio", errMediaFile, name)
	}
	return a, nil
}

func (s *Server) play(r *room, p playParams) (*playback, error) {
	m := &s.media
	if m.root == nil {
		return nil, errNoMedia
	}
	a, err := m.loadWAV(p.File)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if len(m.plays) >= maxPlays {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %d files are playing, the bridge's limit", errCapacity, maxPlays)
	}
	m.nextID++
	id := fmt.Sprintf("play-%d", m.nextID)
	m.mu.Unlock()

	src, err := r.conf.AddSource(mixer.SourceConfig{
		ID: id, SampleRate: a.SampleRate, To: p.To, Priority: p.Priority, GainIn: p.GainDB, Buffer: playBuffer,
	})
	if err != nil {
		return nil, err
	}
	pb := &playback{id: id, room: r.name, file: p.File, to: p.To, priority: p.Priority, src: src,
		dur: time.Duration(len(a.Samples)) * time.Second / time.Duration(a.SampleRate)}
	m.mu.Lock()
	m.plays[id] = pb
	m.mu.Unlock()

	// The feeder: Write runs playBuffer ahead of the tick and no further;
	// it ends when the file has played, on DELETE (Close), when the
	// room or its whisper target goes, or when the bridge closes.
	ctx, cancel := context.WithCancel(context.Background())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		go func() {
			select {
			case <-s.done:
				cancel()
			case <-src.Done():
			case <-ctx.Done():
			}
		}()
		if _, err := src.Write(ctx, a.Samples); err == nil {
			_ = src.Wait(ctx)
		}
		src.Close()
		m.mu.Lock()
		delete(m.plays, id)
		m.mu.Unlock()
		s.log.Info("playback ended", "conference", r.name, "id", id, "file", p.File, "played", src.Stats().Played)
	}()
	s.log.Info("playback started", "conference", r.name, "id", id, "file", p.File, "to", p.To, "duration", pb.dur)
	return pb, nil
}

func (s *Server) handlePlay(w http.ResponseWriter, req *http.Request) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	var p playParams
	if err := decodeBody(req, &p); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	pb, err := s.play(r, p)
	if err != nil {
		writeError(w, mediaStatus(err), err)
		return
	}
	w.Header().Set("Location", "/rooms/"+r.name+"/play/"+pb.id)
	writeJSON(w, http.StatusCreated, pb.json())
}

func (s *Server) handleListPlays(w http.ResponseWriter, req *http.Request) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	out := []playJSON{}
	s.media.mu.Lock()
	for _, p := range s.media.plays {
		if p.room == r.name {
			out = append(out, p.json())
		}
	}
	s.media.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleStopPlay(w http.ResponseWriter, req *http.Request) {
	room, id := req.PathValue("room"), req.PathValue("id")
	s.media.mu.Lock()
	p := s.media.plays[id]
	s.media.mu.Unlock()
	if p == nil || p.room != room {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w: %q in room %q", errNoPlay, id, room))
		return
	}
	p.src.Close()
	w.WriteHeader(http.StatusNoContent)
}

// --- recording ---

// recordParams is the body of POST /rooms/{room}/recordings.
type recordParams struct {
	File string `json:"file"` // .wav, .opus, .ogg or .oga
	// Participant, when set, records what that participant sends (its
	// inbound leg); otherwise the room's mix is recorded.
	Participant string `json:"participant"`
	SampleRate  int    `json:"sample_rate"` // default 48000
}

// recording is a tap of a room written to a file by a record.Recorder.
type recording struct {
	id, room, file, participant string
	rate                        int
	start                       time.Duration // media time of the file's first sample
	tap                         *mixer.Tap
	rec                         *record.Recorder
	done                        chan struct{} // closed once the file is final
	err                         error         // the recorder's, once done
	forget                      chan struct{} // closed by DELETE: the entry may go
	forgetOnce                  sync.Once
}

type recordingJSON struct {
	ID          string `json:"id"`
	Room        string `json:"room"`
	File        string `json:"file"`
	Participant string `json:"participant,omitempty"`
	SampleRate  int    `json:"sample_rate"`
	State       string `json:"state"` // recording, done
	DurationMS  int64  `json:"duration_ms"`
	Frames      uint64 `json:"frames"`
	Dropped     uint64 `json:"dropped"`
	Error       string `json:"error,omitempty"`
}

func (rc *recording) json() recordingJSON {
	ts, rs := rc.tap.Stats(), rc.rec.Stats()
	j := recordingJSON{ID: rc.id, Room: rc.room, File: rc.file, Participant: rc.participant, SampleRate: rc.rate,
		State: "recording", Frames: rs.Frames, Dropped: rs.Dropped}
	if ts.Started {
		// The file runs from start, where the recorder was told it
		// begins (silence up to the tap's first frame), to the end of
		// the last frame.
		j.DurationMS = (ts.End - rc.start).Milliseconds()
	}
	select {
	case <-rc.done:
		j.State = "done"
		if rc.err != nil {
			j.Error = rc.err.Error()
		}
	default:
		if err := rc.rec.Err(); err != nil {
			j.Error = err.Error()
		}
	}
	return j
}

// syncCloser makes a recording's Close sync the file to stable storage
// before closing it.
type syncCloser struct{ f *os.File }

func (c syncCloser) Close() error {
	err := c.f.Sync()
	if e := c.f.Close(); err == nil {
		err = e
	}
	return err
}

func (s *Server) startRecording(r *room, p recordParams) (*recording, error) {
	m := &s.media
	if m.root == nil {
		return nil, errNoMedia
	}
	if err := checkName(p.File, ".wav", ".opus", ".ogg", ".oga"); err != nil {
		return nil, err
	}
	if p.SampleRate == 0 {
		p.SampleRate = 48000
	}
	m.mu.Lock()
	if len(m.records) >= maxRecordings {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %d recordings are running, the bridge's limit", errCapacity, maxRecordings)
	}
	m.nextID++
	id := fmt.Sprintf("rec-%d", m.nextID)
	m.mu.Unlock()

	// O_EXCL: never overwrite, and never follow a symlink planted at the
	// name; the root refuses names that lead out of the directory.
	f, err := m.root.OpenFile(p.File, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%q exists: %w", p.File, fs.ErrExist)
		}
		return nil, fmt.Errorf("%w: %w", errMediaName, err)
	}
	fail := func(err error) (*recording, error) {
		_ = f.Close()
		_ = m.root.Remove(p.File)
		return nil, err
	}
	format := record.Format{SampleRate: p.SampleRate, Channels: 1}
	var w record.PCMWriter
	if strings.EqualFold(filepath.Ext(p.File), ".wav") {
		w, err = record.NewWAVWriter(f, format, record.WAVConfig{})
	} else {
		w, err = record.NewOggOpusWriter(f, format, record.OggOpusConfig{})
	}
	if err != nil {
		return fail(fmt.Errorf("%w: %v", mixer.ErrConfig, err))
	}
	start := r.conf.MediaTime()
	rec, err := record.NewRecorder(w, record.Config{Start: start, Queue: recordingQueue, Closer: syncCloser{f}})
	if err != nil {
		return fail(fmt.Errorf("%w: %v", mixer.ErrConfig, err))
	}
	tc := mixer.TapConfig{Kind: mixer.TapMix, SampleRate: p.SampleRate, Writer: rec}
	if p.Participant != "" {
		tc.Kind, tc.Participant = mixer.TapInbound, p.Participant
	}
	tap, err := r.conf.AddTap(tc)
	if err != nil {
		_ = rec.Close() // closes f
		_ = m.root.Remove(p.File)
		return nil, err
	}
	rc := &recording{id: id, room: r.name, file: p.File, participant: p.Participant, rate: p.SampleRate,
		start: start, tap: tap, rec: rec, done: make(chan struct{}), forget: make(chan struct{})}
	m.mu.Lock()
	m.records[id] = rc
	m.mu.Unlock()

	// The finisher: once the tick takes no more frames (DELETE, the
	// participant or the room gone, the bridge closing), the file is
	// padded to where the last frame ended and closed.
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-tap.Done():
		case <-s.done:
			tap.Close()
			select {
			case <-tap.Done():
			case <-time.After(finishRecording): // the engine stopped first
			}
		}
		if st := tap.Stats(); st.Started {
			_ = rec.WriteSilence(st.End)
		}
		rc.err = rec.Close()
		close(rc.done)
		st := rec.Stats()
		s.log.Info("recording finished", "conference", r.name, "id", id, "file", p.File,
			"frames", st.Frames, "dropped", st.Dropped, "err", rc.err)
		// The entry stays until it is read with DELETE or the room goes,
		// so that the caller can see how it ended.
		select {
		case <-r.done:
		case <-s.done:
		case <-rc.forgotten():
		}
		m.mu.Lock()
		delete(m.records, id)
		m.mu.Unlock()
	}()
	s.log.Info("recording started", "conference", r.name, "id", id, "file", p.File, "participant", p.Participant)
	return rc, nil
}

// forgotten is closed by DELETE once it has reported the final state.
func (rc *recording) forgotten() <-chan struct{} { return rc.forget }

func (s *Server) handleRecord(w http.ResponseWriter, req *http.Request) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	var p recordParams
	if err := decodeBody(req, &p); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	rc, err := s.startRecording(r, p)
	if err != nil {
		writeError(w, mediaStatus(err), err)
		return
	}
	w.Header().Set("Location", "/rooms/"+r.name+"/recordings/"+rc.id)
	writeJSON(w, http.StatusCreated, rc.json())
}

func (s *Server) recordingOf(req *http.Request) (*recording, error) {
	room, id := req.PathValue("room"), req.PathValue("id")
	s.media.mu.Lock()
	rc := s.media.records[id]
	s.media.mu.Unlock()
	if rc == nil || rc.room != room {
		return nil, fmt.Errorf("%w: %q in room %q", errNoRecording, id, room)
	}
	return rc, nil
}

func (s *Server) handleListRecordings(w http.ResponseWriter, req *http.Request) {
	r, err := s.room(req.PathValue("room"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	out := []recordingJSON{}
	s.media.mu.Lock()
	for _, rc := range s.media.records {
		if rc.room == r.name {
			out = append(out, rc.json())
		}
	}
	s.media.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetRecording(w http.ResponseWriter, req *http.Request) {
	rc, err := s.recordingOf(req)
	if err != nil {
		writeError(w, mediaStatus(err), err)
		return
	}
	writeJSON(w, http.StatusOK, rc.json())
}

// handleStopRecording stops a recording and answers once its file is
// final (complete headers, synced), with its final state.
func (s *Server) handleStopRecording(w http.ResponseWriter, req *http.Request) {
	rc, err := s.recordingOf(req)
	if err != nil {
		writeError(w, mediaStatus(err), err)
		return
	}
	rc.tap.Close()
	select {
	case <-rc.done:
	case <-time.After(finishRecording):
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("recording %s did not finish within %v", rc.id, finishRecording))
		return
	case <-req.Context().Done():
		return
	}
	j := rc.json()
	rc.forgetOnce.Do(func() { close(rc.forget) })
	writeJSON(w, http.StatusOK, j)
}

package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rtpmix/rtpmix/dtmf"
	"github.com/rtpmix/rtpmix/mixer"
)

// DTMF in the bridge: every offer may agree RFC 4733 telephone-events
// (offerPolicy), a room swallows digits (they are events for the
// application, on the event stream and in the log) or passes them on to
// the other participants ("dtmf": "pass" in POST /rooms), and
// POST /rooms/{room}/participants/{id}/dtmf sends a participant digits.

// dtmfParams is the body of POST .../dtmf.
type dtmfParams struct {
	// Digits to send, one after the other: 0-9, *, #, A-D (a-d), ! (flash).
	Digits string `json:"digits"`
	// DurationMillis of each; default 100, at most 5000.
	DurationMillis int `json:"duration_ms"`
}

// maxDTMFDigits is the most digits one request may send (the mixer queues
// 32 per participant).
const maxDTMFDigits = 32

func (s *Server) handleSendDTMF(w http.ResponseWriter, req *http.Request) {
	l, err := s.leg(req)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	var p dtmfParams
	dec := json.NewDecoder(io.LimitReader(req.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("dtmf JSON: %v", err))
		return
	}
	d := time.Duration(p.DurationMillis) * time.Millisecond
	if p.DurationMillis == 0 {
		d = 100 * time.Millisecond
	}
	if d < 40*time.Millisecond || d > 5*time.Second {
		writeError(w, http.StatusBadRequest, fmt.Errorf("duration %v outside 40 ms..5 s", d))
		return
	}
	if p.Digits == "" || len(p.Digits) > maxDTMFDigits {
		writeError(w, http.StatusBadRequest, fmt.Errorf("digits: want 1..%d of 0-9 * # A-D and ! (flash)", maxDTMFDigits))
		return
	}
	evs := make([]dtmf.Event, 0, len(p.Digits))
	for _, r := range p.Digits { // all checked before any is sent
		ev, err := dtmf.ParseDigit(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("digit %q: %v", r, err))
			return
		}
		evs = append(evs, ev)
	}
	for i, ev := range evs {
		if err := l.p.SendDTMF(ev, d); err != nil {
			status := http.StatusConflict // no telephone-event agreed, on hold, queue full
			if errors.Is(err, mixer.ErrClosed) {
				status = http.StatusNotFound
			}
			writeError(w, status, fmt.Errorf("%d of %d digits queued: %w", i, len(evs), err))
			return
		}
	}
	s.log.Info("dtmf sent", "conference", l.room.name, "participant", l.id, "digits", p.Digits, "duration", d)
	writeJSON(w, http.StatusAccepted, map[string]any{"digits": p.Digits, "duration_ms": d.Milliseconds()})
}

// dtmfPolicy reads the "dtmf" field of POST /rooms.
func dtmfPolicy(v string) (mixer.DTMFPolicy, error) {
	switch v {
	case "", "swallow":
		return mixer.DTMFSwallow, nil
	case "pass":
		return mixer.DTMFPass, nil
	}
	return 0, fmt.Errorf("dtmf %q (want \"swallow\" or \"pass\")", v)
}

// dtmfEventJSON is the digit of a dtmf_began or dtmf_ended event.
type dtmfEventJSON struct {
	Digit          string `json:"digit"`
	DurationMillis int64  `json:"duration_ms"`
	InBand         bool   `json:"in_band,omitempty"`
	Cause          string `json:"cause,omitempty"`
	Passed         int    `json:"passed,omitempty"`
}

// dtmfJSON returns the digit of e, or nil for another event.
func dtmfJSON(e mixer.Event) *dtmfEventJSON {
	if e.Type != mixer.DTMFBegan && e.Type != mixer.DTMFEnded {
		return nil
	}
	j := &dtmfEventJSON{Digit: e.DTMF.Digit.String(), DurationMillis: e.DTMF.Duration.Milliseconds(),
		InBand: e.DTMF.InBand, Passed: e.DTMF.Passed}
	if e.Type == mixer.DTMFEnded {
		j.Cause = e.DTMF.Cause.String()
	}
	return j
}

package bridge

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/mixer"
	"github.com/rtpmix/rtpmix/srtp"
)

// scrape GETs /metrics with the API token and parses the text format.
func scrape(t *testing.T, s *Server) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, hdr := call(t, s, "GET", "/metrics", "", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, hdr.Get("Content-Type"), "text/plain")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, string(body))
	return fams
}

// metricValue is the value of the series of family name whose labels
// include labels; it fails the test when there is not exactly one.
func metricValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := fams[name]
	require.NotNil(t, f, "no metric %s", name)
	var found []*dto.Metric
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				ok = false
			}
		}
		if ok {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "%s%v", name, labels)
	m := found[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatalf("%s is neither a counter nor a gauge", name)
	return 0
}

// TestMetrics runs a known workload and checks what /metrics says about it:
// a plain and an SRTP participant send media, a wrong payload type, a
// wrong key, garbage and foreign packets; the counters say exactly that,
// the tick histogram is the mixer's, the route needs the token, and the
// room's counters keep a participant's packets after it has left.
func TestMetrics(t *testing.T) {
	s := testServer(t, Config{})
	mkRoom(t, s, "m")
	alice := joinPeer(t, s, "m", "alice", peerOpts{})
	bob := joinPeer(t, s, "m", "bob", peerOpts{srtp: true, mux: true})

	alice.sendRTP(t, 50)
	bob.sendRTP(t, 30)
	wrongPT, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 9, SSRC: alice.ssrc},
		Payload: make([]byte, 160)}).Marshal()
	require.NoError(t, err)
	for range 4 {
		_, err := alice.rtpC.WriteToUDP(wrongPT, alice.toRTP)
		require.NoError(t, err)
	}
	for range 3 {
		_, err := alice.rtpC.WriteToUDP([]byte("not rtp at all"), alice.toRTP)
		require.NoError(t, err)
	}
	attacker := listenOn(t, attackerIP)
	for range 2 {
		_, err := attacker.WriteToUDP(wrongPT, alice.toRTP)
		require.NoError(t, err)
	}
	wrong, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(t, err)
	bob.prot, err = srtp.NewProtector(wrong)
	require.NoError(t, err)
	bob.sendRTP(t, 5)

	var a, b participantJSON
	eventually(t, 3*time.Second, func() bool {
		a, _ = alice.stats(t, s, "m")
		b, _ = bob.stats(t, s, "m")
		return a.PacketsIn+a.JitterRejected == 50 && a.WrongPayloadType == 4 && a.Garbage == 3 && a.Foreign == 2 &&
			b.PacketsIn+b.JitterRejected == 30 && b.SRTPAuthFailures == 5
	}, "workload not counted: alice %+v bob %+v", &a, &b)

	r, err := s.room("m")
	require.NoError(t, err)
	eventually(t, 2*time.Second, func() bool { st := r.conf.Stats(); return st.Participants == 2 && st.Ticks >= 3 },
		"the room did not tick")
	fams := scrape(t, s)
	room := []string{"room", "m"}
	refused := func(reason string) float64 {
		return metricValue(t, fams, "rtpmix_packets_refused_total", "room", "m", "reason", reason)
	}
	assert.Equal(t, 1.0, metricValue(t, fams, "rtpmix_rooms"))
	assert.Equal(t, 2.0, metricValue(t, fams, "rtpmix_participants", room...))
	in := metricValue(t, fams, "rtpmix_packets_received_total", room...)
	assert.Equal(t, float64(a.PacketsIn+b.PacketsIn), in)
	assert.Equal(t, 80.0, in+refused("late")+refused("duplicate")+refused("full")+refused("too_large"))
	assert.Equal(t, float64(a.BytesIn+b.BytesIn), metricValue(t, fams, "rtpmix_received_bytes_total", room...))
	assert.Equal(t, 4.0, refused("payload_type"))
	assert.Equal(t, 5.0, refused("srtp_auth"))
	assert.Equal(t, 3.0, refused("garbage"))
	assert.Equal(t, 2.0, refused("foreign"))
	assert.Equal(t, 0.0, refused("version"))
	assert.Equal(t, 5.0, metricValue(t, fams, "rtpmix_srtp_failures_total", "room", "m", "reason", "auth"))
	assert.Equal(t, 0.0, metricValue(t, fams, "rtpmix_srtp_failures_total", "room", "m", "reason", "protect"))
	for _, name := range []string{"rtpmix_jitter_lost_packets_total", "rtpmix_jitter_late_packets_total",
		"rtpmix_concealed_frames_total", "rtpmix_tick_overruns_total", "rtpmix_speakers_shed",
		"rtpmix_packets_sent_total", "rtpmix_rtcp_reports_sent_total", "rtpmix_latch_moves_total"} {
		metricValue(t, fams, name, room...) // one series for the room
	}
	for _, typ := range []string{"sr", "rr", "bye", "other"} {
		metricValue(t, fams, "rtpmix_rtcp_reports_received_total", "room", "m", "type", typ)
	}
	assert.GreaterOrEqual(t, metricValue(t, fams, "rtpmix_http_connections_accepted_total"), 1.0)
	assert.Equal(t, 0.0, metricValue(t, fams, "rtpmix_http_connections_shed_total"))
	metricValue(t, fams, "go_goroutines")

	// The tick histogram is the mixer's: its bounds, its counts.
	hf := fams["rtpmix_tick_seconds"]
	require.NotNil(t, hf)
	require.Equal(t, dto.MetricType_HISTOGRAM, hf.GetType())
	require.Len(t, hf.Metric, 1)
	h := hf.Metric[0].Histogram
	bounds := mixer.TickBucketBounds()
	require.Len(t, h.Bucket, len(bounds)+1, "the mixer's bounds and +Inf")
	assert.True(t, math.IsInf(h.Bucket[len(bounds)].GetUpperBound(), 1))
	assert.Equal(t, h.GetSampleCount(), h.Bucket[len(bounds)].GetCumulativeCount())
	for i, bk := range h.Bucket[:len(bounds)] {
		assert.InDelta(t, bounds[i].Seconds(), bk.GetUpperBound(), 1e-12)
		if i > 0 {
			assert.GreaterOrEqual(t, bk.GetCumulativeCount(), h.Bucket[i-1].GetCumulativeCount())
		}
	}
	assert.Positive(t, h.GetSampleCount())
	assert.Positive(t, h.GetSampleSum())
	assert.GreaterOrEqual(t, r.conf.Stats().Ticks, h.GetSampleCount(), "no more ticks than the mixer counted")

	// The lint that Prometheus's own tools run.
	problems, err := testutil.CollectAndLint(s.metrics)
	require.NoError(t, err)
	assert.Empty(t, problems)

	// Bob leaves: the room's counters keep his packets.
	code, body, _ := call(t, s, "DELETE", "/rooms/m/participants/bob", "", nil)
	require.Equal(t, http.StatusNoContent, code, string(body))
	fams = scrape(t, s)
	assert.Equal(t, 1.0, metricValue(t, fams, "rtpmix_participants", room...))
	assert.GreaterOrEqual(t, metricValue(t, fams, "rtpmix_packets_received_total", room...), in)
	assert.Equal(t, 5.0, refused("srtp_auth"))
	assert.Equal(t, 5.0, metricValue(t, fams, "rtpmix_packets_refused_total", "room", "m", "reason", "srtp_auth"))

	// Like every route, /metrics needs the token.
	resp, err := http.Get("http://" + s.HTTPAddr() + "/metrics")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec/opus"
	"github.com/rtpmix/rtpmix/internal/netsim"
	"github.com/rtpmix/rtpmix/internal/wav"
)

func TestParseFlags(t *testing.T) {
	set, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, settings{duration: 10 * time.Second, outDir: "out", testdata: "testdata", loss: 0.02,
		jitter: 20 * time.Millisecond, seed: 1}, set, "the defaults make demo documents")

	set, err = parseFlags([]string{"-duration", "3s", "-out", "o", "-testdata", "td", "-loss", "0.1",
		"-jitter", "5ms", "-seed", "7", "-v"})
	require.NoError(t, err)
	assert.Equal(t, settings{duration: 3 * time.Second, outDir: "o", testdata: "td", loss: 0.1,
		jitter: 5 * time.Millisecond, seed: 7, verbose: true}, set)

	_, err = parseFlags([]string{"-loss", "x"})
	assert.Error(t, err)
}

// TestNetwork: each talker gets its own seed, and a trace a second longer
// than the talk, with the settings' loss and jitter.
func TestNetwork(t *testing.T) {
	d := &demo{settings: settings{duration: 3 * time.Second, loss: 0.1, jitter: 5 * time.Millisecond, seed: 7}}
	sc := d.network(specs[1], 1)
	assert.Equal(t, netsim.Scenario{Name: specs[1].name, Seed: 8, Duration: 4 * time.Second, Ptime: ptime,
		BaseDelay: time.Millisecond, Jitter: netsim.Jitter{Kind: netsim.JitterNormal, Sigma: 5 * time.Millisecond},
		Loss: 0.1}, sc)
}

// TestRun runs a 2-second demo and checks its report and recordings.
func TestRun(t *testing.T) {
	if !opus.Available() {
		t.Skip("the demo's participants use Opus, which needs cgo")
	}
	var out bytes.Buffer
	dir := t.TempDir()
	code, err := run(settings{duration: 2 * time.Second, outDir: dir, testdata: "../../testdata",
		loss: 0.02, jitter: 20 * time.Millisecond, seed: 1}, &out)
	require.NoError(t, err, out.String())
	assert.Zero(t, code, "every participant received audio:\n%s", out.String())

	lines := strings.Split(out.String(), "\n")
	assert.True(t, strings.HasPrefix(lines[0], "rtpmix demo: bridge API on 127.0.0.1:"), lines[0])
	assert.Contains(t, lines[0], "8 participants over loopback UDP, 2s, 2% loss and 20ms jitter")
	assert.Regexp(t, `^t=[ 0-9.]+s  bridge in +\d+ out +\d+  participants received +\d+  tick p50 +\d+ µs p99 +\d+ µs  talking:`,
		lines[1], "a progress line")
	for _, sp := range specs {
		var row string
		for _, l := range lines {
			if strings.HasPrefix(l, sp.name+" ") {
				row = l
			}
		}
		require.NotEmpty(t, row, "a row for %s in:\n%s", sp.name, out.String())
		assert.Contains(t, row, sp.codec)
		a, err := wav.ReadFile(filepath.Join(dir, sp.name+".wav"))
		require.NoError(t, err)
		t.Logf("%s recorded %.2f s", sp.name, a.Duration())
		assert.Positive(t, a.Duration(), "%s's recording", sp.name)
	}
	assert.Contains(t, out.String(), "\nengine: ")
	assert.Contains(t, out.String(), "\ncpu: ")
	_, err = os.Stat(filepath.Join(dir, "alice.wav"))
	assert.NoError(t, err)
}

package mediatest

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

// OpusPacket is one of the real libopus packets codec/opus records in
// its testdata/packets.txt (every mode, bandwidth, frame duration and
// frame-count code), for tests of Opus framing that run without cgo.
type OpusPacket struct {
	Name      string // the stream it came from, e.g. "silk-nb-20ms-fec"
	Samples48 int    // its duration, samples per channel at 48 kHz
	Data      []byte
}

// OpusPackets reads the packets file at path (relative to the calling
// test's package directory), failing tb if it is missing or malformed:
// one packet a line, "name samples48 hex", '#' starting a comment.
func OpusPackets(tb testing.TB, path string) []OpusPacket {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []OpusPacket
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			tb.Fatalf("%s: %q: want name, duration and hex", path, line)
		}
		dur, err := strconv.Atoi(fields[1])
		if err != nil {
			tb.Fatalf("%s: %q: %v", path, line, err)
		}
		data, err := hex.DecodeString(fields[2])
		if err != nil {
			tb.Fatalf("%s: %q: %v", path, line, err)
		}
		out = append(out, OpusPacket{Name: fields[0], Samples48: dur, Data: data})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no packets", path)
	}
	return out
}

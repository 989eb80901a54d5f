package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rtpmix/rtpmix/codec"
)

var errFlag = errors.New("loadgen: bad flag value")

// codecShare is one entry of -codecs: a codec and its weight.
type codecShare struct {
	Name   string // as the user wrote it, lower case: "pcmu", "opus"
	Format codec.Format
	PT     uint8
	Weight int
}

// knownCodecs maps -codecs names to SDP names and the payload types offered.
var knownCodecs = map[string]struct {
	sdpName string
	pt      uint8
}{
	"pcmu": {"PCMU/8000", 0},
	"pcma": {"PCMA/8000", 8},
	"opus": {"opus/48000/2", 111},
}

// parseCodecMix reads "pcmu:50,opus:50" (weights are relative; a codec
// without ":w" weighs 1).
func parseCodecMix(s string) ([]codecShare, error) {
	var out []codecShare
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name, w, hasW := strings.Cut(strings.TrimSpace(part), ":")
		name = strings.ToLower(name)
		k, ok := knownCodecs[name]
		if !ok {
			return nil, fmt.Errorf("%w: -codecs %q: unknown codec %q (pcmu, pcma, opus)", errFlag, s, clip(name))
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: -codecs %q: %s twice", errFlag, s, name)
		}
		seen[name] = true
		weight := 1
		if hasW {
			n, err := strconv.Atoi(w)
			if err != nil || n < 0 || n > 1_000_000 {
				return nil, fmt.Errorf("%w: -codecs %q: weight %q (want 0..1000000)", errFlag, s, clip(w))
			}
			weight = n
		}
		f, ok := codec.Lookup(k.sdpName)
		if !ok {
			return nil, fmt.Errorf("%w: -codecs: %s is not available in this build", errFlag, name)
		}
		out = append(out, codecShare{Name: name, Format: f, PT: k.pt, Weight: weight})
	}
	total := 0
	for _, c := range out {
		total += c.Weight
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: -codecs %q: all weights are 0", errFlag, s)
	}
	return out, nil
}

// assign gives each of n participants a codec index so that the counts
// follow the weights (largest remainder) and the codecs are interleaved,
// by smooth weighted round robin: every room and every role gets a mix.
func assign(mix []codecShare, n int) []int {
	total := 0
	for _, c := range mix {
		total += c.Weight
	}
	credit := make([]int, len(mix))
	out := make([]int, n)
	for i := range out {
		best := -1
		for j, c := range mix {
			credit[j] += c.Weight
			if c.Weight > 0 && (best < 0 || credit[j] > credit[best]) {
				best = j
			}
		}
		credit[best] -= total
		out[i] = best
	}
	return out
}

// parseCount reads "3" (a count) or "10%" (a share of n, rounded) and
// checks it is within 0..n.
func parseCount(flagName, s string, n int) (int, error) {
	s = strings.TrimSpace(s)
	var v int
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 || f > 100 {
			return 0, fmt.Errorf("%w: %s %q (want 0..100%%)", errFlag, flagName, clip(s))
		}
		v = int(f*float64(n)/100 + 0.5)
	} else {
		c, err := strconv.Atoi(s)
		if err != nil || c < 0 {
			return 0, fmt.Errorf("%w: %s %q (want a count or a percentage)", errFlag, flagName, clip(s))
		}
		v = c
	}
	if v > n {
		return 0, fmt.Errorf("%w: %s %s is more than the %d participants", errFlag, flagName, s, n)
	}
	return v, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

package codec

import (
	"fmt"
	"sort"
	"sync"
)

// EncoderFunc builds an encoder for a registered format.
type EncoderFunc func(Config) (Encoder, error)

// DecoderFunc builds a decoder for a registered format.
type DecoderFunc func(Config) (Decoder, error)

type entry struct {
	format Format
	newEnc EncoderFunc
	newDec DecoderFunc
}

var registry struct {
	sync.RWMutex
	m map[string]entry
}

// Register makes a codec available under f.SDPName(). Codec packages call it
// from init. Registering the same name twice panics, as a programming error.
func Register(f Format, newEnc EncoderFunc, newDec DecoderFunc) {
	key := canonicalName(f.SDPName())
	registry.Lock()
	defer registry.Unlock()
	if registry.m == nil {
		registry.m = make(map[string]entry)
	}
	if _, dup := registry.m[key]; dup {
		panic("codec: Register called twice for " + f.SDPName())
	}
	registry.m[key] = entry{format: f, newEnc: newEnc, newDec: newDec}
}

func lookup(sdpName string) (entry, error) {
	registry.RLock()
	e, ok := registry.m[canonicalName(sdpName)]
	registry.RUnlock()
	if !ok {
		return entry{}, fmt.Errorf("%w: %q", ErrUnknownFormat, sdpName)
	}
	return e, nil
}

// Lookup returns the format registered under an SDP rtpmap name such as
// "PCMU/8000" or "opus/48000/2". Names compare case-insensitively and a
// channel count of 1 may be given or left out.
func Lookup(sdpName string) (Format, bool) {
	e, err := lookup(sdpName)
	return e.format, err == nil
}

// Formats lists the registered formats sorted by SDP name.
func Formats() []Format {
	registry.RLock()
	out := make([]Format, 0, len(registry.m))
	for _, e := range registry.m {
		out = append(out, e.format)
	}
	registry.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].SDPName() < out[j].SDPName() })
	return out
}

// NewEncoder builds an encoder for the codec registered under sdpName.
func NewEncoder(sdpName string, cfg Config) (Encoder, error) {
	e, err := lookup(sdpName)
	if err != nil {
		return nil, err
	}
	return e.newEnc(cfg.Normalized(e.format))
}

// NewDecoder builds a decoder for the codec registered under sdpName.
func NewDecoder(sdpName string, cfg Config) (Decoder, error) {
	e, err := lookup(sdpName)
	if err != nil {
		return nil, err
	}
	return e.newDec(cfg.Normalized(e.format))
}

package rtpclient

// Sources and receivers build codecs by SDP name through package codec's
// registry; these imports register the ones the examples use.
import (
	_ "github.com/rtpmix/rtpmix/codec/g711" // PCMU, PCMA
	_ "github.com/rtpmix/rtpmix/codec/g722" // G722/8000 (16 kHz audio)
	_ "github.com/rtpmix/rtpmix/codec/opus" // opus/48000/2 (cgo)
)

//go:build soxr && cgo

// Only the benchmark-only comparison (codec/resample/soxr_test.go) builds
// this file; see codec/resample/doc.go for the command.

package soxrcmp

/*
#cgo pkg-config: soxr
#include <soxr.h>
#include <stdlib.h>

static soxr_t rtpmix_soxr_new(double in, double out, unsigned ch, unsigned long quality, const char **err) {
	soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
	soxr_quality_spec_t q = soxr_quality_spec(quality, 0);
	soxr_runtime_spec_t rt = soxr_runtime_spec(1);
	soxr_error_t e = 0;
	soxr_t s = soxr_create(in, out, ch, &e, &io, &q, &rt);
	*err = e;
	return s;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// quality names the libsoxr recipes compared.
var quality = map[string]C.ulong{"LQ": C.SOXR_LQ, "MQ": C.SOXR_MQ, "HQ": C.SOXR_HQ}

// Resampler drives libsoxr with 16-bit interleaved I/O and one
// soxr_process call per frame. Not safe for concurrent use.
type Resampler struct {
	s       C.soxr_t
	in, out int
	ch      int
}

func New(in, out, ch int, name string) (*Resampler, error) {
	q, ok := quality[name]
	if !ok {
		return nil, errors.New("soxr: unknown quality " + name)
	}
	var cerr *C.char
	s := C.rtpmix_soxr_new(C.double(in), C.double(out), C.uint(ch), q, &cerr)
	if cerr != nil {
		return nil, errors.New("soxr: " + C.GoString(cerr))
	}
	return &Resampler{s: s, in: in, out: out, ch: ch}, nil
}

// Process appends what libsoxr releases for src to dst[:0]; unlike
// Resampler, the count per frame varies.
func (r *Resampler) Process(dst, src []int16) []int16 {
	frames := len(src) / r.ch
	room := frames*r.out/r.in + 64
	if cap(dst) < room*r.ch {
		dst = make([]int16, room*r.ch)
	}
	dst = dst[:room*r.ch]
	var idone, odone C.size_t
	var ip unsafe.Pointer
	if frames > 0 {
		ip = unsafe.Pointer(&src[0])
	}
	C.soxr_process(r.s, C.soxr_in_t(ip), C.size_t(frames), &idone,
		C.soxr_out_t(unsafe.Pointer(&dst[0])), C.size_t(room), &odone)
	return dst[:int(odone)*r.ch]
}

// Delay is libsoxr's current delay in output samples.
func (r *Resampler) Delay() float64 { return float64(C.soxr_delay(r.s)) }

// Close frees the libsoxr state.
func (r *Resampler) Close() { C.soxr_delete(r.s) }

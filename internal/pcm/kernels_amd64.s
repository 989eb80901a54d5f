//go:build amd64 && !noasm

#include "textflag.h"

// SIMD kernels for kernels_amd64.go. Each one is bit-exact with its
// reference in kernels_generic.go; the comments say why each trick is exact.
// n is a positive multiple of 8 (SSE2) or 16 (AVX2). Loads and stores are
// unaligned. AVX2 functions end with VZEROUPPER.
//
// Gains: a Q16 gain g in [0, 2^20] is split as g = hi·2^16 + lo, lo a signed
// 16-bit value (lo = int16(g), hi = (g-lo)>>16 in [0, 16]). Then
//   (s·g + 2^15) >> 16 = s·hi + ((s·lo + 2^15) >> 16)
// exactly, because s·hi·2^16 is a multiple of 2^16. The second term is
// r = PMULHW(s,lo) + (PMULLW(s,lo) >>> 15): the high half of s·lo plus one
// when the low half is ≥ 2^15, i.e. round half up; |r| ≤ 2^14. PMADDWD of
// the word pairs (s, r) with (hi, 1) then forms s·hi + r in 32 bits without
// overflow (|s·hi| ≤ 2^19).
//
// AVX2 lane order: VPUNPCK*WD and VPACKSSDW work within 128-bit lanes. The
// int16 input is loaded with VPERMQ $0xD8 (qwords 0,2,1,3), after which
// unpack-low yields samples 0-7 and unpack-high samples 8-15 in order; a
// pack of two in-order dword vectors gives that same permuted word order,
// which VPERMQ $0xD8 undoes before a store.

// float32 lane indices 0..7 for the limiter's gain ramps.
DATA lanesF<>+0(SB)/4, $0x00000000
DATA lanesF<>+4(SB)/4, $0x3f800000
DATA lanesF<>+8(SB)/4, $0x40000000
DATA lanesF<>+12(SB)/4, $0x40400000
DATA lanesF<>+16(SB)/4, $0x40800000
DATA lanesF<>+20(SB)/4, $0x40a00000
DATA lanesF<>+24(SB)/4, $0x40c00000
DATA lanesF<>+28(SB)/4, $0x40e00000
GLOBL lanesF<>(SB), RODATA|NOPTR, $32

// Broadcast a 32-bit immediate to every dword of an XMM / YMM register.
#define BCAST_SSE(imm, x) MOVL imm, AX; MOVL AX, x; PSHUFL $0, x, x
#define BCAST_AVX(imm, x, y) MOVL imm, AX; VMOVD AX, x; VPBROADCASTD x, y

// Float constants (IEEE single bit patterns).
#define F_4 $0x40800000
#define F_8 $0x41000000
#define F_16 $0x41800000
#define F_MAX16 $0x46fffe00 // 32767.0
#define F_MIN16 $0xc7000000 // -32768.0

// GAIN8_SSE: X0 = 8 samples, w = lo words, klo/khi = (hi,1) dwords for
// samples 0-3 / 4-7. Out: X2 = samples 0-3, X0 = samples 4-7 (int32).
// Clobbers X1.
#define GAIN8_SSE(w, klo, khi) \
	MOVO      X0, X1  \
	PMULHW    w, X1   \
	MOVO      X0, X2  \
	PMULLW    w, X2   \
	PSRLW     $15, X2 \
	PADDW     X2, X1  \
	MOVO      X0, X2  \
	PUNPCKLWL X1, X2  \
	PUNPCKHWL X1, X0  \
	PMADDWL   klo, X2 \
	PMADDWL   khi, X0

// RAMP8_SSE: from the Q26 lane gains X8 (samples 0-3) and X9 (4-7) build
// the lo words in X3 and (hi,1) dwords in X4 / X13, then step X8, X9 by X10.
// X11 = 0x8000 dwords, X12 = 0x10000 dwords. Clobbers X5.
// hi = (g + 2^15) >> 16 because lo = g - hi·2^16 must lie in [-2^15, 2^15).
#define RAMP8_SSE \
	MOVO     X8, X3     \
	PSRAL    $10, X3    \
	MOVO     X9, X5     \
	PSRAL    $10, X5    \
	MOVO     X3, X4     \
	PADDL    X11, X4    \
	PSRAL    $16, X4    \
	POR      X12, X4    \
	MOVO     X5, X13    \
	PADDL    X11, X13   \
	PSRAL    $16, X13   \
	POR      X12, X13   \
	PSLLL    $16, X3    \
	PSRAL    $16, X3    \
	PSLLL    $16, X5    \
	PSRAL    $16, X5    \
	PACKSSLW X5, X3     \
	PADDL    X10, X8    \
	PADDL    X10, X9

// GAIN16_AVX: Y0 = 16 samples loaded with VPERMQ $0xD8, w = lo words (same
// permuted order), ka/kb = (hi,1) dwords for samples 0-7 / 8-15.
// Out: Y2 = samples 0-7, Y3 = samples 8-15 (int32). Clobbers Y1.
#define GAIN16_AVX(w, ka, kb) \
	VPMULHW    w, Y0, Y1   \
	VPMULLW    w, Y0, Y2   \
	VPSRLW     $15, Y2, Y2 \
	VPADDW     Y2, Y1, Y1  \
	VPUNPCKLWD Y1, Y0, Y2  \
	VPUNPCKHWD Y1, Y0, Y3  \
	VPMADDWD   ka, Y2, Y2  \
	VPMADDWD   kb, Y3, Y3

// RAMP16_AVX: from the Q26 lane gains Y8 (samples 0-7) and Y9 (8-15) build
// lo words in Y4 (packed, hence in the permuted order the input uses) and
// (hi,1) dwords in Y13 / Y14, then step Y8, Y9 by Y10.
// Y11 = 0x8000 dwords, Y12 = 0x10000 dwords. Clobbers Y5.
#define RAMP16_AVX \
	VPSRAD    $10, Y8, Y4   \
	VPSRAD    $10, Y9, Y5   \
	VPADDD    Y11, Y4, Y13  \
	VPSRAD    $16, Y13, Y13 \
	VPOR      Y12, Y13, Y13 \
	VPADDD    Y11, Y5, Y14  \
	VPSRAD    $16, Y14, Y14 \
	VPOR      Y12, Y14, Y14 \
	VPSLLD    $16, Y4, Y4   \
	VPSRAD    $16, Y4, Y4   \
	VPSLLD    $16, Y5, Y5   \
	VPSRAD    $16, Y5, Y5   \
	VPACKSSDW Y5, Y4, Y4    \
	VPADDD    Y10, Y8, Y8   \
	VPADDD    Y10, Y9, Y9

// SEXT8_SSE: sign-extend the 8 words at (ptr) to dwords: lo in a, hi in b.
#define SEXT8_SSE(ptr, a, b) \
	MOVOU     ptr, a  \
	MOVO      a, b    \
	PUNPCKLWL a, a    \
	PUNPCKHWL b, b    \
	PSRAL     $16, a  \
	PSRAL     $16, b

// func addSSE2(acc *int32, src *int16, n int)
TEXT ·addSSE2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	SEXT8_SSE((SI), X0, X1)
	MOVOU (DI), X2
	MOVOU 16(DI), X3
	PADDL X2, X0
	PADDL X3, X1
	MOVOU X0, (DI)
	MOVOU X1, 16(DI)
	ADDQ  $16, SI
	ADDQ  $32, DI
	SUBQ  $8, CX
	JNZ   loop
	RET

// func addAVX2(acc *int32, src *int16, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	VPMOVSXWD (SI), Y0
	VPMOVSXWD 16(SI), Y1
	VPADDD    (DI), Y0, Y0
	VPADDD    32(DI), Y1, Y1
	VMOVDQU   Y0, (DI)
	VMOVDQU   Y1, 32(DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func addGainSSE2(acc *int32, src *int16, n int, w, k int32)
TEXT ·addGainSSE2(SB), NOSPLIT, $0-32
	MOVQ   acc+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   n+16(FP), CX
	MOVL   w+24(FP), AX
	MOVL   AX, X6
	PSHUFL $0, X6, X6
	MOVL   k+28(FP), AX
	MOVL   AX, X7
	PSHUFL $0, X7, X7

loop:
	MOVOU (SI), X0
	GAIN8_SSE(X6, X7, X7)
	MOVOU (DI), X3
	MOVOU 16(DI), X4
	PADDL X3, X2
	PADDL X4, X0
	MOVOU X2, (DI)
	MOVOU X0, 16(DI)
	ADDQ  $16, SI
	ADDQ  $32, DI
	SUBQ  $8, CX
	JNZ   loop
	RET

// func addGainAVX2(acc *int32, src *int16, n int, w, k int32)
TEXT ·addGainAVX2(SB), NOSPLIT, $0-32
	MOVQ         acc+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	BCAST_AVX(w+24(FP), X6, Y6)
	BCAST_AVX(k+28(FP), X7, Y7)

loop:
	VPERMQ $0xD8, (SI), Y0
	GAIN16_AVX(Y6, Y7, Y7)
	VPADDD  (DI), Y2, Y2
	VPADDD  32(DI), Y3, Y3
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ    $32, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     loop
	VZEROUPPER
	RET

// func addRampSSE2(acc *int32, src *int16, n int, lanes *[16]int32, inc int32)
TEXT ·addRampSSE2(SB), NOSPLIT, $0-36
	MOVQ   acc+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   n+16(FP), CX
	MOVQ   lanes+24(FP), R8
	MOVOU  (R8), X8
	MOVOU  16(R8), X9
	MOVL   inc+32(FP), AX
	MOVL   AX, X10
	PSHUFL $0, X10, X10
	BCAST_SSE($0x8000, X11)
	BCAST_SSE($0x10000, X12)

loop:
	RAMP8_SSE
	MOVOU (SI), X0
	GAIN8_SSE(X3, X4, X13)
	MOVOU (DI), X3
	MOVOU 16(DI), X4
	PADDL X3, X2
	PADDL X4, X0
	MOVOU X2, (DI)
	MOVOU X0, 16(DI)
	ADDQ  $16, SI
	ADDQ  $32, DI
	SUBQ  $8, CX
	JNZ   loop
	RET

// func addRampAVX2(acc *int32, src *int16, n int, lanes *[16]int32, inc int32)
TEXT ·addRampAVX2(SB), NOSPLIT, $0-36
	MOVQ         acc+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         lanes+24(FP), R8
	VMOVDQU      (R8), Y8
	VMOVDQU      32(R8), Y9
	BCAST_AVX(inc+32(FP), X10, Y10)
	BCAST_AVX($0x8000, X11, Y11)
	BCAST_AVX($0x10000, X12, Y12)

loop:
	RAMP16_AVX
	VPERMQ $0xD8, (SI), Y0
	GAIN16_AVX(Y4, Y13, Y14)
	VPADDD  (DI), Y2, Y2
	VPADDD  32(DI), Y3, Y3
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ    $32, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JNZ     loop
	VZEROUPPER
	RET

// func gainSSE2(dst, src *int16, n int, w, k int32)
TEXT ·gainSSE2(SB), NOSPLIT, $0-32
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   n+16(FP), CX
	MOVL   w+24(FP), AX
	MOVL   AX, X6
	PSHUFL $0, X6, X6
	MOVL   k+28(FP), AX
	MOVL   AX, X7
	PSHUFL $0, X7, X7

loop:
	MOVOU    (SI), X0
	GAIN8_SSE(X6, X7, X7)
	PACKSSLW X0, X2
	MOVOU    X2, (DI)
	ADDQ     $16, SI
	ADDQ     $16, DI
	SUBQ     $8, CX
	JNZ      loop
	RET

// func gainAVX2(dst, src *int16, n int, w, k int32)
TEXT ·gainAVX2(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	BCAST_AVX(w+24(FP), X6, Y6)
	BCAST_AVX(k+28(FP), X7, Y7)

loop:
	VPERMQ    $0xD8, (SI), Y0
	GAIN16_AVX(Y6, Y7, Y7)
	VPACKSSDW Y3, Y2, Y2
	VPERMQ    $0xD8, Y2, Y2
	VMOVDQU   Y2, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func gainRampSSE2(dst, src *int16, n int, lanes *[16]int32, inc int32)
TEXT ·gainRampSSE2(SB), NOSPLIT, $0-36
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   n+16(FP), CX
	MOVQ   lanes+24(FP), R8
	MOVOU  (R8), X8
	MOVOU  16(R8), X9
	MOVL   inc+32(FP), AX
	MOVL   AX, X10
	PSHUFL $0, X10, X10
	BCAST_SSE($0x8000, X11)
	BCAST_SSE($0x10000, X12)

loop:
	RAMP8_SSE
	MOVOU    (SI), X0
	GAIN8_SSE(X3, X4, X13)
	PACKSSLW X0, X2
	MOVOU    X2, (DI)
	ADDQ     $16, SI
	ADDQ     $16, DI
	SUBQ     $8, CX
	JNZ      loop
	RET

// func gainRampAVX2(dst, src *int16, n int, lanes *[16]int32, inc int32)
TEXT ·gainRampAVX2(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         lanes+24(FP), R8
	VMOVDQU      (R8), Y8
	VMOVDQU      32(R8), Y9
	BCAST_AVX(inc+32(FP), X10, Y10)
	BCAST_AVX($0x8000, X11, Y11)
	BCAST_AVX($0x10000, X12, Y12)

loop:
	RAMP16_AVX
	VPERMQ    $0xD8, (SI), Y0
	GAIN16_AVX(Y4, Y13, Y14)
	VPACKSSDW Y3, Y2, Y2
	VPERMQ    $0xD8, Y2, Y2
	VMOVDQU   Y2, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// func saturateSSE2(dst *int16, acc *int32, n int)
TEXT ·saturateSSE2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	MOVOU    (SI), X0
	MOVOU    16(SI), X1
	PACKSSLW X1, X0
	MOVOU    X0, (DI)
	ADDQ     $32, SI
	ADDQ     $16, DI
	SUBQ     $8, CX
	JNZ      loop
	RET

// func saturateAVX2(dst *int16, acc *int32, n int)
TEXT ·saturateAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	VMOVDQU   (SI), Y0
	VPACKSSDW 32(SI), Y0, Y0
	VPERMQ    $0xD8, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// clamp16(acc - own) without 32-bit min/max (SSE2 has none) and without
// wraparound: a = sat16(acc), b = sat16(acc - a) (acc - a moves toward
// zero, so it cannot wrap), result = sat16(sat16(a - own) + b). Exact for
// every input: for in-range acc, b = 0; for acc > 32767, a = 32767 and any
// saturation on the way means the true result is ≥ 32767 too; likewise
// below -32768 (a - own first, so acc = own = -32768 gives 0).
//
// func subSaturateSSE2(dst *int16, acc *int32, own *int16, n int)
TEXT ·subSaturateSSE2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ own+16(FP), DX
	MOVQ n+24(FP), CX

loop:
	MOVOU     (SI), X0
	MOVOU     16(SI), X1
	MOVO      X0, X2
	PACKSSLW  X1, X2
	MOVO      X2, X3
	PUNPCKLWL X3, X3
	PSRAL     $16, X3
	MOVO      X2, X4
	PUNPCKHWL X4, X4
	PSRAL     $16, X4
	PSUBL     X3, X0
	PSUBL     X4, X1
	PACKSSLW  X1, X0
	MOVOU     (DX), X5
	PSUBSW    X5, X2
	PADDSW    X0, X2
	MOVOU     X2, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DX
	ADDQ      $16, DI
	SUBQ      $8, CX
	JNZ       loop
	RET

// AVX2 has 32-bit min/max: clamping acc to [-65536, 65535] first changes no
// result (beyond it, acc - own saturates either way) and makes the 32-bit
// subtraction safe.
//
// func subSaturateAVX2(dst *int16, acc *int32, own *int16, n int)
TEXT ·subSaturateAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ own+16(FP), DX
	MOVQ n+24(FP), CX
	BCAST_AVX($65535, X14, Y14)
	BCAST_AVX($-65536, X15, Y15)

loop:
	VPMOVSXWD (DX), Y2
	VPMOVSXWD 16(DX), Y3
	VPMINSD   (SI), Y14, Y0
	VPMINSD   32(SI), Y14, Y1
	VPMAXSD   Y15, Y0, Y0
	VPMAXSD   Y15, Y1, Y1
	VPSUBD    Y2, Y0, Y0
	VPSUBD    Y3, Y1, Y1
	VPACKSSDW Y1, Y0, Y0
	VPERMQ    $0xD8, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DX
	ADDQ      $32, DI
	SUBQ      $16, CX
	JNZ       loop
	VZEROUPPER
	RET

// REDUCE16_SSE folds the 8 words of x with op (PMAXSW or PMINSW) into its
// low word and stores it sign-extended at ret. Clobbers t, AX.
#define REDUCE16_SSE(op, x, t, ret) \
	PSHUFL  $0x4e, x, t \
	op      t, x        \
	PSHUFL  $0xb1, x, t \
	op      t, x        \
	PSHUFLW $0xb1, x, t \
	op      t, x        \
	MOVL    x, AX       \
	MOVWLSX AX, AX      \
	MOVL    AX, ret

// func peakAbs16SSE2(src *int16, n int) (mx, mn int32)
TEXT ·peakAbs16SSE2(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	BCAST_SSE($0x80008000, X0)
	BCAST_SSE($0x7fff7fff, X1)

loop:
	MOVOU  (SI), X2
	PMAXSW X2, X0
	PMINSW X2, X1
	ADDQ   $16, SI
	SUBQ   $8, CX
	JNZ    loop
	REDUCE16_SSE(PMAXSW, X0, X2, mx+16(FP))
	REDUCE16_SSE(PMINSW, X1, X2, mn+20(FP))
	RET

// func peakAbs16AVX2(src *int16, n int) (mx, mn int32)
TEXT ·peakAbs16AVX2(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	BCAST_AVX($0x80008000, X0, Y0)
	BCAST_AVX($0x7fff7fff, X1, Y1)

loop:
	VMOVDQU (SI), Y2
	VPMAXSW Y2, Y0, Y0
	VPMINSW Y2, Y1, Y1
	ADDQ    $32, SI
	SUBQ    $16, CX
	JNZ     loop
	VEXTRACTI128 $1, Y0, X2
	VPMAXSW      X2, X0, X0
	VEXTRACTI128 $1, Y1, X2
	VPMINSW      X2, X1, X1
	VZEROUPPER
	REDUCE16_SSE(PMAXSW, X0, X2, mx+16(FP))
	REDUCE16_SSE(PMINSW, X1, X2, mn+20(FP))
	RET

// UMAX32_SSE: d = unsigned max(d, s) for values biased by 0x80000000 (so
// the signed compare orders them as unsigned). Clobbers s and t.
#define UMAX32_SSE(s, d, t) \
	MOVO    s, t  \
	PCMPGTL d, t  \
	PAND    t, s  \
	PANDN   d, t  \
	POR     s, t  \
	MOVO    t, d

// |x| as unsigned (|MinInt32| = 2^31): m = x >> 31, |x| = (x ^ m) - m.
#define ABS32_SSE(x, m) \
	MOVO  x, m   \
	PSRAL $31, m \
	PXOR  m, x   \
	PSUBL m, x

// func peakAbs32SSE2(src *int32, n int) uint32
TEXT ·peakAbs32SSE2(SB), NOSPLIT, $0-20
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	BCAST_SSE($0x80000000, X15)
	MOVO X15, X0 // biased 0

loop:
	MOVOU (SI), X1
	MOVOU 16(SI), X2
	ABS32_SSE(X1, X3)
	ABS32_SSE(X2, X4)
	PXOR  X15, X1
	PXOR  X15, X2
	UMAX32_SSE(X1, X0, X3)
	UMAX32_SSE(X2, X0, X4)
	ADDQ  $32, SI
	SUBQ  $8, CX
	JNZ   loop
	PSHUFL $0x4e, X0, X1
	UMAX32_SSE(X1, X0, X3)
	PSHUFL $0xb1, X0, X1
	UMAX32_SSE(X1, X0, X3)
	PXOR  X15, X0
	MOVL  X0, AX
	MOVL  AX, ret+16(FP)
	RET

// func peakAbs32AVX2(src *int32, n int) uint32
TEXT ·peakAbs32AVX2(SB), NOSPLIT, $0-20
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	VPXOR Y0, Y0, Y0

loop:
	VPABSD  (SI), Y1
	VPABSD  32(SI), Y2
	VPMAXUD Y1, Y0, Y0
	VPMAXUD Y2, Y0, Y0
	ADDQ    $64, SI
	SUBQ    $16, CX
	JNZ     loop
	VEXTRACTI128 $1, Y0, X1
	VPMAXUD      X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPMAXUD      X1, X0, X0
	VPSHUFD      $0xb1, X0, X1
	VPMAXUD      X1, X0, X0
	VMOVD        X0, AX
	MOVL         AX, ret+16(FP)
	VZEROUPPER
	RET

// PMADDWD(s, s) = s0² + s1² ≤ 2^31 fits 32 bits unsigned (only two -32768s
// reach 2^31, which signed would misread); zero-extend to 64 and add.
//
// func energySSE2(src *int16, n int) uint64
TEXT ·energySSE2(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	PXOR X8, X8
	PXOR X9, X9
	PXOR X15, X15

loop:
	MOVOU     (SI), X0
	PMADDWL   X0, X0
	MOVO      X0, X1
	PUNPCKLLQ X15, X0
	PUNPCKHLQ X15, X1
	PADDQ     X0, X8
	PADDQ     X1, X9
	ADDQ      $16, SI
	SUBQ      $8, CX
	JNZ       loop
	PADDQ     X9, X8
	PSHUFL    $0x4e, X8, X9
	PADDQ     X9, X8
	MOVQ      X8, AX
	MOVQ      AX, ret+16(FP)
	RET

// func energyAVX2(src *int16, n int) uint64
TEXT ·energyAVX2(SB), NOSPLIT, $0-24
	MOVQ  src+0(FP), SI
	MOVQ  n+8(FP), CX
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y15, Y15, Y15

loop:
	VMOVDQU    (SI), Y0
	VPMADDWD   Y0, Y0, Y0
	VPUNPCKLDQ Y15, Y0, Y1
	VPUNPCKHDQ Y15, Y0, Y2
	VPADDQ     Y1, Y8, Y8
	VPADDQ     Y2, Y9, Y9
	ADDQ       $32, SI
	SUBQ       $16, CX
	JNZ        loop
	VPADDQ       Y9, Y8, Y8
	VEXTRACTI128 $1, Y8, X9
	VPADDQ       X9, X8, X8
	VPSHUFD      $0x4e, X8, X9
	VPADDQ       X9, X8, X8
	VMOVQ        X8, AX
	MOVQ         AX, ret+16(FP)
	VZEROUPPER
	RET

// Limiter kernels. x = float32(acc) - float32(own) exactly as the reference
// computes it (CVTDQ2PS rounds to nearest even like Go's conversion), so
// peaks and products match bit for bit; |x| via the sign mask.

// XF8_SSE: x for 8 samples into X1 (0-3), X2 (4-7); acc at SI, own at DX.
#define XF8_SSE \
	MOVOU    (SI), X1        \
	MOVOU    16(SI), X2      \
	CVTPL2PS X1, X1          \
	CVTPL2PS X2, X2          \
	SEXT8_SSE((DX), X3, X4)  \
	CVTPL2PS X3, X3          \
	CVTPL2PS X4, X4          \
	SUBPS    X3, X1          \
	SUBPS    X4, X2

#define XF8_SSE_NOOWN \
	MOVOU    (SI), X1   \
	MOVOU    16(SI), X2 \
	CVTPL2PS X1, X1     \
	CVTPL2PS X2, X2

#define XF16_AVX \
	VCVTDQ2PS (SI), Y1        \
	VCVTDQ2PS 32(SI), Y2      \
	VPMOVSXWD (DX), Y3        \
	VPMOVSXWD 16(DX), Y4      \
	VCVTDQ2PS Y3, Y3          \
	VCVTDQ2PS Y4, Y4          \
	VSUBPS    Y3, Y1, Y1      \
	VSUBPS    Y4, Y2, Y2

#define XF16_AVX_NOOWN \
	VCVTDQ2PS (SI), Y1   \
	VCVTDQ2PS 32(SI), Y2

#define PEAK_SSE_TAIL \
	PSHUFL $0x4e, X0, X1 \
	MAXPS  X1, X0        \
	PSHUFL $0xb1, X0, X1 \
	MAXPS  X1, X0

#define PEAK_AVX_TAIL \
	VEXTRACTF128 $1, Y0, X1 \
	VMAXPS       X1, X0, X0 \
	VPSHUFD      $0x4e, X0, X1 \
	VMAXPS       X1, X0, X0 \
	VPSHUFD      $0xb1, X0, X1 \
	VMAXPS       X1, X0, X0

// func peakFSSE2(acc *int32, own *int16, n int) float32
TEXT ·peakFSSE2(SB), NOSPLIT, $0-28
	MOVQ acc+0(FP), SI
	MOVQ own+8(FP), DX
	MOVQ n+16(FP), CX
	BCAST_SSE($0x7fffffff, X7)
	PXOR X0, X0

loop:
	XF8_SSE
	ANDPS X7, X1
	ANDPS X7, X2
	MAXPS X1, X0
	MAXPS X2, X0
	ADDQ  $32, SI
	ADDQ  $16, DX
	SUBQ  $8, CX
	JNZ   loop
	PEAK_SSE_TAIL
	MOVSS X0, ret+24(FP)
	RET

// func peakF0SSE2(acc *int32, n int) float32
TEXT ·peakF0SSE2(SB), NOSPLIT, $0-20
	MOVQ acc+0(FP), SI
	MOVQ n+8(FP), CX
	BCAST_SSE($0x7fffffff, X7)
	PXOR X0, X0

loop:
	XF8_SSE_NOOWN
	ANDPS X7, X1
	ANDPS X7, X2
	MAXPS X1, X0
	MAXPS X2, X0
	ADDQ  $32, SI
	SUBQ  $8, CX
	JNZ   loop
	PEAK_SSE_TAIL
	MOVSS X0, ret+16(FP)
	RET

// func peakFAVX2(acc *int32, own *int16, n int) float32
TEXT ·peakFAVX2(SB), NOSPLIT, $0-28
	MOVQ acc+0(FP), SI
	MOVQ own+8(FP), DX
	MOVQ n+16(FP), CX
	BCAST_AVX($0x7fffffff, X7, Y7)
	VPXOR Y0, Y0, Y0

loop:
	XF16_AVX
	VANDPS Y7, Y1, Y1
	VANDPS Y7, Y2, Y2
	VMAXPS Y1, Y0, Y0
	VMAXPS Y2, Y0, Y0
	ADDQ   $64, SI
	ADDQ   $32, DX
	SUBQ   $16, CX
	JNZ    loop
	PEAK_AVX_TAIL
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func peakF0AVX2(acc *int32, n int) float32
TEXT ·peakF0AVX2(SB), NOSPLIT, $0-20
	MOVQ acc+0(FP), SI
	MOVQ n+8(FP), CX
	BCAST_AVX($0x7fffffff, X7, Y7)
	VPXOR Y0, Y0, Y0

loop:
	XF16_AVX_NOOWN
	VANDPS Y7, Y1, Y1
	VANDPS Y7, Y2, Y2
	VMAXPS Y1, Y0, Y0
	VMAXPS Y2, Y0, Y0
	ADDQ   $64, SI
	SUBQ   $16, CX
	JNZ    loop
	PEAK_AVX_TAIL
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// Gain stage: y = x · (g0 + k·step), k the float32 sample index (exact:
// integers below 2^24), clamped to [-32768, 32767] and rounded to nearest
// even by CVTPS2DQ (Go keeps MXCSR at its default). Same operation order as
// applyFGeneric: k·step, + g0, · x. MINPS/MAXPS see no NaN: every operand
// is finite.
//
// APPLY_CONST_SSE: X11 = 4.0, X9 = 8.0, X14 = 32767.0, X15 = -32768.0.
#define APPLY_CONST_SSE \
	BCAST_SSE(F_4, X11)     \
	BCAST_SSE(F_8, X9)      \
	BCAST_SSE(F_MAX16, X14) \
	BCAST_SSE(F_MIN16, X15)

// APPLY_GAINS_SSE: X13 = g0, X12 = step, X10 = k (0..3).
#define APPLY_GAINS_SSE(g0, step) \
	MOVSS  g0, X13           \
	PSHUFL $0, X13, X13      \
	MOVSS  step, X12         \
	PSHUFL $0, X12, X12      \
	MOVOU  lanesF<>(SB), X10

#define APPLY_SETUP_SSE(g0, step) APPLY_CONST_SSE; APPLY_GAINS_SSE(g0, step)

// APPLY8_SSE: scale X1, X2 (x for samples 0-3, 4-7) and store 8 int16 at DI.
#define APPLY8_SSE \
	MOVO     X10, X5  \
	MULPS    X12, X5  \
	ADDPS    X13, X5  \
	MOVO     X10, X6  \
	ADDPS    X11, X6  \
	MULPS    X12, X6  \
	ADDPS    X13, X6  \
	MULPS    X5, X1   \
	MULPS    X6, X2   \
	MINPS    X14, X1  \
	MAXPS    X15, X1  \
	MINPS    X14, X2  \
	MAXPS    X15, X2  \
	CVTPS2PL X1, X1   \
	CVTPS2PL X2, X2   \
	PACKSSLW X2, X1   \
	MOVOU    X1, (DI) \
	ADDPS    X9, X10

// func applyFSSE2(dst *int16, acc *int32, own *int16, n int, g0, step float32)
TEXT ·applyFSSE2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ own+16(FP), DX
	MOVQ n+24(FP), CX
	APPLY_SETUP_SSE(g0+32(FP), step+36(FP))

loop:
	XF8_SSE
	APPLY8_SSE
	ADDQ $16, DI
	ADDQ $32, SI
	ADDQ $16, DX
	SUBQ $8, CX
	JNZ  loop
	RET

// func applyF0SSE2(dst *int16, acc *int32, n int, g0, step float32)
TEXT ·applyF0SSE2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), CX
	APPLY_SETUP_SSE(g0+24(FP), step+28(FP))

loop:
	XF8_SSE_NOOWN
	APPLY8_SSE
	ADDQ $16, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  loop
	RET

// APPLY_CONST_AVX: Y11 = 8.0, Y9 = 16.0, Y14 = 32767.0, Y15 = -32768.0.
#define APPLY_CONST_AVX \
	BCAST_AVX(F_8, X11, Y11)     \
	BCAST_AVX(F_16, X9, Y9)      \
	BCAST_AVX(F_MAX16, X14, Y14) \
	BCAST_AVX(F_MIN16, X15, Y15)

// APPLY_GAINS_AVX: Y13 = g0, Y12 = step, Y10 = k (0..7).
#define APPLY_GAINS_AVX(g0, step) \
	VBROADCASTSS g0, Y13           \
	VBROADCASTSS step, Y12         \
	VMOVUPS      lanesF<>(SB), Y10

#define APPLY_SETUP_AVX(g0, step) APPLY_CONST_AVX; APPLY_GAINS_AVX(g0, step)

#define APPLY16_AVX \
	VMULPS    Y12, Y10, Y5 \
	VADDPS    Y13, Y5, Y5  \
	VADDPS    Y11, Y10, Y6 \
	VMULPS    Y12, Y6, Y6  \
	VADDPS    Y13, Y6, Y6  \
	VMULPS    Y5, Y1, Y1   \
	VMULPS    Y6, Y2, Y2   \
	VMINPS    Y14, Y1, Y1  \
	VMAXPS    Y15, Y1, Y1  \
	VMINPS    Y14, Y2, Y2  \
	VMAXPS    Y15, Y2, Y2  \
	VCVTPS2DQ Y1, Y1       \
	VCVTPS2DQ Y2, Y2       \
	VPACKSSDW Y2, Y1, Y1   \
	VPERMQ    $0xD8, Y1, Y1 \
	VMOVDQU   Y1, (DI)     \
	VADDPS    Y9, Y10, Y10

// func applyFAVX2(dst *int16, acc *int32, own *int16, n int, g0, step float32)
TEXT ·applyFAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ own+16(FP), DX
	MOVQ n+24(FP), CX
	APPLY_SETUP_AVX(g0+32(FP), step+36(FP))

loop:
	XF16_AVX
	APPLY16_AVX
	ADDQ $32, DI
	ADDQ $64, SI
	ADDQ $32, DX
	SUBQ $16, CX
	JNZ  loop
	VZEROUPPER
	RET

// func applyF0AVX2(dst *int16, acc *int32, n int, g0, step float32)
TEXT ·applyF0AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), CX
	APPLY_SETUP_AVX(g0+24(FP), step+28(FP))

loop:
	XF16_AVX_NOOWN
	APPLY16_AVX
	ADDQ $32, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ  loop
	VZEROUPPER
	RET

// Batched limiter kernels: the same per-sample work as peakF* / applyF*,
// looped over blocks of block samples inside one call (R9 = block).

// func blockPeaksFSSE2(acc *int32, own *int16, n, block int, out *float32)
TEXT ·blockPeaksFSSE2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), SI
	MOVQ own+8(FP), DX
	MOVQ n+16(FP), BX
	MOVQ block+24(FP), R9
	MOVQ out+32(FP), R10
	BCAST_SSE($0x7fffffff, X7)

blocks:
	PXOR X0, X0
	MOVQ R9, CX

loop:
	XF8_SSE
	ANDPS X7, X1
	ANDPS X7, X2
	MAXPS X1, X0
	MAXPS X2, X0
	ADDQ  $32, SI
	ADDQ  $16, DX
	SUBQ  $8, CX
	JNZ   loop
	PEAK_SSE_TAIL
	MOVSS X0, (R10)
	ADDQ  $4, R10
	SUBQ  R9, BX
	JNZ   blocks
	RET

// func blockPeaksF0SSE2(acc *int32, n, block int, out *float32)
TEXT ·blockPeaksF0SSE2(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), SI
	MOVQ n+8(FP), BX
	MOVQ block+16(FP), R9
	MOVQ out+24(FP), R10
	BCAST_SSE($0x7fffffff, X7)

blocks:
	PXOR X0, X0
	MOVQ R9, CX

loop:
	XF8_SSE_NOOWN
	ANDPS X7, X1
	ANDPS X7, X2
	MAXPS X1, X0
	MAXPS X2, X0
	ADDQ  $32, SI
	SUBQ  $8, CX
	JNZ   loop
	PEAK_SSE_TAIL
	MOVSS X0, (R10)
	ADDQ  $4, R10
	SUBQ  R9, BX
	JNZ   blocks
	RET

// func blockPeaksFAVX2(acc *int32, own *int16, n, block int, out *float32)
TEXT ·blockPeaksFAVX2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), SI
	MOVQ own+8(FP), DX
	MOVQ n+16(FP), BX
	MOVQ block+24(FP), R9
	MOVQ out+32(FP), R10
	BCAST_AVX($0x7fffffff, X7, Y7)

blocks:
	VPXOR Y0, Y0, Y0
	MOVQ  R9, CX

loop:
	XF16_AVX
	VANDPS Y7, Y1, Y1
	VANDPS Y7, Y2, Y2
	VMAXPS Y1, Y0, Y0
	VMAXPS Y2, Y0, Y0
	ADDQ   $64, SI
	ADDQ   $32, DX
	SUBQ   $16, CX
	JNZ    loop
	PEAK_AVX_TAIL
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	SUBQ   R9, BX
	JNZ    blocks
	VZEROUPPER
	RET

// func blockPeaksF0AVX2(acc *int32, n, block int, out *float32)
TEXT ·blockPeaksF0AVX2(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), SI
	MOVQ n+8(FP), BX
	MOVQ block+16(FP), R9
	MOVQ out+24(FP), R10
	BCAST_AVX($0x7fffffff, X7, Y7)

blocks:
	VPXOR Y0, Y0, Y0
	MOVQ  R9, CX

loop:
	XF16_AVX_NOOWN
	VANDPS Y7, Y1, Y1
	VANDPS Y7, Y2, Y2
	VMAXPS Y1, Y0, Y0
	VMAXPS Y2, Y0, Y0
	ADDQ   $64, SI
	SUBQ   $16, CX
	JNZ    loop
	PEAK_AVX_TAIL
	VMOVSS X0, (R10)
	ADDQ   $4, R10
	SUBQ   R9, BX
	JNZ    blocks
	VZEROUPPER
	RET

// func applyBlocksFSSE2(dst *int16, acc *int32, own *int16, n, block int, g0s, steps *float32)
TEXT ·applyBlocksFSSE2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ own+16(FP), DX
	MOVQ n+24(FP), BX
	MOVQ block+32(FP), R9
	MOVQ g0s+40(FP), R10
	MOVQ steps+48(FP), R11
	APPLY_CONST_SSE

blocks:
	APPLY_GAINS_SSE((R10), (R11))
	MOVQ R9, CX

loop:
	XF8_SSE
	APPLY8_SSE
	ADDQ $16, DI
	ADDQ $32, SI
	ADDQ $16, DX
	SUBQ $8, CX
	JNZ  loop
	ADDQ $4, R10
	ADDQ $4, R11
	SUBQ R9, BX
	JNZ  blocks
	RET

// func applyBlocksF0SSE2(dst *int16, acc *int32, n, block int, g0s, steps *float32)
TEXT ·applyBlocksF0SSE2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), BX
	MOVQ block+24(FP), R9
	MOVQ g0s+32(FP), R10
	MOVQ steps+40(FP), R11
	APPLY_CONST_SSE

blocks:
	APPLY_GAINS_SSE((R10), (R11))
	MOVQ R9, CX

loop:
	XF8_SSE_NOOWN
	APPLY8_SSE
	ADDQ $16, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  loop
	ADDQ $4, R10
	ADDQ $4, R11
	SUBQ R9, BX
	JNZ  blocks
	RET

// func applyBlocksFAVX2(dst *int16, acc *int32, own *int16, n, block int, g0s, steps *float32)
TEXT ·applyBlocksFAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ own+16(FP), DX
	MOVQ n+24(FP), BX
	MOVQ block+32(FP), R9
	MOVQ g0s+40(FP), R10
	MOVQ steps+48(FP), R11
	APPLY_CONST_AVX

blocks:
	APPLY_GAINS_AVX((R10), (R11))
	MOVQ R9, CX

loop:
	XF16_AVX
	APPLY16_AVX
	ADDQ $32, DI
	ADDQ $64, SI
	ADDQ $32, DX
	SUBQ $16, CX
	JNZ  loop
	ADDQ $4, R10
	ADDQ $4, R11
	SUBQ R9, BX
	JNZ  blocks
	VZEROUPPER
	RET

// func applyBlocksF0AVX2(dst *int16, acc *int32, n, block int, g0s, steps *float32)
TEXT ·applyBlocksF0AVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), BX
	MOVQ block+24(FP), R9
	MOVQ g0s+32(FP), R10
	MOVQ steps+40(FP), R11
	APPLY_CONST_AVX

blocks:
	APPLY_GAINS_AVX((R10), (R11))
	MOVQ R9, CX

loop:
	XF16_AVX_NOOWN
	APPLY16_AVX
	ADDQ $32, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ  loop
	ADDQ $4, R10
	ADDQ $4, R11
	SUBQ R9, BX
	JNZ  blocks
	VZEROUPPER
	RET

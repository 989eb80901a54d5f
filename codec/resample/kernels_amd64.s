//go:build amd64 && !noasm

#include "textflag.h"

// REDUCE4 folds four 8-lane accumulators into four sums, in the order
// polyphaseGeneric uses, and stores them at off(DI). Clobbers Y0-Y3.
#define REDUCE4(a0, a1, a2, a3, off) \
	VPERM2F128   $0x20, a2, a0, Y0 ; \
	VPERM2F128   $0x31, a2, a0, Y1 ; \
	VADDPS       Y1, Y0, Y0        ; \
	VPERM2F128   $0x20, a3, a1, Y2 ; \
	VPERM2F128   $0x31, a3, a1, Y3 ; \
	VADDPS       Y3, Y2, Y2        ; \
	VHADDPS      Y2, Y0, Y0        ; \
	VHADDPS      Y0, Y0, Y0        ; \
	VEXTRACTF128 $1, Y0, X1        ; \
	VUNPCKLPD    X1, X0, X0        ; \
	VMOVUPS      X0, off(DI)

// func polyphaseAVX2(dst, src, coefs *float32, tapsBytes int, groups *group, s, p, ngroups int)
//
// Four outputs per group, one 8-lane accumulator each (Y8..Y11). The
// operations and their order match polyphaseGeneric exactly: lane products
// (VMULPS, no FMA) added lane by lane, then the halves folded, then two
// horizontal adds.
TEXT ·polyphaseAVX2(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), R12
	MOVQ coefs+16(FP), R13

group:
	// SI = &groups[p]; AX = &src[s]
	MOVQ  p+48(FP), SI
	IMULQ $80, SI
	ADDQ  groups+32(FP), SI
	MOVQ  s+40(FP), AX
	LEAQ  (R12)(AX*4), AX
	MOVQ  0(SI), R8
	ADDQ  AX, R8
	MOVQ  8(SI), R9
	ADDQ  AX, R9
	MOVQ  16(SI), R10
	ADDQ  AX, R10
	MOVQ  24(SI), R11
	ADDQ  AX, R11

	// s += adv; p = next
	MOVQ 64(SI), AX
	ADDQ AX, s+40(FP)
	MOVQ 72(SI), AX
	MOVQ AX, p+48(FP)

	MOVQ 32(SI), AX
	ADDQ R13, AX
	MOVQ 40(SI), BX
	ADDQ R13, BX
	MOVQ 48(SI), CX
	ADDQ R13, CX
	MOVQ 56(SI), DX
	ADDQ R13, DX

	// First eight taps start the accumulators.
	VMOVUPS (R8), Y8
	VMULPS  (AX), Y8, Y8
	VMOVUPS (R9), Y9
	VMULPS  (BX), Y9, Y9
	VMOVUPS (R10), Y10
	VMULPS  (CX), Y10, Y10
	VMOVUPS (R11), Y11
	VMULPS  (DX), Y11, Y11
	MOVQ    $32, SI
	CMPQ    SI, tapsBytes+24(FP)
	JGE     reduce

taps:
	VMOVUPS (R8)(SI*1), Y0
	VMULPS  (AX)(SI*1), Y0, Y0
	VADDPS  Y0, Y8, Y8
	VMOVUPS (R9)(SI*1), Y1
	VMULPS  (BX)(SI*1), Y1, Y1
	VADDPS  Y1, Y9, Y9
	VMOVUPS (R10)(SI*1), Y2
	VMULPS  (CX)(SI*1), Y2, Y2
	VADDPS  Y2, Y10, Y10
	VMOVUPS (R11)(SI*1), Y3
	VMULPS  (DX)(SI*1), Y3, Y3
	VADDPS  Y3, Y11, Y11
	ADDQ    $32, SI
	CMPQ    SI, tapsBytes+24(FP)
	JLT     taps

reduce:
	REDUCE4(Y8, Y9, Y10, Y11, 0)
	ADDQ $16, DI
	DECQ ngroups+56(FP)
	JNZ  group
	VZEROUPPER
	RET

// func s16ToF32AVX2(dst *float32, src *int16, n int), n a positive multiple of 8
TEXT ·s16ToF32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

widen:
	VPMOVSXWD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       widen
	VZEROUPPER
	RET

// func f32ToS16AVX2(dst *int16, src *float32, n int), n a positive multiple of 16
//
// CVTPS2DQ rounds to nearest even (the Go runtime keeps MXCSR at its
// default) and PACKSSDW saturates; the values are far inside int32 range
// (|x| < 2^20), so no float clamp is needed.
TEXT ·f32ToS16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

narrow:
	VCVTPS2DQ (SI), Y0
	VCVTPS2DQ 32(SI), Y1
	VPACKSSDW Y1, Y0, Y0
	VPERMQ    $0xD8, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JNZ       narrow
	VZEROUPPER
	RET

// func interp2AVX2(dst, src, coefs *float32, tapsBytes, ngroups int)
//
// Interpolation by 2 (L=2, M=1) from phase 0: a group is input positions
// i and i+1, each with phases 0 and 1, so the two windows and the two
// coefficient rows are loaded once per step for four outputs.
TEXT ·interp2AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), R8
	MOVQ coefs+16(FP), AX
	MOVQ tapsBytes+24(FP), DX
	MOVQ ngroups+32(FP), CX
	LEAQ (AX)(DX*1), BX

i2group:
	VMOVUPS (R8), Y0
	VMOVUPS 4(R8), Y1
	VMOVUPS (AX), Y4
	VMOVUPS (BX), Y5
	VMULPS  Y4, Y0, Y8
	VMULPS  Y5, Y0, Y9
	VMULPS  Y4, Y1, Y10
	VMULPS  Y5, Y1, Y11
	MOVQ    $32, SI
	CMPQ    SI, DX
	JGE     i2reduce

i2taps:
	VMOVUPS (R8)(SI*1), Y0
	VMOVUPS 4(R8)(SI*1), Y1
	VMOVUPS (AX)(SI*1), Y4
	VMOVUPS (BX)(SI*1), Y5
	VMULPS  Y4, Y0, Y2
	VADDPS  Y2, Y8, Y8
	VMULPS  Y5, Y0, Y3
	VADDPS  Y3, Y9, Y9
	VMULPS  Y4, Y1, Y6
	VADDPS  Y6, Y10, Y10
	VMULPS  Y5, Y1, Y7
	VADDPS  Y7, Y11, Y11
	ADDQ    $32, SI
	CMPQ    SI, DX
	JLT     i2taps

i2reduce:
	REDUCE4(Y8, Y9, Y10, Y11, 0)
	ADDQ $16, DI
	ADDQ $8, R8
	DECQ CX
	JNZ  i2group
	VZEROUPPER
	RET

// func interp3AVX2(dst, src, coefs *float32, tapsBytes, ngroups int)
//
// Interpolation by 3 (L=3, M=1) from phase 0: a group is input positions
// i and i+1 with phases 0, 1 and 2, six outputs; the second REDUCE4 also
// writes two spare sums that the next group overwrites.
TEXT ·interp3AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), R8
	MOVQ coefs+16(FP), AX
	MOVQ tapsBytes+24(FP), DX
	MOVQ ngroups+32(FP), R9
	LEAQ (AX)(DX*1), BX
	LEAQ (BX)(DX*1), CX

i3group:
	VMOVUPS (R8), Y0
	VMOVUPS 4(R8), Y1
	VMOVUPS (AX), Y4
	VMOVUPS (BX), Y5
	VMOVUPS (CX), Y6
	VMULPS  Y4, Y0, Y8
	VMULPS  Y5, Y0, Y9
	VMULPS  Y6, Y0, Y10
	VMULPS  Y4, Y1, Y11
	VMULPS  Y5, Y1, Y12
	VMULPS  Y6, Y1, Y13
	MOVQ    $32, SI
	CMPQ    SI, DX
	JGE     i3reduce

i3taps:
	VMOVUPS (R8)(SI*1), Y0
	VMOVUPS 4(R8)(SI*1), Y1
	VMOVUPS (AX)(SI*1), Y4
	VMOVUPS (BX)(SI*1), Y5
	VMOVUPS (CX)(SI*1), Y6
	VMULPS  Y4, Y0, Y2
	VADDPS  Y2, Y8, Y8
	VMULPS  Y5, Y0, Y3
	VADDPS  Y3, Y9, Y9
	VMULPS  Y6, Y0, Y7
	VADDPS  Y7, Y10, Y10
	VMULPS  Y4, Y1, Y14
	VADDPS  Y14, Y11, Y11
	VMULPS  Y5, Y1, Y15
	VADDPS  Y15, Y12, Y12
	VMULPS  Y6, Y1, Y2
	VADDPS  Y2, Y13, Y13
	ADDQ    $32, SI
	CMPQ    SI, DX
	JLT     i3taps

i3reduce:
	REDUCE4(Y8, Y9, Y10, Y11, 0)
	REDUCE4(Y12, Y13, Y12, Y13, 16)
	ADDQ $24, DI
	ADDQ $8, R8
	DECQ R9
	JNZ  i3group
	VZEROUPPER
	RET

// func decimAVX2(dst, src, coefs *float32, tapsBytes, strideBytes, ngroups int)
//
// Decimation (L=1): four consecutive outputs use the same coefficients on
// windows strideBytes (M samples) apart, so each coefficient vector is
// loaded once for four outputs.
TEXT ·decimAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), R8
	MOVQ coefs+16(FP), AX
	MOVQ tapsBytes+24(FP), DX
	MOVQ strideBytes+32(FP), BX
	MOVQ ngroups+40(FP), CX

dgroup:
	LEAQ    (R8)(BX*1), R9
	LEAQ    (R9)(BX*1), R10
	LEAQ    (R10)(BX*1), R11
	VMOVUPS (AX), Y4
	VMULPS  (R8), Y4, Y8
	VMULPS  (R9), Y4, Y9
	VMULPS  (R10), Y4, Y10
	VMULPS  (R11), Y4, Y11
	MOVQ    $32, SI
	CMPQ    SI, DX
	JGE     dreduce

dtaps:
	VMOVUPS (AX)(SI*1), Y4
	VMULPS  (R8)(SI*1), Y4, Y0
	VADDPS  Y0, Y8, Y8
	VMULPS  (R9)(SI*1), Y4, Y1
	VADDPS  Y1, Y9, Y9
	VMULPS  (R10)(SI*1), Y4, Y2
	VADDPS  Y2, Y10, Y10
	VMULPS  (R11)(SI*1), Y4, Y3
	VADDPS  Y3, Y11, Y11
	ADDQ    $32, SI
	CMPQ    SI, DX
	JLT     dtaps

dreduce:
	REDUCE4(Y8, Y9, Y10, Y11, 0)
	ADDQ $16, DI
	LEAQ (R11)(BX*1), R8
	DECQ CX
	JNZ  dgroup
	VZEROUPPER
	RET

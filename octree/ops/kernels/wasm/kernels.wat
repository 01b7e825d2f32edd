;; Row kernels of rq3d's octree ops, run on tfjs-backend-wasm's own heap (imported memory), so the
;; tensors are read and written in place. Same loops and results as ../loops.ts (the JS versions),
;; with 4-float SIMD row moves. All pointers are byte offsets into the heap; sizes are in floats/rows.
;;
;; MEMORY_IMPORT is replaced by build.ts: tfjs's threaded build has a shared memory, the others not.
;; Rebuild the binaries after editing: `npm run build:wasm` (a test fails while they are stale).
(module
  MEMORY_IMPORT

  ;; dst[o .. o+bytes) = src[s .. s+bytes): 16-byte vectors, then single floats.
  (func $copyRow (param $s i32) (param $o i32) (param $bytes i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $o) (local.get $bytes)))
    (block $tail
      (loop $vec
        (br_if $tail (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $e)))
        (v128.store align=4 (local.get $o) (v128.load align=4 (local.get $s)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $o) (local.get $e)))
        (f32.store (local.get $o) (f32.load (local.get $s)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (br $one))))

  ;; dst[o .. o+bytes) += src[s .. s+bytes), float32 element-wise.
  (func $addRow (param $s i32) (param $o i32) (param $bytes i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $o) (local.get $bytes)))
    (block $tail
      (loop $vec
        (br_if $tail (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $e)))
        (v128.store align=4 (local.get $o)
          (f32x4.add (v128.load align=4 (local.get $o)) (v128.load align=4 (local.get $s))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $o) (local.get $e)))
        (f32.store (local.get $o) (f32.add (f32.load (local.get $o)) (f32.load (local.get $s))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (br $one))))

  ;; The first i < m with idx[i] outside [-1, rows), or -1 when all are valid.
  (func (export "checkIndices") (param $idx i32) (param $m i32) (param $rows i32) (result i32)
    (local $i i32) (local $r i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $r (i32.load (i32.add (local.get $idx) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.or (i32.ge_s (local.get $r) (local.get $rows)) (i32.lt_s (local.get $r) (i32.const -1)))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  ;; dst row i = src row idx[i] (a zero row where idx[i] < 0), rows of c floats, i < m.
  (func (export "gather") (param $src i32) (param $idx i32) (param $m i32) (param $dst i32) (param $c i32)
    (local $i i32) (local $r i32) (local $bytes i32) (local $o i32)
    (local.set $bytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $o (local.get $dst))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $r (i32.load (i32.add (local.get $idx) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.lt_s (local.get $r) (i32.const 0))
          (then (memory.fill (local.get $o) (i32.const 0) (local.get $bytes)))
          (else (call $copyRow (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $bytes))) (local.get $o) (local.get $bytes))))
        (local.set $o (i32.add (local.get $o) (local.get $bytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; dst rows [0, numRows) = 0, then dst row idx[i] += src row i for every i < m with idx[i] >= 0
  ;; (input order, so the sums are deterministic and equal to the JS loop's).
  (func (export "scatterAdd") (param $src i32) (param $idx i32) (param $m i32) (param $dst i32) (param $c i32) (param $numRows i32)
    (local $i i32) (local $r i32) (local $bytes i32) (local $s i32)
    (local.set $bytes (i32.shl (local.get $c) (i32.const 2)))
    (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $numRows) (local.get $bytes)))
    (local.set $s (local.get $src))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $r (i32.load (i32.add (local.get $idx) (i32.shl (local.get $i) (i32.const 2)))))
        (if (i32.ge_s (local.get $r) (i32.const 0))
          (then (call $addRow (local.get $s) (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $bytes))) (local.get $bytes))))
        (local.set $s (i32.add (local.get $s) (local.get $bytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; The transposed im2col matrix: dst[(kk*c + j)*ld + i] = src[idx[i*k + kk]*c + j] (0 for a negative
  ;; index), i < n; ld (>= n) is the row stride of dst, so two threads can each write a range of columns. Blocks of 256 input rows keep their index entries in cache. With c a multiple of 4, rows go
  ;; 4 at a time: 4 source vectors (4 channels each) are transposed in registers and written as 4-float
  ;; runs of 4 output rows; the rest of a block (and any c) goes element by element.
  (func (export "gatherT") (param $src i32) (param $idx i32) (param $n i32) (param $k i32) (param $dst i32) (param $c i32) (param $ld i32)
    (local $i0 i32) (local $i1 i32) (local $iv i32) (local $kk i32) (local $j i32) (local $i i32) (local $r i32)
    (local $o i32) (local $ip i32) (local $kb i32) (local $srcj i32) (local $nb i32) (local $c4 i32) (local $jb i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $nb (i32.shl (local.get $ld) (i32.const 2)))
    (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
    (block $blocksDone
      (loop $block
        (br_if $blocksDone (i32.ge_u (local.get $i0) (local.get $n)))
        (local.set $i1 (i32.add (local.get $i0) (i32.const 256)))
        (if (i32.gt_u (local.get $i1) (local.get $n)) (then (local.set $i1 (local.get $n))))
        (local.set $iv (local.get $i0))
        (if (i32.eqz (i32.and (local.get $c) (i32.const 3)))
          (then (local.set $iv (i32.add (local.get $i0) (i32.and (i32.sub (local.get $i1) (local.get $i0)) (i32.const -4))))))
        (local.set $kk (i32.const 0))
        (block $kDone
          (loop $kLoop
            (br_if $kDone (i32.ge_u (local.get $kk) (local.get $k)))
            ;; vector part: rows i0 .. iv, 4 at a time
            (local.set $i (local.get $i0))
            (block $qDone
              (loop $qLoop
                (br_if $qDone (i32.ge_u (local.get $i) (local.get $iv)))
                (local.set $ip (i32.add (local.get $idx) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (local.get $kk)) (i32.const 2))))
            (local.set $r0 (i32.load (i32.add (local.get $ip) (i32.mul (local.get $kb) (i32.const 0)))))
            (local.set $s0 (i32.add (local.get $src) (i32.mul (local.get $r0) (local.get $c4))))
            (local.set $r1 (i32.load (i32.add (local.get $ip) (i32.mul (local.get $kb) (i32.const 1)))))
            (local.set $s1 (i32.add (local.get $src) (i32.mul (local.get $r1) (local.get $c4))))
            (local.set $r2 (i32.load (i32.add (local.get $ip) (i32.mul (local.get $kb) (i32.const 2)))))
            (local.set $s2 (i32.add (local.get $src) (i32.mul (local.get $r2) (local.get $c4))))
            (local.set $r3 (i32.load (i32.add (local.get $ip) (i32.mul (local.get $kb) (i32.const 3)))))
            (local.set $s3 (i32.add (local.get $src) (i32.mul (local.get $r3) (local.get $c4))))
                (local.set $o (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (i32.mul (local.get $kk) (local.get $c)) (local.get $ld)) (local.get $i)) (i32.const 2))))
                (local.set $jb (i32.const 0))
                (block $jvDone
                  (loop $jvLoop
                    (br_if $jvDone (i32.ge_u (local.get $jb) (local.get $c4)))
              (local.set $v0 (if (result v128) (i32.lt_s (local.get $r0) (i32.const 0)) (then (v128.const i32x4 0 0 0 0))
                (else (v128.load align=4 (i32.add (local.get $s0) (local.get $jb))))))
              (local.set $v1 (if (result v128) (i32.lt_s (local.get $r1) (i32.const 0)) (then (v128.const i32x4 0 0 0 0))
                (else (v128.load align=4 (i32.add (local.get $s1) (local.get $jb))))))
              (local.set $v2 (if (result v128) (i32.lt_s (local.get $r2) (i32.const 0)) (then (v128.const i32x4 0 0 0 0))
                (else (v128.load align=4 (i32.add (local.get $s2) (local.get $jb))))))
              (local.set $v3 (if (result v128) (i32.lt_s (local.get $r3) (i32.const 0)) (then (v128.const i32x4 0 0 0 0))
                (else (v128.load align=4 (i32.add (local.get $s3) (local.get $jb))))))
                    (local.set $t0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $v0) (local.get $v1)))
                    (local.set $t1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $v0) (local.get $v1)))
                    (local.set $t2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $v2) (local.get $v3)))
                    (local.set $t3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $v2) (local.get $v3)))
                    (v128.store align=4 (local.get $o) (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $t0) (local.get $t2)))
                    (v128.store align=4 (i32.add (local.get $o) (local.get $nb)) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $t0) (local.get $t2)))
                    (v128.store align=4 (i32.add (local.get $o) (i32.shl (local.get $nb) (i32.const 1))) (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $t1) (local.get $t3)))
                    (v128.store align=4 (i32.add (local.get $o) (i32.mul (local.get $nb) (i32.const 3))) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $t1) (local.get $t3)))
                    (local.set $o (i32.add (local.get $o) (i32.shl (local.get $nb) (i32.const 2))))
                    (local.set $jb (i32.add (local.get $jb) (i32.const 16)))
                    (br $jvLoop)))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $qLoop)))
            ;; scalar part: rows iv .. i1
            (local.set $j (i32.const 0))
            (block $jDone
              (loop $jLoop
                (br_if $jDone (i32.ge_u (local.get $j) (local.get $c)))
                ;; o = dst + ((kk*c + j)*n + iv)*4 ; ip = idx + (iv*k + kk)*4 ; srcj = src + j*4
                (local.set $o (i32.add (local.get $dst)
                  (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $kk) (local.get $c)) (local.get $j)) (local.get $ld)) (local.get $iv)) (i32.const 2))))
                (local.set $ip (i32.add (local.get $idx)
                  (i32.shl (i32.add (i32.mul (local.get $iv) (local.get $k)) (local.get $kk)) (i32.const 2))))
                (local.set $srcj (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $i (local.get $iv))
                (block $iDone
                  (loop $iLoop
                    (br_if $iDone (i32.ge_u (local.get $i) (local.get $i1)))
                    (local.set $r (i32.load (local.get $ip)))
                    (if (i32.lt_s (local.get $r) (i32.const 0))
                      (then (f32.store (local.get $o) (f32.const 0)))
                      (else (f32.store (local.get $o)
                        (f32.load (i32.add (local.get $srcj) (i32.shl (i32.mul (local.get $r) (local.get $c)) (i32.const 2)))))))
                    (local.set $o (i32.add (local.get $o) (i32.const 4)))
                    (local.set $ip (i32.add (local.get $ip) (local.get $kb)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $iLoop)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jLoop)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
            (br $kLoop)))
        (local.set $i0 (local.get $i1))
        (br $block))))

;; ---- batch norm over rows (+ ReLU) and the sibling max of pooling ----------------------------------
;; Per-channel vectors: stats is [3, c] f32 (mean, biased variance, 1/sqrt(var + eps)); scratch holds
;; 8c floats: two f64 accumulators of c ($A at 0, $B at 8c bytes), then f32 vectors at 16c, 20c, 24c, 28c.
;; Channels go 4 at a time (f32x4; f64 sums as two f64x2), the rest one by one, with the same
;; arithmetic per element either way, so results equal the JS loops of ../norm-loops.ts bit for bit.

  ;; y = relu?(x·s + t) with s = invStd·gamma, t = beta − mean·s, for x [n, c]; sums in f64.
  (func (export "bnForward") (param $x i32) (param $n i32) (param $c i32) (param $gamma i32) (param $beta i32)
    (param $eps f64) (param $relu i32) (param $y i32) (param $stats i32) (param $scratch i32)
    (local $i i32) (local $k i32) (local $k4 i32) (local $k8 i32) (local $px i32) (local $po i32) (local $A i32) (local $B i32)
    (local $S i32) (local $T i32) (local $nn f64) (local $m f64) (local $v f64) (local $inv f32) (local $s f32) (local $yv f32)
    (local $c4 i32) (local $vx v128) (local $vd v128) (local $vm v128) (local $vy v128)
    (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
    (local.set $A (local.get $scratch))
    (local.set $B (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 3))))
    (local.set $S (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 4))))
    (local.set $T (i32.add (local.get $S) (local.get $c4)))
    (local.set $nn (f64.convert_i32_u (select (local.get $n) (i32.const 1) (i32.gt_u (local.get $n) (i32.const 0)))))
    (memory.fill (local.get $scratch) (i32.const 0) (i32.shl (local.get $c) (i32.const 4)))
    ;; pass 1: A = Σ x
    (local.set $px (local.get $x))
    (local.set $i (i32.const 0))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $dv1 (loop $lv1
        (br_if $dv1 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $vx (v128.load align=4 (i32.add (local.get $px) (local.get $k4))))
        (v128.store align=8 (i32.add (local.get $A) (local.get $k8)) (f64x2.add (v128.load align=8 (i32.add (local.get $A) (local.get $k8))) (f64x2.promote_low_f32x4 (local.get $vx))))
        (v128.store align=8 (i32.add (local.get $A) (i32.add (local.get $k8) (i32.const 16))) (f64x2.add (v128.load align=8 (i32.add (local.get $A) (i32.add (local.get $k8) (i32.const 16)))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vx) (local.get $vx)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $lv1)))
      (block $ds1 (loop $ls1
        (br_if $ds1 (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (f64.store (i32.add (local.get $A) (local.get $k8)) (f64.add (f64.load (i32.add (local.get $A) (local.get $k8))) (f64.promote_f32 (f32.load (i32.add (local.get $px) (local.get $k4))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $ls1)))
      (local.set $px (i32.add (local.get $px) (local.get $c4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l1)))
    ;; A = mean
    (local.set $k (i32.const 0))
    (block $dm (loop $lm
      (br_if $dm (i32.ge_u (local.get $k) (local.get $c)))
      (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
      (f64.store (i32.add (local.get $A) (local.get $k8)) (f64.div (f64.load (i32.add (local.get $A) (local.get $k8))) (local.get $nn)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $lm)))
    ;; pass 2: B = Σ (x − mean)²
    (local.set $px (local.get $x))
    (local.set $i (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $dv2 (loop $lv2
        (br_if $dv2 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $vx (v128.load align=4 (i32.add (local.get $px) (local.get $k4))))
        (local.set $vd (f64x2.sub (f64x2.promote_low_f32x4 (local.get $vx)) (v128.load align=8 (i32.add (local.get $A) (local.get $k8)))))
        (local.set $vm (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vx) (local.get $vx))) (v128.load align=8 (i32.add (local.get $A) (i32.add (local.get $k8) (i32.const 16))))))
        (v128.store align=8 (i32.add (local.get $B) (local.get $k8)) (f64x2.add (v128.load align=8 (i32.add (local.get $B) (local.get $k8))) (f64x2.mul (local.get $vd) (local.get $vd))))
        (v128.store align=8 (i32.add (local.get $B) (i32.add (local.get $k8) (i32.const 16))) (f64x2.add (v128.load align=8 (i32.add (local.get $B) (i32.add (local.get $k8) (i32.const 16)))) (f64x2.mul (local.get $vm) (local.get $vm))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $lv2)))
      (block $ds2 (loop $ls2
        (br_if $ds2 (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $m (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $px) (local.get $k4)))) (f64.load (i32.add (local.get $A) (local.get $k8)))))
        (f64.store (i32.add (local.get $B) (local.get $k8)) (f64.add (f64.load (i32.add (local.get $B) (local.get $k8))) (f64.mul (local.get $m) (local.get $m))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $ls2)))
      (local.set $px (i32.add (local.get $px) (local.get $c4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2)))
    ;; per channel: stats; S = s, T = t (t from the f32 mean, as bnBackward rebuilds it for the ReLU mask)
    (local.set $k (i32.const 0))
    (block $ds (loop $ls
      (br_if $ds (i32.ge_u (local.get $k) (local.get $c)))
      (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
      (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
      (local.set $m (f64.load (i32.add (local.get $A) (local.get $k8))))
      (local.set $v (f64.div (f64.load (i32.add (local.get $B) (local.get $k8))) (local.get $nn)))
      (local.set $inv (f32.demote_f64 (f64.div (f64.const 1) (f64.sqrt (f64.add (local.get $v) (local.get $eps))))))
      (f32.store (i32.add (local.get $stats) (local.get $k4)) (f32.demote_f64 (local.get $m)))
      (f32.store (i32.add (local.get $stats) (i32.add (local.get $c4) (local.get $k4))) (f32.demote_f64 (local.get $v)))
      (f32.store (i32.add (local.get $stats) (i32.add (i32.shl (local.get $c4) (i32.const 1)) (local.get $k4))) (local.get $inv))
      (local.set $s (f32.mul (local.get $inv) (f32.load (i32.add (local.get $gamma) (local.get $k4)))))
      (f32.store (i32.add (local.get $S) (local.get $k4)) (local.get $s))
      (f32.store (i32.add (local.get $T) (local.get $k4))
        (f32.demote_f64 (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $beta) (local.get $k4)))) (f64.mul (f64.promote_f32 (f32.demote_f64 (local.get $m))) (f64.promote_f32 (local.get $s))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $ls)))
    ;; pass 3: y = x·s + t, then ReLU (lanes below 0 become +0; -0 and NaN pass, as in the scalar code)
    (local.set $px (local.get $x))
    (local.set $po (local.get $y))
    (local.set $i (i32.const 0))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $dv3 (loop $lv3
        (br_if $dv3 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $vy (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $px) (local.get $k4))) (v128.load align=4 (i32.add (local.get $S) (local.get $k4)))) (v128.load align=4 (i32.add (local.get $T) (local.get $k4)))))
        (if (local.get $relu) (then (local.set $vy (v128.andnot (local.get $vy) (f32x4.lt (local.get $vy) (v128.const f32x4 0 0 0 0))))))
        (v128.store align=4 (i32.add (local.get $po) (local.get $k4)) (local.get $vy))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $lv3)))
      (block $ds3 (loop $ls3
        (br_if $ds3 (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $yv (f32.add (f32.mul (f32.load (i32.add (local.get $px) (local.get $k4))) (f32.load (i32.add (local.get $S) (local.get $k4)))) (f32.load (i32.add (local.get $T) (local.get $k4)))))
        (if (i32.and (local.get $relu) (f32.lt (local.get $yv) (f32.const 0))) (then (local.set $yv (f32.const 0))))
        (f32.store (i32.add (local.get $po) (local.get $k4)) (local.get $yv))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $ls3)))
      (local.set $px (i32.add (local.get $px) (local.get $c4))) (local.set $po (i32.add (local.get $po) (local.get $c4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l3))))

  ;; Gradients of bnForward from x, its stats and dy: dgamma = Σ g·xhat, dbeta = Σ g,
  ;; dx = s·g − s·Σg/n − xhat·s·Σ(g·xhat)/n with s = gamma·invStd, xhat = (x − mean)·invStd and
  ;; g = dy where the forward's x·s + t was > 0 (all of dy without ReLU).
  (func (export "bnBackward") (param $dy i32) (param $x i32) (param $n i32) (param $c i32) (param $gamma i32) (param $beta i32)
    (param $stats i32) (param $relu i32) (param $dx i32) (param $dgamma i32) (param $dbeta i32) (param $scratch i32)
    (local $i i32) (local $k i32) (local $k4 i32) (local $k8 i32) (local $px i32) (local $pd i32) (local $po i32)
    (local $A i32) (local $B i32) (local $S i32) (local $Bv i32) (local $E i32) (local $T i32) (local $MEAN i32) (local $INV i32)
    (local $nn f64) (local $c4 i32) (local $s f32) (local $g f32) (local $h f32) (local $gd f64)
    (local $vx v128) (local $vg v128) (local $vh v128)
    (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
    (local.set $A (local.get $scratch))
    (local.set $B (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 3))))
    (local.set $S (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 4))))
    (local.set $Bv (i32.add (local.get $S) (local.get $c4)))
    (local.set $E (i32.add (local.get $Bv) (local.get $c4)))
    (local.set $T (i32.add (local.get $E) (local.get $c4)))
    (local.set $MEAN (local.get $stats))
    (local.set $INV (i32.add (local.get $stats) (i32.shl (local.get $c4) (i32.const 1))))
    (local.set $nn (f64.convert_i32_u (select (local.get $n) (i32.const 1) (i32.gt_u (local.get $n) (i32.const 0)))))
    (memory.fill (local.get $scratch) (i32.const 0) (i32.shl (local.get $c) (i32.const 4)))
    ;; the forward's s and t per channel
    (local.set $k (i32.const 0))
    (block $dp (loop $lp
      (br_if $dp (i32.ge_u (local.get $k) (local.get $c)))
      (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
      (local.set $s (f32.mul (f32.load (i32.add (local.get $INV) (local.get $k4))) (f32.load (i32.add (local.get $gamma) (local.get $k4)))))
      (f32.store (i32.add (local.get $S) (local.get $k4)) (local.get $s))
      (f32.store (i32.add (local.get $T) (local.get $k4))
        (f32.demote_f64 (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $beta) (local.get $k4)))) (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $MEAN) (local.get $k4)))) (f64.promote_f32 (local.get $s))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $lp)))
    ;; pass 1: A = Σ g, B = Σ g·xhat (f64)
    (local.set $px (local.get $x))
    (local.set $pd (local.get $dy))
    (local.set $i (i32.const 0))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $dv1 (loop $lv1
        (br_if $dv1 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $vx (v128.load align=4 (i32.add (local.get $px) (local.get $k4))))
        (local.set $vg (v128.load align=4 (i32.add (local.get $pd) (local.get $k4))))
        (if (local.get $relu) (then (local.set $vg (v128.and (local.get $vg)
          (f32x4.gt (f32x4.add (f32x4.mul (local.get $vx) (v128.load align=4 (i32.add (local.get $S) (local.get $k4)))) (v128.load align=4 (i32.add (local.get $T) (local.get $k4)))) (v128.const f32x4 0 0 0 0))))))
        (local.set $vh (f32x4.mul (f32x4.sub (local.get $vx) (v128.load align=4 (i32.add (local.get $MEAN) (local.get $k4)))) (v128.load align=4 (i32.add (local.get $INV) (local.get $k4)))))
        (v128.store align=8 (i32.add (local.get $A) (local.get $k8)) (f64x2.add (v128.load align=8 (i32.add (local.get $A) (local.get $k8))) (f64x2.promote_low_f32x4 (local.get $vg))))
        (v128.store align=8 (i32.add (local.get $A) (i32.add (local.get $k8) (i32.const 16))) (f64x2.add (v128.load align=8 (i32.add (local.get $A) (i32.add (local.get $k8) (i32.const 16)))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vg) (local.get $vg)))))
        (v128.store align=8 (i32.add (local.get $B) (local.get $k8)) (f64x2.add (v128.load align=8 (i32.add (local.get $B) (local.get $k8))) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $vg)) (f64x2.promote_low_f32x4 (local.get $vh)))))
        (v128.store align=8 (i32.add (local.get $B) (i32.add (local.get $k8) (i32.const 16))) (f64x2.add (v128.load align=8 (i32.add (local.get $B) (i32.add (local.get $k8) (i32.const 16)))) (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vg) (local.get $vg))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vh) (local.get $vh))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $lv1)))
      (block $ds1 (loop $ls1
        (br_if $ds1 (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $g (f32.load (i32.add (local.get $pd) (local.get $k4))))
        (if (local.get $relu) (then
          (if (i32.eqz (f32.gt (f32.add (f32.mul (f32.load (i32.add (local.get $px) (local.get $k4))) (f32.load (i32.add (local.get $S) (local.get $k4)))) (f32.load (i32.add (local.get $T) (local.get $k4)))) (f32.const 0))) (then (local.set $g (f32.const 0))))))
        (local.set $h (f32.mul (f32.sub (f32.load (i32.add (local.get $px) (local.get $k4))) (f32.load (i32.add (local.get $MEAN) (local.get $k4)))) (f32.load (i32.add (local.get $INV) (local.get $k4)))))
        (local.set $gd (f64.promote_f32 (local.get $g)))
        (f64.store (i32.add (local.get $A) (local.get $k8)) (f64.add (f64.load (i32.add (local.get $A) (local.get $k8))) (local.get $gd)))
        (f64.store (i32.add (local.get $B) (local.get $k8)) (f64.add (f64.load (i32.add (local.get $B) (local.get $k8))) (f64.mul (local.get $gd) (f64.promote_f32 (local.get $h)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $ls1)))
      (local.set $px (i32.add (local.get $px) (local.get $c4))) (local.set $pd (i32.add (local.get $pd) (local.get $c4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l1)))
    ;; per channel: dbeta, dgamma; Bv = s·Σg/n, E = s·Σ(g·xhat)/n
    (local.set $k (i32.const 0))
    (block $ds (loop $ls
      (br_if $ds (i32.ge_u (local.get $k) (local.get $c)))
      (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
      (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
      (f32.store (i32.add (local.get $dbeta) (local.get $k4)) (f32.demote_f64 (f64.load (i32.add (local.get $A) (local.get $k8)))))
      (f32.store (i32.add (local.get $dgamma) (local.get $k4)) (f32.demote_f64 (f64.load (i32.add (local.get $B) (local.get $k8)))))
      (f32.store (i32.add (local.get $Bv) (local.get $k4)) (f32.demote_f64 (f64.div (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $S) (local.get $k4)))) (f64.load (i32.add (local.get $A) (local.get $k8)))) (local.get $nn))))
      (f32.store (i32.add (local.get $E) (local.get $k4)) (f32.demote_f64 (f64.div (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $S) (local.get $k4)))) (f64.load (i32.add (local.get $B) (local.get $k8)))) (local.get $nn))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $ls)))
    ;; pass 2: dx = (s·g − Bv) − xhat·E
    (local.set $px (local.get $x))
    (local.set $pd (local.get $dy))
    (local.set $po (local.get $dx))
    (local.set $i (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $dv2 (loop $lv2
        (br_if $dv2 (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $vx (v128.load align=4 (i32.add (local.get $px) (local.get $k4))))
        (local.set $vg (v128.load align=4 (i32.add (local.get $pd) (local.get $k4))))
        (if (local.get $relu) (then (local.set $vg (v128.and (local.get $vg)
          (f32x4.gt (f32x4.add (f32x4.mul (local.get $vx) (v128.load align=4 (i32.add (local.get $S) (local.get $k4)))) (v128.load align=4 (i32.add (local.get $T) (local.get $k4)))) (v128.const f32x4 0 0 0 0))))))
        (local.set $vh (f32x4.mul (f32x4.sub (local.get $vx) (v128.load align=4 (i32.add (local.get $MEAN) (local.get $k4)))) (v128.load align=4 (i32.add (local.get $INV) (local.get $k4)))))
        (v128.store align=4 (i32.add (local.get $po) (local.get $k4))
          (f32x4.sub (f32x4.sub (f32x4.mul (v128.load align=4 (i32.add (local.get $S) (local.get $k4))) (local.get $vg)) (v128.load align=4 (i32.add (local.get $Bv) (local.get $k4)))) (f32x4.mul (local.get $vh) (v128.load align=4 (i32.add (local.get $E) (local.get $k4))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $lv2)))
      (block $ds2 (loop $ls2
        (br_if $ds2 (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
        (local.set $k8 (i32.shl (local.get $k) (i32.const 3)))
        (local.set $g (f32.load (i32.add (local.get $pd) (local.get $k4))))
        (if (local.get $relu) (then
          (if (i32.eqz (f32.gt (f32.add (f32.mul (f32.load (i32.add (local.get $px) (local.get $k4))) (f32.load (i32.add (local.get $S) (local.get $k4)))) (f32.load (i32.add (local.get $T) (local.get $k4)))) (f32.const 0))) (then (local.set $g (f32.const 0))))))
        (local.set $h (f32.mul (f32.sub (f32.load (i32.add (local.get $px) (local.get $k4))) (f32.load (i32.add (local.get $MEAN) (local.get $k4)))) (f32.load (i32.add (local.get $INV) (local.get $k4)))))
        (f32.store (i32.add (local.get $po) (local.get $k4))
          (f32.sub (f32.sub (f32.mul (f32.load (i32.add (local.get $S) (local.get $k4))) (local.get $g)) (f32.load (i32.add (local.get $Bv) (local.get $k4)))) (f32.mul (local.get $h) (f32.load (i32.add (local.get $E) (local.get $k4))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $ls2)))
      (local.set $px (i32.add (local.get $px) (local.get $c4))) (local.set $pd (i32.add (local.get $pd) (local.get $c4))) (local.set $po (i32.add (local.get $po) (local.get $c4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2))))

  ;; out[i, k] = max over the 8 sibling rows 8i..8i+7 of x[., k]; arg[i, k] = the slot (first maximum).
  (func (export "siblingMax") (param $x i32) (param $p i32) (param $c i32) (param $out i32) (param $arg i32)
    (local $i i32) (local $k i32) (local $s i32) (local $bi i32) (local $base i32) (local $best f32) (local $v f32) (local $c4 i32) (local $o i32)
    (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
    (block $di (loop $li
      (br_if $di (i32.ge_u (local.get $i) (local.get $p)))
      (local.set $k (i32.const 0))
      (block $dk (loop $lk
        (br_if $dk (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $base (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (i32.shl (local.get $i) (i32.const 3)) (local.get $c)) (local.get $k)) (i32.const 2))))
        (local.set $best (f32.load (local.get $base)))
        (local.set $bi (i32.const 0))
        (local.set $s (i32.const 1))
        (block $ds (loop $ls
          (br_if $ds (i32.ge_u (local.get $s) (i32.const 8)))
          (local.set $base (i32.add (local.get $base) (local.get $c4)))
          (local.set $v (f32.load (local.get $base)))
          (if (f32.gt (local.get $v) (local.get $best)) (then (local.set $best (local.get $v)) (local.set $bi (local.get $s))))
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          (br $ls)))
        (local.set $o (i32.shl (i32.add (i32.mul (local.get $i) (local.get $c)) (local.get $k)) (i32.const 2)))
        (f32.store (i32.add (local.get $out) (local.get $o)) (local.get $best))
        (i32.store (i32.add (local.get $arg) (local.get $o)) (local.get $bi))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $li))))

  ;; dx [8p, c] = 0 except dx[8i + arg[i, k], k] = dy[i, k].
  (func (export "siblingMaxGrad") (param $dy i32) (param $arg i32) (param $p i32) (param $c i32) (param $dx i32)
    (local $i i32) (local $k i32) (local $o i32)
    (memory.fill (local.get $dx) (i32.const 0) (i32.shl (i32.mul (i32.shl (local.get $p) (i32.const 3)) (local.get $c)) (i32.const 2)))
    (block $di (loop $li
      (br_if $di (i32.ge_u (local.get $i) (local.get $p)))
      (local.set $k (i32.const 0))
      (block $dk (loop $lk
        (br_if $dk (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $o (i32.shl (i32.add (i32.mul (local.get $i) (local.get $c)) (local.get $k)) (i32.const 2)))
        (f32.store
          (i32.add (local.get $dx) (i32.shl (i32.add (i32.mul (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.load (i32.add (local.get $arg) (local.get $o)))) (local.get $c)) (local.get $k)) (i32.const 2)))
          (f32.load (i32.add (local.get $dy) (local.get $o))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $li))))

  ;; ---- rows of the MID losses and of column concatenation (../row-kernels.ts; JS twins in ../row-loops.ts) --

  ;; out[i, j] = x row i · protos row (seg[i]·k + j), i < n, j < k, rows of d floats: the (unscaled) logits
  ;; of each row against its own segment's k prototypes (all arguments i32: the helper thread can run half). The dot product sums 4 lanes (lane l: elements
  ;; c ≡ l mod 4 of the SIMD body, in order), adds the lanes as (l0 + l1) + (l2 + l3), then the scalar tail.
  (func (export "segmentDot") (param $x i32) (param $n i32) (param $d i32) (param $protos i32) (param $seg i32) (param $k i32) (param $out i32)
    (local $i i32) (local $j i32) (local $c i32) (local $xr i32) (local $pr i32) (local $d4 i32) (local $row i32)
    (local $acc v128) (local $s f32)
    (local.set $d4 (i32.and (local.get $d) (i32.const -4)))
    (local.set $row (i32.shl (local.get $d) (i32.const 2)))
    (block $di (loop $li
      (br_if $di (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $row))))
      (local.set $pr (i32.add (local.get $protos)
        (i32.mul (i32.mul (i32.load (i32.add (local.get $seg) (i32.shl (local.get $i) (i32.const 2)))) (local.get $k)) (local.get $row))))
      (local.set $j (i32.const 0))
      (block $dj (loop $lj
        (br_if $dj (i32.ge_u (local.get $j) (local.get $k)))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $c (i32.const 0))
        (block $dc (loop $lc
          (br_if $dc (i32.ge_u (local.get $c) (local.get $d4)))
          (local.set $acc (f32x4.add (local.get $acc)
            (f32x4.mul (v128.load align=4 (i32.add (local.get $xr) (i32.shl (local.get $c) (i32.const 2))))
                       (v128.load align=4 (i32.add (local.get $pr) (i32.shl (local.get $c) (i32.const 2)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $lc)))
        (local.set $s (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
          (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (block $dt (loop $lt
          (br_if $dt (i32.ge_u (local.get $c) (local.get $d)))
          (local.set $s (f32.add (local.get $s)
            (f32.mul (f32.load (i32.add (local.get $xr) (i32.shl (local.get $c) (i32.const 2))))
                     (f32.load (i32.add (local.get $pr) (i32.shl (local.get $c) (i32.const 2)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $lt)))
        (f32.store (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (local.get $j)) (i32.const 2)))
          (local.get $s))
        (local.set $pr (i32.add (local.get $pr) (local.get $row)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $lj)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $li))))

  ;; dx row i = Σ_j coef[i, j] · protos row (seg[i]·k + j), summed in j order from 0 (the transpose of
  ;; segmentDot: the gradient of the logits with respect to x).
  (func (export "segmentAxpy") (param $coef i32) (param $n i32) (param $k i32) (param $protos i32) (param $seg i32) (param $d i32) (param $dx i32)
    (local $i i32) (local $j i32) (local $c i32) (local $xr i32) (local $pr i32) (local $d4 i32) (local $row i32)
    (local $a f32) (local $av v128) (local $o i32) (local $q i32)
    (local.set $d4 (i32.and (local.get $d) (i32.const -4)))
    (local.set $row (i32.shl (local.get $d) (i32.const 2)))
    (memory.fill (local.get $dx) (i32.const 0) (i32.mul (local.get $n) (local.get $row)))
    (block $di (loop $li
      (br_if $di (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $xr (i32.add (local.get $dx) (i32.mul (local.get $i) (local.get $row))))
      (local.set $pr (i32.add (local.get $protos)
        (i32.mul (i32.mul (i32.load (i32.add (local.get $seg) (i32.shl (local.get $i) (i32.const 2)))) (local.get $k)) (local.get $row))))
      (local.set $j (i32.const 0))
      (block $dj (loop $lj
        (br_if $dj (i32.ge_u (local.get $j) (local.get $k)))
        (local.set $a (f32.load (i32.add (local.get $coef) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (local.get $j)) (i32.const 2)))))
        (local.set $av (f32x4.splat (local.get $a)))
        (local.set $c (i32.const 0))
        (block $dc (loop $lc
          (br_if $dc (i32.ge_u (local.get $c) (local.get $d4)))
          (local.set $o (i32.add (local.get $xr) (i32.shl (local.get $c) (i32.const 2))))
          (v128.store align=4 (local.get $o) (f32x4.add (v128.load align=4 (local.get $o))
            (f32x4.mul (local.get $av) (v128.load align=4 (i32.add (local.get $pr) (i32.shl (local.get $c) (i32.const 2)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $lc)))
        (block $dt (loop $lt
          (br_if $dt (i32.ge_u (local.get $c) (local.get $d)))
          (local.set $o (i32.add (local.get $xr) (i32.shl (local.get $c) (i32.const 2))))
          (f32.store (local.get $o) (f32.add (f32.load (local.get $o))
            (f32.mul (local.get $a) (f32.load (i32.add (local.get $pr) (i32.shl (local.get $c) (i32.const 2)))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $lt)))
        (local.set $pr (i32.add (local.get $pr) (local.get $row)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $lj)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $li))))

  ;; out [rows, c]: row r = Σ weight[e] · x row src[e] over e in offsets[r] .. offsets[r+1] (a CSR table;
  ;; offsets, src, weight are i32/i32/f32 arrays), each product and sum in float32, in e order, into the
  ;; zeroed output (the weighted gather of interpolation and, on the transposed table, its gradient; the
  ;; JS twin is weightedRowsLoop in ../fused-loops.ts). All arguments i32: the helper thread can run rows.
  (func (export "weightedRows") (param $x i32) (param $offsets i32) (param $src i32) (param $weight i32) (param $rows i32) (param $c i32) (param $out i32)
    (local $r i32) (local $e i32) (local $end i32) (local $row i32) (local $c4 i32) (local $o i32) (local $s i32) (local $k i32)
    (local $w f32) (local $wv v128) (local $p i32)
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (local.set $c4 (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $rows) (local.get $row)))
    (block $dr (loop $lr
      (br_if $dr (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $row))))
      (local.set $e (i32.load (i32.add (local.get $offsets) (i32.shl (local.get $r) (i32.const 2)))))
      (local.set $end (i32.load (i32.add (local.get $offsets) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 2)))))
      (block $de (loop $le
        (br_if $de (i32.ge_s (local.get $e) (local.get $end)))
        (local.set $w (f32.load (i32.add (local.get $weight) (i32.shl (local.get $e) (i32.const 2)))))
        (local.set $wv (f32x4.splat (local.get $w)))
        (local.set $s (i32.add (local.get $x)
          (i32.mul (i32.load (i32.add (local.get $src) (i32.shl (local.get $e) (i32.const 2)))) (local.get $row))))
        (local.set $k (i32.const 0))
        (block $dk (loop $lk
          (br_if $dk (i32.ge_u (local.get $k) (local.get $c4)))
          (local.set $p (i32.add (local.get $o) (local.get $k)))
          (v128.store align=4 (local.get $p) (f32x4.add (v128.load align=4 (local.get $p))
            (f32x4.mul (local.get $wv) (v128.load align=4 (i32.add (local.get $s) (local.get $k))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $lk)))
        (block $dt (loop $lt
          (br_if $dt (i32.ge_u (local.get $k) (local.get $row)))
          (local.set $p (i32.add (local.get $o) (local.get $k)))
          (f32.store (local.get $p) (f32.add (f32.load (local.get $p))
            (f32.mul (local.get $w) (f32.load (i32.add (local.get $s) (local.get $k))))))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br $lt)))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $le)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $lr))))

  ;; y[0 .. n) = max(a + b, 0), float32 (pmax(0, v) is 0 for NaN and -0, as `v > 0 ? v : 0` in
  ;; addReluRows of ../row-loops.ts): the residual sums and the branch fusion.
  (func (export "addRelu") (param $a i32) (param $b i32) (param $n i32) (param $y i32)
    (local $i i32) (local $n4 i32) (local $v f32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $dv (loop $lv
      (br_if $dv (i32.ge_u (local.get $i) (local.get $n4)))
      (v128.store align=4 (i32.add (local.get $y) (local.get $i))
        (f32x4.pmax (v128.const f32x4 0 0 0 0)
          (f32x4.add (v128.load align=4 (i32.add (local.get $a) (local.get $i))) (v128.load align=4 (i32.add (local.get $b) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $lv)))
    (block $dt (loop $lt
      (br_if $dt (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $v (f32.add (f32.load (i32.add (local.get $a) (local.get $i))) (f32.load (i32.add (local.get $b) (local.get $i)))))
      (f32.store (i32.add (local.get $y) (local.get $i))
        (select (local.get $v) (f32.const 0) (f32.gt (local.get $v) (f32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $lt))))

  ;; dx[0 .. n) = dy where y > 0, else +0 (the gradient of a ReLU from its output; reluGradRows).
  (func (export "reluGrad") (param $dy i32) (param $y i32) (param $n i32) (param $dx i32)
    (local $i i32) (local $n4 i32)
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $dv (loop $lv
      (br_if $dv (i32.ge_u (local.get $i) (local.get $n4)))
      (v128.store align=4 (i32.add (local.get $dx) (local.get $i))
        (v128.and (v128.load align=4 (i32.add (local.get $dy) (local.get $i)))
          (f32x4.gt (v128.load align=4 (i32.add (local.get $y) (local.get $i))) (v128.const f32x4 0 0 0 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $lv)))
    (block $dt (loop $lt
      (br_if $dt (i32.ge_u (local.get $i) (local.get $n)))
      (f32.store (i32.add (local.get $dx) (local.get $i))
        (select (f32.load (i32.add (local.get $dy) (local.get $i))) (f32.const 0)
          (f32.gt (f32.load (i32.add (local.get $y) (local.get $i))) (f32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $lt))))

  ;; n rows of `width` floats from src (row stride srcStride floats) to dst (row stride dstStride): one
  ;; column block of a concatenation, or its gradient's slice.
  (func (export "copyCols") (param $src i32) (param $srcStride i32) (param $dst i32) (param $dstStride i32) (param $n i32) (param $width i32)
    (local $i i32) (local $bytes i32) (local $ss i32) (local $ds i32)
    (local.set $bytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $ss (i32.shl (local.get $srcStride) (i32.const 2)))
    (local.set $ds (i32.shl (local.get $dstStride) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $copyRow (local.get $src) (local.get $dst) (local.get $bytes))
      (local.set $src (i32.add (local.get $src) (local.get $ss)))
      (local.set $dst (i32.add (local.get $dst) (local.get $ds)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
)

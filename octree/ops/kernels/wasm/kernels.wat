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

  ;; The transposed im2col matrix: dst[(kk*c + j)*n + i] = src[idx[i*k + kk]*c + j] (0 for a negative
  ;; index). Blocks of 256 input rows keep their index entries in cache; within a block every output
  ;; row (kk, j) is written as one contiguous run.
  (func (export "gatherT") (param $src i32) (param $idx i32) (param $n i32) (param $k i32) (param $dst i32) (param $c i32)
    (local $i0 i32) (local $i1 i32) (local $kk i32) (local $j i32) (local $i i32) (local $r i32)
    (local $o i32) (local $ip i32) (local $kb i32) (local $srcj i32)
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (block $blocksDone
      (loop $block
        (br_if $blocksDone (i32.ge_u (local.get $i0) (local.get $n)))
        (local.set $i1 (i32.add (local.get $i0) (i32.const 256)))
        (if (i32.gt_u (local.get $i1) (local.get $n)) (then (local.set $i1 (local.get $n))))
        (local.set $kk (i32.const 0))
        (block $kDone
          (loop $kLoop
            (br_if $kDone (i32.ge_u (local.get $kk) (local.get $k)))
            (local.set $j (i32.const 0))
            (block $jDone
              (loop $jLoop
                (br_if $jDone (i32.ge_u (local.get $j) (local.get $c)))
                ;; o = dst + ((kk*c + j)*n + i0)*4 ; ip = idx + (i0*k + kk)*4 ; srcj = src + j*4
                (local.set $o (i32.add (local.get $dst)
                  (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $kk) (local.get $c)) (local.get $j)) (local.get $n)) (local.get $i0)) (i32.const 2))))
                (local.set $ip (i32.add (local.get $idx)
                  (i32.shl (i32.add (i32.mul (local.get $i0) (local.get $k)) (local.get $kk)) (i32.const 2))))
                (local.set $srcj (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $i (local.get $i0))
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
;; 8c floats: two f64 accumulators of c (bytes 0..8c, 8c..16c), then four f32 vectors (16c, 20c, 24c, 28c).

  ;; y = relu?((x - mean) * invStd * gamma + beta) for x [n, c]; sums in f64.
  (func (export "bnForward") (param $x i32) (param $n i32) (param $c i32) (param $gamma i32) (param $beta i32)
    (param $eps f64) (param $relu i32) (param $y i32) (param $stats i32) (param $scratch i32)
    (local $i i32) (local $k i32) (local $p i32) (local $q i32) (local $a i32) (local $nn f64) (local $d f64)
    (local $m f64) (local $v f64) (local $inv f32) (local $s f32) (local $t f32) (local $yv f32) (local $c4 i32) (local $c8 i32)
    (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
    (local.set $c8 (i32.shl (local.get $c) (i32.const 3)))
    (local.set $nn (f64.convert_i32_u (select (local.get $n) (i32.const 1) (i32.gt_u (local.get $n) (i32.const 0)))))
    (memory.fill (local.get $scratch) (i32.const 0) (i32.shl (local.get $c) (i32.const 4)))
    ;; pass 1: sums
    (local.set $p (local.get $x))
    (local.set $i (i32.const 0))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $a (local.get $scratch))
      (local.set $k (i32.const 0))
      (block $dk (loop $lk
        (br_if $dk (i32.ge_u (local.get $k) (local.get $c)))
        (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64.promote_f32 (f32.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l1)))
    ;; means
    (local.set $k (i32.const 0))
    (local.set $a (local.get $scratch))
    (block $dm (loop $lm
      (br_if $dm (i32.ge_u (local.get $k) (local.get $c)))
      (f64.store (local.get $a) (f64.div (f64.load (local.get $a)) (local.get $nn)))
      (local.set $a (i32.add (local.get $a) (i32.const 8)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $lm)))
    ;; pass 2: squared deviations into the second accumulator
    (local.set $p (local.get $x))
    (local.set $i (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $a (local.get $scratch))
      (local.set $k (i32.const 0))
      (block $dk2 (loop $lk2
        (br_if $dk2 (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $d (f64.sub (f64.promote_f32 (f32.load (local.get $p))) (f64.load (local.get $a))))
        (local.set $q (i32.add (local.get $a) (local.get $c8)))
        (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (f64.mul (local.get $d) (local.get $d))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l2)))
    ;; per channel: stats, scale s = invStd * gamma and shift t = beta - mean * s (f32 at 16c, 20c)
    (local.set $k (i32.const 0))
    (block $ds (loop $ls
      (br_if $ds (i32.ge_u (local.get $k) (local.get $c)))
      (local.set $a (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 3))))
      (local.set $m (f64.load (local.get $a)))
      (local.set $v (f64.div (f64.load (i32.add (local.get $a) (local.get $c8))) (local.get $nn)))
      (local.set $inv (f32.demote_f64 (f64.div (f64.const 1) (f64.sqrt (f64.add (local.get $v) (local.get $eps))))))
      (local.set $q (i32.add (local.get $stats) (i32.shl (local.get $k) (i32.const 2))))
      (f32.store (local.get $q) (f32.demote_f64 (local.get $m)))
      (f32.store (i32.add (local.get $q) (local.get $c4)) (f32.demote_f64 (local.get $v)))
      (f32.store (i32.add (local.get $q) (local.get $c8)) (local.get $inv))
      (local.set $s (f32.mul (local.get $inv) (f32.load (i32.add (local.get $gamma) (i32.shl (local.get $k) (i32.const 2))))))
      ;; t from the f32 mean, as bnBackward rebuilds it for the ReLU mask
      (local.set $t (f32.demote_f64 (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $beta) (i32.shl (local.get $k) (i32.const 2)))))
        (f64.mul (f64.promote_f32 (f32.demote_f64 (local.get $m))) (f64.promote_f32 (local.get $s))))))
      (local.set $q (i32.add (local.get $scratch) (i32.add (i32.shl (local.get $c) (i32.const 4)) (i32.shl (local.get $k) (i32.const 2)))))
      (f32.store (local.get $q) (local.get $s))
      (f32.store (i32.add (local.get $q) (local.get $c4)) (local.get $t))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $ls)))
    ;; pass 3: y = x * s + t (then ReLU)
    (local.set $p (local.get $x))
    (local.set $q (local.get $y))
    (local.set $i (i32.const 0))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $a (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 4))))
      (local.set $k (i32.const 0))
      (block $dk3 (loop $lk3
        (br_if $dk3 (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $yv (f32.add (f32.mul (f32.load (local.get $p)) (f32.load (local.get $a))) (f32.load (i32.add (local.get $a) (local.get $c4)))))
        (if (i32.and (local.get $relu) (f32.lt (local.get $yv) (f32.const 0))) (then (local.set $yv (f32.const 0))))
        (f32.store (local.get $q) (local.get $yv))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l3))))

  ;; Gradients of bnForward from x, its stats and dy: dgamma = Σ g·xhat, dbeta = Σ g,
  ;; dx = (gamma·invStd/n)·(n·g − Σg − xhat·Σ g·xhat), with g = dy masked where the ReLU output is 0.
  (func (export "bnBackward") (param $dy i32) (param $x i32) (param $n i32) (param $c i32) (param $gamma i32) (param $beta i32)
    (param $stats i32) (param $relu i32) (param $dx i32) (param $dgamma i32) (param $dbeta i32) (param $scratch i32)
    (local $i i32) (local $k i32) (local $p i32) (local $g i32) (local $o i32) (local $a i32) (local $q i32)
    (local $h f32) (local $gv f32) (local $nn f64) (local $c4 i32) (local $c8 i32) (local $c16 i32) (local $sa f32)
    (local.set $c4 (i32.shl (local.get $c) (i32.const 2)))
    (local.set $c8 (i32.shl (local.get $c) (i32.const 3)))
    (local.set $c16 (i32.shl (local.get $c) (i32.const 4)))
    (local.set $nn (f64.convert_i32_u (select (local.get $n) (i32.const 1) (i32.gt_u (local.get $n) (i32.const 0)))))
    (memory.fill (local.get $scratch) (i32.const 0) (local.get $c16))
    ;; the forward's scale s (16c) and shift t (28c): the ReLU kept exactly the rows with x·s + t > 0
    (local.set $k (i32.const 0))
    (block $dp (loop $lp
      (br_if $dp (i32.ge_u (local.get $k) (local.get $c)))
      (local.set $sa (f32.mul (f32.load (i32.add (local.get $stats) (i32.add (local.get $c8) (i32.shl (local.get $k) (i32.const 2)))))
                              (f32.load (i32.add (local.get $gamma) (i32.shl (local.get $k) (i32.const 2))))))
      (local.set $q (i32.add (local.get $scratch) (i32.add (local.get $c16) (i32.shl (local.get $k) (i32.const 2)))))
      (f32.store (local.get $q) (local.get $sa))
      (f32.store (i32.add (local.get $q) (i32.mul (local.get $c) (i32.const 12)))
        (f32.demote_f64 (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $beta) (i32.shl (local.get $k) (i32.const 2)))))
          (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $stats) (i32.shl (local.get $k) (i32.const 2))))) (f64.promote_f32 (local.get $sa))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $lp)))
    ;; pass 1: Σ g and Σ g·xhat per channel (f64)
    (local.set $p (local.get $x))
    (local.set $g (local.get $dy))
    (local.set $i (i32.const 0))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $dk (loop $lk
        (br_if $dk (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $q (i32.add (local.get $stats) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $h (f32.mul (f32.sub (f32.load (local.get $p)) (f32.load (local.get $q))) (f32.load (i32.add (local.get $q) (local.get $c8)))))
        (local.set $gv (f32.load (local.get $g)))
        (if (local.get $relu) (then
          (local.set $q (i32.add (local.get $scratch) (i32.add (local.get $c16) (i32.shl (local.get $k) (i32.const 2)))))
          (if (i32.eqz (f32.gt (f32.add (f32.mul (f32.load (local.get $p)) (f32.load (local.get $q)))
                                        (f32.load (i32.add (local.get $q) (i32.mul (local.get $c) (i32.const 12))))) (f32.const 0)))
            (then (local.set $gv (f32.const 0))))))
        (local.set $a (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 3))))
        (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64.promote_f32 (local.get $gv))))
        (local.set $a (i32.add (local.get $a) (local.get $c8)))
        (f64.store (local.get $a) (f64.add (f64.load (local.get $a)) (f64.mul (f64.promote_f32 (local.get $gv)) (f64.promote_f32 (local.get $h)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l1)))
    ;; per channel: dbeta, dgamma; a = gamma·invStd at 16c, a·Σg/n at 20c, a·Σg·xhat/n at 24c (f32)
    (local.set $k (i32.const 0))
    (block $ds (loop $ls
      (br_if $ds (i32.ge_u (local.get $k) (local.get $c)))
      (local.set $a (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 3))))
      (f32.store (i32.add (local.get $dbeta) (i32.shl (local.get $k) (i32.const 2))) (f32.demote_f64 (f64.load (local.get $a))))
      (f32.store (i32.add (local.get $dgamma) (i32.shl (local.get $k) (i32.const 2))) (f32.demote_f64 (f64.load (i32.add (local.get $a) (local.get $c8)))))
      (local.set $sa (f32.mul (f32.load (i32.add (local.get $gamma) (i32.shl (local.get $k) (i32.const 2))))
                              (f32.load (i32.add (local.get $stats) (i32.add (local.get $c8) (i32.shl (local.get $k) (i32.const 2)))))))
      (local.set $q (i32.add (local.get $scratch) (i32.add (local.get $c16) (i32.shl (local.get $k) (i32.const 2)))))
      (f32.store (local.get $q) (local.get $sa))
      (f32.store (i32.add (local.get $q) (local.get $c4))
        (f32.demote_f64 (f64.div (f64.mul (f64.promote_f32 (local.get $sa)) (f64.load (local.get $a))) (local.get $nn))))
      (f32.store (i32.add (local.get $q) (local.get $c8))
        (f32.demote_f64 (f64.div (f64.mul (f64.promote_f32 (local.get $sa)) (f64.load (i32.add (local.get $a) (local.get $c8)))) (local.get $nn))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $ls)))
    ;; pass 2: dx
    (local.set $p (local.get $x))
    (local.set $g (local.get $dy))
    (local.set $o (local.get $dx))
    (local.set $i (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $dk2 (loop $lk2
        (br_if $dk2 (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $q (i32.add (local.get $stats) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $h (f32.mul (f32.sub (f32.load (local.get $p)) (f32.load (local.get $q))) (f32.load (i32.add (local.get $q) (local.get $c8)))))
        (local.set $gv (f32.load (local.get $g)))
        (if (local.get $relu) (then
          (local.set $q (i32.add (local.get $scratch) (i32.add (local.get $c16) (i32.shl (local.get $k) (i32.const 2)))))
          (if (i32.eqz (f32.gt (f32.add (f32.mul (f32.load (local.get $p)) (f32.load (local.get $q)))
                                        (f32.load (i32.add (local.get $q) (i32.mul (local.get $c) (i32.const 12))))) (f32.const 0)))
            (then (local.set $gv (f32.const 0))))))
        (local.set $a (i32.add (local.get $scratch) (i32.add (local.get $c16) (i32.shl (local.get $k) (i32.const 2)))))
        (f32.store (local.get $o)
          (f32.sub (f32.sub (f32.mul (f32.load (local.get $a)) (local.get $gv)) (f32.load (i32.add (local.get $a) (local.get $c4))))
                   (f32.mul (local.get $h) (f32.load (i32.add (local.get $a) (local.get $c8))))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $lk2)))
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
)

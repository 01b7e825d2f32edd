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
)

import * as tf from '@tensorflow/tfjs';

/**
 * `tf.variableGrads` with the tape's memory released as the backward pass goes.
 *
 * tfjs 4.22 keeps every tensor of the backward pass until it ends: each node's saved activations, the
 * gradient of every intermediate tensor (its map of gradients is only disposed with the backward scope),
 * and each partial gradient that was added into an accumulated one. So the peak of a training step is
 * all saved activations plus a gradient for every activation at once (MID HRNet b16: 462 MiB of live
 * tensors, where the forward ends at 230 with 182 of saved activations). The wasm heap never shrinks,
 * so that peak is the heap for the rest of the run.
 *
 * This wraps each tape node's gradient function (the nodes are wrapped before tfjs filters the tape,
 * and the filtered copies keep the wrapper) so that, once the backward pass has moved on to the next
 * node, the previous node's saved tensors and output gradients are disposed, and so is each partial
 * gradient tfjs has just added into an accumulated one. The gradient functions, their order and the
 * order of the accumulating adds are tfjs's own, so the gradients are bit for bit those of
 * `tf.variableGrads` (test/train/tape-grads.test.ts).
 *
 * What is never disposed early: a gradient that a gradient function returned without making it (its
 * dy, a saved tensor, ...: tfjs may hold it as another tensor's gradient), and the gradient that
 * becomes a variable's result. Nested gradients (a tape inside a tape) fall back to tfjs as it is.
 * It reads tfjs-core 4.22 internals (the engine's active tape and tensor id counter); test/train checks
 * they are there.
 */

interface TapeNodeLike {
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineLike {
  state: { activeTape: TapeNodeLike[] | null; gradientDepth: number };
  constructor: { nextTensorId: number };
}

function engine(): EngineLike {
  return tf.engine() as unknown as EngineLike;
}

/** Whether this tfjs exposes what `variableGrads` relies on (else it runs tf.variableGrads unchanged). */
export function tapeInternalsAvailable(): boolean {
  const e = engine();
  // (the engine's state has no activeTape field before its first tape: test the counters)
  return typeof e.state?.gradientDepth === 'number' && typeof e.constructor.nextTensorId === 'number';
}

/** Same contract as tf.variableGrads(f, varList); releases the tape's tensors early (see above). */
export function variableGrads(f: () => tf.Scalar, varList?: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const e = engine();
  // a tape already running: this is a nested gradient; leave tfjs's bookkeeping alone
  if (e.state.gradientDepth > 0 || !tapeInternalsAvailable()) return tf.variableGrads(f, varList);
  const release = new TapeRelease();
  return tf.variableGrads(() => {
    const y = f();
    // the tape is complete; tfjs filters (copies) its nodes only after this function returns
    const tape = e.state.activeTape;
    if (Array.isArray(tape)) for (const node of tape) release.wrap(node);
    return y;
  }, varList);
}

/** The per-backward bookkeeping: what the last node left to dispose, and which gradients are aliases. */
class TapeRelease {
  /** Ids of tensors that already received a gradient in this backward pass. */
  private readonly hasGrad = new Set<number>();
  /** Every gradient a gradient function returned: one returned twice is held twice by tfjs. */
  private readonly returned = new Set<tf.Tensor>();
  /** Tensors returned as gradients that the gradient function did not make: never disposed early. */
  private readonly aliased = new Set<tf.Tensor>();
  /** The previous node's saved tensors and output gradients, disposed when the next node starts. */
  private doneWith: tf.Tensor[] = [];
  /** Partial gradients tfjs added into an accumulated gradient, disposed with the node (a later thunk of
   * the same node may still use one: the ReLU-sum gradient clones its first input's gradient). */
  private added: tf.Tensor[] = [];

  wrap(node: TapeNodeLike): void {
    const gradient = node.gradient;
    if (!gradient) return;
    node.gradient = (dys) => {
      this.flush();
      const firstNew = engine().constructor.nextTensorId;
      const thunks = gradient(dys);
      this.doneWith = [...dys.filter((d): d is tf.Tensor => d !== null), ...(node.saved ?? [])];
      const wrapped: Record<string, () => tf.Tensor> = {};
      for (const [name, thunk] of Object.entries(thunks)) {
        wrapped[name] = () => {
          const dx = thunk();
          const x = node.inputs[name];
          if (x === undefined) return dx;
          // made before this node's gradient ran: it is someone else's tensor (a dy, a saved input)
          if (dx.id < firstNew || this.returned.has(dx)) this.aliased.add(dx);
          this.returned.add(dx);
          // tfjs adds a second gradient of x into the first and keeps the partial one until the end
          if (this.hasGrad.has(x.id)) this.added.push(dx);
          else this.hasGrad.add(x.id);
          return dx;
        };
      }
      return wrapped;
    };
  }

  /** Dispose what tfjs no longer needs once the previous node's gradient is complete. */
  private flush(): void {
    for (const t of [...this.added, ...this.doneWith]) if (!this.aliased.has(t)) t.dispose();
    this.added = [];
    this.doneWith = [];
  }
}

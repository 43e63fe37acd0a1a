// The run buffer (layout: native/run_io.h): one ArrayBuffer per thread through which a run's
// numbers cross to and from the addon as plain memory. Writing a call's slot, endpoints, dtypes
// and dims into a Float64Array, and reading small outputs back with TypedArray.slice (which V8
// keeps on its own heap up to 64 bytes), replaces reading and creating every shape array, number
// and output ArrayBuffer through N-API — the largest part of a tiny inline run's overhead
// (src/engine/README.md has the numbers).
//
// JS writes the call right before session.run() and reads the outputs right after it returns:
// nothing else runs on this thread in between, so one buffer serves every session. The buffer is
// never transferred or detached (the addon holds its address).

import { dtypeFromTfEnum, TF_DATATYPE, TYPED_ARRAY_OF, type DType, type NumericData, type NumericDType } from './dtypes.js';
import { native } from './native.js';
import { shapeDim, type Tensor } from './tensor.js';

/**
 * Output bytes the buffer holds (outputs over OutputCopyLimit, 1 KiB, never come through it; a
 * run whose outputs do not fit returns them as JS values instead).
 */
const DATA_BYTES = 16 * 1024;
const INITIAL_HEAD_SLOTS = 512;

let head: Float64Array | undefined;
/** Typed views over the data area, by TF DataType enum. */
let views: (NumericData | undefined)[] = [];

function register(headSlots: number): Float64Array {
  const headBytes = Math.ceil((headSlots * 8) / 16) * 16;
  const buffer = new ArrayBuffer(headBytes + DATA_BYTES);
  native().setRunIo(buffer, headBytes);
  head = new Float64Array(buffer, 0, headBytes / 8);
  views = [];
  for (const [dtype, tfEnum] of Object.entries(TF_DATATYPE) as [DType, number][]) {
    if (dtype === 'string') continue;
    const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
    views[tfEnum] = new Ctor(buffer, headBytes, DATA_BYTES / Ctor.BYTES_PER_ELEMENT);
  }
  return head;
}

/**
 * Writes one call into the head: cost slot, placement, each input's endpoint, TF dtype and dims,
 * the output endpoints. `tensors` are the validated inputs in `inputEndpoints` order.
 */
export function writeRunCall(
  slot: number,
  placement: number,
  inputEndpoints: readonly number[],
  tensors: readonly Tensor[],
  outputEndpoints: readonly number[],
): void {
  let slots = 4 + outputEndpoints.length;
  for (let i = 0; i < tensors.length; i++) slots += 3 + tensors[i]!.shape.length;
  let h = head;
  if (h === undefined || h.length < slots) h = register(Math.max(slots, INITIAL_HEAD_SLOTS, (h?.length ?? 0) * 2));
  h[0] = slot;
  h[1] = placement;
  h[2] = tensors.length;
  h[3] = outputEndpoints.length;
  let p = 4;
  for (let i = 0; i < tensors.length; i++) {
    const tensor = tensors[i]!;
    const shape = tensor.shape;
    h[p++] = inputEndpoints[i]!;
    h[p++] = TF_DATATYPE[tensor.dtype];
    h[p++] = shape.length;
    for (let d = 0; d < shape.length; d++) h[p++] = shape[d]!;
  }
  for (let i = 0; i < outputEndpoints.length; i++) h[p++] = outputEndpoints[i]!;
}

/** The outputs an inline run left in the buffer (run() returned undefined), keyed like `keys`. */
export function readRunOutputs(keys: readonly string[]): Record<string, Tensor> {
  const h = head!;
  const out: Record<string, Tensor> = {};
  let p = 0;
  for (let i = 0; i < keys.length; i++) {
    const tfDtype = h[p]!;
    const rank = h[p + 1]!;
    const offset = h[p + 2]!;
    const byteLength = h[p + 3]!;
    p += 4;
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(shapeDim(h[p++]!));
    const view = views[tfDtype]!;
    const perValue = view.BYTES_PER_ELEMENT;
    out[keys[i]!] = {
      dtype: dtypeFromTfEnum(tfDtype)!,
      shape,
      data: view.slice(offset / perValue, (offset + byteLength) / perValue),
    } as Tensor;
  }
  return out;
}

// The batcher's data movement: one gather copy of many requests' rows into a single aligned
// buffer (with optional padding), and zero-copy splitting of the merged outputs into per-request
// views. Strings concatenate/split their arrays of byte strings (references, never bytes).

import { componentsPerElement, type NumericData } from '../engine/dtypes.js';
import { allocTensor, elementCount, type Tensor } from '../engine/tensor.js';

const EMPTY_BYTES = new Uint8Array(0);

/**
 * Concatenates `parts` (same dtype, rank ≥ 1) along dim 0 into one allocTensor buffer of
 * `totalRows` rows. Rows past the parts' rows (batch padding) replicate the first row of the
 * first part, as TF Serving's batching session does: a real row is always valid model input,
 * zeros may not be (an empty string for a JPEG decoder, id 0 outside a vocabulary…).
 *
 * With `padTo` (pad_variable_length_inputs), each part's non-batch dims are padded at the end to
 * `padTo` with the part's own first element (TF Serving's rule); otherwise every part must have
 * the same non-batch dims (the caller groups by them).
 */
export function concatRows(parts: readonly Tensor[], totalRows: number, padTo?: readonly number[]): Tensor {
  const first = parts[0]!;
  const inner = padTo ?? first.shape.slice(1);
  const shape = [totalRows, ...inner];
  const rowElems = elementCount(inner);

  if (first.dtype === 'string') {
    const out: Uint8Array[] = new Array<Uint8Array>(totalRows * rowElems);
    let base = 0;
    for (const part of parts) {
      const data = part.data as Uint8Array[];
      if (padTo) {
        const fill = data[0] ?? EMPTY_BYTES;
        const at = base;
        base += walkPadded(
          part.shape,
          inner,
          (src, dst, n) => {
            for (let k = 0; k < n; k++) out[at + dst + k] = data[src + k]!;
          },
          (dst, n) => {
            for (let k = 0; k < n; k++) out[at + dst + k] = fill;
          },
        );
      } else {
        for (let k = 0; k < data.length; k++) out[base + k] = data[k]!;
        base += data.length;
      }
    }
    // batch padding: replicate the first row
    for (let k = base; k < out.length; k++) out[k] = out[k % rowElems] ?? EMPTY_BYTES;
    return { dtype: 'string', shape, data: out };
  }

  const merged = allocTensor(first.dtype, shape);
  // every typed array of one dtype has one class; Float32Array's signature stands in for all here
  const out = merged.data as Float32Array;
  const per = componentsPerElement(first.dtype);
  let base = 0; // in typed-array values
  for (const part of parts) {
    const data = part.data as Float32Array;
    if (padTo) {
      const pad0 = data.length > 0 ? data[0]! : 0;
      const pad1 = data.length > 1 ? data[1]! : 0;
      const at = base;
      base +=
        per *
        walkPadded(
          part.shape,
          inner,
          (src, dst, n) => out.set(data.subarray(src * per, (src + n) * per), at + dst * per),
          (dst, n) => {
            if (data.length === 0) return; // a zero-size part has no first element: its padding stays zero
            if (per === 1) {
              out.fill(pad0, at + dst, at + dst + n);
            } else {
              for (let k = 0; k < n; k++) {
                out[at + (dst + k) * 2] = pad0;
                out[at + (dst + k) * 2 + 1] = pad1;
              }
            }
          },
        );
    } else {
      out.set(data, base);
      base += data.length;
    }
  }
  // batch padding: replicate the first row
  const rowValues = rowElems * per;
  if (rowValues > 0) for (let at = base; at < out.length; at += rowValues) out.copyWithin(at, 0, rowValues);
  return merged;
}

/**
 * Lays a part of shape [n, ...d] into a target whose inner dims are `inner` (d ≤ inner on every
 * axis): `pad(dst, count)` first covers the part's whole target region, then `copy(src, dst,
 * count)` writes each contiguous innermost run. Offsets are in elements, relative to the part's
 * first target element. Returns the elements the part occupies in the target (n × prod(inner)).
 */
function walkPadded(
  partShape: readonly number[],
  inner: readonly number[],
  copy: (src: number, dst: number, count: number) => void,
  pad: (dst: number, count: number) => void,
): number {
  const rows = partShape[0]!;
  const rowElems = elementCount(inner);
  if (inner.length === 0) {
    copy(0, 0, rows);
    return rows;
  }
  const d = partShape.slice(1);
  pad(0, rows * rowElems);
  if (elementCount(d) === 0) return rows * rowElems;
  const strides = new Array<number>(inner.length);
  for (let i = inner.length - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= inner[i]!;
  }
  const last = inner.length - 1;
  const runLen = d[last]!;
  const outer = d.slice(0, last);
  const outerCount = elementCount(outer);
  const idx = new Array<number>(outer.length).fill(0);
  let src = 0;
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < outerCount; k++) {
      let dst = r * rowElems;
      for (let i = 0; i < outer.length; i++) dst += idx[i]! * strides[i]!;
      copy(src, dst, runLen);
      src += runLen;
      for (let i = outer.length - 1; i >= 0; i--) {
        if (++idx[i]! < outer[i]!) break;
        idx[i] = 0;
      }
    }
  }
  return rows * rowElems;
}

/**
 * Rows [start, start + rows) of a merged output, as a view: a typed-array subarray over the
 * output's buffer (numeric) or a slice of the string array. Never copies tensor bytes.
 */
export function sliceRows(tensor: Tensor, start: number, rows: number): Tensor {
  // one per request of every merged batch: built by push, not slice + spread (two arrays)
  const shape = [rows];
  for (let d = 1; d < tensor.shape.length; d++) shape.push(tensor.shape[d]!);
  const total = tensor.shape[0]!;
  const perRow = total === 0 ? 0 : tensor.data.length / total;
  if (tensor.dtype === 'string') {
    return { dtype: 'string', shape, data: (tensor.data as Uint8Array[]).slice(start * perRow, (start + rows) * perRow) };
  }
  return {
    dtype: tensor.dtype,
    shape,
    data: (tensor.data as NumericData).subarray(start * perRow, (start + rows) * perRow),
  };
}

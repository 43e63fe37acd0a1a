// TF Serving's Classify, Regress and MultiInference semantics (classifier.cc, regressor.cc,
// multi_inference.cc) over serialized requests. Shared by the gRPC PredictionService and by warmup,
// which replays classify_log / regress_log / multi_inference_log records on a version before it is
// AVAILABLE — the same checks and the same outputs either way.

import { DEFAULT_SIGNATURE, METHOD_CLASSIFY, METHOD_REGRESS } from '../engine/signature.js';
import type { Tensor } from '../engine/tensor.js';
import { invalidArgument, JetserveError } from '../errors.js';
import { findInputField } from '../proto/input.js';
import { scanModelSpecField, type ModelSpecMessage } from '../proto/predict.js';
import { decodeMessage, encodeMessage } from '../proto/schemas.js';
import type { Servable } from './servable.js';

/** Picks the servable a request's ModelSpec names (gRPC: the manager; warmup: the loading version). */
export type SpecResolver = (spec: ModelSpecMessage) => Servable;

export function requireSpec(spec: ModelSpecMessage | undefined): ModelSpecMessage {
  if (!spec) throw invalidArgument('Missing ModelSpec');
  return spec;
}

/** A ClassificationRequest / RegressionRequest → the encoded ClassificationResponse / RegressionResponse. */
export async function classifyOrRegress(
  buf: Buffer,
  kind: 'classify' | 'regress',
  resolve: SpecResolver,
  deadline?: number,
): Promise<Buffer> {
  const what = kind === 'classify' ? 'ClassificationRequest' : 'RegressionRequest';
  const spec = requireSpec(scanModelSpecField(buf, what));
  const servable = resolve(spec);
  const signatureName = spec.signatureName || DEFAULT_SIGNATURE;
  const examples = findInputField(buf, 2, what);
  const result = await runExamples(servable, signatureName, kind, examples, deadline);
  const responseType = kind === 'classify' ? 'tensorflow.serving.ClassificationResponse' : 'tensorflow.serving.RegressionResponse';
  return encodeMessage(responseType, {
    model_spec: { name: servable.name, version: { value: servable.version }, signature_name: signatureName },
    result,
  });
}

/** A MultiInferenceRequest → the encoded MultiInferenceResponse (every task on the same examples). */
export async function multiInference(buf: Buffer, resolve: SpecResolver, deadline?: number): Promise<Buffer> {
  const req = decodeMessage<{ tasks: { model_spec: ProtoModelSpec | null; method_name: string }[] }>(
    'tensorflow.serving.MultiInferenceRequest',
    buf,
  );
  if (req.tasks.length === 0) throw invalidArgument('Tasks is empty');
  const specs = req.tasks.map((t) => requireSpec(t.model_spec ? fromProtoSpec(t.model_spec) : undefined));
  const modelName = specs[0]!.name;
  const seen = new Set<string>();
  for (let i = 0; i < specs.length; i++) {
    if (specs[i]!.name !== modelName) {
      throw invalidArgument('All ModelSpecs in a MultiInferenceRequest must access the same model name');
    }
    const sigName = specs[i]!.signatureName || DEFAULT_SIGNATURE;
    if (seen.has(sigName)) throw invalidArgument(`Duplicate evaluation of signature: ${sigName}`);
    seen.add(sigName);
    const method = req.tasks[i]!.method_name;
    if (method !== METHOD_CLASSIFY && method !== METHOD_REGRESS) {
      throw new JetserveError('UNIMPLEMENTED', `Unsupported signature method_name: ${method}`);
    }
  }
  const servable = resolve(specs[0]!);
  // TF Serving also insists that every signature reads the same graph tensor; TF2 SavedModels give
  // each signature its own placeholder, so jetserve only requires one input per signature (each
  // task runs on the same serialized examples)
  for (const spec of specs) {
    const sig = servable.model.signatures[spec.signatureName || DEFAULT_SIGNATURE];
    if (sig && Object.keys(sig.inputs).length !== 1) throw invalidArgument('Expected one input Tensor.');
  }
  const examples = findInputField(buf, 2, 'MultiInferenceRequest');
  const results = await Promise.all(
    specs.map(async (spec, i) => {
      const signatureName = spec.signatureName || DEFAULT_SIGNATURE;
      const kind = req.tasks[i]!.method_name === METHOD_CLASSIFY ? 'classify' : 'regress';
      const result = await runExamples(servable, signatureName, kind, examples, deadline);
      return {
        model_spec: { name: servable.name, version: { value: servable.version }, signature_name: signatureName },
        [kind === 'classify' ? 'classification_result' : 'regression_result']: result,
      };
    }),
  );
  return encodeMessage('tensorflow.serving.MultiInferenceResponse', { results });
}

interface ProtoModelSpec {
  name: string;
  version?: { value: number } | null;
  version_label?: string;
  signature_name: string;
  version_choice?: 'version' | 'version_label';
}

function fromProtoSpec(p: ProtoModelSpec): ModelSpecMessage {
  const spec: ModelSpecMessage = { name: p.name, signatureName: p.signature_name };
  if (p.version_choice === 'version' && p.version) spec.version = Number(p.version.value);
  else if (p.version_choice === 'version_label' && p.version_label !== undefined) spec.versionLabel = p.version_label;
  return spec;
}

const textDecoder = new TextDecoder();

/**
 * Runs a classify or regress signature on serialized tf.Examples and shapes the result as TF
 * Serving's classifier.cc / regressor.cc do.
 */
async function runExamples(
  servable: Servable,
  signatureName: string,
  kind: 'classify' | 'regress',
  examples: Uint8Array[],
  deadline: number | undefined,
): Promise<unknown> {
  const sig = servable.model.signatures[signatureName];
  if (!sig) throw invalidArgument(`No signature was found with the name: ${signatureName}`);
  const wantMethod = kind === 'classify' ? METHOD_CLASSIFY : METHOD_REGRESS;
  if (sig.methodName !== wantMethod) {
    throw invalidArgument(
      `Expected ${kind === 'classify' ? 'classification' : 'regression'} signature method_name to be ${wantMethod}. Was: ${sig.methodName}`,
    );
  }
  const inputKeys = Object.keys(sig.inputs);
  if (inputKeys.length !== 1) throw invalidArgument('Expected one input Tensor.');
  const inputKey = inputKeys[0]!;
  if (sig.inputs[inputKey]!.dtype !== 'string') {
    throw invalidArgument(`Expected input Tensor of type DT_STRING (serialized tf.Example) for signature ${signatureName}`);
  }
  const n = examples.length;
  const input: Tensor = { dtype: 'string', shape: [n], data: examples };

  if (kind === 'regress') {
    if (!('outputs' in sig.outputs)) throw invalidArgument('No regression outputs found in signature (expected "outputs")');
    const runOptions: { signature: string; outputs: string[]; deadline?: number } = { signature: signatureName, outputs: ['outputs'] };
    if (deadline !== undefined) runOptions.deadline = deadline;
    const out = await servable.run({ [inputKey]: input }, runOptions);
    const t = out['outputs']!;
    if (t.dtype !== 'float32') throw invalidArgument(`Expected output Tensor of DT_FLOAT. Got: ${t.dtype}`);
    const ok = (t.shape.length === 1 && t.shape[0] === n) || (t.shape.length === 2 && t.shape[0] === n && t.shape[1] === 1);
    if (!ok) {
      throw invalidArgument(`Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [${t.shape.join(',')}]`);
    }
    const values = t.data as Float32Array;
    return { regressions: Array.from(values, (value) => ({ value })) };
  }

  const hasClasses = 'classes' in sig.outputs;
  const hasScores = 'scores' in sig.outputs;
  if (!hasClasses && !hasScores) {
    throw invalidArgument('Expected classification signature outputs to contain at least one of classes or scores');
  }
  const wanted = [...(hasClasses ? ['classes'] : []), ...(hasScores ? ['scores'] : [])];
  const runOptions: { signature: string; outputs: string[]; deadline?: number } = { signature: signatureName, outputs: wanted };
  if (deadline !== undefined) runOptions.deadline = deadline;
  const out = await servable.run({ [inputKey]: input }, runOptions);
  const classes = out['classes'];
  const scores = out['scores'];
  let numClasses = -1;
  if (classes) {
    if (classes.dtype !== 'string') throw invalidArgument(`Expected classes Tensor of DT_STRING. Got: ${classes.dtype}`);
    if (classes.shape.length !== 2 || classes.shape[0] !== n) {
      throw invalidArgument(`Expected classes Tensor of shape [batch_size num_classes] but got [${classes.shape.join(',')}]`);
    }
    numClasses = classes.shape[1]!;
  }
  if (scores) {
    if (scores.dtype !== 'float32') throw invalidArgument(`Expected scores Tensor of DT_FLOAT. Got: ${scores.dtype}`);
    if (scores.shape.length !== 2 || scores.shape[0] !== n) {
      throw invalidArgument(`Expected scores Tensor of shape [batch_size num_classes] but got [${scores.shape.join(',')}]`);
    }
    if (numClasses >= 0 && scores.shape[1] !== numClasses) {
      throw invalidArgument(`Tensors class and score should match in shape[1]: ${numClasses} vs. ${scores.shape[1]}`);
    }
    numClasses = scores.shape[1]!;
  }
  const labels = classes?.data as Uint8Array[] | undefined;
  const values = scores?.data as Float32Array | undefined;
  const classifications = [];
  for (let i = 0; i < n; i++) {
    const cls = [];
    for (let j = 0; j < numClasses; j++) {
      const c: { label?: string; score?: number } = {};
      if (labels) c.label = textDecoder.decode(labels[i * numClasses + j]);
      if (values) c.score = values[i * numClasses + j];
      cls.push(c);
    }
    classifications.push({ classes: cls });
  }
  return { classifications };
}

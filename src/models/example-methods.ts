// TF Serving's Classify, Regress and MultiInference semantics (classifier.cc, regressor.cc,
// multi_inference.cc) over serialized requests. Shared by the gRPC PredictionService and by warmup,
// which replays classify_log / regress_log / multi_inference_log records on a version before it is
// AVAILABLE — the same checks and the same outputs either way. exampleSignature() is the signature
// check REST :classify / :regress make too.
//
// --enable_signature_method_name_check (Servable.signatureMethodNameCheck, default false as in TF
// Serving): on, a Classify / Regress signature must say tensorflow/serving/classify / regress and a
// Predict signature one of predict / classify / regress. Off, only the signature's inputs and
// outputs are checked, which is what lets TF2 SavedModels (whose signatures all say
// tensorflow/serving/predict) be classified and regressed.

import { DEFAULT_SIGNATURE, METHOD_CLASSIFY, METHOD_PREDICT, METHOD_REGRESS, type SignatureInfo } from '../engine/signature.js';
import type { Tensor } from '../engine/tensor.js';
import { invalidArgument, JetserveError } from '../errors.js';
import { findInputField } from '../wire/protobuf/input.js';
import { scanModelSpecField, type ModelSpecMessage } from '../wire/protobuf/predict.js';
import { decodeMessage, encodeMessage } from '../wire/protobuf/schemas.js';
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
  kind: ExampleMethod,
  resolve: SpecResolver,
  deadline?: number,
): Promise<Buffer> {
  const what = kind === 'classify' ? 'ClassificationRequest' : 'RegressionRequest';
  const spec = requireSpec(scanModelSpecField(buf, what));
  const servable = resolve(spec);
  const signatureName = spec.signatureName || DEFAULT_SIGNATURE;
  const checked = exampleSignature(servable, signatureName, kind);
  const examples = findInputField(buf, 2, what);
  const result = await runExamples(servable, signatureName, checked, kind, examples, deadline);
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
  // each signature its own placeholder, so jetserve runs each task on the same serialized examples
  const kinds = req.tasks.map((t) => (t.method_name === METHOD_CLASSIFY ? 'classify' : 'regress') as ExampleMethod);
  const checked = specs.map((spec, i) => {
    const signatureName = spec.signatureName || DEFAULT_SIGNATURE;
    if (!Object.hasOwn(servable.model.signatures, signatureName)) {
      throw invalidArgument(`Requested signature not found in model graph: ${signatureName}`);
    }
    return exampleSignature(servable, signatureName, kinds[i]!);
  });
  const examples = findInputField(buf, 2, 'MultiInferenceRequest');
  const results = await Promise.all(
    specs.map(async (spec, i) => {
      const signatureName = spec.signatureName || DEFAULT_SIGNATURE;
      const kind = kinds[i]!;
      const result = await runExamples(servable, signatureName, checked[i]!, kind, examples, deadline);
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

export type ExampleMethod = 'classify' | 'regress';

/** A signature that passed exampleSignature(): the input fed the examples, the outputs to fetch. */
export interface ExampleSignature {
  inputKey: string;
  outputs: string[];
}

/**
 * The signature `signatureName` of `servable` checked for Classify / Regress as TF Serving's
 * classifier.cc / regressor.cc check it (their messages, in their order): the method name only with
 * --enable_signature_method_name_check, then one input named "inputs" and the outputs the method
 * reads. The input must hold DT_STRING serialized tf.Examples (jetserve's own check: TF would only
 * fail at the feed).
 */
export function exampleSignature(servable: Servable, signatureName: string, kind: ExampleMethod): ExampleSignature {
  const sig = Object.hasOwn(servable.model.signatures, signatureName) ? servable.model.signatures[signatureName] : undefined;
  if (!sig) throw invalidArgument(`No signature was found with the name: ${signatureName}`);
  const what = kind === 'classify' ? 'classification' : 'regression';
  const wantMethod = kind === 'classify' ? METHOD_CLASSIFY : METHOD_REGRESS;
  if (servable.signatureMethodNameCheck && sig.methodName !== wantMethod) {
    throw invalidArgument(`Expected ${what} signature method_name to be ${wantMethod}. Was: ${sig.methodName}`);
  }
  const inputKeys = Object.keys(sig.inputs);
  if (inputKeys.length !== 1) throw invalidArgument('Expected one input Tensor.');
  const outputCount = Object.keys(sig.outputs).length;
  if (kind === 'classify' && outputCount !== 1 && outputCount !== 2) {
    throw invalidArgument(`Expected one or two output Tensors, found ${outputCount}`);
  }
  if (kind === 'regress' && outputCount !== 1) throw invalidArgument('Expected one output Tensor.');
  if (!Object.hasOwn(sig.inputs, 'inputs')) {
    throw invalidArgument(`No ${what} inputs found in SignatureDef: ${describeSignature(signatureName, sig)}`);
  }
  if (sig.inputs['inputs']!.dtype !== 'string') {
    throw invalidArgument(`Expected input Tensor of type DT_STRING (serialized tf.Example) for signature ${signatureName}`);
  }
  if (kind === 'regress') {
    if (!Object.hasOwn(sig.outputs, 'outputs')) {
      throw invalidArgument(`No regression outputs found in SignatureDef: ${describeSignature(signatureName, sig)}`);
    }
    return { inputKey: 'inputs', outputs: ['outputs'] };
  }
  const outputs = ['classes', 'scores'].filter((k) => Object.hasOwn(sig.outputs, k));
  if (outputs.length === 0) {
    throw invalidArgument(
      `Expected classification signature outputs to contain at least one of "classes" or "scores". Signature was: ${describeSignature(signatureName, sig)}`,
    );
  }
  return { inputKey: 'inputs', outputs };
}

/**
 * With --enable_signature_method_name_check, a Predict signature must be a predict, classify or
 * regress one (TF Serving's predict_util.cc; INTERNAL, as there). Off: any signature runs.
 */
export function checkPredictSignature(servable: Servable, signatureName: string): void {
  if (!servable.signatureMethodNameCheck) return;
  const sig = Object.hasOwn(servable.model.signatures, signatureName) ? servable.model.signatures[signatureName] : undefined;
  if (!sig || sig.methodName === METHOD_PREDICT || sig.methodName === METHOD_CLASSIFY || sig.methodName === METHOD_REGRESS) return;
  throw new JetserveError(
    'INTERNAL',
    `Expected prediction signature method_name to be one of {${METHOD_PREDICT}, ${METHOD_CLASSIFY}, ${METHOD_REGRESS}}. Was: ${sig.methodName}`,
  );
}

/** A SignatureDef in one line (TF Serving prints the proto's DebugString). */
function describeSignature(name: string, sig: SignatureInfo): string {
  return `${name} { method_name: "${sig.methodName}" inputs: [${Object.keys(sig.inputs).join(', ')}] outputs: [${Object.keys(sig.outputs).join(', ')}] }`;
}

const textDecoder = new TextDecoder();

/**
 * Runs a classify or regress signature (checked by exampleSignature) on serialized tf.Examples and
 * shapes the result as TF Serving's classifier.cc / regressor.cc do.
 */
async function runExamples(
  servable: Servable,
  signatureName: string,
  checked: ExampleSignature,
  kind: ExampleMethod,
  examples: Uint8Array[],
  deadline: number | undefined,
): Promise<unknown> {
  const n = examples.length;
  const input: Tensor = { dtype: 'string', shape: [n], data: examples };
  const runOptions: { signature: string; outputs: string[]; deadline?: number } = { signature: signatureName, outputs: checked.outputs };
  if (deadline !== undefined) runOptions.deadline = deadline;
  const out = await servable.run({ [checked.inputKey]: input }, runOptions);

  if (kind === 'regress') {
    const t = out['outputs']!;
    if (t.dtype !== 'float32') throw invalidArgument(`Expected output Tensor of DT_FLOAT. Got: ${t.dtype}`);
    const ok = (t.shape.length === 1 && t.shape[0] === n) || (t.shape.length === 2 && t.shape[0] === n && t.shape[1] === 1);
    if (!ok) {
      throw invalidArgument(`Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [${t.shape.join(',')}]`);
    }
    const values = t.data as Float32Array;
    return { regressions: Array.from(values, (value) => ({ value })) };
  }

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

// Which ops a signature can reach, read from the session's serialized GraphDef, and which ops TF
// registers as stateful or with reference-typed outputs, read from its OpList. The engine asks
// before it runs a signature on made-up inputs (graph-rewrites.ts): a graph that reaches an op
// which changes state (assigns a variable, enqueues, writes a file, draws from a random
// generator) is never run that way; and before it offers TF's single-threaded executor, which
// refuses control flow, reference edges, collectives and send/receive.
// protobufjs's Reader walks the wire format; only the few fields named below are read.

import protobuf from 'protobufjs';

const WIRE_LENGTH_DELIMITED = 2;

/**
 * Stateful in TF's registry, but a run through them changes nothing a later run sees: reads, and
 * calls and control flow, whose bodies reachableOps() walks and judges op by op.
 */
const READ_ONLY_STATEFUL = new Set([
  'StatefulPartitionedCall',
  'While',
  'If',
  'Case',
  'VarHandleOp',
  'ReadVariableOp',
  'VariableV2',
  'VarIsInitializedOp',
  'HashTableV2',
  'LookupTableFindV2',
  'LookupTableSizeV2',
]);

interface NodeFacts {
  op: string;
  inputs: string[];
  /** Functions named by the node's attrs (a call's `f`, a cond's branches, a While's body…). */
  functions: string[];
}

interface GraphFacts {
  nodes: Map<string, NodeFacts>;
  /** Each library function's nodes, by function name. */
  functions: Map<string, NodeFacts[]>;
}

/** Visits each field of the message in [reader.pos, end); `read` must consume the field or return false. */
function fields(reader: protobuf.Reader, end: number, read: (field: number, wire: number) => boolean): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (!read(tag >>> 3, tag & 7)) reader.skipType(tag & 7);
  }
}

function messageEnd(reader: protobuf.Reader): number {
  return reader.uint32() + reader.pos;
}

/** Calls read(end of the message) for each length-delimited `field` in [reader.pos, end). */
function eachMessage(reader: protobuf.Reader, end: number, field: number, read: (messageEnd: number) => void): void {
  fields(reader, end, (f, wire) => {
    if (f !== field || wire !== WIRE_LENGTH_DELIMITED) return false;
    read(messageEnd(reader));
    return true;
  });
}

/** NameAttrList.name (field 1). */
function readNameAttrList(reader: protobuf.Reader, end: number, into: string[]): void {
  fields(reader, end, (field, wire) => {
    if (field !== 1 || wire !== WIRE_LENGTH_DELIMITED) return false;
    into.push(reader.string());
    return true;
  });
}

/** AttrValue: func (10) and list.func (1 → 9) name functions. */
function readAttrValue(reader: protobuf.Reader, end: number, into: string[]): void {
  fields(reader, end, (field, wire) => {
    if (wire !== WIRE_LENGTH_DELIMITED) return false;
    if (field === 10) {
      readNameAttrList(reader, messageEnd(reader), into);
      return true;
    }
    if (field === 1) {
      eachMessage(reader, messageEnd(reader), 9, (listEnd) => readNameAttrList(reader, listEnd, into));
      return true;
    }
    return false;
  });
}

/** NodeDef: name 1, op 2, input 3, attr 5 (map entry: key 1, value 2). */
function readNode(reader: protobuf.Reader, end: number): { name: string; facts: NodeFacts } {
  let name = '';
  const facts: NodeFacts = { op: '', inputs: [], functions: [] };
  fields(reader, end, (field, wire) => {
    if (wire !== WIRE_LENGTH_DELIMITED) return false;
    if (field === 1) name = reader.string();
    else if (field === 2) facts.op = reader.string();
    else if (field === 3) facts.inputs.push(reader.string());
    else if (field === 5) eachMessage(reader, messageEnd(reader), 2, (valueEnd) => readAttrValue(reader, valueEnd, facts.functions));
    else return false;
    return true;
  });
  return { name, facts };
}

/** FunctionDef: signature 1 (OpDef, name 1), node_def 3. */
function readFunction(reader: protobuf.Reader, end: number, into: Map<string, NodeFacts[]>): void {
  let name = '';
  const nodes: NodeFacts[] = [];
  fields(reader, end, (field, wire) => {
    if (wire !== WIRE_LENGTH_DELIMITED) return false;
    if (field === 1) {
      fields(reader, messageEnd(reader), (sigField, sigWire) => {
        if (sigField !== 1 || sigWire !== WIRE_LENGTH_DELIMITED) return false;
        name = reader.string();
        return true;
      });
    } else if (field === 3) nodes.push(readNode(reader, messageEnd(reader)).facts);
    else return false;
    return true;
  });
  into.set(name, nodes);
}

/** GraphDef: node 1, library 2 (FunctionDefLibrary: function 1). */
function readGraph(graphDef: Uint8Array): GraphFacts {
  const reader = protobuf.Reader.create(graphDef);
  const graph: GraphFacts = { nodes: new Map(), functions: new Map() };
  fields(reader, graphDef.length, (field, wire) => {
    if (wire !== WIRE_LENGTH_DELIMITED) return false;
    if (field === 1) {
      const { name, facts } = readNode(reader, messageEnd(reader));
      graph.nodes.set(name, facts);
    } else if (field === 2) {
      eachMessage(reader, messageEnd(reader), 1, (functionEnd) => readFunction(reader, functionEnd, graph.functions));
    } else return false;
    return true;
  });
  return graph;
}

/** "^ctrl", "x:1", "x" → "x" (a graph node's name from one of its consumers' input strings). */
function producerOf(input: string): string {
  const name = input.startsWith('^') ? input.slice(1) : input;
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(0, colon);
}

/**
 * Op types a run of the given tensors can execute: the graph nodes they depend on, and every node
 * of each function those nodes call (a node whose op is a library function calls it too).
 */
export function reachableOps(graphDef: Uint8Array, tensorNames: readonly string[]): Set<string> {
  const graph = readGraph(graphDef);
  const ops = new Set<string>();
  const seenNodes = new Set<string>();
  const seenFunctions = new Set<string>();
  const pendingFunctions: string[] = [];
  const visit = (node: NodeFacts): void => {
    if (graph.functions.has(node.op)) pendingFunctions.push(node.op);
    else ops.add(node.op);
    pendingFunctions.push(...node.functions);
  };
  const pendingNodes = tensorNames.map(producerOf);
  while (pendingNodes.length > 0) {
    const name = pendingNodes.pop()!;
    if (seenNodes.has(name)) continue;
    seenNodes.add(name);
    const node = graph.nodes.get(name);
    if (!node) continue;
    visit(node);
    for (const input of node.inputs) pendingNodes.push(producerOf(input));
  }
  while (pendingFunctions.length > 0) {
    const name = pendingFunctions.pop()!;
    if (seenFunctions.has(name)) continue;
    seenFunctions.add(name);
    // A function the library lacks is resolved by TF at run time: count it as unknown.
    const nodes = graph.functions.get(name);
    if (!nodes) ops.add(name);
    else for (const node of nodes) visit(node);
  }
  return ops;
}

export interface OpRegistry {
  registered: Set<string>;
  stateful: Set<string>;
  /** Ops with a reference-typed output (TF1's VariableV2, Assign, …). */
  refOutputs: Set<string>;
}

/** ArgDef: is_ref 16. */
function readIsRef(reader: protobuf.Reader, end: number): boolean {
  let isRef = false;
  fields(reader, end, (field, wire) => {
    if (field !== 16 || wire !== 0) return false;
    isRef = reader.bool();
    return true;
  });
  return isRef;
}

/**
 * OpList: op 1 (OpDef: name 1, output_arg 3, is_stateful 17) — every op TF registers, which are
 * stateful and which have a reference-typed output.
 */
export function readOpRegistry(opList: Uint8Array): OpRegistry {
  const reader = protobuf.Reader.create(opList);
  const registry: OpRegistry = { registered: new Set(), stateful: new Set(), refOutputs: new Set() };
  eachMessage(reader, opList.length, 1, (opEnd) => {
    let name = '';
    let isStateful = false;
    let refOutput = false;
    fields(reader, opEnd, (opField, opWire) => {
      if (opField === 1 && opWire === WIRE_LENGTH_DELIMITED) name = reader.string();
      else if (opField === 3 && opWire === WIRE_LENGTH_DELIMITED) refOutput = readIsRef(reader, messageEnd(reader)) || refOutput;
      else if (opField === 17 && opWire === 0) isStateful = reader.bool();
      else return false;
      return true;
    });
    registry.registered.add(name);
    if (isStateful) registry.stateful.add(name);
    if (refOutput) registry.refOutputs.add(name);
  });
  return registry;
}

/**
 * The reached ops that make a run on made-up inputs unsafe: stateful ones other than reads, and
 * ops TF does not register (custom ops, or functions missing from the library).
 */
export function stateChangingOps(reached: ReadonlySet<string>, registry: OpRegistry): string[] {
  return [...reached]
    .filter((op) => !registry.registered.has(op) || (registry.stateful.has(op) && !READ_ONLY_STATEFUL.has(op)))
    .sort();
}

/**
 * Control flow: TF's low-level ops, and the functional ones its session lowers into them before
 * it builds an executor (If/Case/While become Switch/Merge/Enter/Exit/NextIteration).
 */
const CONTROL_FLOW = new Set([
  'Switch', 'RefSwitch', '_SwitchN', 'Merge', 'RefMerge', 'Enter', 'RefEnter', 'Exit', 'RefExit',
  'NextIteration', 'RefNextIteration', 'LoopCond', 'ControlTrigger',
  'If', 'StatelessIf', '_If', 'Case', 'StatelessCase', 'While', 'StatelessWhile', '_While',
]);

/**
 * The reached ops TF's single-threaded executor refuses when it builds (control flow,
 * reference-typed outputs, collectives, send/receive) or that nothing vouches for (unregistered
 * ops, functions missing from the library). Empty: the executor can run every one of them.
 */
export function singleThreadedBlockers(reached: ReadonlySet<string>, registry: OpRegistry): string[] {
  return [...reached]
    .filter(
      (op) =>
        !registry.registered.has(op) ||
        CONTROL_FLOW.has(op) ||
        registry.refOutputs.has(op) ||
        op.startsWith('Collective') ||
        /^_?(Host)?(Send|Recv)$/.test(op),
    )
    .sort();
}

// deploy/ (Kubernetes and KServe manifests) and the container files, checked against the real
// server: every flag against the CLI's flag table and parser (src/serve/flag-table.ts SERVER_FLAGS,
// src/cli/flags.ts), every port against the flags that set it, every probe path and metrics path
// against a running jetserve, the shutdown budget against the drain flags, and the entrypoint
// script run by a shell. (No container engine runs here: the Dockerfile is parsed, not built.)

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseFlags, serverOptions, UsageError } from '../../src/cli/flags.js';
import { readMonitoringConfigFile } from '../../src/observability/monitoring-config.js';
import { startServer, type JetserveServer } from '../../src/serve/index.js';
import { SERVER_FLAGS } from '../../src/serve/options.js';
import { NODE_MATRIX } from '../../scripts/node-matrix.mjs';
import { freePort } from '../helpers/net.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const deployDir = join(root, 'deploy');

// ---------------------------------------------------------------------------------------------
// manifests

type Obj = Record<string, any>;
interface Manifest {
  file: string;
  doc: Obj;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : [],
  );
}

const manifests: Manifest[] = yamlFiles(deployDir).flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${relative(root, file)}: ${d.errors[0]!.message}`);
    return { file: relative(root, file), doc: d.toJS() as Obj };
  }),
);
const ofKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind);
const one = (kind: string) => {
  const found = ofKind(kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!.doc;
};

/** `--name=value` arguments → [name, value]; a bare `--name` is a boolean true. */
function flagsOf(args: string[]): [string, string | undefined][] {
  return args.map((a) => {
    expect(a, 'every container argument is a --flag=value').toMatch(/^--[a-z0-9_]+(=|$)/);
    const eq = a.indexOf('=');
    return eq < 0 ? [a.slice(2), undefined] : [a.slice(2, eq), a.slice(eq + 1)];
  });
}

/** Checks each flag against the table, then parses the rest with the real CLI parser. */
function parseContainerArgs(args: string[]): ReturnType<typeof parseFlags> {
  const known: string[] = [];
  for (const [name, value] of flagsOf(args)) {
    expect(Object.hasOwn(SERVER_FLAGS, name), `--${name} is not a server flag (src/serve/flag-table.ts)`).toBe(true);
    known.push(value === undefined ? `--${name}` : `--${name}=${value}`);
  }
  try {
    return parseFlags(known);
  } catch (err) {
    if (err instanceof UsageError) throw new Error(`the CLI refuses ${known.join(' ')}: ${err.message}`);
    throw err;
  }
}

function containerPort(container: Obj, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = (container.ports as Obj[]).find((p) => p.name === port);
  expect(named, `container port named ${port}`).toBeDefined();
  return named!.containerPort as number;
}

let server: JetserveServer;
let base: string;
const monitoringConfigRepoFile = join(root, 'deploy', 'docker', 'monitoring.config');

beforeAll(async () => {
  server = await startServer({ restApiPort: 0, port: false, host: '127.0.0.1', log: false, monitoringConfigFile: monitoringConfigRepoFile });
  base = `http://127.0.0.1:${server.http!.port}`;
});

afterAll(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  op: string;
  args: string;
}

function dockerfile(): Instruction[] {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return logical.map((l) => {
    const m = /^([A-Z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile: cannot parse '${l}'`);
    return { op: m[1]!, args: m[2]! };
  });
}

/** The COPY destination of a repository file in the final stage. */
function copiedTo(ins: Instruction[], source: string): string | undefined {
  const finalStage = ins.slice(ins.map((i) => i.op).lastIndexOf('FROM'));
  for (const i of finalStage) {
    if (i.op !== 'COPY' || i.args.startsWith('--from')) continue;
    const [src, dest] = i.args.split(/\s+/);
    if (src === source) return dest;
  }
  return undefined;
}

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  const deployment = () => one('Deployment');
  const container = () => deployment().spec.template.spec.containers[0] as Obj;

  it('every flag is in the CLI flag table and the CLI parser accepts them together', () => {
    const flags = parseContainerArgs(container().args as string[]);
    expect(flags.rest_api_timeout_in_ms).toBe(30000);
    expect(flags.monitoring_config_file).toBe('/etc/jetserve/monitoring.config');
  });

  it('ports: the container declares the image entrypoint ports (gRPC 8500, REST 8501); the Service targets them by name', () => {
    const c = container();
    expect(containerPort(c, 'grpc')).toBe(8500);
    expect(containerPort(c, 'http')).toBe(8501);
    const svc = one('Service');
    for (const p of svc.spec.ports as Obj[]) expect(containerPort(c, p.targetPort)).toBe(p.port);
    expect((svc.spec.ports as Obj[]).find((p) => p.name === 'grpc')!.appProtocol).toBe('kubernetes.io/h2c');
    expect(svc.spec.selector).toEqual(deployment().spec.template.metadata.labels);
    expect(deployment().spec.selector.matchLabels).toEqual(deployment().spec.template.metadata.labels);
  });

  it('probes hit the REST port on endpoints a running jetserve answers 200', async () => {
    const c = container();
    const probes = ['startupProbe', 'readinessProbe', 'livenessProbe'].map((k) => [k, c[k] as Obj] as const);
    for (const [kind, probe] of probes) {
      expect(probe, kind).toBeDefined();
      expect(containerPort(c, probe.httpGet.port), `${kind} port`).toBe(8501);
      const r = await fetch(`${base}${probe.httpGet.path}`);
      expect(r.status, `${kind} ${probe.httpGet.path}`).toBe(200);
    }
    expect(c.readinessProbe.httpGet.path).toBe('/v2/health/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/v2/health/live');
    // a model that loads slowly must not be killed: the startup probe allows minutes
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(120);
  });

  it('metrics: the scrape annotations name the REST port and the path of the monitoring config the image installs', async () => {
    const flags = parseContainerArgs(container().args as string[]);
    const ins = dockerfile();
    expect(copiedTo(ins, 'deploy/docker/monitoring.config')).toBe(flags.monitoring_config_file);
    const monitoring = readMonitoringConfigFile(monitoringConfigRepoFile);
    const annotations = deployment().spec.template.metadata.annotations as Obj;
    expect(annotations['prometheus.io/path']).toBe(monitoring.prometheus.path);
    expect(Number(annotations['prometheus.io/port'])).toBe(8501);
    const r = await fetch(`${base}${monitoring.prometheus.path}`);
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/:tensorflow:serving:/);
  });

  it('shutdown: terminationGracePeriodSeconds covers the drain grace, the longest request and the unload', () => {
    const flags = parseContainerArgs(container().args as string[]);
    const drain = flags.drain_grace_seconds;
    expect(drain).toBeGreaterThan(0);
    const preStopSleep = Number(container().lifecycle?.preStop?.sleep?.seconds ?? 0);
    // requests in flight get the shorter of their own timeout and the drain timeout
    const longestRequest = Math.min(flags.rest_api_timeout_in_ms / 1000, flags.drain_timeout_seconds);
    // the drain timeout lets a request that started just before the listeners closed finish
    expect(flags.drain_timeout_seconds).toBeGreaterThanOrEqual(flags.rest_api_timeout_in_ms / 1000);
    const grace = deployment().spec.template.spec.terminationGracePeriodSeconds as number;
    expect(grace).toBeGreaterThanOrEqual(preStopSleep + drain + longestRequest + 5);
    // the readiness probe must notice the lame duck well within the drain grace
    const readiness = container().readinessProbe;
    expect(readiness.periodSeconds * readiness.failureThreshold).toBeLessThan(drain);
  });

  it('runs as the image\'s non-root user with resources set; HPA, PDB and Service point at the Deployment', () => {
    const d = deployment();
    const pod = d.spec.template.spec;
    const ins = dockerfile();
    const user = ins.filter((i) => i.op === 'USER').pop()!.args;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`).toBe(user);
    const c = container();
    for (const k of ['cpu', 'memory']) {
      expect(c.resources.requests[k], `requests.${k}`).toBeDefined();
      expect(c.resources.limits[k], `limits.${k}`).toBeDefined();
    }
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: d.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    expect(one('PodDisruptionBudget').spec.selector.matchLabels).toEqual(d.spec.template.metadata.labels);
    expect(c.env.find((e: Obj) => e.name === 'MODEL_BASE_PATH').value).toBe(c.volumeMounts.find((v: Obj) => v.name === 'models').mountPath);
  });
});

describe('KServe ClusterServingRuntime (deploy/kserve)', () => {
  const runtime = () => one('ClusterServingRuntime');
  const container = () => runtime().spec.containers[0] as Obj;

  it('advertises TensorFlow SavedModels over v1, grpc-v1, v2 and grpc-v2, model at /mnt/models', () => {
    const spec = runtime().spec;
    expect([...spec.protocolVersions].sort()).toEqual(['grpc-v1', 'grpc-v2', 'v1', 'v2']);
    expect(spec.supportedModelFormats.map((f: Obj) => f.name)).toContain('tensorflow');
    expect(container().name).toBe('kserve-container');
    const flags = parseContainerArgs((container().args as string[]).map((a) => a.replace('{{.Name}}', 'mlp')));
    expect(flags.model_base_path).toBe('/mnt/models');
    expect(flags.model_name).toBe('mlp');
    expect(serverOptions(flags)).toMatchObject({ modelBasePath: '/mnt/models', restApiPort: 8080, port: 9000 });
  });

  it('the declared port is the REST port; probe and metrics annotations match the server', async () => {
    const flags = parseContainerArgs((container().args as string[]).map((a) => a.replace('{{.Name}}', 'mlp')));
    expect(container().ports.map((p: Obj) => p.containerPort)).toEqual([flags.rest_api_port]);
    expect(container().readinessProbe.httpGet.port).toBe(flags.rest_api_port);
    expect((await fetch(`${base}${container().readinessProbe.httpGet.path}`)).status).toBe(200);
    const annotations = runtime().spec.annotations as Obj;
    expect(Number(annotations['prometheus.kserve.io/port'])).toBe(flags.rest_api_port);
    expect(annotations['prometheus.kserve.io/path']).toBe(readMonitoringConfigFile(monitoringConfigRepoFile).prometheus.path);
    expect(copiedTo(dockerfile(), 'deploy/docker/monitoring.config')).toBe(flags.monitoring_config_file);
    // the command is the CLI the image carries
    expect(container().command).toEqual(['node', '/opt/jetserve/bin/jetserve.js']);
  });

  it('the example InferenceService uses this runtime with a protocol it advertises', () => {
    const isvc = one('InferenceService');
    const model = isvc.spec.predictor.model;
    expect(model.runtime).toBe(runtime().metadata.name);
    expect(runtime().spec.protocolVersions).toContain(model.protocolVersion);
    expect(runtime().spec.supportedModelFormats.map((f: Obj) => f.name)).toContain(model.modelFormat.name);
  });
});

describe('kustomizations', () => {
  it('list every manifest of their folder, and each listed resource exists; images name the containers\' image', () => {
    for (const k of ofKind('Kustomization')) {
      const dir = join(root, dirname(k.file));
      for (const r of k.doc.resources as string[]) expect(existsSync(join(dir, r)), `${k.file}: ${r}`).toBe(true);
      const siblings = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
      for (const f of siblings) expect(k.doc.resources, `${k.file} lists ${f}`).toContain(f);
      for (const img of (k.doc.images ?? []) as Obj[]) {
        const images = manifests
          .filter((m) => dirname(m.file) === dirname(k.file))
          .flatMap((m) => (m.doc.spec?.template?.spec?.containers ?? m.doc.spec?.containers ?? []) as Obj[])
          .map((c) => String(c.image).split(':')[0]);
        expect(images, `${k.file}: image ${img.name}`).toContain(img.name);
      }
    }
  });
});

describe('container image (Dockerfile, .dockerignore, entrypoint)', () => {
  it('multi-stage, TF Serving conventions (MODEL_NAME, MODEL_BASE_PATH=/models, EXPOSE 8500 8501), non-root, HEALTHCHECK on readiness', () => {
    const ins = dockerfile();
    const froms = ins.filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]!.args).toMatch(/ AS build$/);
    const nodeArg = ins.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_VERSION='))!.args.split('=')[1];
    expect(NODE_MATRIX.map((e) => String(e.major))).toContain(nodeArg);
    const env = ins.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/MODEL_NAME=model/);
    expect(env).toMatch(/MODEL_BASE_PATH=\/models/);
    expect(ins.find((i) => i.op === 'EXPOSE')!.args.split(/\s+/).sort()).toEqual(['8500', '8501']);
    const user = ins.filter((i) => i.op === 'USER').pop()!.args;
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/); // numeric, so runAsNonRoot can verify it
    const health = ins.find((i) => i.op === 'HEALTHCHECK')!.args;
    const script = JSON.parse(health.slice(health.indexOf('CMD') + 3).trim()) as string[];
    expect(script[1]).toBe(`/opt/jetserve/${copiedTo(ins, 'deploy/docker/healthcheck.mjs')!.replace(/^\.\//, '')}`);
    expect(readFileSync(join(root, 'deploy', 'docker', 'healthcheck.mjs'), 'utf8')).toMatch(/\/v2\/health\/ready/);
    const entry = JSON.parse(ins.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entry).toEqual([copiedTo(ins, 'deploy/docker/entrypoint.sh')]);
  });

  it('every COPY from the build context exists and is not excluded by .dockerignore', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const i of dockerfile().filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      const sources = i.args.split(/\s+/).slice(0, -1);
      for (const src of sources) {
        expect(existsSync(join(root, src)), `COPY ${src}`).toBe(true);
        const top = src.split('/')[0]!;
        expect(ignored, `.dockerignore excludes ${src}`).not.toContain(top);
      }
    }
    for (const must of ['node_modules', 'build', 'deps', 'dist', '.git', 'test']) expect(ignored).toContain(must);
  });

  describe('entrypoint.sh run by a shell', () => {
    let work: string;
    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'jetserve-entrypoint-'));
      // a `node` that prints the arguments it was given
      writeFileSync(join(work, 'node'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
      chmodSync(join(work, 'node'), 0o755);
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    const argvOf = (args: string[], env: Record<string, string>) => {
      const r = spawnSync('sh', [join(root, 'deploy', 'docker', 'entrypoint.sh'), ...args], {
        encoding: 'utf8',
        env: { PATH: `${work}:/usr/bin:/bin`, ...env },
      });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      return { script: lines[0]!, flags: lines.slice(1) };
    };

    it("passes TF Serving's flags and appends the container's arguments; the CLI parses the result", () => {
      const { script, flags } = argvOf(['--enable_batching=false', '--port=9500'], { MODEL_NAME: 'mlp' });
      expect(script).toBe('/opt/jetserve/bin/jetserve.js');
      expect(flags).toEqual(['--port=8500', '--rest_api_port=8501', '--model_name=mlp', '--model_base_path=/models/mlp', '--enable_batching=false', '--port=9500']);
      const parsed = parseFlags(flags);
      expect(parsed.port).toBe(9500); // a later flag wins, as in TF Serving
      expect(parsed.rest_api_port).toBe(8501);
      expect(parsed.model_base_path).toBe('/models/mlp');
      expect(parsed.enable_batching).toBe(false);
    });

    it('defaults to /models/model; --model_config_file or --model_repository replaces the single model', () => {
      expect(argvOf([], {}).flags).toEqual(['--port=8500', '--rest_api_port=8501', '--model_name=model', '--model_base_path=/models/model']);
      const withConfig = argvOf(['--model_config_file=/models/models.config'], { MODEL_NAME: 'mlp' }).flags;
      expect(withConfig).toEqual(['--port=8500', '--rest_api_port=8501', '--model_config_file=/models/models.config']);
      expect(parseFlags(withConfig).model_config_file).toBe('/models/models.config');
      expect(argvOf(['--model_repository', '/repo'], {}).flags).toEqual(['--port=8500', '--rest_api_port=8501', '--model_repository', '/repo']);
    });

    it('starts the real CLI on the demo model; the HEALTHCHECK script reports healthy; SIGTERM stops it with 0', async () => {
      const [rest, grpc] = [await freePort(), await freePort()];
      const env = {
        ...process.env,
        JETSERVE_HOME: root,
        MODEL_BASE_PATH: join(root, 'models'),
        MODEL_NAME: 'half_plus_two',
        REST_API_PORT: String(rest),
        GRPC_PORT: String(grpc),
        TF_CPP_MIN_LOG_LEVEL: '2',
      };
      const health = () => spawnSync(process.execPath, [join(root, 'deploy', 'docker', 'healthcheck.mjs')], { env }).status;
      expect(health()).toBe(1); // nothing listening yet
      const child = spawn('sh', [join(root, 'deploy', 'docker', 'entrypoint.sh'), '--file_system_poll_wait_seconds=0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout.on('data', (d) => (log += d));
      child.stderr.on('data', (d) => (log += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const deadline = Date.now() + 60_000;
        while (health() !== 0) {
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`not healthy:\n${log}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        const r = await fetch(`http://127.0.0.1:${rest}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances": [1.0, 2.0]}' });
        expect(await r.json()).toEqual({ predictions: [2.5, 3.0] });
        expect(log).toMatch(/HTTP engine: /);
        expect(log).toMatch(new RegExp(`gRPC API .* listening on .*:${grpc}`));
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    }, 90_000);
  });
});

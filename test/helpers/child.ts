// Runs a Node child to completion for a test, with a deadline that explains itself: a child still
// running when it passes is killed, and the failure says how far it got (its stdout and stderr so
// far) and where each of its threads was waiting (/proc/<pid>/task/*: name, state, kernel wait
// channel), so a rare hang seen only in CI can be told apart — a startup stall, a run that never
// completed, or an exit that never returned.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the deadline passed: what the child was doing then. */
  hung?: string;
}

function threadsOf(pid: number): string {
  const lines: string[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const read = (f: string) => {
        try {
          return readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim();
        } catch {
          return '?';
        }
      };
      const state = read('stat').replace(/^.*\) /, '').split(' ')[0];
      lines.push(`${tid} ${read('comm')} state=${state} wchan=${read('wchan')}`);
    }
  } catch {
    lines.push('(no /proc entry)');
  }
  return lines.join('\n');
}

export function runChild(args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung: string | undefined;
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => {
      hung = `still running after ${timeoutMs} ms; threads:\n${threadsOf(child.pid!)}`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ...(hung ? { hung } : {}) });
    });
  });
}

/** A failure message for a child that did not exit 0. */
export function describeChild(r: ChildResult): string {
  return [r.hung ?? `exit status ${r.status}, signal ${r.signal}`, `stdout:\n${r.stdout}`, `stderr:\n${r.stderr}`].join('\n');
}

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './fixtures.js';

export interface RestoreRun {
  code: number | null;
  stdout: string;
  stderr: string;
  lastLine: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Run as this user and group (the test runner must be root), e.g. 65534 to be nobody. */
  uid?: number;
  gid?: number;
  /** A command that runs the agent, e.g. strace with its options: the agent's path and arguments follow it. */
  wrapper?: string[];
  /** Called with the process once it has printed `waitFor`; used to send signals mid-restore. */
  onOutput?: { waitFor: RegExp; then: (pid: number) => void };
}

/** Runs `bin/restore` as an operator would: a separate process, configured by env and files. */
export function runRestore(args: string[], options: RunOptions): Promise<RestoreRun> {
  return new Promise((resolve, reject) => {
    const [command, ...commandArgs] = [...(options.wrapper ?? []), join(projectRoot, 'bin/restore'), ...args];
    const child = spawn(command!, commandArgs, {
      cwd: options.cwd,
      // A clean environment, so the developer's own ZEEBE_* variables cannot leak into a test.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    let stdout = '';
    let stderr = '';
    let triggered = false;
    const check = () => {
      if (options.onOutput && !triggered && options.onOutput.waitFor.test(stdout + stderr)) {
        triggered = true;
        options.onOutput.then(child.pid!);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      check();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      check();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = stdout.trimEnd().split('\n');
      resolve({ code, stdout, stderr, lastLine: lines[lines.length - 1] ?? '' });
    });
  });
}

/** The message part of a text log line, without timestamp and level. */
export function messageOf(line: string): string {
  return line.replace(/^\S+ (INFO|WARN|ERROR) +/, '');
}

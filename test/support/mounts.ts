import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Small tmpfs mounts for tests of local storage faults (full, read-only). Mounting needs root (or
 * CAP_SYS_ADMIN); `mountUnavailable` says why it is not possible here, so tests can skip and say so.
 */

const mounted: string[] = [];

function probe(): string | undefined {
  let directory: string | undefined;
  try {
    directory = mkdtempSync(join(tmpdir(), 'mount-probe-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', directory], { stdio: 'pipe' });
    execFileSync('umount', [directory], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `cannot mount a tmpfs here (${stderr || (error as Error).message})`;
  } finally {
    if (directory) rmSync(directory, { recursive: true, force: true });
  }
}

/** Undefined when tmpfs mounts work; otherwise the reason they do not. */
export const mountUnavailable: string | undefined = probe();

export function mountTmpfs(directory: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', directory], { stdio: 'pipe' });
  mounted.push(directory);
}

export function remountReadOnly(directory: string): void {
  execFileSync('mount', ['-o', 'remount,ro', directory], { stdio: 'pipe' });
}

/** Unmounts everything mounted by this module, newest first; lazily if still busy. */
export function unmountAll(): void {
  for (const directory of mounted.splice(0).reverse()) {
    try {
      execFileSync('umount', [directory], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', directory], { stdio: 'pipe' });
    }
  }
}

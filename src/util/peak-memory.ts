import { readFileSync } from 'node:fs';

/**
 * This process's peak resident memory, worker threads included: helps size an init container.
 * Linux's VmHWM, not getrusage's maxRSS, which also counts the image before exec (a large parent
 * that spawned the agent, for one).
 */
export function peakResidentBytes(): number {
  let status = '';
  try {
    // procfs answers from memory; no need to leave the thread.
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // Not Linux.
  }
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  return (kib === undefined ? process.resourceUsage().maxRSS : Number(kib)) * 1024;
}

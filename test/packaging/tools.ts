import { spawnSync } from 'node:child_process';

/**
 * Whether an external tool (from Debian packages, installed by .ci/run) can run here. Locally a
 * missing tool skips its tests with the reason printed; under CI (CI=true) it fails them instead,
 * so a green CI run always means the tool checked the files.
 */
export function externalTool(command: string, versionArgs: string[], debianPackage: string): { available: boolean } {
  const probe = spawnSync(command, versionArgs, { encoding: 'utf8' });
  const available = probe.error === undefined && probe.status === 0;
  if (!available && process.env.CI !== 'true') {
    process.stdout.write(
      `Skipping the ${command} checks: ${command} is not installed (apt-get install ${debianPackage}; .ci/run does this).\n`,
    );
    return { available: false };
  }
  // Under CI a missing tool is not skipped: the tests run and fail on the spawn error.
  return { available: true };
}

export interface ToolRun {
  status: number | null;
  output: string;
}

/** Runs a tool and returns its exit status with stdout and stderr together, for assertion messages. */
export function runTool(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ToolRun {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) return { status: null, output: `${command}: ${result.error.message}` };
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

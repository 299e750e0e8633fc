import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot, tempDir } from '../support/fixtures.js';
import { externalTool, runTool } from './tools.js';

const unitFile = join(projectRoot, 'systemd/zeebe-restore@.service');
const systemdAnalyze = externalTool('systemd-analyze', ['--version'], 'systemd');

/** An executable placeholder: `verify` checks that ExecStart= commands exist and are executable. */
async function stubExecutable(root: string, path: string): Promise<void> {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), '#!/bin/sh\nexit 0\n');
  await chmod(join(root, path), 0o755);
}

/**
 * A file-system root for `systemd-analyze verify --root`: the system's own unit directory (for
 * sysinit.target, network-online.target, …), the broker unit the restore is ordered before, and
 * every program the units run, at the paths the units name.
 */
async function verificationRoot(): Promise<string> {
  const root = await tempDir('zeebe-restore-systemd-');
  await cp('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
  await cp(unitFile, join(root, 'etc/systemd/system/zeebe-restore@.service'));
  await writeFile(
    join(root, 'etc/systemd/system/zeebe.service'),
    '[Unit]\nDescription=Zeebe broker (stub)\n\n[Service]\nUser=zeebe\nWorkingDirectory=/usr/local/zeebe\nExecStart=/usr/local/zeebe/bin/broker\n',
  );
  for (const program of ['/bin/sh', '/opt/zeebe-restore/bin/restore', '/usr/local/zeebe/bin/broker']) {
    await stubExecutable(root, program);
  }
  return root;
}

describe.skipIf(!systemdAnalyze.available)('systemd/zeebe-restore@.service', () => {
  it('passes systemd-analyze verify without a single warning', async () => {
    const root = await verificationRoot();
    const run = runTool('systemd-analyze', ['verify', '--man=no', `--root=${root}`, 'zeebe-restore@1763683200000.service', 'zeebe.service']);
    expect(run, run.output).toEqual({ status: 0, output: '' });
  });

  it('verify reports what it should: a broken unit is not silently accepted', async () => {
    const root = await verificationRoot();
    const unit = join(root, 'etc/systemd/system/zeebe-restore@.service');
    await writeFile(unit, (await readFile(unit, 'utf8')).replace('Restart=no', 'Restart=no\nRestartt=yes'));
    const run = runTool('systemd-analyze', ['verify', '--man=no', `--root=${root}`, 'zeebe-restore@1.service']);
    expect(run.output).toMatch(/Unknown key 'Restartt'/);
  });

  it('is a one-shot template: the instance is the backup id, ordered before the broker, never enabled', async () => {
    const unit = await readFile(unitFile, 'utf8');
    expect(unit).toMatch(/^Type=oneshot$/m);
    expect(unit).toMatch(/^ExecStart=\/opt\/zeebe-restore\/bin\/restore --backupId=%i$/m);
    expect(unit).toMatch(/^Before=zeebe\.service$/m);
    expect(unit).toMatch(/^EnvironmentFile=-\/etc\/zeebe\/restore\.env$/m);
    expect(unit).toMatch(/^ExecStartPre=.*systemctl is-active --quiet zeebe\.service.*exit 1/m);
    expect(unit).not.toMatch(/^\[Install\]/m);
  });

  it('refuses to start while the broker is active (the ExecStartPre check, run with a fake systemctl)', async () => {
    const unit = await readFile(unitFile, 'utf8');
    const check = /^ExecStartPre=\/bin\/sh -c '(.*)'$/m.exec(unit)?.[1];
    expect(check).toBeDefined();
    const bin = await tempDir('zeebe-restore-fake-systemctl-');
    for (const [state, exitCode] of [['active', 0], ['inactive', 3]] as const) {
      await writeFile(join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> "${bin}/calls"\nexit ${exitCode}\n`);
      await chmod(join(bin, 'systemctl'), 0o755);
      const run = runTool('/bin/sh', ['-c', check!], { env: { PATH: `${bin}:/usr/bin:/bin` } });
      if (state === 'active') {
        expect(run.status).toBe(1);
        expect(run.output).toContain('zeebe.service is active: stop the broker before restoring');
      } else {
        expect(run).toEqual({ status: 0, output: '' });
      }
    }
    expect(await readFile(join(bin, 'calls'), 'utf8')).toBe('is-active --quiet zeebe.service\n'.repeat(2));
  });

  it('ships an environment file example that systemd can read', async () => {
    const example = await readFile(join(projectRoot, 'systemd/restore.env.example'), 'utf8');
    const assignments = example.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(assignments).toEqual(['ZEEBE_BROKER_CLUSTER_NODEID=0']);
    for (const line of example.split('\n').filter((l) => /^#?[A-Z_]+=/.test(l))) {
      expect(line).toMatch(/^#?[A-Z][A-Z0-9_]*=\S*$/);
    }
  });
});

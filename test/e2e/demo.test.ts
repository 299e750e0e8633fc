import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { projectRoot, tempDir } from '../support/fixtures.js';

it('the README demo restores all three nodes', async () => {
  const output = execFileSync(process.execPath, [join(projectRoot, 'dist/demo/demo.js'), join(await tempDir(), 'demo')], {
    encoding: 'utf8',
  });
  expect(output.match(/Successfully restored broker from backup 1763683200000/g)).toHaveLength(3);
  expect(output.match(/\(exit code 0\)/g)).toHaveLength(3);
});

import { Writable } from 'node:stream';
import { backupTarget } from '../../../src/chain/restore-target.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { createLogger } from '../../../src/log/logger.js';
import { restoreBroker } from '../../../src/restore/restore-broker.js';
import { openStore } from '../../../src/store/open-store.js';
import { oneBrokerEnv } from '../restore-checks.js';

export interface RestoreAttempt {
  /** What the restore threw; undefined when it succeeded. */
  error?: unknown;
  /** Its log lines, for the report of a failing case. */
  log: string[];
}

/**
 * Restores the backup as `bin/restore --backupId=<id>` would on node 0 of a one-broker cluster
 * with one partition, but inside the test process: the configuration is resolved from the same
 * environment variables, the store opened and the restore run by the same functions, only
 * without spawning Node for each of hundreds of cases.
 */
export async function restoreInProcess(brokerDirectory: string, storeEnv: Record<string, string>, backupId: bigint): Promise<RestoreAttempt> {
  const { config } = loadConfig({ cwd: brokerDirectory, env: { ...oneBrokerEnv(brokerDirectory, 1), ...storeEnv } });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString().trimEnd());
      done();
    },
  });
  const log = createLogger('text', { out: sink, err: sink });
  const store = await openStore(config.backupStore);
  try {
    await restoreBroker({
      config,
      target: backupTarget([backupId]),
      store,
      log,
      signal: new AbortController().signal,
      agentVersion: 'generative-test',
    });
    return { log: lines };
  } catch (error) {
    return { error, log: lines };
  } finally {
    await store.close();
  }
}

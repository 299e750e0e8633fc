import fc from 'fast-check';
import { filesystemStorage, s3Storage } from '../support/generative/backup-storage.js';
import { asProcess } from '../support/generative/restore-case.js';
import { caseEnvironmentForFile, itRestoresGeneratedBackups } from '../support/generative/restore-property.js';

/**
 * Issue 13, part 4, end to end: a few generated backups restored by `bin/restore` as a separate
 * process (configuration from the environment, exit codes, the last log line), from a filesystem
 * store and from zstd-compressed S3. Needs `npm run build` first.
 */

const environment = caseEnvironmentForFile({ s3: true });
const storage = fc.oneof(filesystemStorage, s3Storage('zstd'));

itRestoresGeneratedBackups({
  property: 'binRestore',
  testName: 'bin/restore restores generated backups like the reference',
  testFile: import.meta.filename,
  storage,
  checkpoints: 'present',
  environment,
  restore: asProcess,
  secondsPerCase: 10,
});

itRestoresGeneratedBackups({
  property: 'binRestoreMissingCheckpoint',
  testName: 'bin/restore exits with code 5 when no entry has the checkpoint position',
  testFile: import.meta.filename,
  storage,
  checkpoints: 'missing',
  environment,
  restore: asProcess,
  secondsPerCase: 10,
});

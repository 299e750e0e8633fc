import { filesystemStorage } from '../support/generative/backup-storage.js';
import { caseEnvironmentForFile, itRestoresGeneratedBackups } from '../support/generative/restore-property.js';

/**
 * Issue 13, part 4: generated partition backups (test/support/generative/) in a filesystem store,
 * restored in-process and compared byte for byte with the reference truncation.
 */

itRestoresGeneratedBackups({
  property: 'filesystem',
  testName: 'restores generated backups from a filesystem store like the reference',
  testFile: import.meta.filename,
  storage: filesystemStorage,
  environment: caseEnvironmentForFile({ s3: false }),
  secondsPerCase: 2,
});

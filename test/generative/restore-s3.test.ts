import { describe } from 'vitest';
import { s3Storage } from '../support/generative/backup-storage.js';
import { caseEnvironmentForFile, itRestoresGeneratedBackups } from '../support/generative/restore-property.js';

/**
 * Issue 13, part 4: generated partition backups in S3, raw and gzip- or deflate-compressed (zstd
 * has its own file, so that the two run in parallel), restored in-process and compared byte for
 * byte with the reference truncation.
 */

const environment = caseEnvironmentForFile({ s3: true });

describe.each([
  { property: 's3Raw', label: 'raw', compression: undefined },
  { property: 's3Gzip', label: 'gz-compressed', compression: 'gz' },
  { property: 's3Deflate', label: 'deflate-compressed', compression: 'deflate' },
] as const)('S3, $label', ({ property, label, compression }) => {
  itRestoresGeneratedBackups({
    property,
    testName: `restores generated ${label} backups from S3 like the reference`,
    testFile: import.meta.filename,
    storage: s3Storage(compression),
    environment,
    secondsPerCase: 3,
  });
});

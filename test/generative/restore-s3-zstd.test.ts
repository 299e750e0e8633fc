import { s3Storage } from '../support/generative/backup-storage.js';
import { caseEnvironmentForFile, itRestoresGeneratedBackups } from '../support/generative/restore-property.js';

/**
 * Issue 13, part 4: generated partition backups in S3 compressed with zstd (the algorithm whose
 * decoder returned nothing for the head of poorly compressible data) in every frame layout,
 * restored in-process and compared byte for byte with the reference truncation.
 */

itRestoresGeneratedBackups({
  property: 's3Zstd',
  testName: 'restores generated zstd-compressed backups from S3 like the reference',
  testFile: import.meta.filename,
  storage: s3Storage('zstd'),
  environment: caseEnvironmentForFile({ s3: true }),
  secondsPerCase: 3,
});

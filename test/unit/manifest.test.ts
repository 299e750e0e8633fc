import { describe, expect, it } from 'vitest';
import { BackupInvalidError } from '../../src/errors.js';
import { parseManifest, parseManifestFor } from '../../src/manifest/parse-manifest.js';

const s3Manifest85 = `{
  "statusCode": "completed",
  "id": { "nodeId": 0, "partitionId": 1, "checkpointId": 1668519689 },
  "descriptor": {
    "snapshotId": "1204500-1-2549184-2548356",
    "checkpointPosition": 2641349,
    "numberOfPartitions": 3,
    "brokerVersion": "8.5.4"
  },
  "snapshotFiles": { "files": { "CURRENT": {}, "000140.sst": { "compressionAlgorithm": "zstd" },
                                "1204500-1-2549184-2548356.checksum": {} } },
  "segmentFiles": { "files": { "raft-partition-partition-1-47.log": { "compressionAlgorithm": "zstd" } } },
  "createdAt": 1668519689.290560717,
  "modifiedAt": 1668519690.961439595
}`;

const commonManifest = `{
  "id": { "nodeId": 2, "partitionId": 3, "checkpointId": 42 },
  "descriptor": { "snapshotId": "1204500-1-2549184-2548356", "checkpointPosition": 2641349,
                  "numberOfPartitions": 3, "brokerVersion": "8.5.4" },
  "statusCode": "COMPLETED",
  "snapshot": { "files": [ { "name": "CURRENT" }, { "name": "000140.sst" },
                           { "name": "1204500-1-2549184-2548356.checksum" } ] },
  "segments": { "files": [ { "name": "raft-partition-partition-3-47.log" } ] },
  "createdAt": "2024-05-01T10:00:00.512345678Z",
  "modifiedAt": "2024-05-01T10:00:07.931Z"
}`;

describe('S3 dialect', () => {
  it('reads an 8.5 manifest with per-file compression and nanosecond timestamps', () => {
    const manifest = parseManifest(s3Manifest85, 'key');
    expect(manifest).toMatchObject({
      nodeId: 0,
      partitionId: 1,
      checkpointId: 1668519689n,
      status: 'COMPLETED',
      descriptor: {
        snapshotId: '1204500-1-2549184-2548356',
        checkpointPosition: 2641349n,
        numberOfPartitions: 3,
        brokerVersion: '8.5.4',
      },
      createdAt: '2022-11-15T13:41:29.290560717Z',
      modifiedAt: '2022-11-15T13:41:30.961439595Z',
    });
    expect(manifest.snapshotFiles).toEqual([
      { name: 'CURRENT' },
      { name: '000140.sst', compression: 'zstd' },
      { name: '1204500-1-2549184-2548356.checksum' },
    ]);
    expect(manifest.segmentFiles).toEqual([{ name: 'raft-partition-partition-1-47.log', compression: 'zstd' }]);
  });

  it('reads 8.1 name arrays', () => {
    const manifest = parseManifest(
      `{ "statusCode": "completed", "id": { "nodeId": 1, "partitionId": 2, "checkpointId": 7 },
         "descriptor": { "snapshotId": "1-1-1-1", "checkpointPosition": 10, "numberOfPartitions": 1, "brokerVersion": "8.1.0-SNAPSHOT" },
         "snapshotFileNames": ["CURRENT", "1-1-1-1.checksum"], "segmentFileNames": ["raft-partition-partition-2-1.log"],
         "createdAt": 1668519689.5, "modifiedAt": 1668519690 }`,
      'key',
    );
    expect(manifest.snapshotFiles).toEqual([{ name: 'CURRENT' }, { name: '1-1-1-1.checksum' }]);
    expect(manifest.segmentFiles).toEqual([{ name: 'raft-partition-partition-2-1.log' }]);
    expect(manifest.createdAt).toBe('2022-11-15T13:41:29.500Z');
    expect(manifest.modifiedAt).toBe('2022-11-15T13:41:30Z');
  });

  it('reads a failed manifest with nulls and a failure reason', () => {
    const manifest = parseManifest(
      `{ "statusCode": "failed", "id": { "nodeId": 1, "partitionId": 2, "checkpointId": 7 },
         "descriptor": null, "failureReason": "leader changed", "snapshotFiles": null, "segmentFiles": null,
         "createdAt": 1668519689.5, "modifiedAt": null }`,
      'key',
    );
    expect(manifest).toEqual({
      nodeId: 1,
      partitionId: 2,
      checkpointId: 7n,
      status: 'FAILED',
      failureReason: 'leader changed',
      snapshotFiles: [],
      segmentFiles: [],
      createdAt: '2022-11-15T13:41:29.500Z',
    });
  });

  it('reads a deleted tombstone and a null snapshot id (log-only backup)', () => {
    expect(
      parseManifest(`{ "statusCode": "deleted", "id": { "nodeId": 0, "partitionId": 1, "checkpointId": 3 } }`, 'k').status,
    ).toBe('DELETED');
    const logOnly = parseManifest(
      `{ "statusCode": "completed", "id": { "nodeId": 0, "partitionId": 1, "checkpointId": 3 },
         "descriptor": { "snapshotId": null, "checkpointPosition": 5, "numberOfPartitions": 1, "brokerVersion": "8.2.0" },
         "snapshotFiles": { "files": {} }, "segmentFiles": { "files": { "raft-partition-partition-1-1.log": {} } } }`,
      'k',
    );
    expect(logOnly.descriptor).toEqual({ checkpointPosition: 5n, numberOfPartitions: 1, brokerVersion: '8.2.0' });
  });
});

describe('common dialect', () => {
  it('reads a GCS/Azure/filesystem manifest and keeps ISO timestamps as written', () => {
    const manifest = parseManifest(commonManifest, 'path');
    expect(manifest).toMatchObject({
      nodeId: 2,
      partitionId: 3,
      checkpointId: 42n,
      status: 'COMPLETED',
      createdAt: '2024-05-01T10:00:00.512345678Z',
      modifiedAt: '2024-05-01T10:00:07.931Z',
    });
    expect(manifest.snapshotFiles.map((file) => file.name)).toEqual([
      'CURRENT',
      '000140.sst',
      '1204500-1-2549184-2548356.checksum',
    ]);
  });

  it('reads a failed manifest without descriptor and file lists', () => {
    const manifest = parseManifest(
      `{ "id": { "nodeId": 0, "partitionId": 1, "checkpointId": 42 }, "statusCode": "FAILED",
         "failureReason": "disk full", "createdAt": "2024-05-01T10:00:00Z", "modifiedAt": "2024-05-01T10:00:01Z" }`,
      'path',
    );
    expect(manifest.status).toBe('FAILED');
    expect(manifest.descriptor).toBeUndefined();
    expect(manifest.snapshotFiles).toEqual([]);
  });

  it('reads 8.9 descriptor fields and ignores unknown fields', () => {
    const manifest = parseManifest(
      `{ "id": { "nodeId": 0, "partitionId": 1, "checkpointId": 42 }, "statusCode": "IN_PROGRESS", "futureField": {"x": 1},
         "descriptor": { "checkpointPosition": 100, "numberOfPartitions": 3, "brokerVersion": "8.9.0",
                         "firstLogPosition": 1, "checkpointTimestamp": 1714557600000, "checkpointType": "SCHEDULED_BACKUP",
                         "somethingNew": true } }`,
      'path',
    );
    expect(manifest.status).toBe('IN_PROGRESS');
    expect(manifest.descriptor).toEqual({
      checkpointPosition: 100n,
      numberOfPartitions: 3,
      brokerVersion: '8.9.0',
      firstLogPosition: 1n,
      checkpointTimestamp: '2024-05-01T10:00:00.000Z',
      checkpointType: 'SCHEDULED_BACKUP',
    });
  });
});

describe('exactness and hostile input', () => {
  it('keeps longs beyond 2^53 exact', () => {
    const manifest = parseManifest(
      `{ "id": { "nodeId": 0, "partitionId": 1, "checkpointId": 9223372036854775807 }, "statusCode": "COMPLETED",
         "descriptor": { "checkpointPosition": 9007199254740993, "numberOfPartitions": 1, "brokerVersion": "8.5.0" } }`,
      'p',
    );
    expect(manifest.checkpointId).toBe(9223372036854775807n);
    expect(manifest.descriptor?.checkpointPosition).toBe(9007199254740993n);
  });

  it.each([
    ['not JSON', '{ "id": ', /not valid JSON/],
    ['a missing id', '{ "statusCode": "COMPLETED" }', /id/],
    ['an unknown status', '{ "id": { "nodeId": 0, "partitionId": 1, "checkpointId": 1 }, "statusCode": "DONE" }', /statusCode/],
    ['a string id', '{ "id": { "nodeId": "0", "partitionId": 1, "checkpointId": 1 }, "statusCode": "COMPLETED" }', /nodeId/],
    ['a fractional position', '{ "id": { "nodeId": 0, "partitionId": 1, "checkpointId": 1 }, "statusCode": "COMPLETED", "descriptor": { "checkpointPosition": 1.5, "numberOfPartitions": 1, "brokerVersion": "8" } }', /whole number/],
  ])('rejects %s', (_case, text, message) => {
    expect(() => parseManifest(text, 'the-key')).toThrow(BackupInvalidError);
    expect(() => parseManifest(text, 'the-key')).toThrow(message);
  });

  it.each(['../../etc/passwd', '/etc/passwd', 'a/b', 'a\\b', 'nul\u0000byte', '..', '.', ''])(
    'rejects the unsafe file name %j',
    (name) => {
      const text = JSON.stringify({
        id: { nodeId: 0, partitionId: 1, checkpointId: 1 },
        statusCode: 'COMPLETED',
        segments: { files: [{ name }] },
      });
      expect(() => parseManifest(text, 'k')).toThrow(/unsafe file name/);
    },
  );

  it('rejects an unsafe snapshot id and duplicate file names', () => {
    const base = { id: { nodeId: 0, partitionId: 1, checkpointId: 1 }, statusCode: 'COMPLETED' };
    const unsafeSnapshot = { ...base, descriptor: { snapshotId: '../x', checkpointPosition: 1, numberOfPartitions: 1, brokerVersion: '8' } };
    expect(() => parseManifest(JSON.stringify(unsafeSnapshot), 'k')).toThrow(/unsafe file name/);
    const duplicate = { ...base, segmentFileNames: ['a.log', 'a.log'] };
    expect(() => parseManifest(JSON.stringify(duplicate), 'k')).toThrow(/twice/);
  });

  it('rejects a manifest whose id does not match its key', () => {
    expect(() =>
      parseManifestFor(commonManifest, { partitionId: 3, checkpointId: 420n, nodeId: 2, location: 'manifests/3/420/2/manifest.json' }),
    ).toThrow(/describes partition 3, backup 42, node 2, but its key says partition 3, backup 420/);
  });
});

/**
 * Every failure the agent reports belongs to one class, and each class has its own exit code so
 * that scripts (Ansible, init containers, systemd) can react without parsing messages.
 */
export const ExitCode = {
  success: 0,
  internal: 1,
  usage: 2,
  dataDirectoryNotEmpty: 3,
  backupNotFound: 4,
  backupInvalid: 5,
  storeUnavailable: 6,
  localStorage: 7,
  interrupted: 130,
} as const;

export type FailureClass = Exclude<keyof typeof ExitCode, 'success'>;

export class RestoreError extends Error {
  constructor(
    readonly failureClass: FailureClass,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RestoreError';
  }

  get exitCode(): number {
    return ExitCode[this.failureClass];
  }
}

export class UsageError extends RestoreError {
  constructor(message: string) {
    super('usage', message);
  }
}

export class BackupNotFoundError extends RestoreError {
  constructor(message: string) {
    super('backupNotFound', message);
  }
}

export class BackupInvalidError extends RestoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('backupInvalid', message, options);
  }
}

export class StoreUnavailableError extends RestoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('storeUnavailable', message, options);
  }
}

/** The secondary database (RDBMS) is unreachable, denies access or lacks the exporter-position table. */
export class DatabaseUnavailableError extends RestoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('storeUnavailable', message, options);
  }
}

export class LocalStorageError extends RestoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('localStorage', message, options);
  }
}

export class InterruptedError extends RestoreError {
  constructor(signal: string) {
    super('interrupted', `Restore interrupted by ${signal}.`);
  }
}

/** Node's system errors carry a `code` such as ENOENT or ENOSPC. */
export function errnoCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

const localErrnoHints: Record<string, string> = {
  ENOSPC: 'the file system is full; free space or give the data directory a larger volume',
  EDQUOT: 'the disk quota is exhausted; raise the quota or free space',
  EACCES: 'permission denied; run as the broker user or fix the ownership of the path',
  EPERM: 'operation not permitted; run as the broker user or fix the ownership of the path',
  EROFS: 'the file system is read-only; mount the data volume read-write',
  EIO: 'the disk reported an I/O error; check the volume',
};

/**
 * Turns an error from a local file-system call into a RestoreError that names the path and what
 * to do; errors that are already classified pass through unchanged.
 */
export function asLocalStorageError(error: unknown, action: string, path: string): RestoreError {
  if (error instanceof RestoreError) return error;
  const code = errnoCode(error);
  const hint = code ? localErrnoHints[code] : undefined;
  const reason = error instanceof Error ? error.message : String(error);
  return new LocalStorageError(
    `Could not ${action} ${path}: ${hint ?? reason}${hint && code ? ` (${code})` : ''}.`,
    { cause: error },
  );
}

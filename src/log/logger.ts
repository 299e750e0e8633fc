/**
 * Log lines for people (`text`) or for log collectors (`json`, one object per line).
 * Progress and results go to stdout; errors go to stderr so scripts can separate them.
 */
export type LogFormat = 'text' | 'json';
export type LogLevel = 'INFO' | 'WARN' | 'ERROR';
export type LogFields = Record<string, string | number | boolean | bigint | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface LogSinks {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export function createLogger(
  format: LogFormat,
  sinks: LogSinks = { out: process.stdout, err: process.stderr },
): Logger {
  const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
    const timestamp = new Date().toISOString();
    const line =
      format === 'json'
        ? JSON.stringify({ timestamp, level, message, ...fields }, (_key, value: unknown) =>
            typeof value === 'bigint' ? value.toString() : value,
          )
        : `${timestamp} ${level.padEnd(5)} ${message}`;
    (level === 'ERROR' ? sinks.err : sinks.out).write(`${line}\n`);
  };
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}

import path from 'node:path';
import { parseDurationMs } from './duration.js';
import type { RawValue } from './sources.js';

/** A value the user wrote that cannot be converted; the message is the reason, without the key. */
export class InvalidValueError extends Error {}

export interface ParseContext {
  /** Relative paths resolve against it, like the broker resolves them against its working directory. */
  cwd: string;
}

/** Converts configuration text the way Spring's binder converts it to the broker's field type. */
export interface ValueParser<T> {
  /** undefined means the text deliberately leaves the value unset (`none`). */
  parse(raw: RawValue, context: ParseContext): T | undefined;
  /** How `--print-config` shows the value. */
  format(value: T): string;
}

function single(raw: RawValue): string {
  if (typeof raw === 'string') return raw;
  throw new InvalidValueError('is a list, but a single value is expected');
}

export const integer: ValueParser<number> = {
  parse(raw) {
    const text = single(raw).trim();
    const value = Number(text);
    if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(value)) throw new InvalidValueError('is not a whole number');
    return value;
  },
  format: String,
};

// The spellings Spring's StringToBooleanConverter accepts.
const booleanWords: Record<string, boolean> = { true: true, on: true, yes: true, '1': true, false: false, off: false, no: false, '0': false };

export const boolean: ValueParser<boolean> = {
  parse(raw) {
    const value = booleanWords[single(raw).trim().toLowerCase()];
    if (value === undefined) throw new InvalidValueError('is not true or false');
    return value;
  },
  format: String,
};

export const durationMs: ValueParser<number> = {
  parse(raw) {
    const value = parseDurationMs(single(raw));
    if (value === undefined) {
      throw new InvalidValueError('is not a duration; write ISO-8601 like PT180S or a Spring duration like 180s or 500ms');
    }
    return value;
  },
  format: (value) => `${value}ms`,
};

export const text: ValueParser<string> = {
  parse: single,
  format: (value) => value,
};

/** Zeebe spells "off" as the literal `none` for some settings (S3 compression, Azure connection string). */
export const textOrNone: ValueParser<string> = {
  parse: (raw) => {
    const value = single(raw);
    return value.trim().toLowerCase() === 'none' ? undefined : value;
  },
  format: (value) => value,
};

export const absolutePath: ValueParser<string> = {
  parse: (raw, context) => path.resolve(context.cwd, single(raw).trim()),
  format: (value) => value,
};

/** Spring binds enums leniently: case, `-` and `_` do not matter (`round-robin` is `ROUND_ROBIN`). */
export function oneOf<const T extends string>(values: readonly T[]): ValueParser<T> {
  const normalise = (value: string) => value.trim().toLowerCase().replace(/[-_]/g, '');
  return {
    parse(raw) {
      const wanted = normalise(single(raw));
      const value = values.find((candidate) => normalise(candidate) === wanted);
      if (value === undefined) throw new InvalidValueError(`is not one of ${values.join(', ')}`);
      return value;
    },
    format: (value) => value,
  };
}

/** A YAML sequence, or Spring's comma-separated form (the only form environment variables have). */
export const textList: ValueParser<string[]> = {
  parse: (raw) =>
    (typeof raw === 'string' ? raw.split(',') : raw).map((item) => item.trim()).filter((item) => item !== ''),
  format: (value) => value.join(','),
};

import { z } from 'zod';
import { JsonNumber } from './lossless-json.js';

/** A JSON number as parsed by `parseJsonLossless`: its source text, not a rounded double. */
export const jsonNumber = z.custom<JsonNumber>((value) => value instanceof JsonNumber, 'expected a number');

/** A Java long, exactly. */
export const long = jsonNumber.transform((value, ctx) => {
  if (!/^-?\d+$/.test(value.source)) {
    ctx.addIssue({ code: 'custom', message: `expected a whole number, got ${value.source}` });
    return z.NEVER;
  }
  return BigInt(value.source);
});

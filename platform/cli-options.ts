// Command-line option values parsed once by zod; a bad value is one clear message (commander prints
// it as `error: option '--speed <x>' argument 'abc' is invalid. …` and exits 1), never a stack trace.
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';

/** Parses one option with zod; commander reports the message as an invalid argument. */
export function parseWith<T>(schema: z.ZodType<T>, what: string) {
  return (value: string): T => {
    const r = schema.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(`${what}: ${r.error.issues[0]?.message ?? 'invalid'}`);
    return r.data;
  };
}

/**
 * A speed factor (`1` = real time, `60` = one hour of data a minute): a finite number greater than 0,
 * or at least `min`. `abc`, `0`, `-2`, `NaN`, `Infinity` and an empty value are refused with what was given.
 */
export function speedSchema(min?: { atLeast: number; why: string }) {
  return z.string().transform((text, ctx) => {
    const value = text.trim() === '' ? Number.NaN : Number(text);
    if (!Number.isFinite(value) || value <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected a number greater than 0 (1 = real time, 60 = one hour of data a minute), got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    if (min && value < min.atLeast) {
      ctx.addIssue({ code: 'custom', message: `expected a number of at least ${min.atLeast} (${min.why}), got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return value;
  });
}

/** A speed into a running pipeline: never slower than real time, which would stamp readings in its future. */
export const pipelineSpeed = speedSchema({ atLeast: 1, why: 'a slower run would stamp readings in the future of the pipeline’s clock' });

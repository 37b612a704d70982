// Option values are parsed once by zod; a bad one is a clear message (commander prints it and exits 1).
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseWith, pipelineSpeed, speedSchema } from './cli-options.ts';

describe('--speed', () => {
  const speed = parseWith(speedSchema(), '--speed');
  const intoPipeline = parseWith(pipelineSpeed, '--speed');

  it.each([
    ['1', 1],
    ['60', 60],
    ['2.5', 2.5],
    ['0.5', 0.5],
  ])('%s → %d', (text, value) => {
    expect(speed(text)).toBe(value);
  });

  it.each(['abc', '0', '-60', 'NaN', 'Infinity', '', ' ', '1e999'])('%j is refused with what was given', (text) => {
    expect(() => speed(text)).toThrow(InvalidArgumentError);
    expect(() => speed(text)).toThrow(`--speed: expected a number greater than 0 (1 = real time, 60 = one hour of data a minute), got ${JSON.stringify(text)}`);
  });

  it('into a running pipeline, at least real time', () => {
    expect(intoPipeline('60')).toBe(60);
    expect(() => intoPipeline('0.5')).toThrow(/--speed: expected a number of at least 1 \(a slower run would stamp readings in the future of the pipeline’s clock\), got "0.5"/);
  });
});

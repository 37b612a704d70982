import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, FileValidationError, parseEnv, unreadableFileError } from './config-error.ts';
import { reportFatal } from './fatal.ts';

const schema = z.object({ MQTT_PORT: z.coerce.number().int().max(65535), ALERTS_API_KEY: z.string().min(16, 'ALERTS_API_KEY must be at least 16 characters') });

describe('parseEnv', () => {
  it('names each bad variable with the value given and what to do, never the value of a secret', () => {
    const err = (() => {
      try {
        parseEnv(schema, { MQTT_PORT: '99999', ALERTS_API_KEY: 'short-secret' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const lines = (err as ConfigError).message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^MQTT_PORT: .*\(got "99999"\) — set MQTT_PORT to a port number/);
    expect(lines[1]).toMatch(/^ALERTS_API_KEY: ALERTS_API_KEY must be at least 16 characters — /);
    expect(lines[1]).not.toContain('short-secret');
  });

  it('a missing variable without a default: what to do is to set it, not to unset it', () => {
    const lines = (() => {
      try {
        parseEnv(schema, { MQTT_PORT: '1883' });
      } catch (e) {
        return (e as ConfigError).message.split('\n');
      }
    })();
    expect(lines).toStrictEqual(['ALERTS_API_KEY: Invalid input: expected string, received undefined — set ALERTS_API_KEY in the environment']);
  });

  it('returns the parsed values when they are valid', () => {
    expect(parseEnv(schema, { MQTT_PORT: '1883', ALERTS_API_KEY: 'x'.repeat(16) })).toStrictEqual({ MQTT_PORT: 1883, ALERTS_API_KEY: 'x'.repeat(16) });
  });
});

describe('file problems', () => {
  it('read as file:line path: message, with what to do once after the last', () => {
    const err = new FileValidationError(
      [
        { file: 'a.yaml', line: 3, path: 'site.timezone', message: 'expected string' },
        { file: 'a.yaml', line: 9, path: '', message: 'YAML syntax: bad' },
      ],
      'fix it',
    );
    expect(err.message).toBe('a.yaml:3 site.timezone: expected string\na.yaml:9: YAML syntax: bad — fix it');
  });

  it.each([
    ['ENOENT', 'file /x.yaml does not exist'],
    ['EISDIR', '/x.yaml is a directory, not a file'],
    ['EACCES', 'no permission to read /x.yaml'],
    ['EIO', 'cannot read /x.yaml (EIO)'],
  ])('an unreadable file (%s) names the variable that points at it', (code, problem) => {
    const err = unreadableFileError('/x.yaml', 'EWS_SITE_FILE', Object.assign(new Error(code), { code }));
    expect(err.entries).toStrictEqual([{ where: 'EWS_SITE_FILE', problem, fix: 'set EWS_SITE_FILE to an existing, readable file' }]);
  });
});

describe('reportFatal', () => {
  it('prints a ConfigError as one line per problem, without a stack, exit code 2', () => {
    const out: string[] = [];
    const code = reportFatal(new ConfigError([{ where: 'MQTT_PORT', problem: 'in use', fix: 'free it' }, { where: 'EWS_HTTP_PORT', problem: 'in use' }]), (t) => out.push(t));
    expect(code).toBe(2);
    expect(out.join('')).toBe('fire-ews: MQTT_PORT: in use — free it\nfire-ews: EWS_HTTP_PORT: in use\n');
  });

  it('keeps the stack of anything else (a bug), exit code 1', () => {
    const out: string[] = [];
    const bug = new TypeError('x is undefined');
    expect(reportFatal(bug, (t) => out.push(t))).toBe(1);
    expect(out.join('')).toContain(bug.stack!);
    expect(out.join('')).toMatch(/^\s+at /m);
  });
});

// One error path for configuration problems (environment variables, site/scenario/rules files,
// ports in use). Each problem names WHERE (a variable or `file:line`), WHAT is wrong and what to DO.
// `fire-ews` catches ConfigError once at its entry and prints one line per problem, without a stack
// trace, exit code 2 (CONFIG_ERROR_EXIT_CODE); any other error keeps its stack and exits 1.
import type { z } from 'zod';
import type { FileProblem } from '../contracts/yaml-file.ts';

export const CONFIG_ERROR_EXIT_CODE = 2;

export interface ConfigProblem {
  /** The variable (`MQTT_PORT`), `file:line`, or the file, as the operator finds it; empty when the problem text names it. */
  where: string;
  problem: string;
  /** What to do about it. */
  fix?: string;
}

/** `scheme://user:password@` (a URL, or each URL of a comma-separated list). */
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/@,:"]*):[^\s,]*@/gi;
/** `user:password@host` without a scheme (a URL typed without it). */
const BARE_USERINFO = /(^|[\s"(,])([^\s/@,:"()]+):[^\s,/:]*@(?=[^\s,@]*[.:\w])/g;

/**
 * A text with the password of every URL in it replaced by `***` (`redis://ews:***@redis:6379`): a
 * configuration error echoes the value given, and a URL may carry a password (BROKER_REDIS_URL,
 * LEADER_LEASE_REDIS_URL, MQTT_URL, INFLUX_URL…), which must not reach a terminal or a log.
 */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_USERINFO, '$1:***@').replace(BARE_USERINFO, '$1$2:***@');
}

export function formatConfigProblem(p: ConfigProblem): string {
  return `${p.where ? `${p.where}: ` : ''}${p.problem}${p.fix ? ` — ${p.fix}` : ''}`;
}

export class ConfigError extends Error {
  readonly entries: readonly ConfigProblem[];
  constructor(entries: readonly ConfigProblem[]) {
    // Every configuration message goes through here: no URL password is printed, whoever built it.
    const redacted = entries.map((p) => ({ where: redactUrlPasswords(p.where), problem: redactUrlPasswords(p.problem), ...(p.fix !== undefined ? { fix: redactUrlPasswords(p.fix) } : {}) }));
    super(redacted.map(formatConfigProblem).join('\n'));
    this.name = 'ConfigError';
    this.entries = redacted;
  }
}

/** What an operator does about a bad environment variable; a missing one (no default) is set, never "unset". */
function envFix(variable: string, missing: boolean): string {
  if (variable.endsWith('_PORT')) return `set ${variable} to a port number (0–65535)${missing ? '' : ' or unset it for the default'}`;
  if (variable.endsWith('_URL')) return `set ${variable} to a full URL such as http://host:port${missing ? '' : ', or unset it'}`;
  return missing ? `set ${variable} in the environment` : `fix ${variable} in the environment (or unset it for the default)`;
}

function receivedText(value: unknown): string {
  return value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
}

/**
 * A zod failure of an environment schema as a ConfigError: one problem per variable, naming it and
 * the value given (not for secrets).
 */
export function envConfigError(error: z.ZodError, source: NodeJS.ProcessEnv): ConfigError {
  const seen = new Set<string>();
  const entries: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const variable = String(issue.path[0] ?? 'environment');
    const key = `${variable}\0${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const secret = /SECRET|TOKEN|PASSWORD|KEY/.test(variable);
    entries.push({ where: variable, problem: `${issue.message}${secret ? '' : receivedText(source[variable])}`, fix: envFix(variable, source[variable] === undefined) });
  }
  return new ConfigError(entries);
}

/** Parses an environment with its schema; a failure is a ConfigError naming each variable. */
export function parseEnv<S extends z.ZodType>(schema: S, source: NodeJS.ProcessEnv): z.output<S> {
  const result = schema.safeParse(source);
  if (!result.success) throw envConfigError(result.error, source);
  return result.data;
}

/**
 * A file that cannot be read (missing, a directory, no permission), named with the variable or
 * option that points at it.
 */
export function unreadableFileError(path: string, variable: string, err: unknown, fix?: string): ConfigError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const problem =
    code === 'ENOENT' ? `file ${path} does not exist` : code === 'EISDIR' ? `${path} is a directory, not a file` : code === 'EACCES' ? `no permission to read ${path}` : `cannot read ${path} (${code ?? (err instanceof Error ? err.message : String(err))})`;
  return new ConfigError([{ where: variable, problem, fix: fix ?? `set ${variable} to an existing, readable file` }]);
}

/**
 * Problems of a YAML file (site, scenario, rules config), each at its `file:line`; what to do is said
 * once, after the last.
 */
export class FileValidationError extends ConfigError {
  readonly problems: readonly FileProblem[];
  constructor(problems: readonly FileProblem[], fix?: string) {
    // `file:line path: message`, as contracts/yaml-file.ts formats a problem.
    super(problems.map((p, i) => ({ where: `${p.file}:${p.line}${p.path ? ` ${p.path}` : ''}`, problem: p.message, fix: i === problems.length - 1 ? fix : undefined })));
    this.name = 'FileValidationError';
    this.problems = problems;
  }
}

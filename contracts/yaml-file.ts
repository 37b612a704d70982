// Parses YAML text with a zod schema and reports each problem as `file:line path: message`,
// so an engineer editing a site or scenario file is pointed at the exact line.
import { isNode, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';

export interface FileProblem {
  file: string;
  line: number;
  path: string;
  message: string;
}

export type YamlParseResult<T> = { ok: true; value: T } | { ok: false; problems: FileProblem[] };

export function formatProblem(p: FileProblem): string {
  return `${p.file}:${p.line} ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** `nodes[3].lat` style path, as people read it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

type Issue = z.core.$ZodIssue;

function describeValue(value: unknown): string {
  if (value === undefined) return 'it is missing';
  if (value === null) return 'got null';
  if (Array.isArray(value)) return 'got a list';
  if (typeof value === 'object') return 'got a mapping';
  return `got ${typeof value} ${JSON.stringify(value)}`;
}

function describeIssue(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case 'too_big':
      return `expected ${issue.origin} ${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)}`;
    case 'too_small':
      return `expected ${issue.origin} ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)}`;
    case 'invalid_type':
      return `expected ${issue.expected}, ${describeValue(value)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
}

/** Line of the deepest YAML node that exists along `path` (a missing field points at its parent). */
function lineOf(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}

/** Line of the first alias whose anchor is not defined before it, if any. */
function unresolvedAliasLine(doc: Document, lineCounter: LineCounter): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return undefined;
      line = alias.range ? lineCounter.linePos(alias.range[0]).line : undefined;
      return visit.BREAK;
    },
  });
  return line;
}

export function parseYamlWithSchema<S extends z.ZodType>(text: string, file: string, schema: S): YamlParseResult<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    // Only the first: after a syntax error the parser's later complaints are follow-on noise (one
    // unclosed bracket yields a problem on every line below it).
    return {
      ok: false,
      problems: [{ file, line: syntax.linePos?.[0]?.line ?? lineCounter.linePos(syntax.pos[0]).line, path: '', message: `YAML syntax: ${syntax.message.split('\n')[0]}` }],
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // toJS throws on an alias without an anchor before it, on alias bombs and on bad YAML 1.1 merge
    // keys: problems of the file like any other, not crashes.
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, problems: [{ file, line: unresolvedAliasLine(doc, lineCounter) ?? 1, path: '', message: `YAML: ${message}` }] };
  }
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.map((issue) => {
    // An unknown key is reported on its own line, not on the parent mapping.
    const path = issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? [...issue.path, issue.keys[0] as string] : issue.path;
    const value = issue.path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), data);
    return { file, line: lineOf(doc, lineCounter, path), path: formatPath(issue.code === 'unrecognized_keys' ? issue.path : path), message: describeIssue(issue, value) };
  });
  problems.sort((a, b) => a.line - b.line);
  return { ok: false, problems };
}

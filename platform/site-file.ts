import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { siteSchema, type Site } from '../contracts/site.ts';
import { formatProblem, parseYamlWithSchema, type FileProblem } from '../contracts/yaml-file.ts';

export class FileValidationError extends Error {
  constructor(readonly problems: FileProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'FileValidationError';
  }
}

export function checkSiteText(text: string, fileName: string) {
  return parseYamlWithSchema(text, fileName, siteSchema);
}

/** Reads and validates a site file; throws FileValidationError naming every bad line. */
export function loadSiteFile(path: string): Site {
  const result = checkSiteText(readFileSync(path, 'utf8'), basename(path));
  if (!result.ok) throw new FileValidationError(result.problems);
  return result.value;
}

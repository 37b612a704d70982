import { readFileSync } from 'node:fs';
import { siteSchema, type Site } from '../contracts/site.ts';
import { parseYamlWithSchema } from '../contracts/yaml-file.ts';
import { FileValidationError, unreadableFileError } from './config-error.ts';

export { FileValidationError } from './config-error.ts';

export function checkSiteText(text: string, fileName: string) {
  return parseYamlWithSchema(text, fileName, siteSchema);
}

/**
 * Reads and validates a site file; a missing file or bad lines are a ConfigError naming `variable`
 * (EWS_SITE_FILE, or the option that gave the path) or each bad `file:line`.
 */
export function loadSiteFile(path: string, variable = 'EWS_SITE_FILE'): Site {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw unreadableFileError(path, variable, err, `set ${variable} to your site file (a copy of config/lai-chau.site.yaml)`);
  }
  const result = checkSiteText(text, path);
  if (!result.ok) throw new FileValidationError(result.problems, `fix the file, then check it with \`fire-ews site check ${path}\``);
  return result.value;
}

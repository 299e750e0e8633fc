import { defaultSource, notSetValue } from './resolve.js';
import type { LoadedConfig } from './restore-config.js';

/**
 * `--print-config`: one line per setting, `setting = value   (key, source)`, so the user can see
 * which key and which source won. Secret values arrive already masked in the origins.
 */
export function renderConfig(loaded: LoadedConfig): string {
  const width = Math.max(0, ...loaded.origins.map((origin) => `${origin.setting} = ${origin.value}`.length));
  return loaded.origins
    .map((origin) => {
      const assignment = `${origin.setting} = ${origin.value}`;
      const provenance =
        origin.source === defaultSource ? (origin.value === notSetValue ? '' : '(default)') : `(${origin.key}, ${origin.source})`;
      return `${assignment.padEnd(width)}   ${provenance}`.trimEnd();
    })
    .join('\n');
}

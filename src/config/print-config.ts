import type { PlaceholderUse } from './placeholders.js';
import { defaultSource, notSetValue } from './resolve.js';
import type { LoadedConfig, SettingOrigin } from './restore-config.js';

/** `${NAME} from environment`, `${a.b} from A_B (environment)`, `${PORT} unset`: never a value. */
export function describePlaceholders(uses: readonly PlaceholderUse[]): string {
  return uses
    .map(({ name, found }) => {
      if (found === undefined) return `\${${name}} unset`;
      return found.key === name ? `\${${name}} from ${found.source}` : `\${${name}} from ${found.key} (${found.source})`;
    })
    .join(', ');
}

function provenance(origin: SettingOrigin): string {
  if (origin.source !== defaultSource) {
    const via = origin.placeholders === undefined ? '' : `; ${describePlaceholders(origin.placeholders)}`;
    return `(${origin.key}, ${origin.source}${via})`;
  }
  const notes = origin.value === notSetValue ? [] : ['default'];
  if (origin.blank !== undefined) {
    const { key, source, placeholders } = origin.blank;
    notes.push(`${key} in ${source} resolved to empty: ${describePlaceholders(placeholders)}`);
  }
  return notes.length === 0 ? '' : `(${notes.join('; ')})`;
}

/**
 * `--print-config`: one line per setting, `setting = value   (key, source)`, so the user can see
 * which key and which source won, and for a value written with placeholders which names supplied
 * it. Secret values arrive already masked in the origins; placeholders are shown by name only.
 */
export function renderConfig(loaded: LoadedConfig): string {
  const width = Math.max(0, ...loaded.origins.map((origin) => `${origin.setting} = ${origin.value}`.length));
  return loaded.origins
    .map((origin) => `${`${origin.setting} = ${origin.value}`.padEnd(width)}   ${provenance(origin)}`.trimEnd())
    .join('\n');
}

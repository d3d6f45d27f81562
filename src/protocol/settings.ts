// The settings' defaults and ranges are stated once, in package.json's contributes.configuration (the
// Settings editor shows them from there); the host, the core's defaults, the CLI and the bench read them here.
// No vscode import: the bench and unit tests use the same reader.
import manifest from '../../package.json';

interface SettingSchema {
  type?: string | string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
}

type Manifest = { contributes: { configuration: { properties: Record<string, SettingSchema> } | { properties: Record<string, SettingSchema> }[] } };

const SCHEMA: ReadonlyMap<string, SettingSchema> = new Map(
  ([] as { properties: Record<string, SettingSchema> }[])
    .concat((manifest as unknown as Manifest).contributes.configuration)
    .flatMap((c) => Object.entries(c.properties)),
);

export function settingSchema(key: string): SettingSchema {
  const s = SCHEMA.get(key);
  if (!s) throw new Error(`no setting ${key} in package.json`);
  return s;
}

export function settingDefault<T>(key: string): T {
  return settingSchema(key).default as T;
}

/**
 * An integer setting's value as the code may use it: a non-number (an untrusted workspace can write
 * `"x"`) is the default, a number is rounded down and clamped to the schema's range.
 */
export function intSetting(key: string, raw: unknown): number {
  const s = settingSchema(key);
  const fallback = s.default as number;
  const n = typeof raw === 'number' && Number.isFinite(raw) ? Math.floor(raw) : fallback;
  return Math.min(s.maximum ?? Number.MAX_SAFE_INTEGER, Math.max(s.minimum ?? Number.MIN_SAFE_INTEGER, n));
}

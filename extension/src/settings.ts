import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { DEFAULT_SERVER_URL } from './url';

/** The plugin's settings, as in schema/plugin.json. */
export interface PlinthSettings {
  serverUrl: string;
  token: string;
}

export const DEFAULT_SETTINGS: PlinthSettings = { serverUrl: DEFAULT_SERVER_URL, token: '' };

/** Reads the composite (defaults + overrides.json + user) settings, tolerating bad types. */
export function readSettings(settings: ISettingRegistry.ISettings | null): PlinthSettings {
  if (!settings) return { ...DEFAULT_SETTINGS };
  const serverUrl = settings.get('serverUrl').composite;
  const token = settings.get('token').composite;
  return {
    serverUrl: typeof serverUrl === 'string' && serverUrl.trim() ? serverUrl : DEFAULT_SERVER_URL,
    token: typeof token === 'string' ? token : '',
  };
}

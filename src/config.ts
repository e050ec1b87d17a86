/**
 * The settings entry point kept under its old name: the tree, loader and sources live in
 * src/settings/ (schema.ts, load.ts, sources.ts, overrides.ts).
 */
import { ROOT } from '../core/paths.ts';

export { ROOT };
export { ConfigError, loadConfig, loadSettings, type LoadedSettings } from './settings/load.ts';
export { indexLocation, type Settings as Config, type Settings } from './settings/schema.ts';

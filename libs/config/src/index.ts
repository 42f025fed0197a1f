export { ConfigError, baseConfigShape, configParts, describeConfig, loadConfig } from './config';

export { ConfigError, baseConfigShape, configParts, describeConfig, loadConfig } from './config';
export { importPolicyConfigShape } from './import-policy';

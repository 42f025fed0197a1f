export { ConfigError, baseConfigShape, configParts, describeConfig, internalSecurityConfigShape, loadConfig } from './config';
export { importPolicyConfigShape, memberAddressConfigShape, memberAddressWarnings } from './import-policy';
export type { MemberAddressConfig } from './import-policy';

export { createDataSource, runMigrations } from './data-source';
export type { DataSourceOptions } from './data-source';
export { KeyRingError, SecretBox } from './secret-box';
export type { EncryptedValue } from './secret-box';

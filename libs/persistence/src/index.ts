export { createDataSource } from './data-source';
export type { DataSourceOptions } from './data-source';
export { runMigrations, runMigrationsLocked } from './migrations';
export { UnitOfWork, transactionManager } from './unit-of-work';
export type { IsolationLevel, Transaction } from './unit-of-work';
export { KeyRingError, SecretBox } from './secret-box';
export type { EncryptedValue } from './secret-box';

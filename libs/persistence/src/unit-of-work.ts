import { DataSource, EntityManager } from 'typeorm';

declare const TRANSACTION: unique symbol;

/**
 * One open database transaction. Services hold it only to pass it on: it has no methods, and
 * only repositories reach its EntityManager (through `transactionManager`), so a service never
 * touches TypeORM and every repository's writes inside one `UnitOfWork.run` commit together.
 */
export interface Transaction {
  readonly [TRANSACTION]: true;
}

export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

const managers = new WeakMap<Transaction, EntityManager>();

/**
 * The transaction helper: writes that must be atomic across repositories (and feature modules)
 * share the one transaction `run` hands out, instead of each repository opening its own.
 */
export class UnitOfWork {
  constructor(
    private readonly dataSource: DataSource,
    private readonly isolation: IsolationLevel = 'READ COMMITTED',
  ) {}

  /**
   * Runs `work` in one transaction: it commits when `work` resolves and rolls back when it
   * throws (the error is rethrown unchanged). A nested `run` opens a transaction of its own.
   */
  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(this.isolation, async (manager) => {
      const tx = Object.freeze({}) as Transaction;
      managers.set(tx, manager);
      try {
        return await work(tx);
      } finally {
        managers.delete(tx);
      }
    });
  }
}

/** For repositories: the EntityManager of an open transaction. Fails loudly once the transaction has ended. */
export function transactionManager(tx: Transaction): EntityManager {
  const manager = managers.get(tx);
  if (!manager) throw new Error('this transaction has ended: a repository may use it only inside UnitOfWork.run');
  return manager;
}

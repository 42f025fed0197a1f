import { randomBytes } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { KeyRingError, UnitOfWork } from '@flotilla/persistence';
import { RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { Clock } from '../infrastructure/clock';
import { CLOCK } from '../infrastructure/tokens';
import { CiphertextStores, type KeyUsage } from './ciphertext-stores';
import { ReencryptionRecord, ReencryptionsRepository } from './reencryptions.repository';
import { CoalescingTask } from '../infrastructure/coalescing-task';

/** Rows re-encrypted per transaction. */
export const REENCRYPTION_BATCH = 100;
/** How often each replica looks for a run to work on (a start on this replica does not wait for it). */
const POLL_MS = 1000;
const LIST_LIMIT = 50;

export type { KeyUsage } from './ciphertext-stores';

/** A run with live counts: what the admin API shows. */
export interface ReencryptionView extends ReencryptionRecord {
  /** Ciphertexts not under the target key now. */
  rowsRemaining: number;
  keys: KeyUsage[];
}

const notFound = (name: string) =>
  new FlotillaError(ErrorReason.NotFound, `reencryptions.admin.flotilla.io "${name}" not found`, { name, group: 'admin.flotilla.io', kind: 'reencryptions' });

/**
 * Re-encryption of every credential (and every sealed object field, ADR 0034) to the current key, so an old key can be retired
 * (docs/operations.md). A run is a row in Postgres; every replica works on the running one in
 * the background, in batches of REENCRYPTION_BATCH rows per transaction locked with SKIP LOCKED,
 * so replicas share the work, and a stop (or crash) loses at most an uncommitted batch: the next
 * start resumes, and rows already under the key are not touched again.
 */
@Injectable()
export class ReencryptionService implements OnApplicationBootstrap {
  private timer?: NodeJS.Timeout;
  private readonly task = new CoalescingTask(
    () => this.work(),
    (error) => this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'credential re-encryption pass failed; retrying'),
  );
  private warnedTarget?: string;

  constructor(
    private readonly vault: CiphertextStores,
    private readonly runs: ReencryptionsRepository,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
  ) {
    runtime.shutdown.onDrain('credential-reencryption', async () => {
      clearInterval(this.timer);
      await this.task.stop();
    });
  }

  onApplicationBootstrap(): void {
    const vault = this.vault;
    new Gauge({
      name: 'flotilla_credentials_ciphertexts',
      help: 'Credentials and sealed object fields stored encrypted, by the id of the key sealing them (a key at 0 can be retired)',
      labelNames: ['key_id'],
      registers: [this.runtime.metrics.registry],
      async collect() {
        this.reset();
        const usage = await vault.ciphertextsByKey().catch(() => []);
        for (const k of usage) this.set({ key_id: k.keyId }, k.ciphertexts);
      },
    });
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
    this.kick();
  }

  /** Starts a run to the current key, or returns the one in progress (`created` false). */
  async start(): Promise<{ run: ReencryptionView; created: boolean }> {
    const target = this.vault.current();
    const now = this.clock.now();
    const current = await this.runs.findRunning();
    if (current && current.targetKeyId !== target) {
      // The key ring was rotated again mid-run: that run can no longer finish; this one takes over.
      await this.runs.finish(current.name, 'Failed', `superseded: the current key is now "${target}"`, now);
    }
    const total = await this.vault.countNotUnderKey(target);
    const { record, created } = await this.uow.run((tx) => this.runs.startOrGetRunning(tx, newName(now), target, total, now));
    this.kick();
    return { run: await this.view(record), created };
  }

  async get(name: string): Promise<ReencryptionView> {
    const record = await this.runs.findByName(name);
    if (!record) throw notFound(name);
    return this.view(record);
  }

  async list(): Promise<{ items: ReencryptionView[]; keys: KeyUsage[] }> {
    const keys = await this.vault.ciphertextsByKey();
    const items = await this.runs.list(LIST_LIMIT);
    return { items: await Promise.all(items.map((r) => this.view(r, keys))), keys };
  }

  /** Works on the running run now, or right after the pass in progress. */
  kick(): void {
    this.task.kick();
  }

  private async work(): Promise<void> {
    const run = await this.runs.findRunning();
    if (!run) return;
    if (run.targetKeyId !== this.vault.current()) {
      // A replica with another key ring (a rolling restart in progress) leaves the run to the others.
      if (this.warnedTarget !== run.name) this.runtime.logger.warn({ reencryption: run.name, target: run.targetKeyId, current: this.vault.current() }, 'not working on a re-encryption to another key');
      this.warnedTarget = run.name;
      return;
    }
    while (!this.task.stopped) {
      let moved: number;
      try {
        moved = await this.uow.run(async (tx) => {
          const n = await this.vault.reencryptBatch(tx, run.targetKeyId, REENCRYPTION_BATCH);
          if (n > 0) await this.runs.addProgress(tx, run.name, n, this.clock.now());
          return n;
        });
      } catch (error) {
        if (!(error instanceof KeyRingError)) throw error;
        await this.runs.finish(run.name, 'Failed', error.message, this.clock.now());
        this.runtime.logger.error({ reencryption: run.name, err: error.message }, 'credential re-encryption failed');
        return;
      }
      if (moved > 0) {
        this.runtime.logger.debug({ reencryption: run.name, rows: moved }, 're-encrypted a batch of credentials');
        continue;
      }
      // Nothing left to lock here: done, unless rows are held by another replica's batch or a write.
      if ((await this.vault.countNotUnderKey(run.targetKeyId)) === 0) {
        await this.runs.finish(run.name, 'Succeeded', '', this.clock.now());
        this.runtime.logger.info({ reencryption: run.name, target: run.targetKeyId }, 'every credential is under the current key');
      }
      return;
    }
  }

  private async view(record: ReencryptionRecord, keys?: KeyUsage[]): Promise<ReencryptionView> {
    const usage = keys ?? (await this.vault.ciphertextsByKey());
    const rowsRemaining = usage.filter((k) => k.keyId !== record.targetKeyId).reduce((n, k) => n + k.ciphertexts, 0);
    return { ...record, rowsRemaining, keys: usage };
  }
}

/** reencrypt-<UTC yyyymmddhhmmss>-<4 hex>: sortable, a DNS label. */
function newName(now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `reencrypt-${stamp}-${randomBytes(2).toString('hex')}`;
}

import type { ImportJob, ImportJobOrphan, ImportJobState, ImportJobType } from '@flotilla/domain';
import { CLUSTER_API_VERSION, IMPORT_JOB_KIND, importJobName } from '@flotilla/domain';
import type { JobContext } from '@flotilla/queue';
import type { ImportJobsClient } from '@flotilla/clients';

/** Pauses between tries of a job's final report (finish). */
export const FINAL_REPORT_RETRY_MS = [500, 1000, 2000, 4000, 8000] as const;

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Keeps one job record up to date in the registry (named steps, percent, state) and mirrors the
 * percentage into BullMQ. A failed report never fails the job: the record is for people.
 */
export class JobRecorder {
  private readonly job: ImportJob;

  constructor(
    private readonly client: ImportJobsClient,
    private readonly context: JobContext | undefined,
    type: ImportJobType,
    clusterName: string,
    clusterUid: string,
    private readonly onError: (error: unknown) => void = () => undefined,
    /** Pauses before each new try of a final report that failed (about 15 s in all). */
    private readonly finalRetryMs: readonly number[] = FINAL_REPORT_RETRY_MS,
  ) {
    this.job = {
      apiVersion: CLUSTER_API_VERSION,
      kind: IMPORT_JOB_KIND,
      metadata: { name: importJobName(type, clusterUid) },
      spec: { type, clusterName, clusterUid },
      status: { state: 'Running', step: '', percent: 0, steps: [], startTime: now() },
    };
  }

  get snapshot(): ImportJob {
    return this.job;
  }

  private inFlight?: Promise<void>;
  private dirty = false;
  /** The last report failed: the registry holds an older record than this one. */
  private unsaved = false;

  /**
   * Sends the record without holding the job up: one report in flight at a time, and changes made
   * meanwhile are coalesced into the next one, so records arrive in order and the registry is not
   * asked once per step under load.
   */
  private flush(): Promise<void> {
    this.dirty = true;
    if (!this.inFlight) {
      this.inFlight = (async () => {
        while (this.dirty) {
          this.dirty = false;
          try {
            await this.client.report(structuredClone(this.job));
            this.unsaved = false;
          } catch (error) {
            this.unsaved = true;
            this.onError(error);
          }
        }
        this.inFlight = undefined;
      })();
    }
    return this.inFlight;
  }

  /** Closes the running step (Succeeded) and opens the next one. */
  async step(name: string, percent: number, message?: string): Promise<void> {
    const s = this.job.status;
    const open = s.steps[s.steps.length - 1];
    if (open && open.state === 'Running') open.state = 'Succeeded';
    s.steps.push({ name, state: 'Running', time: now(), ...(message ? { message } : {}) });
    s.step = name;
    s.percent = percent;
    s.state = 'Running';
    void this.context?.progress(name, percent).catch(() => undefined);
    void this.flush();
  }

  async skip(name: string, message: string): Promise<void> {
    const s = this.job.status;
    const open = s.steps[s.steps.length - 1];
    if (open && open.state === 'Running') open.state = 'Succeeded';
    s.steps.push({ name, state: 'Skipped', time: now(), message });
    void this.flush();
  }

  warn(warning: string): void {
    this.job.status.warnings = [...(this.job.status.warnings ?? []), warning];
  }

  orphans(list: ImportJobOrphan[]): void {
    if (list.length > 0) this.job.status.orphans = list;
  }

  async finish(state: Extract<ImportJobState, 'Succeeded' | 'Failed'>, message?: string): Promise<void> {
    const s = this.job.status;
    const open = s.steps[s.steps.length - 1];
    if (open && open.state === 'Running') {
      open.state = state === 'Succeeded' ? 'Succeeded' : 'Failed';
      if (message && state === 'Failed') open.message = message;
    }
    s.state = state;
    if (state === 'Succeeded') s.percent = 100;
    if (message) s.message = message;
    s.completionTime = now();
    await this.context?.progress(s.step, s.percent).catch(() => undefined);
    await this.flush();
    // The outcome must reach the record: a lost final report (the registry or its Postgres
    // restarting) left it Running for ever, the cluster long settled (issue 13's fault suite).
    for (const delay of this.finalRetryMs) {
      if (!this.unsaved) return;
      await new Promise((r) => setTimeout(r, delay));
      await this.flush();
    }
  }
}

/**
 * Minimal status controllers for apps/v1 Deployments, StatefulSets, DaemonSets and batch/v1 Jobs:
 * a workload is observed at once (status `progressing`, as the real controller's first sync), and
 * after `readyDelayMs` its replicas are ready (or, when told to fail, never become ready: a
 * Deployment's progress deadline is exceeded, a Job's backoff limit). A spec change (a new
 * generation, e.g. a scale) runs it again; so do node changes for DaemonSets. No ReplicaSets or
 * Pods are created. Status goes through the status subresource as kube-controller-manager.
 */
import { type JsonObject, type JsonValue, obj, str } from '@flotilla/apply';
import type { ApiServer } from '../api/apiserver';
import type { ResourceDef } from '../api/resources';
import { daemonSetStatus, deploymentStatus, jobFinished, jobStatus, nodeMatches, statefulSetStatus, type WorkloadKind, type WorkloadPhase } from './workload-status';

export interface WorkloadOptions {
  /** false: no workload controllers (status stays `{}`, as on a server without kube-controller-manager). Default true. */
  enabled?: boolean;
  /** Time from a workload's (new) generation to its replicas being ready, in ms (default 50). */
  readyDelayMs?: number;
  /** true: every workload fails; a list: those named `name` or `namespace/name`. Default false. */
  fail?: boolean | string[];
}

export interface WorkloadHost {
  existingApi(): ApiServer | undefined;
  def(group: string, resource: string): ResourceDef;
}

const WORKLOADS: ReadonlyArray<{ group: string; resource: string; kind: WorkloadKind }> = [
  { group: 'apps', resource: 'deployments', kind: 'Deployment' },
  { group: 'apps', resource: 'statefulsets', kind: 'StatefulSet' },
  { group: 'apps', resource: 'daemonsets', kind: 'DaemonSet' },
  { group: 'batch', resource: 'jobs', kind: 'Job' },
];

const MANAGER = 'kube-controller-manager';

/** Checks options given by a test or the control endpoint; throws an Error naming the field. */
export function checkWorkloadOptions(o: WorkloadOptions): WorkloadOptions {
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') throw new Error('workloads.enabled must be true or false');
  if (o.readyDelayMs !== undefined && (typeof o.readyDelayMs !== 'number' || !Number.isFinite(o.readyDelayMs) || o.readyDelayMs < 0 || o.readyDelayMs > 3_600_000))
    throw new Error('workloads.readyDelayMs must be a number of milliseconds from 0 to 3600000');
  if (o.fail !== undefined && typeof o.fail !== 'boolean' && !(Array.isArray(o.fail) && o.fail.every((n) => typeof n === 'string')))
    throw new Error('workloads.fail must be true, false or a list of workload names ("name" or "namespace/name")');
  return o;
}

export class WorkloadControllers {
  private enabled: boolean;
  private readyDelayMs: number;
  private fail: boolean | Set<string>;
  /** Timers by workload (`kind/namespace/name`). */
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly host: WorkloadHost,
    options: WorkloadOptions = {},
  ) {
    checkWorkloadOptions(options);
    this.enabled = options.enabled ?? true;
    this.readyDelayMs = options.readyDelayMs ?? 50;
    this.fail = Array.isArray(options.fail) ? new Set(options.fail) : (options.fail ?? false);
  }

  /** Changes the options (absent fields keep their value) and runs every workload again. */
  configure(options: WorkloadOptions): void {
    checkWorkloadOptions(options);
    if (options.enabled !== undefined) this.enabled = options.enabled;
    if (options.readyDelayMs !== undefined) this.readyDelayMs = options.readyDelayMs;
    if (options.fail !== undefined) this.fail = Array.isArray(options.fail) ? new Set(options.fail) : options.fail;
    if (!this.enabled) return this.stop();
    const api = this.host.existingApi();
    if (!api) return;
    for (const w of WORKLOADS) {
      for (const [, o] of api.store.list(`${w.group}/${w.resource}`)) if (w.kind !== 'Job' || !jobFinished(o)) this.schedule(w.kind, o, true);
    }
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  afterWrite(def: ResourceDef, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: JsonObject): void {
    if (!this.enabled) return;
    if (def.group === '' && def.resource === 'nodes' && type !== 'MODIFIED') return this.nodesChanged();
    const w = WORKLOADS.find((x) => x.group === def.group && x.resource === def.resource);
    if (!w) return;
    const key = this.key(w.kind, o);
    if (type === 'DELETED') {
      clearTimeout(this.timers.get(key));
      this.timers.delete(key);
      return;
    }
    const m = obj(o.metadata) ?? {};
    if (m.deletionTimestamp) return;
    if (w.kind === 'Job') {
      if (type === 'ADDED') this.schedule(w.kind, o, true);
      return;
    }
    // a new generation (spec change, scale) not yet observed: the controller syncs again
    if (m.generation !== obj(o.status)?.observedGeneration) this.schedule(w.kind, o, true);
  }

  private key(kind: string, o: JsonObject): string {
    const m = obj(o.metadata) ?? {};
    return `${kind}/${str(m.namespace) ?? ''}/${str(m.name) ?? ''}`;
  }

  private fails(o: JsonObject): boolean {
    if (typeof this.fail === 'boolean') return this.fail;
    const m = obj(o.metadata) ?? {};
    return this.fail.has(str(m.name) ?? '') || this.fail.has(`${str(m.namespace) ?? ''}/${str(m.name) ?? ''}`);
  }

  /** Observes the workload now (progressing) and settles it after the delay. */
  private schedule(kind: WorkloadKind, o: JsonObject, observeFirst: boolean): void {
    const key = this.key(kind, o);
    clearTimeout(this.timers.get(key));
    const m = obj(o.metadata) ?? {};
    const ref = { kind, namespace: str(m.namespace) ?? '', name: str(m.name) ?? '', uid: str(m.uid) ?? '' };
    const settle = (): void => {
      this.timers.delete(key);
      this.sync(ref, undefined);
    };
    const run = (fn: () => void, ms: number): void => {
      const t = setTimeout(fn, ms);
      t.unref();
      this.timers.set(key, t);
    };
    if (observeFirst && this.readyDelayMs > 0)
      run(() => {
        this.sync(ref, 'progressing');
        run(settle, this.readyDelayMs);
      }, 0);
    else run(settle, this.readyDelayMs);
  }

  /** Writes the status of the workload as it is now; `phase` undefined: ready or failed as configured. */
  private sync(ref: { kind: WorkloadKind; namespace: string; name: string; uid: string }, phase: WorkloadPhase | undefined): void {
    const api = this.host.existingApi();
    const w = WORKLOADS.find((x) => x.kind === ref.kind);
    if (!api || !w) return;
    const def = this.host.def(w.group, w.resource);
    const cur = api.find(def, ref.namespace, ref.name);
    if (!cur || obj(cur.metadata)?.uid !== ref.uid || obj(cur.metadata)?.deletionTimestamp) return;
    const outcome: WorkloadPhase = phase ?? (this.fails(cur) ? 'failed' : 'ready');
    let status: JsonObject;
    switch (ref.kind) {
      case 'Deployment':
        status = deploymentStatus(cur, outcome);
        break;
      case 'StatefulSet':
        status = statefulSetStatus(cur, outcome);
        break;
      case 'DaemonSet':
        status = daemonSetStatus(cur, outcome, this.nodeCount(api, obj(cur.spec)?.template));
        break;
      case 'Job':
        if (obj(obj(cur.spec))?.suspend === true) return;
        status = jobStatus(cur, outcome);
        break;
    }
    try {
      api.systemWrite(def, ref.namespace, { ...cur, status }, MANAGER, 'status');
    } catch {
      // deleted or namespace gone meanwhile: nothing to report
    }
  }

  private nodeCount(api: ApiServer, template: JsonValue | undefined): number {
    return api.store.list('/nodes').filter(([, n]) => nodeMatches(template, obj(n.metadata)?.labels)).length;
  }

  private nodesChanged(): void {
    const api = this.host.existingApi();
    if (!api) return;
    for (const [, o] of api.store.list('apps/daemonsets')) if (!obj(o.metadata)?.deletionTimestamp) this.schedule('DaemonSet', o, true);
  }
}

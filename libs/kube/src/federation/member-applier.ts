import { FEDERATED_OBJECT_ANNOTATION, FIELD_MANAGER, HASH_ANNOTATION } from '@flotilla/domain';
import type { ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberClient, type MemberResponse } from '../member/member-client';
import { MemberTransport } from '../member/member-transport';
import { defaultMemberPolicy, type MemberAddressPolicy } from '../net/address-policy';
import { DEFAULT_MAX_MEMBER_BODY_BYTES } from '../net/bounded-body';
import { failureOfError, failureOfResponse } from './failures';
import { KindWatch, PARTIAL_LIST_ACCEPT } from './managed-watch';
import { MemberDiscovery } from './member-discovery';
import { RequestGate } from './request-gate';
import {
  type ApplyOutcome,
  type ManagedEvent,
  type ManagedWatchHandle,
  MemberCallError,
  type MemberApplierOptions,
  type MemberObjectRef,
} from './types';

type Obj = Record<string, unknown>;
type KindKey = { apiVersion: string; kind: string };

const APPLY_QUERY = `fieldManager=${FIELD_MANAGER}&force=true`;

function annotationsOf(o: Obj | undefined): Obj {
  const m = o?.metadata as Obj | undefined;
  const a = m?.annotations;
  return a && typeof a === 'object' ? (a as Obj) : {};
}

/**
 * The member side of federation for one cluster: server-side apply of per-cluster objects,
 * guarded removal, and a metadata-only watch of what Flotilla placed there. Every request goes
 * through this member's own gate (at most `concurrency` in flight and `qps` started per second,
 * FIFO), so one slow member never holds up another. Reached only through libs/kube's clients, under
 * the member address policy, with bounded answers.
 */
export class MemberApplier {
  private readonly client: MemberClient;
  private readonly gate: RequestGate;
  private readonly discovery: MemberDiscovery;
  private readonly policy: MemberAddressPolicy;
  private transport?: MemberTransport;
  private readonly watches = new Set<{ stop(): void }>();
  private closed = false;

  constructor(
    readonly cluster: string,
    private readonly kubeconfig: ResolvedKubeconfig,
    private readonly options: MemberApplierOptions = {},
  ) {
    this.policy = options.policy ?? defaultMemberPolicy();
    this.client = new MemberClient(kubeconfig, options.timeoutMs ?? 10_000, { policy: this.policy, maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_MEMBER_BODY_BYTES });
    this.gate = new RequestGate({ concurrency: options.concurrency ?? 8, qps: options.qps ?? 50, maxQueued: options.maxQueued ?? 100_000 });
    this.discovery = new MemberDiscovery((path) => this.request('GET', path), options.discoveryRefreshMs ?? 10_000);
  }

  private request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<MemberResponse> {
    return this.gate.run(() => this.client.request(method, path, body, headers));
  }

  /** apiVersion+kind -> {plural, namespaced} from the member's discovery; undefined when the member does not serve it. */
  resolve(apiVersion: string, kind: string): Promise<{ plural: string; namespaced: boolean } | undefined> {
    return this.discovery.resolve(apiVersion, kind);
  }

  private async pathOf(ref: MemberObjectRef): Promise<{ path: string; namespaced: boolean } | undefined> {
    const served = await this.resolve(ref.apiVersion, ref.kind);
    if (!served) return undefined;
    const root = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    if (served.namespaced && !ref.namespace) throw new MemberCallError('ApplyFailed', `${ref.kind} ${ref.name} is namespaced in ${this.cluster} but has no namespace: give metadata.namespace`, false);
    const ns = served.namespaced ? `/namespaces/${encodeURIComponent(ref.namespace!)}` : '';
    return { path: `${root}${ns}/${served.plural}/${encodeURIComponent(ref.name)}`, namespaced: served.namespaced };
  }

  /** The member object, or undefined when it (or its kind) does not exist. Throws a MemberCallError otherwise. */
  async get(ref: MemberObjectRef): Promise<Obj | undefined> {
    let res: MemberResponse;
    try {
      const target = await this.pathOf(ref);
      if (!target) return undefined;
      res = await this.request('GET', target.path);
    } catch (error) {
      throw callError(failureOfError(this.cluster, 'read', ref, error));
    }
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw callError(failureOfResponse(this.cluster, 'read', ref, res));
    return res.body;
  }

  /**
   * Applies `desired` (memberObjectFor output: ownership label and annotations, hash) with
   * server-side apply. No request at all when `known.hash` is already the desired hash; no write
   * when the member object has that hash and is managed by the same federated object. `force`
   * (a repair of an object edited in place: its hash annotation is ours, its content is not)
   * skips both shortcuts and always applies; ownership is still checked.
   */
  async apply(desired: Obj, options: { adopt: boolean; known?: { hash?: string; owner?: string }; force?: boolean }): Promise<ApplyOutcome> {
    const meta = (desired.metadata ?? {}) as Obj;
    const ref: MemberObjectRef = {
      apiVersion: typeof desired.apiVersion === 'string' ? desired.apiVersion : '',
      kind: typeof desired.kind === 'string' ? desired.kind : '',
      name: typeof meta.name === 'string' ? meta.name : '',
      ...(typeof meta.namespace === 'string' && meta.namespace ? { namespace: meta.namespace } : {}),
    };
    if (!ref.apiVersion || !ref.kind || !ref.name) {
      return { result: 'failed', reason: 'ApplyFailed', message: 'the object to apply needs apiVersion, kind and metadata.name', retryable: false };
    }
    const annotations = annotationsOf(desired);
    const hash = annotations[HASH_ANNOTATION];
    const owner = annotations[FEDERATED_OBJECT_ANNOTATION];
    if (!options.force && typeof hash === 'string' && hash && options.known?.hash === hash) return { result: 'applied', object: desired, unchanged: true };
    try {
      const target = await this.pathOf(ref);
      if (!target) {
        return { result: 'failed', reason: 'WaitingForCRD', message: `${ref.apiVersion} ${ref.kind} is not served by ${this.cluster} yet (its CRD is missing or not established)`, retryable: true };
      }
      // The member's watch already says the object is ours (our label and this federated object's
      // annotation): no read is needed before the apply (a template change costs one request).
      const knownOurs = typeof owner === 'string' && !!owner && options.known?.owner === owner;
      const got = knownOurs ? undefined : await this.request('GET', target.path);
      if (got?.status === 200) {
        const existing = annotationsOf(got.body);
        const ours = typeof owner === 'string' && existing[FEDERATED_OBJECT_ANNOTATION] === owner;
        if (!options.force && ours && typeof hash === 'string' && existing[HASH_ANNOTATION] === hash) return { result: 'applied', object: got.body, unchanged: true };
        if (!ours && !options.adopt) {
          const other = existing[FEDERATED_OBJECT_ANNOTATION];
          const by = typeof other === 'string' && other ? `is managed by the federated object ${other}` : 'was not created by Flotilla';
          return {
            result: 'failed',
            reason: 'Conflict',
            message: `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} already exists in ${this.cluster} and ${by}; set the annotation federation.flotilla.io/adopt: "true" on the federated object to take it over`,
            retryable: true,
          };
        }
      } else if (got && got.status !== 404) {
        return { result: 'failed', ...failureOfResponse(this.cluster, 'read', ref, got) };
      }
      const body = target.namespaced ? desired : withoutNamespace(desired);
      const res = await this.request('PATCH', `${target.path}?${APPLY_QUERY}`, body, { 'Content-Type': 'application/apply-patch+yaml' });
      if (res.status === 200 || res.status === 201) return { result: 'applied', object: res.body, unchanged: false };
      if (res.status === 404) this.discovery.forget(ref.apiVersion);
      return { result: 'failed', ...failureOfResponse(this.cluster, 'apply', ref, res) };
    } catch (error) {
      if (error instanceof MemberCallError) return { result: 'failed', reason: error.reason, message: error.message, retryable: error.retryable };
      return { result: 'failed', ...failureOfError(this.cluster, 'apply', ref, error) };
    }
  }

  /** Deletes the member object only if its federated-object annotation equals `federatedObject` (uid precondition). */
  async remove(ref: MemberObjectRef, federatedObject: string): Promise<'deleted' | 'absent' | 'notOurs'> {
    try {
      const target = await this.pathOf(ref);
      if (!target) return 'absent';
      const got = await this.request('GET', target.path);
      if (got.status === 404) return 'absent';
      if (got.status !== 200) throw callError(failureOfResponse(this.cluster, 'read', ref, got));
      if (annotationsOf(got.body)[FEDERATED_OBJECT_ANNOTATION] !== federatedObject) return 'notOurs';
      const uid = (got.body.metadata as Obj | undefined)?.uid;
      const options = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', ...(typeof uid === 'string' ? { preconditions: { uid } } : {}) };
      const res = await this.request('DELETE', target.path, options);
      if (res.status === 200 || res.status === 202) return 'deleted';
      if (res.status === 404) return 'absent';
      // 409: the precondition failed: someone replaced the object since we read it; it is not the one we placed.
      if (res.status === 409) return 'notOurs';
      throw callError(failureOfResponse(this.cluster, 'delete', ref, res));
    } catch (error) {
      if (error instanceof MemberCallError) throw error;
      throw callError(failureOfError(this.cluster, 'delete', ref, error));
    }
  }

  /**
   * Metadata-only list+watch of the objects labelled federation.flotilla.io/managed-by, one per
   * resource (only the kinds the member serves; the others are looked up again now and then).
   */
  watchManaged(kinds: KindKey[], onEvent: (e: ManagedEvent) => void): ManagedWatchHandle {
    const running = new Map<string, KindWatch>();
    let stopped = false;
    const deps = {
      cluster: this.cluster,
      resolve: (apiVersion: string, kind: string) => this.resolve(apiVersion, kind),
      forget: (apiVersion: string) => this.discovery.forget(apiVersion),
      list: (path: string) => this.request('GET', path, undefined, { Accept: PARTIAL_LIST_ACCEPT }),
      stream: (path: string, headers: Record<string, string>, idleTimeoutMs: number) => this.streamTransport().request('GET', path, headers, { longLived: true, idleTimeoutMs }),
      backoffMaxMs: this.options.watchBackoffMaxMs ?? 30_000,
      idleTimeoutMs: this.options.watchIdleTimeoutMs ?? 180_000,
      maxLineBytes: this.options.maxWatchLineBytes ?? 1024 * 1024,
      discoveryRefreshMs: this.options.discoveryRefreshMs ?? 10_000,
    };
    const update = (next: KindKey[]) => {
      if (stopped || this.closed) return;
      const wanted = new Map(next.map((k) => [`${k.apiVersion}|${k.kind}`, k]));
      for (const [key, w] of running) {
        if (!wanted.has(key)) {
          w.stop();
          running.delete(key);
        }
      }
      for (const [key, k] of wanted) {
        if (running.has(key)) continue;
        const w = new KindWatch(k.apiVersion, k.kind, deps, onEvent);
        running.set(key, w);
        w.start();
      }
    };
    const handle = {
      stop: () => {
        stopped = true;
        for (const w of running.values()) w.stop();
        running.clear();
        this.watches.delete(handle);
      },
      update,
      synced: () => [...running.values()].every((w) => w.synced),
    };
    this.watches.add(handle);
    update(kinds);
    return handle;
  }

  private streamTransport(): MemberTransport {
    if (this.closed) throw new Error(`the member client of ${this.cluster} was closed`);
    this.transport ??= new MemberTransport(this.kubeconfig, { policy: this.policy, maxSockets: 1, connectTimeoutMs: this.options.timeoutMs ?? 10_000 });
    return this.transport;
  }

  /** In-flight + queued requests (for the queue-depth gauge). */
  queueDepth(): number {
    return this.gate.depth();
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.watches]) w.stop();
    this.gate.close();
    this.client.close();
    this.transport?.close();
  }
}

function callError(f: { reason: MemberCallError['reason']; message: string; retryable: boolean }): MemberCallError {
  return new MemberCallError(f.reason, f.message, f.retryable);
}

function withoutNamespace(o: Obj): Obj {
  const meta = (o.metadata ?? {}) as Obj;
  if (!('namespace' in meta)) return o;
  const { namespace: _ns, ...rest } = meta;
  return { ...o, metadata: rest };
}

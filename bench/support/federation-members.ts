/**
 * The member side of bench/federation.bench.ts: an observer holding a metadata-only watch of the
 * Flotilla-labelled ConfigMaps and Namespaces on every member (libs/kube MemberApplier.watchManaged,
 * the same watch federation-sync uses), resolving "this object has this hash annotation here"
 * expectations as events arrive; and the raw clients the throughput is compared with.
 */
import { type FederatedKindInfo, HASH_ANNOTATION, federatedKindByKind, memberObjectFor } from '@flotilla/domain';
import { MemberAddressPolicy, MemberApplier, MemberClient, RequestGate, parseKubeconfig } from '@flotilla/kube';
import type { Json, Member } from './federation-stack';
import { pool } from './pool';

const policy = new MemberAddressPolicy({ allowLoopback: true });
const KINDS = [{ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'Namespace' }];
const APPLY_QUERY = 'fieldManager=flotilla-federation&force=true';

export const CM_INFO: FederatedKindInfo = federatedKindByKind('FederatedConfigMap')!;
export const NS_INFO: FederatedKindInfo = federatedKindByKind('FederatedNamespace')!;

/** The hash annotation federation-sync puts on this federated object's member object in `cluster`. */
export function expectedHash(info: FederatedKindInfo, fed: Json, cluster: string): string {
  return memberObjectFor(info, fed, cluster).metadata.annotations[HASH_ANNOTATION]!;
}

interface Waiter {
  hash: string;
  resolve: (at: number) => void;
}

export class Observer {
  private readonly appliers: MemberApplier[] = [];
  private readonly watches: { stop(): void; synced(): boolean }[] = [];
  /** `<cluster>|<namespace>/<name>` -> hash last seen. */
  private readonly seen = new Map<string, string>();
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(members: Member[]) {
    for (const m of members) {
      const a = new MemberApplier(m.name, parseKubeconfig(m.kubeconfig), { policy, concurrency: 4, qps: 1000 });
      this.appliers.push(a);
      this.watches.push(
        a.watchManaged(KINDS, (e) => {
          if (e.type === 'RELISTED') return;
          const key = `${m.name}|${e.ref.namespace ?? ''}/${e.ref.name}`;
          if (e.type === 'DELETED' || !e.hash) return void this.seen.delete(key);
          this.seen.set(key, e.hash);
          const ws = this.waiting.get(key);
          if (!ws) return;
          const at = performance.now();
          const rest = ws.filter((w) => (w.hash === e.hash ? (w.resolve(at), false) : true));
          if (rest.length) this.waiting.set(key, rest);
          else this.waiting.delete(key);
        }),
      );
    }
  }

  synced(): boolean {
    return this.watches.every((w) => w.synced());
  }

  /** Resolves with performance.now() of the event showing `hash` on that member object (at once when already seen). */
  expect(cluster: string, namespace: string, name: string, hash: string): Promise<number> {
    const key = `${cluster}|${namespace}/${name}`;
    if (this.seen.get(key) === hash) return Promise.resolve(performance.now());
    return new Promise((resolve) => {
      const ws = this.waiting.get(key) ?? [];
      ws.push({ hash, resolve });
      this.waiting.set(key, ws);
    });
  }

  pending(): number {
    let n = 0;
    for (const ws of this.waiting.values()) n += ws.length;
    return n;
  }

  close(): void {
    for (const w of this.watches) w.stop();
    for (const a of this.appliers) a.close();
  }
}

/** What a raw client does to one member: `objects` server-side applies with at most 8 in flight and 50 started per second (federation-sync's defaults). */
export interface RawClient {
  applyAll(objects: Json[]): Promise<void>;
  close(): void;
}

/** Plain HTTPS SSA PATCH (fieldManager flotilla-federation, force), through libs/kube's MemberClient and RequestGate. */
export function rawSsa(m: Member, concurrency: number, qps: number): RawClient {
  const client = new MemberClient(parseKubeconfig(m.kubeconfig), 10_000, { policy });
  const gate = new RequestGate({ concurrency, qps, maxQueued: 1_000_000 });
  return {
    async applyAll(objects) {
      await Promise.all(
        objects.map(async (o) => {
          const meta = o.metadata as Json;
          const path = o.kind === 'Namespace' ? `/api/v1/namespaces/${meta.name}` : `/api/v1/namespaces/${meta.namespace}/configmaps/${meta.name}`;
          const res = await gate.run(() => client.request('PATCH', `${path}?${APPLY_QUERY}`, o, { 'Content-Type': 'application/apply-patch+yaml' }));
          if (res.status !== 200 && res.status !== 201) throw new Error(`raw apply of ${path} in ${m.name}: HTTP ${res.status}`);
        }),
      );
    },
    close: () => {
      gate.close();
      client.close();
    },
  };
}

/** libs/kube MemberApplier.apply (reads first, then SSA), as federation-sync's applier pool builds it. */
export function rawApplier(m: Member, concurrency: number, qps: number): RawClient {
  const a = new MemberApplier(m.name, parseKubeconfig(m.kubeconfig), { policy, concurrency, qps });
  return {
    async applyAll(objects) {
      await pool(objects, objects.length, async (o) => {
        const r = await a.apply(o, { adopt: false });
        if (r.result !== 'applied') throw new Error(`MemberApplier apply in ${m.name}: ${r.reason}: ${r.message}`);
      });
    },
    close: () => a.close(),
  };
}

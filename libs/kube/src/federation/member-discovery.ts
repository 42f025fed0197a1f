import type { MemberResponse } from '../member/member-client';

export interface ServedKind {
  plural: string;
  namespaced: boolean;
}

interface GroupVersionEntry {
  at: number;
  kinds: Map<string, ServedKind>;
}

const API_VERSION = /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;

/** True when `apiVersion` has the shape of one (`v1`, `apps/v1`, `example.com/v1beta2`). */
export function validApiVersion(apiVersion: string): boolean {
  return apiVersion.length <= 320 && API_VERSION.test(apiVersion);
}

/** The discovery path of a group version: /api/v1 for the core group, /apis/<group>/<version> otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * Which kinds a member serves, from its group-version discovery documents: cached per group
 * version, and read again on a miss at most every `refreshMs` (a CRD being established answers
 * after at most that long, and a burst of applies of an unserved kind costs one read).
 */
export class MemberDiscovery {
  private readonly cache = new Map<string, GroupVersionEntry>();
  private readonly reading = new Map<string, Promise<GroupVersionEntry>>();

  constructor(
    private readonly get: (path: string) => Promise<MemberResponse>,
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined when the member does not serve the kind; throws when the member cannot say. */
  async resolve(apiVersion: string, kind: string): Promise<ServedKind | undefined> {
    if (!validApiVersion(apiVersion)) return undefined;
    let entry = this.cache.get(apiVersion);
    const hit = entry?.kinds.get(kind);
    if (hit) return hit;
    if (!entry || this.now() - entry.at >= this.refreshMs) entry = await this.read(apiVersion);
    return entry.kinds.get(kind);
  }

  /** Forgets a group version (its resource vanished: a CRD was deleted). */
  forget(apiVersion: string): void {
    this.cache.delete(apiVersion);
  }

  private read(apiVersion: string): Promise<GroupVersionEntry> {
    const running = this.reading.get(apiVersion);
    if (running) return running;
    const p = this.get(groupVersionPath(apiVersion))
      .then((res) => {
        const kinds = new Map<string, ServedKind>();
        if (res.status === 200) {
          const resources = Array.isArray(res.body.resources) ? (res.body.resources as Record<string, unknown>[]) : [];
          for (const r of resources) {
            if (typeof r?.name !== 'string' || typeof r.kind !== 'string' || r.name.includes('/')) continue;
            kinds.set(r.kind, { plural: r.name, namespaced: r.namespaced === true });
          }
        } else if (res.status !== 404) {
          throw Object.assign(new Error(`discovery of ${apiVersion} answered ${res.status}`), { status: res.status, body: res.body });
        }
        const entry = { at: this.now(), kinds };
        this.cache.set(apiVersion, entry);
        return entry;
      })
      .finally(() => this.reading.delete(apiVersion));
    this.reading.set(apiVersion, p);
    return p;
  }
}

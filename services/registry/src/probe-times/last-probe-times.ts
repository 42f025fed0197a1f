import { Injectable } from '@nestjs/common';
import type { Cluster } from '@flotilla/domain';
import { ProbeTimesRepository } from './probe-times.repository';

/**
 * What the clusters feature sees of probe times: served as status.lastProbeTime, never stored
 * with the status. Best effort both ways: a probe-time store that cannot be reached neither
 * hides clusters nor fails their writes.
 */
@Injectable()
export class LastProbeTimes {
  constructor(private readonly repo: ProbeTimesRepository) {}

  /** Adds status.lastProbeTime to each cluster that has one; without the store, returns the clusters as they are. */
  async attach(clusters: Cluster[]): Promise<Cluster[]> {
    const times = await this.repo.read(clusters.map((c) => c.metadata.name)).catch(() => new Map<string, string>());
    if (times.size === 0) return clusters;
    return clusters.map((c) => {
      const t = times.get(c.metadata.name);
      return t ? { ...c, status: { ...c.status, lastProbeTime: t } } : c;
    });
  }

  /** Forgets a name's probe time (a removed cluster's, or one left for an earlier cluster of the same name). */
  async forget(name: string): Promise<void> {
    await this.repo.forget(name).catch(() => undefined);
  }
}

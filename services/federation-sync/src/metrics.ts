import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface SyncMetrics {
  /** A federated write (as first seen in the change log) applied to one member. */
  propagated(seconds: number): void;
  applied(cluster: string, result: string): void;
  driftRepaired(cluster: string): void;
}

/** The metrics of ADR 0035 (names fixed by the federation spec). */
export function syncMetrics(registry: Registry, queueDepths: () => Map<string, number>, objectsQueued: () => number): SyncMetrics {
  const registers = [registry];
  const latency = new Histogram({
    name: 'flotilla_federation_propagation_seconds',
    help: 'From a federated write (first seen in the change log) to applied on one member',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const applies = new Counter({ name: 'flotilla_federation_apply_total', help: 'Member applies by cluster and result (applied, unchanged or the failure reason)', labelNames: ['cluster', 'result'], registers });
  const repairs = new Counter({ name: 'flotilla_federation_drift_repairs_total', help: 'Member objects changed or deleted outside Flotilla and re-applied', labelNames: ['cluster'], registers });
  new Gauge({
    name: 'flotilla_federation_member_queue_depth',
    help: 'Member requests queued or in flight, per cluster (this replica)',
    labelNames: ['cluster'],
    registers,
    collect() {
      this.reset();
      for (const [cluster, n] of queueDepths()) this.set({ cluster }, n);
    },
  });
  new Gauge({
    name: 'flotilla_federation_objects_queued',
    help: 'Federated objects waiting for or in reconciliation (this replica)',
    registers,
    collect() {
      this.set(objectsQueued());
    },
  });
  return {
    propagated: (s) => latency.observe(s),
    applied: (cluster, result) => applies.inc({ cluster, result }),
    driftRepaired: (cluster) => repairs.inc({ cluster }),
  };
}

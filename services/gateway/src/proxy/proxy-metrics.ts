import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The proxy's metrics, per cluster, in the service's registry (served at /metrics). Cluster names
 * are bounded by the fleet; the path is never a label (unbounded).
 */
export class ProxyMetrics {
  readonly requests: Counter<'cluster' | 'code'>;
  readonly duration: Histogram<'cluster'>;
  readonly openWatches: Gauge<'cluster'>;
  readonly openUpgrades: Gauge<'cluster'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'flotilla_proxy_requests_total',
      help: 'Requests and upgrades through the API proxy, by cluster and the HTTP code answered (101 for an upgrade)',
      labelNames: ['cluster', 'code'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'flotilla_proxy_request_duration_seconds',
      help: 'Time to the response headers of proxied requests (watches and upgrades included: to their first answer)',
      labelNames: ['cluster'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.openWatches = new Gauge({ name: 'flotilla_proxy_open_watches', help: 'Open watch and follow (logs -f) streams through the proxy', labelNames: ['cluster'], registers: [registry] });
    this.openUpgrades = new Gauge({ name: 'flotilla_proxy_open_upgrades', help: 'Open exec, attach and port-forward sessions through the proxy', labelNames: ['cluster'], registers: [registry] });
  }

  // The labelled children, kept: prom-client would hash the label set again on every request.
  private readonly counted = new Map<string, { inc(): void }>();
  private readonly timed = new Map<string, { observe(v: number): void }>();

  /** Counts an answered request: the code, and the time to it. */
  answered(cluster: string, code: number, startedNs: bigint): void {
    const key = `${cluster} ${code}`;
    let counter = this.counted.get(key);
    if (!counter) this.counted.set(key, (counter = this.requests.labels(cluster, String(code))));
    counter.inc();
    let histogram = this.timed.get(cluster);
    if (!histogram) this.timed.set(cluster, (histogram = this.duration.labels(cluster)));
    histogram.observe(Number(process.hrtime.bigint() - startedNs) / 1e9);
  }
}

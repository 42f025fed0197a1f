import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per service process, with process metrics and request metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Histogram<'method' | 'route' | 'code'>;
  readonly grpcRequests: Histogram<'method' | 'code'>;
  readonly jobs: Counter<'queue' | 'job' | 'outcome'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry, prefix: 'flotilla_' });
    this.httpRequests = new Histogram({
      name: 'flotilla_http_request_duration_seconds',
      help: 'HTTP requests by method, route and status code',
      labelNames: ['method', 'route', 'code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.grpcRequests = new Histogram({
      name: 'flotilla_grpc_request_duration_seconds',
      help: 'gRPC requests handled, by method and status code',
      labelNames: ['method', 'code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.jobs = new Counter({
      name: 'flotilla_jobs_total',
      help: 'Queue jobs taken, by queue, job name and outcome (completed, failed, invalid)',
      labelNames: ['queue', 'job', 'outcome'],
      registers: [this.registry],
    });
  }
}

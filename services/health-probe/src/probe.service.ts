import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Cluster, clusterEventFromTransition } from '@flotilla/domain';
import { HandshakeGate, MemberAddressPolicy, memberPolicyFromConfig, memberProber } from '@flotilla/kube';
import { CONFIG, ConcurrencyLimit, REDIS, RUNTIME, ReplicaMembership, ServiceRuntime } from '@flotilla/service-kit';
import type { HealthProbeConfig } from './config';
import { FleetWatcher } from './fleet';
import { ProbeScheduler, Prober } from './scheduler';
import { HealthEventStream, toHealthEvent } from './events';
import { RegistryEventBuffer } from './registry-events';
import { EventHandoff } from './event-handoff';
import { REGISTRY_PORT, RegistryPort } from './registry-port';
import { CredentialLoader } from './credential-loader';
import { StatusWriter } from './status-writer';
import { LoopStallMeter } from './loop-stall';
import { ProbeWorkerPool } from './probe-workers/probe-worker-pool';

/**
 * Wires the parts: the fleet from the registry, ownership from Redis membership, the probe
 * scheduler, status writes through the registry, events, last-probe times and metrics.
 */
@Injectable()
export class ProbeService implements OnApplicationBootstrap {
  readonly membership: ReplicaMembership;
  readonly scheduler: ProbeScheduler;
  private readonly fleet: FleetWatcher;
  private readonly known = new Map<string, Cluster>();
  private readonly lastSeen = new Map<string, string>();
  private readonly events: HealthEventStream;
  private readonly registryEvents: RegistryEventBuffer;
  private readonly handoff: EventHandoff;
  private readonly handoffMetrics: { handedOff: Counter; unrecorded: Counter<string>; streamDropped: Counter };
  private flushTimer?: NodeJS.Timeout;
  private handoffTimer?: NodeJS.Timeout;
  private flushChain: Promise<void> = Promise.resolve();
  private readonly registryCalls: ConcurrencyLimit;
  private readonly memberPolicy: MemberAddressPolicy;
  private startTimer?: NodeJS.Timeout;
  private readonly credentials: CredentialLoader;
  private readonly statuses: StatusWriter;
  private readonly handshakes: HandshakeGate;
  private readonly loopStall = new LoopStallMeter();
  /** Set when PROBE_WORKERS > 0: the probers live in worker processes (ADR 0040). */
  private readonly workers?: ProbeWorkerPool;
  private stopping = false;

  constructor(
    @Inject(CONFIG) private readonly config: HealthProbeConfig,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REGISTRY_PORT) private readonly registry: RegistryPort,
  ) {
    this.registryCalls = new ConcurrencyLimit(config.PROBE_REGISTRY_CONCURRENCY);
    this.memberPolicy = memberPolicyFromConfig(config);
    this.handshakes = new HandshakeGate(config.PROBE_HANDSHAKE_CONCURRENCY);
    const registers = [runtime.metrics.registry];
    const workerExits = new Counter({ name: 'flotilla_probe_worker_exits_total', help: 'Probe worker processes that exited while the replica ran (each is started again; its probes in flight were inconclusive)', registers });
    if (config.PROBE_WORKERS > 0) {
      this.workers = new ProbeWorkerPool({
        workers: config.PROBE_WORKERS,
        init: {
          timeoutMs: config.PROBE_TIMEOUT_MS,
          inventoryIntervalMs: config.PROBE_INVENTORY_INTERVAL_MS,
          allowProxyUrl: config.FLOTILLA_ALLOW_PROXY_URL,
          handshakeConcurrency: config.PROBE_HANDSHAKE_CONCURRENCY,
          policy: { allowList: [...config.FLOTILLA_SERVER_ALLOW_LIST], allowLoopback: config.FLOTILLA_ALLOW_LOOPBACK_MEMBERS, allowPlainHttp: config.FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS },
        },
        onExit: (index, detail) => {
          workerExits.inc();
          runtime.logger.error({ worker: index, err: detail }, 'a probe worker exited; starting it again (its probes in flight are probed again next cycle)');
        },
      });
    }
    // Credentials are read in batches (one registry call for hundreds of clusters), ahead of the
    // first probes of every cluster this replica takes: the cold start's largest cost (docs/health.md).
    // They go ahead of the status writes in the registry-call queue: behind it (10,000 first probes
    // each write one at a cold start) a batch waited minutes, and the clusters it carried went unprobed.
    this.credentials = new CredentialLoader(
      { batch: (names) => registry.credentialsBatch(names) },
      { maxBatch: CREDENTIALS_BATCH, maxInFlight: CREDENTIALS_BATCHES_IN_FLIGHT, windowMs: 20, keepMs: 60_000, limit: (fn) => this.registryCalls.run(fn, { first: true }) },
    );
    // Status writes go hundreds to a registry call and transaction (UpdateClusterStatuses).
    this.statuses = new StatusWriter({ writeMany: (writes) => registry.writeStatuses(writes) }, { maxBatch: STATUS_BATCH, windowMs: 20, limit: (fn) => this.registryCalls.run(fn) });
    const probes = new Counter({ name: 'flotilla_probe_total', help: 'Cluster probes by result', labelNames: ['result'], registers });
    const failures = new Counter({ name: 'flotilla_probe_failures_total', help: 'Failed cluster probes by result', labelNames: ['result'], registers });
    const duration = new Histogram({
      name: 'flotilla_probe_duration_seconds',
      help: 'Duration of one cluster probe (all its requests)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const lag = new Histogram({
      name: 'flotilla_probe_lag_seconds',
      help: 'How late probes start against their schedule (time waiting for a concurrency slot)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const inconclusive = new Counter({
      name: 'flotilla_probe_inconclusive_total',
      help: 'Probes that timed out while this replica\'s own event loop stalled for half the timeout or more: not counted against the member (ADR 0039); the cluster is probed again next cycle',
      registers,
    });
    const transitions = new Counter({ name: 'flotilla_cluster_transitions_total', help: 'Ready transitions written', labelNames: ['to', 'reason'], registers });
    const prefix = config.FLOTILLA_QUEUE_PREFIX;
    this.membership = new ReplicaMembership(redis, {
      keyPrefix: prefix,
      ttlMs: config.PROBE_LEASE_TTL_MS,
      heartbeatMs: config.PROBE_LEASE_HEARTBEAT_MS,
      graceMs: config.PROBE_REDIS_GRACE_MS,
      replicaId: config.PROBE_REPLICA_ID,
    });
    const log = runtime.logger;
    const dropped = new Counter({
      name: 'flotilla_health_events_dropped_total',
      help: 'Health events dropped from the stream buffer while Redis was unreachable, or still in it when the replica stopped (they stay in the registry)',
      registers,
    });
    let lastStreamWarning = 0;
    this.events = new HealthEventStream(redis, {
      prefix,
      maxLen: config.PROBE_EVENT_STREAM_MAXLEN,
      capacity: config.PROBE_EVENT_BUFFER_MAX,
      onDropped: (n) => dropped.inc(n),
      onError: (error) => {
        // One line per 30 s at most: an outage must not flood the log.
        if (Date.now() - lastStreamWarning < 30_000) return;
        lastStreamWarning = Date.now();
        log.warn({ err: safeMessage(error), pending: this.events.pending }, 'publishing health events to Redis failed; kept and retried');
      },
    });
    let lastRegistryWarning = 0;
    const unrecorded = new Counter({
      name: 'flotilla_cluster_events_unrecorded_total',
      help: 'Ready transitions never stored in the registry: the retry buffer was full, the registry refused the event, or the replica stopped with neither the registry nor Redis answering (shutdown)',
      labelNames: ['why'],
      registers,
    });
    const handedOff = new Counter({ name: 'flotilla_cluster_events_handed_off_total', help: 'Ready transitions the registry had not stored when this replica stopped, handed through Redis to the next replica (ADR 0037)', registers });
    const drained = new Counter({ name: 'flotilla_cluster_events_drained_total', help: 'Ready transitions handed off by stopped replicas that this replica took from Redis and stored in the registry', registers });
    const recovered = new Counter({ name: 'flotilla_cluster_events_recovered_total', help: 'Handoff entries a dead replica had taken and not stored, put back on the handoff list by this replica', registers });
    this.handoffMetrics = { handedOff, unrecorded, streamDropped: dropped };
    this.registryEvents = new RegistryEventBuffer({
      send: (event) => this.registryCalls.run(() => this.registry.recordEvent(event)),
      capacity: config.PROBE_EVENT_BUFFER_MAX,
      onDropped: (n, why, handoffs) => {
        // A handed-off event this replica cannot keep goes back to the handoff for another drain;
        // one the registry refused is removed from it (it would be refused again).
        for (const raw of handoffs) void (why === 'full' ? this.handoff.release(raw) : this.handoff.ack(raw));
        const count = why === 'full' ? n - handoffs.length : n;
        if (count > 0) unrecorded.inc({ why }, count);
      },
      onStored: (raw) => {
        drained.inc();
        void this.handoff.ack(raw);
      },
      // Event-driven: the registry answers again, or the retries emptied the buffer with entries left to take.
      onRecovered: () => void this.handoff.drain(),
      onIdle: () => {
        if (this.handoff.backlog > 0) void this.handoff.drain();
      },
      onError: (error) => {
        if (Date.now() - lastRegistryWarning < 30_000) return;
        lastRegistryWarning = Date.now();
        log.warn({ err: safeMessage(error), pending: this.registryEvents.pending }, 'recording cluster events in the registry failed; kept and retried');
      },
    });
    let lastHandoffWarning = 0;
    this.handoff = new EventHandoff(redis, {
      prefix,
      replicaId: this.membership.id,
      ttlMs: config.PROBE_LEASE_TTL_MS,
      target: this.registryEvents,
      onRecovered: (n) => {
        recovered.inc(n);
        log.warn({ entries: n }, 'took back Ready transitions a stopped or crashed replica held from the handoff; recording them');
      },
      onInvalid: (n) => {
        unrecorded.inc({ why: 'refused' }, n);
        log.warn({ entries: n }, 'removed handoff entries that are not cluster events');
      },
      onError: (error) => {
        if (Date.now() - lastHandoffWarning < 30_000) return;
        lastHandoffWarning = Date.now();
        log.warn({ err: safeMessage(error) }, 'the Redis handoff of Ready transitions failed; tried again later');
      },
    });
    this.scheduler = new ProbeScheduler(
      {
        intervalMs: config.PROBE_INTERVAL_MS,
        timeoutMs: config.PROBE_TIMEOUT_MS,
        failureThreshold: config.PROBE_FAILURE_THRESHOLD,
        successThreshold: config.PROBE_SUCCESS_THRESHOLD,
        concurrency: config.PROBE_CONCURRENCY,
        suspectConcurrency: config.PROBE_SUSPECT_CONCURRENCY,
        slowAfterMs: config.PROBE_SLOW_AFTER_MS,
        retryBackoffMs: config.PROBE_RETRY_BACKOFF_MS,
      },
      {
        createProber: (c) => this.createProber(c),
        writeStatus: (name, status) => this.statuses.write(name, status),
        recordTransition: async (c, t, at) => {
          transitions.inc({ to: t.to, reason: t.reason });
          log.info({ cluster: c.metadata.name, from: t.from, to: t.to, reason: t.reason }, 'cluster Ready transition');
          // Postgres (through the registry) gets the transition whether or not Redis answers; the
          // stream publish only appends to a bounded buffer, outside the registry-call limiter.
          const event = clusterEventFromTransition({ name: c.metadata.name, uid: c.metadata.uid ?? '' }, t, at);
          try {
            await this.registryEvents.record(event);
          } finally {
            this.events.push(toHealthEvent(c, t, at, event.name));
          }
        },
        owns: (name) => this.membership.owns(name),
        prefetch: (name) => this.credentials.prefetch([name]),
        forget: (name) => this.credentials.forget(name),
        probed: (name, at) => void this.lastSeen.set(name, at.toISOString()),
        observe: (result, seconds) => {
          probes.inc({ result });
          if (result !== 'success') failures.inc({ result });
          duration.observe(seconds);
        },
        observeLag: (seconds) => lag.observe(seconds),
        stalledSince: (since) => this.loopStall.stalledSince(since),
        inconclusive: () => inconclusive.inc(),
        onError: (name, stage, error) => {
          // The writes dropped at shutdown (StatusWriter.stop) are not worth a line per cluster.
          if (!(this.stopping && stage === 'write')) log.warn({ cluster: name, stage, err: safeMessage(error) }, 'probe step failed');
        },
      },
    );
    const scheduler = this.scheduler;
    new Gauge({
      name: 'flotilla_clusters',
      help: 'Clusters this replica probes, by state',
      labelNames: ['state'],
      registers,
      collect() {
        for (const [state, n] of Object.entries(scheduler.counts())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'flotilla_probe_queue',
      help: 'Probes due and waiting for a slot (queued) and running (in_flight), per lane (main: answering clusters; suspect: failing or slow ones)',
      labelNames: ['lane', 'state'],
      registers,
      collect() {
        for (const [lane, { queued, inFlight }] of Object.entries(scheduler.load())) {
          this.set({ lane, state: 'queued' }, queued);
          this.set({ lane, state: 'in_flight' }, inFlight);
        }
      },
    });
    new Gauge({
      name: 'flotilla_probe_unprobed_clusters',
      help: 'Clusters this replica owns and has not probed yet since it took them: non-zero during a cold start or a takeover, and for no longer than about 20 s',
      registers,
      collect() {
        this.set(scheduler.unprobed());
      },
    });
    const events = this.events;
    new Gauge({
      name: 'flotilla_health_events_pending',
      help: 'Health events waiting to be published on the Redis stream (grows while Redis is unreachable)',
      registers,
      collect() {
        this.set(events.pending);
      },
    });
    const registryEvents = this.registryEvents;
    new Gauge({
      name: 'flotilla_cluster_events_pending',
      help: 'Ready transitions waiting to be stored through the registry (grows while the registry or Postgres is down)',
      registers,
      collect() {
        this.set(registryEvents.pending);
      },
    });
    const membership = this.membership;
    new Gauge({
      name: 'flotilla_probe_membership_state',
      help: 'Membership of this replica: 0 heartbeating, 1 degraded (Redis unreachable; probing its last share), 2 fenced (grace over; probing nothing)',
      registers,
      collect() {
        this.set(membership.fenced() ? 2 : membership.degraded() ? 1 : 0);
      },
    });
    const statuses = this.statuses;
    new Gauge({
      name: 'flotilla_probe_status_writes_pending',
      help: 'Status writes waiting for their batch or sent and not yet answered by the registry (UpdateClusterStatuses)',
      registers,
      collect() {
        this.set(statuses.queued);
      },
    });
    const handshakes = this.handshakes;
    const workers = this.workers;
    new Gauge({
      name: 'flotilla_probe_handshakes',
      help: 'TLS handshakes with members in progress (in_progress, at most PROBE_HANDSHAKE_CONCURRENCY) and probes waiting for one (queued); with probe workers, their sum as each last reported it',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = workers ? workers.handshakes() : handshakes;
        this.set({ state: 'in_progress' }, counts.inProgress);
        this.set({ state: 'queued' }, counts.queued);
      },
    });
    const registryCalls = this.registryCalls;
    new Gauge({
      name: 'flotilla_probe_registry_calls_queued',
      help: 'Registry calls (credential batches first, then status writes and events) waiting for one of PROBE_REGISTRY_CONCURRENCY slots',
      registers,
      collect() {
        this.set(registryCalls.queued);
      },
    });
    this.fleet = new FleetWatcher(
      registry,
      {
        upsert: (c) => {
          this.known.set(c.metadata.name, c);
          this.scheduler.upsert(c);
        },
        remove: (name) => {
          this.known.delete(name);
          this.scheduler.remove(name);
        },
        resync: (names) => {
          for (const name of [...this.known.keys()]) if (!names.has(name)) {
            this.known.delete(name);
            this.scheduler.remove(name);
          }
        },
      },
      (error) => log.warn({ err: safeMessage(error) }, 'cluster watch ended; re-listing'),
    );
    this.membership.onChange(() => this.scheduler.rebalance(this.known.values()));
    runtime.shutdown.onDrain('health-probe', () => this.stop());
  }

  async onApplicationBootstrap(): Promise<void> {
    this.loopStall.start();
    // A worker that cannot load fails the start: a replica must not take clusters it cannot probe.
    await this.workers?.start();
    await this.membership.start();
    // Transitions handed off by replicas that stopped while the registry was down (ADR 0037).
    void this.handoff.drain();
    // Besides the drains above and on the registry's recovery: a replica scaled down in an outage
    // that the others did not feel (nothing of theirs to record) is taken within this interval.
    this.handoffTimer = setInterval(() => {
      if (!this.registryEvents.unavailable) void this.handoff.drain();
    }, this.config.PROBE_HANDOFF_CHECK_MS);
    this.handoffTimer.unref();
    // Wait one heartbeat so that the other replicas have seen this one before it takes clusters.
    this.startTimer = setTimeout(() => {
      this.scheduler.start();
      void this.fleet.start();
    }, this.config.PROBE_LEASE_HEARTBEAT_MS);
    this.flushTimer = setInterval(() => void this.flushLastSeen(), this.config.PROBE_LAST_SEEN_FLUSH_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.handoffTimer) clearInterval(this.handoffTimer);
    this.fleet.stop();
    this.credentials.stop();
    this.statuses.stop();
    await this.membership.stop();
    await this.scheduler.stop();
    await this.workers?.stop();
    // No transition comes after the scheduler: the stream's last entries and the registry's last
    // attempt (then the Redis handoff of what it did not store) run side by side.
    const [unpublished] = await Promise.all([this.events.close(this.config.PROBE_SHUTDOWN_REDIS_MS), this.handOffUnrecorded()]);
    if (unpublished > 0) {
      this.handoffMetrics.streamDropped.inc(unpublished);
      this.runtime.logger.warn({ unpublished }, 'Redis did not answer at shutdown: health events not published on the stream (in the registry\'s event list if it stored them)');
    }
    await this.flushLastSeen();
    this.loopStall.stop();
  }

  /**
   * The last bounded attempt to store the buffered transitions in the registry; what is left goes
   * to the Redis handoff for the next replica (ADR 0037). With Redis down too, within
   * PROBE_SHUTDOWN_REDIS_MS, the rest is lost: counted and logged (cluster and reason only).
   */
  private async handOffUnrecorded(): Promise<void> {
    const log = this.runtime.logger;
    await this.registryEvents.flush(this.config.PROBE_SHUTDOWN_REGISTRY_MS);
    const { own } = this.registryEvents.takeRemaining();
    const { handedOff, lost } = await this.handoff.handOff(own, this.config.PROBE_SHUTDOWN_REDIS_MS);
    if (handedOff > 0) {
      this.handoffMetrics.handedOff.inc(handedOff);
      log.warn({ handedOff }, 'the registry did not store every Ready transition before shutdown: the rest were handed off through Redis to the next replica');
    }
    if (lost > 0) {
      this.handoffMetrics.unrecorded.inc({ why: 'shutdown' }, lost);
      const transitions = own.slice(0, 20).map((e) => ({ cluster: e.clusterName, reason: e.reason }));
      log.error({ lost, transitions }, 'neither the registry nor Redis answered at shutdown: Ready transitions lost (not in the registry\'s event list)');
    }
  }

  /**
   * Last probe times go to the registry in batches (ADR 0021), which serves them as
   * status.lastProbeTime without storing or versioning them. A failed batch is kept for the next
   * flush (a newer time of the same cluster replaces it).
   */
  private flushLastSeen(): Promise<void> {
    // One flush at a time, in order; the last one at shutdown waits for any before it.
    this.flushChain = this.flushChain.then(() => this.flushOnce());
    return this.flushChain;
  }

  private async flushOnce(): Promise<void> {
    if (this.lastSeen.size === 0) return;
    const batch = new Map(this.lastSeen);
    this.lastSeen.clear();
    try {
      for (let i = 0, entries = [...batch.entries()]; i < entries.length; i += PROBE_TIMES_BATCH) {
        await this.registry.recordProbeTimes(entries.slice(i, i + PROBE_TIMES_BATCH).map(([name, time]) => ({ name, time })));
      }
    } catch (error) {
      for (const [name, time] of batch) if (!this.lastSeen.has(name)) this.lastSeen.set(name, time);
      this.runtime.logger.warn({ err: safeMessage(error), pending: this.lastSeen.size }, 'recording probe times failed; retrying with the next flush');
    }
  }

  /** A prober under the member address policy and the TLS choice the cluster was imported with. */
  private async createProber(cluster: Cluster): Promise<Prober> {
    const creds = await this.credentials.load(cluster.metadata.name);
    if (this.workers) return this.workers.createProber(cluster, creds);
    return memberProber(cluster, creds, this.memberPolicy, {
      timeoutMs: this.config.PROBE_TIMEOUT_MS,
      allowProxyUrl: this.config.FLOTILLA_ALLOW_PROXY_URL,
      inventoryIntervalMs: this.config.PROBE_INVENTORY_INTERVAL_MS,
      handshakes: this.handshakes,
    });
  }
}

/** Clusters per credential batch (BatchGetClusterCredentials takes at most 1,000; a fleet page is 500). */
const CREDENTIALS_BATCH = 500;

/** Credential batches sent at once (see CredentialLoaderOptions.maxInFlight). */
const CREDENTIALS_BATCHES_IN_FLIGHT = 3;

/** Status writes per UpdateClusterStatuses call (the registry takes at most 500). */
const STATUS_BATCH = 250;

/** Probe times per RecordProbeTimes call (the registry takes at most 10,000). */
const PROBE_TIMES_BATCH = 5000;

/** Error messages with anything that looks like a credential cut out. */
function safeMessage(error: unknown): string {
  const m = error instanceof Error ? error.message : String(error);
  return m.replace(/(bearer|token|password|key)[^,;]*/gi, '$1 [redacted]').slice(0, 300);
}

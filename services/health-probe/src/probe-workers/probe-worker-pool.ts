import { type ChildProcess, fork } from 'node:child_process';
import { extname, join } from 'node:path';
import { ErrorReason, FlotillaError, type Cluster, type ProbeObservation } from '@flotilla/domain';
import type { StoredCredentials } from '@flotilla/kube';
import { type Prober, replicaFault } from '../probe-cycle';
import type { FromWorker, ProberTarget, ProbeWorkerInit, ToWorker, WorkerError } from './worker-protocol';

export interface ProbeWorkerPoolOptions {
  /** Worker processes (PROBE_WORKERS, at least 1). */
  workers: number;
  /** `handshakeConcurrency` is the replica's whole bound; each worker gets its share. */
  init: ProbeWorkerInit;
  /** A worker exited while the pool was running; it is started again (after a backoff when it keeps dying). */
  onExit?(index: number, detail: string): void;
  /** How long start() waits for every worker to load (default 60 s). */
  startTimeoutMs?: number;
  /** The worker's entry (default probe-worker beside this file, .ts or .js as this file is). */
  script?: string;
}

interface Slot {
  readonly index: number;
  worker?: ChildProcess;
  ready: boolean;
  readonly probers: Set<WorkerProber>;
  opening: number;
  handshakesInProgress: number;
  handshakesQueued: number;
  startedAt: number;
  quickExits: number;
  restartTimer?: NodeJS.Timeout;
  /** Why the worker last exited (its exit code or signal and the last line it printed). */
  lastExit?: string;
}

interface PendingOpen {
  slot: Slot;
  prober: WorkerProber;
  resolve(): void;
  reject(error: Error): void;
}

interface PendingProbe {
  slot: Slot;
  prober: WorkerProber;
  resolve(o: ProbeObservation): void;
}

/** A worker that lived less than this before it exited counts as a quick exit (its restart backs off). */
const QUICK_EXIT_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** How long a worker may take to exit on SIGTERM at stop before it is killed. */
const STOP_GRACE_MS = 5_000;
/** The last characters a worker printed that are kept (for the log line of its exit). */
const OUTPUT_TAIL_CHARS = 2048;
/** The environment variables a worker process gets (none of the replica's secrets). */
const WORKER_ENV = /^(PATH|HOME|TMPDIR|TZ|LANG|LC_[A-Z]+|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|OPENSSL_CONF|SWC_NODE_PROJECT)$/;

/**
 * Probing spread over worker processes (ADR 0040). A replica's cold start or takeover is bounded by
 * CPU (TLS contexts and handshakes, a few milliseconds a cluster): on one event loop, 10,000 new
 * clusters take about 50 s of one core whatever the machine. Each worker holds the probers of the
 * clusters given to it (the least loaded worker takes a new one) and runs their probes; the main
 * process keeps scheduling, hysteresis, status writes, events and membership. Processes, not
 * threads: OpenSSL 3's shared locks made two threads building TLS contexts burn 60 % more CPU than
 * two processes (ADR 0040).
 *
 * A worker that exits is started again. Its probes in flight answer REPLICA_FAULT (inconclusive: not
 * counted against the member), and each of its probers is opened again on a running worker at its
 * next probe, from the credentials it was opened with.
 */
export class ProbeWorkerPool {
  private readonly slots: Slot[];
  private readonly opens = new Map<number, PendingOpen>();
  private readonly probes = new Map<number, PendingProbe>();
  private nextId = 1;
  private nextSeq = 1;
  private stopping = false;
  /** start() succeeded: from then on a worker that exits (even before it is ready again) is started again. */
  private running = false;
  private readonly script: string;

  constructor(private readonly options: ProbeWorkerPoolOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) throw new Error('a probe worker pool needs at least one worker');
    this.script = options.script ?? join(__dirname, `probe-worker${extname(__filename)}`);
    this.slots = Array.from({ length: options.workers }, (_, index) => ({ index, ready: false, probers: new Set(), opening: 0, handshakesInProgress: 0, handshakesQueued: 0, startedAt: 0, quickExits: 0 }));
  }

  /** Starts every worker and waits until each has loaded; throws (naming the cause) when one cannot. */
  async start(): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve, reject) => {
            const worker = this.spawn(slot);
            const timer = setTimeout(() => reject(new Error(`probe worker ${slot.index} did not start within ${timeoutMs} ms`)), timeoutMs);
            const onReady = (m: FromWorker) => {
              if (m.op !== 'ready') return;
              clearTimeout(timer);
              worker.off('message', onReady);
              resolve();
            };
            worker.on('message', onReady);
            worker.once('error', (e) => (clearTimeout(timer), reject(new Error(`probe worker ${slot.index} failed to start: ${e.message}`))));
            worker.once('close', () => (clearTimeout(timer), reject(new Error(`probe worker ${slot.index} exited while starting (${slot.lastExit ?? 'no reason given'})`))));
          }),
      ),
    );
    this.running = true;
  }

  /** Stops every worker (SIGTERM, then SIGKILL after 5 s); probes still in flight answer REPLICA_FAULT. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        const worker = slot.worker;
        if (!worker || worker.exitCode !== null || worker.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        worker.kill('SIGTERM');
        const timer = setTimeout(() => worker.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /**
   * A prober for the cluster, opened on the least loaded worker: it throws as memberProber would
   * (an Invalid FlotillaError naming the field), or ServiceUnavailable when no worker runs.
   */
  async createProber(cluster: Cluster, credentials: StoredCredentials): Promise<Prober> {
    const target: ProberTarget = {
      metadata: { name: cluster.metadata.name, ...(cluster.metadata.annotations ? { annotations: { ...cluster.metadata.annotations } } : {}) },
      spec: { connection: { ...cluster.spec.connection } },
    };
    const prober = new WorkerProber(this, this.nextId++, target, credentials);
    const slot = this.leastLoaded();
    if (!slot) throw new FlotillaError(ErrorReason.ServiceUnavailable, 'no probe worker is running; probed again next cycle');
    await this.open(prober, slot);
    return prober;
  }

  /** Handshakes in progress and probes waiting for one, over every worker (as of their last report, within a second). */
  handshakes(): { inProgress: number; queued: number } {
    let inProgress = 0;
    let queued = 0;
    for (const s of this.slots) {
      if (!s.ready) continue;
      inProgress += s.handshakesInProgress;
      queued += s.handshakesQueued;
    }
    return { inProgress, queued };
  }

  /** Open probers per worker (a worker not running counts none). */
  load(): number[] {
    return this.slots.map((s) => (s.ready ? s.probers.size : 0));
  }

  /** The running worker processes, by index (tests stop one to see the pool recover). */
  processes(): (ChildProcess | undefined)[] {
    return this.slots.map((s) => s.worker);
  }

  /** @internal WorkerProber.probe */
  async probe(prober: WorkerProber, expectedUid: string | undefined): Promise<ProbeObservation> {
    if (prober.closed) return { reachable: false, errorCode: 'ECLOSED', durationMs: 0 };
    if (!prober.slot) {
      // Its worker exited: opened again on a running one, from the credentials it was opened with.
      const slot = this.leastLoaded();
      if (!slot) return replicaFault();
      try {
        await this.open(prober, slot);
      } catch {
        return replicaFault();
      }
    }
    // Closed while it was being opened again: nothing was left open in the worker.
    const slot = prober.slot;
    if (prober.closed || !slot) return { reachable: false, errorCode: 'ECLOSED', durationMs: 0 };
    const seq = this.nextSeq++;
    return new Promise<ProbeObservation>((resolve) => {
      this.probes.set(seq, { slot, prober, resolve });
      this.post(slot, { op: 'probe', id: prober.id, seq, ...(expectedUid ? { expectedUid } : {}) });
    });
  }

  /** @internal WorkerProber.close */
  close(prober: WorkerProber): void {
    prober.closed = true;
    const slot = prober.slot;
    if (!slot) return;
    slot.probers.delete(prober);
    prober.slot = undefined;
    this.post(slot, { op: 'close', id: prober.id });
  }

  private open(prober: WorkerProber, slot: Slot): Promise<void> {
    slot.opening++;
    return new Promise<void>((resolve, reject) => {
      this.opens.set(prober.id, { slot, prober, resolve, reject });
      this.post(slot, { op: 'open', id: prober.id, target: prober.target, credentials: prober.credentials });
    });
  }

  private post(slot: Slot, message: ToWorker): void {
    const worker = slot.worker;
    // A worker that is gone answers through exited(): its pending calls are settled there.
    if (worker?.connected) worker.send(message, (error) => void error);
  }

  private leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (!s.ready || !s.worker) continue;
      if (!best || s.probers.size + s.opening < best.probers.size + best.opening) best = s;
    }
    return best;
  }

  private spawn(slot: Slot): ChildProcess {
    const { init, workers } = this.options;
    const handshakeConcurrency = Math.max(1, Math.ceil(init.handshakeConcurrency / workers));
    // Sources run through @swc-node/register (development, tests); the build runs the .js.
    const execArgv = this.script.endsWith('.ts') && !process.execArgv.some((a) => a.includes('@swc-node/register')) ? [...process.execArgv, '-r', '@swc-node/register'] : process.execArgv;
    // Its environment carries none of the replica's secrets (internal token, URLs with passwords):
    // only what Node, TLS and the source loader read.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => WORKER_ENV.test(k)));
    // A worker writes nothing on purpose; what a crash prints is kept (its last line, bounded) for the exit's log line.
    const worker = fork(this.script, [], { execArgv, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    let said = '';
    const keep = (chunk: Buffer) => void (said = (said + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS));
    worker.stdout?.on('data', keep);
    worker.stderr?.on('data', keep);
    worker.on('message', (m: FromWorker) => this.receive(slot, m));
    let detail = '';
    worker.on('error', (e) => (detail = e.message));
    worker.once('close', (code, signal) => {
      const last = lastLine(said);
      this.exited(slot, worker, [detail || (signal ? `killed by ${signal}` : `exit code ${code}`), last].filter(Boolean).join(': '));
    });
    worker.send({ op: 'init', init: { ...init, handshakeConcurrency } } satisfies ToWorker, (error) => void error);
    return worker;
  }

  private receive(slot: Slot, m: FromWorker): void {
    switch (m.op) {
      case 'ready':
        slot.ready = true;
        return;
      case 'opened': {
        const p = this.opens.get(m.id);
        if (!p) return;
        this.opens.delete(m.id);
        slot.opening--;
        if (p.prober.closed) {
          // Closed while it was being opened: nothing may stay open in the worker.
          this.post(slot, { op: 'close', id: m.id });
          return p.resolve();
        }
        p.prober.slot = slot;
        p.prober.clientCertificateNotAfter = m.certNotAfter !== undefined ? new Date(m.certNotAfter) : undefined;
        slot.probers.add(p.prober);
        return p.resolve();
      }
      case 'open-failed': {
        const p = this.opens.get(m.id);
        if (!p) return;
        this.opens.delete(m.id);
        slot.opening--;
        return p.reject(fromWorkerError(m.error));
      }
      case 'result': {
        const p = this.probes.get(m.seq);
        if (!p) return;
        this.probes.delete(m.seq);
        p.prober.stalledMs = m.stalledMs;
        return p.resolve(m.observation);
      }
      case 'stats':
        slot.handshakesInProgress = m.handshakesInProgress;
        slot.handshakesQueued = m.handshakesQueued;
        return;
    }
  }

  private exited(slot: Slot, worker: ChildProcess, detail: string): void {
    slot.lastExit = detail;
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.ready = false;
    slot.handshakesInProgress = 0;
    slot.handshakesQueued = 0;
    for (const [id, p] of this.opens) {
      if (p.slot !== slot) continue;
      this.opens.delete(id);
      p.reject(new FlotillaError(ErrorReason.ServiceUnavailable, 'the probe worker exited; probed again next cycle'));
    }
    slot.opening = 0;
    for (const [seq, p] of this.probes) {
      if (p.slot !== slot) continue;
      this.probes.delete(seq);
      p.prober.stalledMs = 0;
      p.resolve(replicaFault());
    }
    for (const prober of slot.probers) prober.slot = undefined;
    slot.probers.clear();
    if (this.stopping || !this.running) return;
    this.options.onExit?.(slot.index, detail);
    slot.quickExits = Date.now() - slot.startedAt < QUICK_EXIT_MS ? slot.quickExits + 1 : 0;
    const delay = slot.quickExits === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (slot.quickExits - 1));
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopping) this.spawn(slot);
    }, delay);
    slot.restartTimer.unref();
  }
}

/** A prober whose connections live in a worker process; the pool carries its calls. */
class WorkerProber implements Prober {
  slot?: Slot;
  closed = false;
  clientCertificateNotAfter?: Date;
  stalledMs?: number;

  constructor(
    private readonly pool: ProbeWorkerPool,
    readonly id: number,
    readonly target: ProberTarget,
    readonly credentials: StoredCredentials,
  ) {}

  probe(expectedUid?: string): Promise<ProbeObservation> {
    return this.pool.probe(this, expectedUid);
  }

  close(): void {
    this.pool.close(this);
  }
}

/** The last non-empty line, cut to 300 characters (an error's message line after its stack is dropped). */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  // A Node crash prints the stack, then a blank line and "Node.js vX": the error line is the one starting with a name.
  const error = [...lines].reverse().find((l) => /^[A-Za-z]*Error\b|^Error:/.test(l));
  return (error ?? lines[lines.length - 1] ?? '').slice(0, 300);
}

function fromWorkerError(e: WorkerError): Error {
  return e.reason && (Object.values(ErrorReason) as string[]).includes(e.reason) ? new FlotillaError(e.reason as ErrorReason, e.message, e.details ?? {}) : new Error(e.message);
}

import type { ErrorDetails, ProbeObservation } from '@flotilla/domain';
import type { StoredCredentials } from '@flotilla/kube';

/** What a probe worker needs to build probers as the main process would (its first message). */
export interface ProbeWorkerInit {
  timeoutMs: number;
  inventoryIntervalMs: number;
  allowProxyUrl: boolean;
  /** This worker's share of PROBE_HANDSHAKE_CONCURRENCY. */
  handshakeConcurrency: number;
  /** The member address policy's settings (the policy itself holds functions and is rebuilt in the worker). */
  policy: { allowList: string[]; allowLoopback: boolean; allowPlainHttp: boolean };
}

/** The parts of a Cluster a prober is built from (its name, import annotations and connection). */
export interface ProberTarget {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { connection: { type: string; kubeconfig?: string; kubernetesAPIEndpoint?: string } };
}

export type ToWorker =
  | { op: 'init'; init: ProbeWorkerInit }
  | { op: 'open'; id: number; target: ProberTarget; credentials: StoredCredentials }
  | { op: 'probe'; id: number; seq: number; expectedUid?: string }
  | { op: 'close'; id: number };

/** An error that crossed the process boundary: a FlotillaError keeps its reason and details. */
export interface WorkerError {
  message: string;
  reason?: string;
  details?: ErrorDetails;
}

export type FromWorker =
  | { op: 'ready' }
  | { op: 'opened'; id: number; certNotAfter?: number }
  | { op: 'open-failed'; id: number; error: WorkerError }
  /** `stalledMs`: how long the worker process's event loop stalled during the probe (ADR 0039, 0040). */
  | { op: 'result'; seq: number; observation: ProbeObservation; stalledMs: number }
  | { op: 'stats'; handshakesInProgress: number; handshakesQueued: number };

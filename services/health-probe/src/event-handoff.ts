import type { Redis } from 'ioredis';
import type { ClusterEvent } from '@flotilla/domain';

/**
 * The Redis keys of the handoff (ADR 0037), under the platform's prefix:
 * - `list`: events handed off by stopped replicas, oldest first, each the event as JSON;
 * - `processing(id)`: what replica `id` took from the list and the registry has not stored yet;
 * - `drainers`: the replicas that may hold a processing list;
 * - `membership`: health-probe's replica set (ReplicaMembership, group health-probe: ADR 0020), by
 *   which a drainer that died is told from a live one.
 */
export function eventHandoffKeys(prefix: string) {
  const list = `${prefix}:health-probe:event-handoff`;
  return {
    list,
    processingPrefix: `${list}:processing:`,
    processing: (replicaId: string) => `${list}:processing:${replicaId}`,
    drainers: `${list}:drainers`,
    membership: `${prefix}:health-probe:replicas`,
  };
}

/** Where taken events go: the replica's RegistryEventBuffer. */
export interface HandoffTarget {
  /** Events it can keep without dropping any. */
  readonly room: number;
  adopt(event: ClusterEvent, raw: string): void;
}

export interface EventHandoffOptions {
  prefix: string;
  /** This replica's id in the membership set (its processing list is named after it). */
  replicaId: string;
  /** The membership TTL: a drainer not heard from for this long is dead, and its entries go back to the list. */
  ttlMs: number;
  target: HandoffTarget;
  /** Entries a dead drainer held, put back on the list. */
  onRecovered?(n: number): void;
  /** An entry that is not an event (it is removed): nobody can record it. */
  onInvalid?(n: number): void;
  onError?(error: unknown): void;
}

/** Entries taken from the list at a time. */
const BATCH = 500;

/**
 * Takes up to ARGV[3] entries from the list into this replica's processing list, atomically, after
 * putting back on the list (at its head, in order) every entry of a drainer that is not in the
 * membership set any more (it died with them, or was stopped without handing them back), and, on a
 * replica's first take (ARGV[5] = 1), what its own processing list holds from an earlier process
 * with the same id (a fixed PROBE_REPLICA_ID that crashed). Returns { recovered, taken entries,
 * entries left on the list }.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local recovered = 0
for _, d in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if d ~= ARGV[1] then
    local score = redis.call('ZSCORE', KEYS[3], d)
    if (not score) or tonumber(score) < now - tonumber(ARGV[4]) then
      local p = ARGV[2] .. d
      while true do
        local v = redis.call('LMOVE', p, KEYS[1], 'RIGHT', 'LEFT')
        if not v then break end
        recovered = recovered + 1
      end
      redis.call('SREM', KEYS[2], d)
    end
  end
end
local mine = ARGV[2] .. ARGV[1]
if ARGV[5] == '1' then
  while true do
    local v = redis.call('LMOVE', mine, KEYS[1], 'RIGHT', 'LEFT')
    if not v then break end
    recovered = recovered + 1
  end
end
local out = {}
for i = 1, tonumber(ARGV[3]) do
  local v = redis.call('LMOVE', KEYS[1], mine, 'LEFT', 'RIGHT')
  if not v then break end
  out[#out + 1] = v
end
if #out > 0 then redis.call('SADD', KEYS[2], ARGV[1]) end
return { recovered, out, redis.call('LLEN', KEYS[1]) }
`;

/**
 * At shutdown, atomically: this replica's processing list back onto the list (the adopted events
 * the registry has not stored), its own events appended (ARGV[2..]), and itself off the drainers.
 * Returns how many entries were put back.
 */
const HAND_OFF = `
local moved = 0
while true do
  local v = redis.call('LMOVE', KEYS[2], KEYS[1], 'RIGHT', 'LEFT')
  if not v then break end
  moved = moved + 1
end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('SREM', KEYS[3], ARGV[1])
return moved
`;

const FIELDS = ['name', 'clusterName', 'clusterUid', 'reason', 'message', 'conditionType', 'fromStatus', 'toStatus', 'eventTime', 'reportingComponent'] as const;

/** The event of a handoff entry, or undefined when the entry is not one. */
export function parseHandoffEntry(raw: string): ClusterEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!FIELDS.every((f) => typeof v[f] === 'string') || (v.type !== 'Normal' && v.type !== 'Warning') || v.name === '') return undefined;
  const event: Record<string, unknown> = { type: v.type };
  for (const f of FIELDS) event[f] = v[f];
  return event as unknown as ClusterEvent;
}

/** A handoff entry: the event as JSON (names, states, reason and message; never a credential). */
export const handoffEntry = (event: ClusterEvent): string => {
  const out: Record<string, unknown> = { type: event.type };
  for (const f of FIELDS) out[f] = event[f];
  return JSON.stringify(out);
};

/**
 * The durable handoff of Ready transitions the registry has not stored when a replica stops
 * (ADR 0037). The stopping replica moves them to a Redis list in one script (its own events, and
 * those it had taken from the list itself); any replica takes them into its RegistryEventBuffer
 * (drain(): at start, when its registry calls succeed again after failures, when its buffer empties
 * with entries left, and every PROBE_HANDOFF_CHECK_MS), through a processing list of its own, and
 * removes an entry only after the registry stored it (ack). A drainer that dies leaves its
 * processing list; the next drain by a live replica puts those entries back on the list once the
 * dead one has left the membership set. Every step duplicates at worst (the registry stores an
 * event once by its name), never loses.
 */
export class EventHandoff {
  private readonly keys: ReturnType<typeof eventHandoffKeys>;
  private draining?: Promise<void>;
  private again = false;
  private closed = false;
  /** Entries left on the list at the last take (0 until one). */
  private left = 0;
  /** This replica took entries (its processing list may hold some). */
  private took = false;
  /** No take has succeeded yet: the first one reclaims what an earlier process of this id left. */
  private first = true;

  constructor(
    private readonly redis: Redis,
    private readonly options: EventHandoffOptions,
  ) {
    this.keys = eventHandoffKeys(options.prefix);
  }

  /** Entries seen left on the list by the last drain (it stopped for want of room). */
  get backlog(): number {
    return this.left;
  }

  /** Takes handed-off events into the target while it has room (one drain at a time; a call during one runs it again). */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = this.drainLoop().finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async drainLoop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.takeOnce(Math.min(BATCH, this.options.target.room));
      } while (!this.closed && (this.again || (this.left > 0 && this.options.target.room > 0)));
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private async takeOnce(max: number): Promise<void> {
    const k = this.keys;
    const args = [this.options.replicaId, k.processingPrefix, String(max), String(this.options.ttlMs), this.first ? '1' : '0'];
    const [recovered, raws, left] = (await this.redis.eval(TAKE, 3, k.list, k.drainers, k.membership, ...args)) as [number, string[], number];
    this.first = false;
    this.left = Number(left);
    if (raws.length > 0) this.took = true;
    if (recovered > 0) this.options.onRecovered?.(Number(recovered));
    let invalid = 0;
    for (const raw of raws) {
      const event = parseHandoffEntry(raw);
      if (event) {
        this.options.target.adopt(event, raw);
      } else {
        invalid++;
        void this.ack(raw);
      }
    }
    if (invalid > 0) this.options.onInvalid?.(invalid);
  }

  /** The registry stored the taken entry: remove it from this replica's processing list (if that fails, it is recorded again later: the registry dedupes). */
  async ack(raw: string): Promise<void> {
    await this.redis.lrem(this.keys.processing(this.options.replicaId), 1, raw).catch((error: unknown) => this.options.onError?.(error));
  }

  /** A taken entry this replica cannot keep (its buffer is full): back on the list for another drain. */
  async release(raw: string): Promise<void> {
    await this.redis
      .multi()
      .lrem(this.keys.processing(this.options.replicaId), 1, raw)
      .rpush(this.keys.list, raw)
      .exec()
      // Not released: it stays in the processing list, handed back at shutdown or recovered after a crash.
      .catch((error: unknown) => this.options.onError?.(error));
  }

  /**
   * At shutdown: hands `own` (events never stored) and every entry this replica took and the
   * registry has not stored to the list, in one script, retrying for at most `timeoutMs` while
   * Redis does not answer. Returns how many entries went to the list, and how many of `own` are
   * lost (Redis never answered; an attempt that landed after its reply was lost counts as lost too).
   * The taken entries stay in Redis whatever happens (in this replica's processing list).
   */
  async handOff(own: ClusterEvent[], timeoutMs: number): Promise<{ handedOff: number; lost: number }> {
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    // A take under way must end first (or its entries could be taken after the handoff ran).
    if (this.draining) await beforeDeadline(this.draining, deadline).catch(() => undefined);
    // Nothing of its own and nothing taken: nothing to hand off. Only taken entries: one attempt
    // (they stay in Redis either way, in the processing list a live replica recovers).
    if (own.length === 0 && !this.took) return { handedOff: 0, lost: 0 };
    const k = this.keys;
    const args = [this.options.replicaId, ...own.map(handoffEntry)];
    let delay = 100;
    for (;;) {
      try {
        const moved = await beforeDeadline(this.redis.eval(HAND_OFF, 3, k.list, k.processing(this.options.replicaId), k.drainers, ...args), deadline);
        return { handedOff: Number(moved) + own.length, lost: 0 };
      } catch (error) {
        this.options.onError?.(error);
      }
      if (own.length === 0 || Date.now() + delay >= deadline) return { handedOff: 0, lost: own.length };
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 1_000);
    }
  }
}

/** The promise's value, or a rejection once the deadline passes. */
function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Redis did not answer before the shutdown deadline')), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

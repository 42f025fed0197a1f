/**
 * Who connects to a virtual cluster: each TCP peer's address and port, when it connected and,
 * when asked (Linux only), the process that owns the peer's socket. Tests use it to prove which
 * process reaches a member, e.g. that the public gateway never does.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface PeerRecord {
  address: string;
  port: number;
  at: Date;
  /** The process holding the peer's socket: only when recording with processes, on Linux, for local peers. */
  pid?: number;
}

/** Records of one cluster, newest last, at most `MAX_PEERS`. */
export class PeerLog {
  static readonly MAX_PEERS = 10_000;
  readonly records: PeerRecord[] = [];

  constructor(readonly withProcesses: boolean) {}

  add(address: string | undefined, port: number | undefined, serverPort: number): void {
    if (!address || !port) return;
    const record: PeerRecord = { address, port, at: new Date() };
    if (this.withProcesses) {
      const pid = socketOwner(port, serverPort);
      if (pid !== undefined) record.pid = pid;
    }
    this.records.push(record);
    if (this.records.length > PeerLog.MAX_PEERS) this.records.shift();
  }
}

/** The inode of the local socket connected from `localPort` to `remotePort` (from /proc/net/tcp*). */
function socketInode(localPort: number, remotePort: number): string | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1]!.split(':')[1] ?? '', 16);
      const remote = parseInt(f[2]!.split(':')[1] ?? '', 16);
      if (local === localPort && remote === remotePort && f[9] !== '0') return f[9];
    }
  }
  return undefined;
}

/**
 * The pid of the process that holds the client end of a local connection (peer port to the
 * cluster's port), found while the connection is open. Undefined where /proc cannot tell.
 */
export function socketOwner(peerPort: number, serverPort: number): number | undefined {
  const inode = socketInode(peerPort, serverPort);
  if (!inode) return undefined;
  const target = `socket:[${inode}]`;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

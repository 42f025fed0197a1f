import { readFileSync, readdirSync } from 'node:fs';

/**
 * The process ids a process started, and theirs, from /proc (Linux): a replica's probe workers, for
 * the bench's CPU figures and for tests that stop one. Processes that exit meanwhile are skipped.
 */
export function descendantPids(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    let children: string;
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter(Boolean).map(Number)) out.push(child, ...descendantPids(child));
  }
  return out;
}

import type { Logger } from '@flotilla/observability';
import { PruneScheduler } from './prune-scheduler';

describe('PruneScheduler', () => {
  it('runs every task in order; a failing task is logged by name and does not stop the others', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (fields: unknown, msg: string) => void warnings.push([fields, msg]) } as unknown as Logger;
    const scheduler = new PruneScheduler(logger);
    const ran: string[] = [];
    scheduler.register('a', async () => void ran.push('a'));
    scheduler.register('b', async () => {
      ran.push('b');
      throw new Error('database gone');
    });
    scheduler.register('c', async () => void ran.push('c'));
    await scheduler.runAll();
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(warnings).toEqual([[{ task: 'b', err: 'database gone' }, 'pruning failed']]);
  });
});

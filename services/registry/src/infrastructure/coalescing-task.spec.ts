import { CoalescingTask } from './coalescing-task';

/** A pass the test finishes by hand. */
function gatedPasses() {
  const gates: (() => void)[] = [];
  let started = 0;
  const pass = () =>
    new Promise<void>((resolve) => {
      started++;
      gates.push(resolve);
    });
  return { pass, gates, started: () => started };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('CoalescingTask', () => {
  it('runs one pass at a time, and kicks during a pass coalesce into one more pass', async () => {
    const p = gatedPasses();
    const task = new CoalescingTask(p.pass, () => {});
    task.kick();
    task.kick();
    task.kick();
    expect(p.started()).toBe(1);
    p.gates[0]!();
    await settle();
    expect(p.started()).toBe(2);
    p.gates[1]!();
    await settle();
    expect(p.started()).toBe(2);
  });

  it('reports a failed pass and keeps working', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const task = new CoalescingTask(async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
    }, (e) => errors.push(e));
    task.kick();
    await settle();
    task.kick();
    await settle();
    expect(calls).toBe(2);
    expect(errors).toEqual([new Error('boom')]);
  });

  it('stop() waits for the pass in progress and refuses new ones', async () => {
    const p = gatedPasses();
    const task = new CoalescingTask(p.pass, () => {});
    task.kick();
    task.kick();
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    expect(task.stopped).toBe(true);
    p.gates[0]!();
    await stopping;
    task.kick();
    expect(p.started()).toBe(1);
  });
});

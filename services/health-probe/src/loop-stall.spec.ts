import { LoopStallMeter } from './loop-stall';

describe('LoopStallMeter', () => {
  it('adds up how late its turns came since a time, a stall in progress included', () => {
    let now = 1000;
    const meter = new LoopStallMeter(50, () => now);
    meter.start();
    try {
      now = 1050;
      meter.sample(); // on time
      now = 1400;
      meter.sample(); // 300 ms late: the loop was stalled
      now = 1450;
      meter.sample();
      expect(meter.stalledSince(1000)).toBe(300);
      expect(meter.stalledSince(1400)).toBe(0); // the stall ended with the turn at 1400
      now = 3450; // no turn for 2 s: a stall still in progress
      expect(meter.stalledSince(1400)).toBe(1950);
      expect(meter.stalledSince(1000)).toBe(2250);
    } finally {
      meter.stop();
    }
  });

  it('forgets turns older than its ring holds', () => {
    let now = 0;
    const meter = new LoopStallMeter(50, () => now, 4);
    meter.start();
    try {
      now = 1050;
      meter.sample(); // 1000 ms late
      for (let i = 1; i <= 4; i++) {
        now = 1050 + 50 * i;
        meter.sample();
      }
      expect(meter.stalledSince(0)).toBe(0);
    } finally {
      meter.stop();
    }
  });
});

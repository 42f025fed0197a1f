import { ClusterStatus, ErrorReason, FlotillaError } from '@flotilla/domain';
import { nextStatus, validateStatus } from './cluster-status';

const at = (iso: string) => new Date(iso);
const ready = (status: 'True' | 'False', reason: string): ClusterStatus => ({ conditions: [{ type: 'Ready', status, reason, message: reason }], nodeCount: 3 });

describe('cluster status rules', () => {
  const first = nextStatus({}, ready('True', 'ClusterReady'), at('2026-01-01T10:00:00.400Z'))!;

  it('stamps a new condition with both times, to the second', () => {
    expect(first.conditions![0]).toMatchObject({ lastTransitionTime: '2026-01-01T10:00:00Z', lastUpdateTime: '2026-01-01T10:00:00Z' });
  });

  it('writes nothing when nothing changes', () => {
    expect(nextStatus(first, ready('True', 'ClusterReady'), at('2026-01-01T11:00:00Z'))).toBeUndefined();
  });

  it('keeps lastTransitionTime when only the reason changes, and moves it when the status does', () => {
    const reworded = nextStatus(first, ready('True', 'StillReady'), at('2026-01-01T11:00:00Z'))!;
    expect(reworded.conditions![0]).toMatchObject({ lastTransitionTime: '2026-01-01T10:00:00Z', lastUpdateTime: '2026-01-01T11:00:00Z' });
    const flipped = nextStatus(reworded, ready('False', 'ClusterNotReachable'), at('2026-01-01T12:00:00Z'))!;
    expect(flipped.conditions![0]).toMatchObject({ status: 'False', lastTransitionTime: '2026-01-01T12:00:00Z' });
  });

  it('refuses bad conditions and counts with Invalid, naming each field', () => {
    const bad = () => validateStatus('c1', { conditions: [{ type: 'Ready', status: 'Maybe' as 'True' }, { type: 'Ready', status: 'True' }], nodeCount: -1 });
    expect(bad).toThrow(FlotillaError);
    try {
      bad();
    } catch (error) {
      expect((error as FlotillaError).reason).toBe(ErrorReason.Invalid);
      expect((error as FlotillaError).details.causes?.map((c) => c.field)).toEqual(['status.conditions[0].status', 'status.conditions[1].type', 'status.nodeCount']);
    }
  });
});

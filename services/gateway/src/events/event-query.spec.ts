import { ClusterEvent, FlotillaError } from '@flotilla/domain';
import { decodeCursor, encodeCursor, eventMatches, formatEventsVersion, parseEventSelector, parseEventsVersion } from './event-query';
import { clusterEventAsCore, coreToEventsV1 } from './kube-events';

const probe: ClusterEvent = {
  name: 'prod.18c1',
  clusterName: 'prod',
  clusterUid: 'member-uid',
  type: 'Warning',
  reason: 'ProbeFailed',
  message: 'no answer',
  conditionType: 'Ready',
  fromStatus: 'True',
  toStatus: 'False',
  eventTime: '2026-01-01T00:00:00Z',
  reportingComponent: 'health-probe',
};

describe('events as Kubernetes Events', () => {
  const core = clusterEventAsCore(probe, 'cluster-uid');

  it('a cluster event is a core/v1 Event in "default" regarding the Cluster by its metadata.uid', () => {
    expect(core).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'prod.18c1', namespace: 'default' },
      involvedObject: { kind: 'Cluster', name: 'prod', uid: 'cluster-uid' },
      reason: 'ProbeFailed',
      eventTime: '2026-01-01T00:00:00.000000Z',
    });
    expect(coreToEventsV1(core)).toMatchObject({ apiVersion: 'events.k8s.io/v1', regarding: { kind: 'Cluster', name: 'prod' }, note: 'no answer', reportingController: 'health-probe', deprecatedCount: 1 });
  });

  it('matches the field selector kubectl describe sends (involvedObject.namespace empty for a cluster-scoped object)', () => {
    const describe = parseEventSelector({ fieldSelector: 'involvedObject.kind=Cluster,involvedObject.name=prod,involvedObject.namespace=,involvedObject.uid=cluster-uid' }, 'core');
    expect(eventMatches(describe, core)).toBe(true);
    expect(eventMatches(parseEventSelector({ fieldSelector: 'involvedObject.name=staging' }, 'core'), core)).toBe(false);
    expect(eventMatches(parseEventSelector({ fieldSelector: 'regarding.name=prod,type!=Normal,reportingController=health-probe' }, 'events.k8s.io'), core)).toBe(true);
  });

  it('refuses fields it cannot select, and regarding.* on core/v1, naming fieldSelector', () => {
    expect(() => parseEventSelector({ fieldSelector: 'spec.x=1' }, 'core')).toThrow(FlotillaError);
    expect(() => parseEventSelector({ fieldSelector: 'regarding.name=prod' }, 'core')).toThrow(/field label not supported/);
  });

  it('continue tokens round-trip, and a forged one is a BadRequest naming continue', () => {
    expect(decodeCursor(encodeCursor({ phase: 'clusters', after: 'prod' }))).toEqual({ phase: 'clusters', after: 'prod' });
    expect(decodeCursor(encodeCursor({ phase: 'federation', store: 'abc' }))).toEqual({ phase: 'federation', store: 'abc' });
    expect(() => decodeCursor('not-a-token')).toThrow(/continue/);
    expect(() => decodeCursor(Buffer.from('{"phase":"x"}').toString('base64url'))).toThrow(/continue/);
  });

  it('every page of a list carries the first page\'s resourceVersion in its continue token', () => {
    expect(decodeCursor(encodeCursor({ phase: 'clusters', after: 'prod', rv: 'c12.o34' }))).toEqual({ phase: 'clusters', after: 'prod', rv: 'c12.o34' });
    expect(decodeCursor(encodeCursor({ phase: 'federation', rv: 'not-a-version' } as never))).toEqual({ phase: 'federation' });
  });

  it('the combined resourceVersion round-trips; "0" and unset mean the current state; anything else is a 400 naming resourceVersion', () => {
    expect(parseEventsVersion(formatEventsVersion({ cluster: '12', object: '0' }))).toEqual({ cluster: '12', object: '0' });
    expect(parseEventsVersion(undefined)).toBeUndefined();
    expect(parseEventsVersion('0')).toBeUndefined();
    expect(parseEventsVersion('')).toBeUndefined();
    for (const bad of ['12', 'c1', 'c1.o', 'c-1.o2', 'o1.c2', `c${'9'.repeat(20)}.o1`]) {
      expect(() => parseEventsVersion(bad)).toThrow(/resourceVersion/);
    }
  });
});

import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { decodeContinue, encodeContinue } from './continue-token';

describe('continue tokens', () => {
  it('round-trip opaquely', () => {
    const token = { v: 1 as const, after: 'b4', rv: '123456789012345678' };
    const raw = encodeContinue(token);
    expect(raw).not.toContain('b4');
    expect(decodeContinue(raw)).toEqual(token);
  });

  it.each(['garbage', encodeContinue({ v: 2, after: 'x', rv: '1' } as never), Buffer.from('{"v":1,"after":3,"rv":"1"}').toString('base64url')])(
    'refuse %s with BadRequest naming continue',
    (raw) => {
      try {
        decodeContinue(raw);
        throw new Error('accepted');
      } catch (error) {
        expect((error as FlotillaError).reason).toBe(ErrorReason.BadRequest);
        expect((error as FlotillaError).details.causes?.[0]?.field).toBe('continue');
      }
    },
  );
});

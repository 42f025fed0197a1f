import { FlotillaError } from '@flotilla/domain';

/** The reason of the domain error a call fails with, or 'no error': for asserting on refusals. */
export async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (!(error instanceof FlotillaError)) throw error;
    return error.reason;
  }
  return 'no error';
}

/**
 * The error `fn` throws, asserted to be an instance of `type`; fails the test when `fn` returns.
 * For asserting on what a synchronous refusal says.
 */
export function thrownBy<E extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error('expected a refusal, but the call was accepted');
}

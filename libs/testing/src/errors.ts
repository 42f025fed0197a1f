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

import { ConfigError, loadConfig } from '@flotilla/config';
import { providerImportConfigShape } from './config';

const base = { FLOTILLA_INTERNAL_TOKEN: 'x'.repeat(32) };

describe('provider-import configuration', () => {
  it('has documented defaults', () => {
    const c = loadConfig('provider-import', providerImportConfigShape, base);
    expect(c).toMatchObject({
      IMPORT_CONNECT_TIMEOUT_MS: 10_000,
      REMOVAL_UNREACHABLE_BOUND_MS: 30_000,
      FLOTILLA_ALLOW_PROXY_URL: false,
      FLOTILLA_SERVER_ALLOW_LIST: [],
      FLOTILLA_HOST_ID: 'flotilla',
    });
  });

  it('parses the allow-list and flags', () => {
    const c = loadConfig('provider-import', providerImportConfigShape, { ...base, FLOTILLA_SERVER_ALLOW_LIST: '169.254.10.1, metadata.internal', FLOTILLA_ALLOW_PROXY_URL: 'true' });
    expect(c.FLOTILLA_SERVER_ALLOW_LIST).toEqual(['169.254.10.1', 'metadata.internal']);
    expect(c.FLOTILLA_ALLOW_PROXY_URL).toBe(true);
  });

  it('names every bad variable', () => {
    try {
      loadConfig('provider-import', providerImportConfigShape, {
        ...base,
        IMPORT_CONNECT_TIMEOUT_MS: '5',
        REMOVAL_UNREACHABLE_BOUND_MS: 'soon',
        FLOTILLA_ALLOW_PROXY_URL: 'yes',
        FLOTILLA_SERVER_ALLOW_LIST: 'a b',
        FLOTILLA_HOST_ID: 'Not Valid',
      });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
        'FLOTILLA_ALLOW_PROXY_URL',
        'FLOTILLA_HOST_ID',
        'FLOTILLA_SERVER_ALLOW_LIST',
        'IMPORT_CONNECT_TIMEOUT_MS',
        'REMOVAL_UNREACHABLE_BOUND_MS',
      ]);
    }
  });
});

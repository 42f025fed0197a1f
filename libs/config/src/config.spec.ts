import { ConfigError, baseConfigShape, configParts, describeConfig, loadConfig } from './config';
import { importPolicyConfigShape, memberAddressConfigShape } from './import-policy';

const shape = { ...baseConfigShape, HTTP_PORT: configParts.port(8081), DATABASE_URL: configParts.databaseUrl, FLOTILLA_INTERNAL_TOKEN: configParts.internalToken };

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig('svc', shape, { FLOTILLA_INTERNAL_TOKEN: 'x'.repeat(32), HTTP_PORT: '9000' });
    expect(config).toMatchObject({ HTTP_PORT: 9000, LOG_LEVEL: 'info', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/flotilla' });
  });

  it('names every bad variable, without echoing secret values', () => {
    try {
      loadConfig('svc', shape, { HTTP_PORT: '99999', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', FLOTILLA_INTERNAL_TOKEN: 'short-secret' });
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const e = error as ConfigError;
      expect(e.problems.map((p) => p.variable).sort()).toEqual(['DATABASE_URL', 'FLOTILLA_INTERNAL_TOKEN', 'HTTP_PORT', 'LOG_LEVEL']);
      expect(e.message).toContain('HTTP_PORT: must be between 1 and 65535');
      expect(e.message).not.toContain('short-secret');
    }
  });

  it('says a missing required variable is required', () => {
    expect(() => loadConfig('svc', shape, {})).toThrow(/FLOTILLA_INTERNAL_TOKEN: is required/);
  });
});

describe('describeConfig', () => {
  it('hides secrets and URL passwords', () => {
    expect(describeConfig({ FLOTILLA_ADMIN_TOKEN: 'abc', DATABASE_URL: 'postgres://u:pw@h/db', PORT: 1 })).toEqual({
      FLOTILLA_ADMIN_TOKEN: '(set, hidden)',
      DATABASE_URL: 'postgres://u:***@h/db',
      PORT: 1,
    });
  });
});

describe('the member address policy variables', () => {
  it('refuse loopback members and plain http by default', () => {
    expect(loadConfig('svc', memberAddressConfigShape, {})).toEqual({ FLOTILLA_SERVER_ALLOW_LIST: [], FLOTILLA_ALLOW_LOOPBACK_MEMBERS: false, FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: false, FLOTILLA_ALLOW_PROXY_URL: false });
  });

  it('are part of the import policy, and parse true/false and the allow-list', () => {
    const c = loadConfig('svc', importPolicyConfigShape, { FLOTILLA_ALLOW_LOOPBACK_MEMBERS: 'true', FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: 'true', FLOTILLA_SERVER_ALLOW_LIST: 'metadata.internal, 169.254.10.1' });
    expect(c).toMatchObject({ FLOTILLA_ALLOW_LOOPBACK_MEMBERS: true, FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: true, FLOTILLA_SERVER_ALLOW_LIST: ['metadata.internal', '169.254.10.1'] });
  });

  it('name the variable and the accepted values when a flag is misspelt', () => {
    expect(() => loadConfig('svc', memberAddressConfigShape, { FLOTILLA_ALLOW_LOOPBACK_MEMBERS: 'yes', FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: '1' })).toThrow(
      /FLOTILLA_ALLOW_LOOPBACK_MEMBERS: must be true or false; FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: must be true or false/,
    );
  });
});

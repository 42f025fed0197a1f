import { cleanText, memberSaid, redactUrl } from './member-text';

describe('member text in errors', () => {
  it('drops user:password@ from URLs, also in text that is not a URL', () => {
    expect(redactUrl('https://admin:hunter2@10.0.0.1:6443/api')).toBe('https://10.0.0.1:6443/api');
    expect(redactUrl('server "https://a:b@[bad" and http://c@d/')).toBe('server "https://[bad" and http://d/');
    expect(redactUrl('https://10.0.0.1:6443')).toBe('https://10.0.0.1:6443');
  });

  it('marks, cleans and truncates what a member said', () => {
    expect(memberSaid('forbidden\r\n\u001b]0;pwned\u0007 by RBAC')).toBe('the member said: "forbidden ]0;pwned by RBAC"');
    expect(memberSaid(undefined)).toBe('the member gave no reason');
    const long = memberSaid('x'.repeat(10_000));
    expect(long.length).toBeLessThan(300);
    expect(cleanText('a\u202eb\u2066c')).toBe('a b c');
  });
});

import { Writable } from 'node:stream';
import pino from 'pino';
import { PinoNestLogger } from './nest-logger';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level, formatters: { level: (label) => ({ level: label }) } }, sink);
  return { nest: new PinoNestLogger(logger), lines };
}

describe('PinoNestLogger', () => {
  it("keeps Nest's route-mapping and module lines out of info logs, at debug", () => {
    const info = capture('info');
    info.nest.log('Mapped {/healthz, GET} route', 'RouterExplorer');
    info.nest.log('HealthController {/}:', 'RoutesResolver');
    info.nest.log('AppModule dependencies initialized', 'InstanceLoader');
    info.nest.log('Nest application successfully started', 'NestApplication');
    expect(info.lines.map((l) => [l.level, l.context, l.msg])).toEqual([['info', 'NestApplication', 'Nest application successfully started']]);

    const debug = capture('debug');
    debug.nest.log('Mapped {/healthz, GET} route', 'RouterExplorer');
    expect(debug.lines.map((l) => [l.level, l.context, l.msg])).toEqual([['debug', 'RouterExplorer', 'Mapped {/healthz, GET} route']]);
  });

  it('keeps warnings and errors at their level, without the stack in the message', () => {
    const { nest, lines } = capture('info');
    nest.warn('slow', 'RouterExplorer');
    nest.error('boom', 'Error: boom\n    at x (y.js:1:1)', 'ExceptionHandler');
    expect(lines.map((l) => [l.level, l.context, l.msg])).toEqual([
      ['warn', 'RouterExplorer', 'slow'],
      ['error', 'ExceptionHandler', 'boom'],
    ]);
  });
});

import type { Provider } from '@nestjs/common';
import { AUDIT_STORE, type AuditStore } from '@flotilla/clients';
import { CONFIG, RUNTIME, type ServiceRuntime } from '@flotilla/service-kit';
import type { AuditConfig } from './audit-config';
import { AUDIT_RECORDER, AuditRecorder } from './audit-recorder';
import { openAuditSink } from './audit-sink';

/**
 * The gateway's one AuditRecorder. It depends on AUDIT_STORE, so Nest builds the store first and
 * its close step is registered first; closers run in reverse, so the recorder flushes while the
 * store is still open.
 */
export const auditRecorderProvider: Provider = {
  provide: AUDIT_RECORDER,
  inject: [CONFIG, RUNTIME, AUDIT_STORE],
  useFactory: (config: AuditConfig & { SHUTDOWN_TIMEOUT_MS: number }, runtime: ServiceRuntime, store: AuditStore) => {
    const recorder = new AuditRecorder(store, {
      level: config.FLOTILLA_AUDIT_LEVEL,
      bufferSize: config.FLOTILLA_AUDIT_BUFFER,
      sink: config.FLOTILLA_AUDIT_LEVEL === 'None' ? undefined : openAuditSink(config.FLOTILLA_AUDIT_SINK, runtime.logger),
      logger: runtime.logger,
      metrics: runtime.metrics.registry,
    });
    // Half the shutdown budget: the rest is for the steps after it.
    runtime.shutdown.onClose('audit-recorder', () => recorder.close(Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2)));
    return recorder;
  },
};

// Installs the Temporal SDK runtime once per process: SDK, workflow and activity logs (and the native
// core's warnings) go to pino, so a process has one log stream with one redaction policy.
// Signals are left to the caller (shutdownSignals: []), which shuts down in its own order.
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';

const PINO_METHOD = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly pino: Logger) {}
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    // An activity's task token lets its holder complete the activity: not for logs.
    const { taskToken: _taskToken, ...rest } = meta ?? {};
    // Errors (the SDK passes them as `error`) are serialised and redacted by the logger wherever they sit.
    this.pino[PINO_METHOD[level] ?? 'info'](rest, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

let installed = false;

/**
 * `metricsAddress` (host:port, TETHER_WORKER_METRICS_ADDRESS) serves Prometheus metrics at /metrics:
 * the SDK's own (task latencies, slots, polls...) and ours emitted through the SDK's meter
 * (tether_vendor_calls, tether_vendor_call_latency).
 */
export function installTemporalRuntime(logger: Logger, options: { metricsAddress?: string } = {}): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new PinoTemporalLogger(logger.child({ component: 'temporal' })),
    telemetryOptions: {
      // Native (Rust core) logs: warnings and errors, forwarded to the logger above.
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(options.metricsAddress ? { metrics: { prometheus: { bindAddress: options.metricsAddress } } } : {}),
    },
    shutdownSignals: [],
  });
}

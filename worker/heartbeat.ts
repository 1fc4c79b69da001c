// Activities here are short and do not report progress, but a worker that dies mid-activity must be
// noticed quickly: without heartbeats Temporal waits out the whole start-to-close timeout (45 s for a
// vendor call) before retrying elsewhere. This interceptor heartbeats while any activity that has a
// heartbeat timeout runs, so a crash is noticed within that timeout; the SDK throttles the calls.
import type { Context } from '@temporalio/activity';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';

class HeartbeatWhileRunning implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    const timeoutMs = this.ctx.info.heartbeatTimeoutMs;
    if (!timeoutMs) return next(input);
    const timer = setInterval(() => this.ctx.heartbeat(), Math.max(Math.floor(timeoutMs / 3), 100));
    try {
      return await next(input);
    } finally {
      clearInterval(timer);
    }
  }
}

export const heartbeatWhileRunning: ActivityInterceptorsFactory = (ctx) => ({
  inbound: new HeartbeatWhileRunning(ctx),
});

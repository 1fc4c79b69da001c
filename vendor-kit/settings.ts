// Building blocks for vendors' settings: the customer's choice of scopes, and reading a connection's
// settings back through the vendor's schema.
import { z } from 'zod';
import { VendorError } from './vendor-error';
import { FailureType } from '../domain/failures';
import type { ScopeRequirement, VendorContext } from './definition';

/**
 * The `scopes` setting: which of the vendor's scopes to request, default all. Mandatory scopes cannot be
 * left out; `refused` names scopes that must never be sent, with the reason the customer is shown.
 */
export function scopesSetting(scopes: ScopeRequirement[], refused: Record<string, string> = {}) {
  const names = scopes.map((s) => s.scope) as [string, ...string[]];
  const mandatory = scopes.filter((s) => !s.optional).map((s) => s.scope);
  const optional = scopes.filter((s) => s.optional).map((s) => s.scope);
  return z
    .array(
      z.enum(names, {
        error: (issue) =>
          refused[String(issue.input)] ??
          `unknown scope ${String(issue.input)}: choose from ${names.join(', ')}`,
      }),
    )
    .superRefine((chosen, ctx) => {
      const left = mandatory.filter((scope) => !chosen.includes(scope));
      if (left.length > 0) {
        ctx.addIssue({ code: 'custom', message: `required scopes cannot be left out: ${left.join(', ')}` });
      }
    })
    .default(names)
    .describe(
      `Scopes to request (default: all).${optional.length > 0 ? ` Optional: ${optional.join(', ')}; one the vendor withholds leaves the connection active, listed in missingOptionalScopes.` : ''} Every other scope requested is required.`,
    );
}

/** The connection's settings with the schema's defaults applied; invalid ones are a configuration error. */
export function readSettings<T extends z.ZodObject>(schema: T, ctx: VendorContext): z.output<T> {
  const parsed = schema.safeParse(ctx.settings);
  if (!parsed.success) {
    throw new VendorError(
      FailureType.InvalidConfiguration,
      `invalid settings: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

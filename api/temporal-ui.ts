// Links from the API to the Temporal Web UI (TETHER_TEMPORAL_UI_URL), so an operator goes from a
// connection to its workflow's history in one click.
import type { AppDeps } from './app';
import { trimTrailingSlashes } from '../vendor-kit/url-policy';

export interface TemporalUi {
  baseUrl: string;
  namespace: string;
}

/** Where the Web UI is, when configured. */
export function temporalUiOf(deps: Pick<AppDeps, 'temporalUiUrl' | 'temporal'>): TemporalUi | undefined {
  if (!deps.temporalUiUrl) return undefined;
  return { baseUrl: trimTrailingSlashes(deps.temporalUiUrl), namespace: deps.temporal.options.namespace };
}

/** The workflow's page in the Web UI (the UI opens its latest run), or null when no UI is configured. */
export function workflowUiUrl(ui: TemporalUi | undefined, workflowId: string): string | null {
  if (!ui) return null;
  return `${ui.baseUrl}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

// What the connect page shows for a vendor, generated from its catalog entry: setup steps, the permissions
// with their purposes, the instance URL field, and form fields read off the credential and settings schemas
// (their JSON Schema: `title` labels a field, `description` helps with it, `format: password` masks it).
import { z } from 'zod';
import type { VendorDefinition } from '../../vendor-kit/definition';
import type { VendorFormSchema } from './schemas';

export type VendorForm = z.infer<typeof VendorFormSchema>;
type FormField = VendorForm['credentialFields'][number];

interface JsonSchemaProperty {
  type?: string;
  title?: string;
  description?: string;
  format?: string;
  enum?: string[];
  items?: { enum?: string[] };
  default?: unknown;
  pattern?: string;
  maxLength?: number;
}

/** `<TETHER_PUBLIC_URL>` in setup steps is this deployment's address (Slack's redirect URL). */
const PUBLIC_URL_PLACEHOLDER = '<TETHER_PUBLIC_URL>';

export function vendorForm(vendor: VendorDefinition, publicUrl: string | undefined): VendorForm {
  return {
    id: vendor.id,
    name: vendor.name,
    installs: vendor.auth.kind === 'oauth2_install',
    setupSteps: vendor.setupSteps.map((step) =>
      publicUrl ? step.split(PUBLIC_URL_PLACEHOLDER).join(publicUrl) : step,
    ),
    permissions: vendor.scopes.map((s) => ({
      scope: s.scope,
      purpose: s.purpose,
      optional: s.optional === true,
    })),
    grantPermissions: vendor.grantPermissions,
    instanceUrl: {
      label: vendor.instanceUrl.label,
      example: vendor.instanceUrl.example,
      help: vendor.instanceUrl.help,
      default: vendor.instanceUrl.default ?? null,
      fixed: vendor.instanceUrl.fixed === true,
    },
    credentialFields: fieldsOf(vendor.credentials, vendor),
    settingsFields: fieldsOf(vendor.settings, vendor),
  };
}

function fieldsOf(schema: z.ZodObject, vendor: VendorDefinition): FormField[] {
  // The input side: a field with a default is optional to the person filling the form.
  const json = z.toJSONSchema(schema, { io: 'input' }) as {
    properties?: Record<string, JsonSchemaProperty>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, p]) => ({
    name,
    label: p.title ?? name,
    help: p.description ?? null,
    required: required.has(name),
    ...(p.default === undefined ? {} : { default: p.default }),
    ...shape(p, vendor),
  }));
}

function shape(
  p: JsonSchemaProperty,
  vendor: VendorDefinition,
): Pick<FormField, 'kind' | 'options' | 'pattern' | 'maxLength'> {
  if (p.type === 'boolean') return { kind: 'checkbox' };
  if (p.type === 'array' && p.items?.enum) {
    // A list of the vendor's scopes: the mandatory ones are always on, each says what it is for.
    const scopes = new Map(vendor.scopes.map((s) => [s.scope, s]));
    return {
      kind: 'checkboxes',
      options: p.items.enum.map((value) => {
        const scope = scopes.get(value);
        return {
          value,
          label: value,
          ...(scope ? { help: scope.purpose, fixed: scope.optional !== true } : {}),
        };
      }),
    };
  }
  if (p.enum) return { kind: 'select', options: p.enum.map((value) => ({ value, label: value })) };
  if (p.format === 'date-time') return { kind: 'date' };
  return {
    kind: p.format === 'password' ? 'secret' : 'text',
    ...(p.pattern ? { pattern: p.pattern } : {}),
    ...(p.maxLength ? { maxLength: p.maxLength } : {}),
  };
}

import { z } from 'zod';
import { aekitError } from './errors.js';
import type { VariantOptionsSchema, VariantPlugin } from './variant.js';

/** A documented option of a variant, derived from its schema. */
export interface OptionInfo {
  /** camelCase field name. */
  readonly name: string;
  /** kebab-case command-line flag, without dashes. */
  readonly flag: string;
  /** `number`, `integer`, `boolean`, `string`, `number[]`, `integer[]` or `string[]`. */
  readonly type: string;
  /** Allowed values, for enumerations. */
  readonly choices?: readonly (string | number)[];
  /** Default value, if any. */
  readonly default?: unknown;
  /** What the option does. */
  readonly description: string;
}

interface JsonSchemaNode {
  type?: string | string[];
  enum?: (string | number)[];
  items?: JsonSchemaNode;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
}

/** camelCase → kebab-case. */
export function toFlag(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** kebab-case → camelCase. */
export function fromFlag(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function typeOf(node: JsonSchemaNode): string {
  if (node.enum) return typeof node.enum[0] === 'number' ? 'number' : 'string';
  const t = Array.isArray(node.type) ? node.type[0] : node.type;
  if (t === 'array') return `${typeOf(node.items ?? {})}[]`;
  return t ?? 'string';
}

/** The options of a schema, documented (from its JSON Schema: descriptions, defaults, enums). */
export function describeOptions(schema: VariantOptionsSchema): OptionInfo[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchemaNode>;
  };
  return Object.entries(json.properties ?? {}).map(([name, node]) => {
    const choices = node.enum ?? node.items?.enum;
    return {
      name,
      flag: toFlag(name),
      type: typeOf(node),
      ...(choices ? { choices } : {}),
      ...(node.default !== undefined ? { default: node.default } : {}),
      description: node.description ?? '',
    };
  });
}

function coerce(value: string, type: string): unknown {
  if (type.endsWith('[]')) {
    const inner = type.slice(0, -2);
    const parts = value.trim() === '' ? [] : value.split(',').map((s) => s.trim());
    return parts.map((p) => coerce(p, inner));
  }
  if (type === 'number' || type === 'integer') {
    const n = Number(value);
    return value.trim() === '' || Number.isNaN(n) ? value : n;
  }
  if (type === 'boolean') {
    if (value === 'true' || value === '') return true;
    if (value === 'false') return false;
    return value;
  }
  return value;
}

/** Formats zod issues as indented lines naming the flag. */
export function formatIssues(error: z.ZodError, asFlags = true): string {
  return error.issues
    .map((issue) => {
      const [head, ...rest] = issue.path;
      const name =
        head === undefined ? 'options' : asFlags ? `--${toFlag(String(head))}` : String(head);
      const where = rest.reduce<string>(
        (at, key) => (typeof key === 'number' ? `${at} (item ${key + 1})` : `${at}.${String(key)}`),
        name,
      );
      return `  ${where}: ${issue.message}`;
    })
    .join('\n');
}

/**
 * Validates a variant config and fills in defaults.
 *
 * `raw` may hold typed values (from code) or strings (from a command line: lists are
 * comma-separated). Keys may be camelCase or kebab-case. Unknown keys fail with
 * `UnknownOption`, invalid values with `InvalidVariantOptions`.
 */
export function parseVariantOptions<P extends VariantPlugin>(
  plugin: P,
  raw: Record<string, unknown> = {},
): z.output<P['options']> {
  const infos = new Map(describeOptions(plugin.options).map((o) => [o.name, o]));
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const name = fromFlag(key);
    const info = infos.get(name);
    if (!info) {
      throw aekitError(
        'UnknownOption',
        plugin.name,
        toFlag(key),
        [...infos.values()].map((o) => o.flag),
      );
    }
    input[name] = typeof value === 'string' ? coerce(value, info.type) : value;
  }
  const result = plugin.options.safeParse(input);
  if (!result.success) {
    throw aekitError('InvalidVariantOptions', plugin.name, formatIssues(result.error));
  }
  return result.data as z.output<P['options']>;
}

/**
 * A small path-aware reader for configuration trees: every problem is recorded with the path of
 * the field it concerns (`identity.jwt.issuers[0].jwks_uri: expected a URL`), and reading goes on
 * so one run reports every problem at once.
 */

export interface ConfigIssue {
  /** Where, e.g. `server.grpc.port` or `policies[2].rules[0].to[0].operation.paths[1]`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly issues: ConfigIssue[],
    /** What was being read, e.g. the config file's path. */
    readonly source?: string,
  ) {
    super(
      `${source ? `${source}: ` : ''}invalid configuration:\n${issues.map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export type Mapping = Record<string, unknown>;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  return `${typeof value} ${String(value)}`;
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key);
  if (!plain) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

export class Reader {
  readonly issues: ConfigIssue[] = [];
  /** Files read while parsing (watched for hot reload). */
  readonly files = new Set<string>();

  constructor(readonly baseDir: string) {}

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  /** A mapping with only the given keys; undefined (and an issue) otherwise. `undefined` input is allowed when not required. */
  mapping(value: unknown, path: string, keys: readonly string[], required = false): Mapping | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(path, 'required field missing');
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) return this.fail(path, `expected a mapping, got ${describe(value)}`);
    const m = value as Mapping;
    for (const k of Object.keys(m)) {
      if (!keys.includes(k)) {
        const hint = keys.find((known) => known.replace(/_/g, '').toLowerCase() === k.replace(/[_-]/g, '').toLowerCase());
        this.fail(join(path, k), `unknown field${hint ? ` (did you mean "${hint}"?)` : ''}; expected one of ${keys.join(', ')}`);
      }
    }
    return m;
  }

  string(value: unknown, path: string, options: { required?: boolean; nonEmpty?: boolean } = {}): string | undefined {
    if (value === undefined || value === null) {
      if (options.required) this.fail(path, 'required field missing');
      return undefined;
    }
    if (typeof value !== 'string') return this.fail(path, `expected a string, got ${describe(value)}`);
    if (options.nonEmpty !== false && value === '' && options.required) return this.fail(path, 'must not be empty');
    return value;
  }

  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(path, `expected true or false, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  integer(value: unknown, path: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.fail(path, `expected an integer, got ${describe(value)}`);
      return fallback;
    }
    if ((range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
      this.fail(path, `expected ${range.min ?? '-inf'}..${range.max ?? 'inf'}, got ${value}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      this.fail(path, `expected one of ${allowed.join(', ')}, got ${describe(value)}`);
      return fallback;
    }
    return value as T;
  }

  list(value: unknown, path: string, options: { required?: boolean; nonEmpty?: boolean } = {}): unknown[] | undefined {
    if (value === undefined || value === null) {
      if (options.required) this.fail(path, 'required field missing');
      return undefined;
    }
    if (!Array.isArray(value)) return this.fail(path, `expected a list, got ${describe(value)}`);
    if (options.nonEmpty && value.length === 0) return this.fail(path, 'expected at least one entry');
    return value;
  }

  /** A list of strings, each checked by `check` (which returns a problem or undefined). */
  strings(value: unknown, path: string, check?: (s: string) => string | undefined, options: { nonEmpty?: boolean } = {}): string[] {
    const list = this.list(value, path, options);
    if (!list) return [];
    const out: string[] = [];
    list.forEach((item, i) => {
      const p = join(path, i);
      if (typeof item === 'number' && Number.isFinite(item)) item = String(item);
      if (typeof item !== 'string') {
        this.fail(p, `expected a string, got ${describe(item)}`);
        return;
      }
      const problem = check?.(item);
      if (problem) this.fail(p, problem);
      else out.push(item);
    });
    return out;
  }

  url(value: unknown, path: string, options: { required?: boolean; schemes?: string[] } = {}): string | undefined {
    const s = this.string(value, path, { required: options.required });
    if (s === undefined) return undefined;
    const schemes = options.schemes ?? ['http:', 'https:'];
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return this.fail(path, `expected a URL (${schemes.map((x) => x.replace(':', '')).join(' or ')}), got ${describe(s)}`);
    }
    if (!schemes.includes(u.protocol)) return this.fail(path, `expected a URL (${schemes.map((x) => x.replace(':', '')).join(' or ')}), got ${describe(s)}`);
    return s;
  }
}

/**
 * The `identity.api_keys` and `identity.verified_upstream` sections. API keys are stored hashed
 * only: a field that would hold a plaintext key is an error, and no message ever repeats a value
 * that could be a key.
 */
import { parse as parseYaml } from 'yaml';
import { join, type Reader } from './reader.js';
import type { ApiKeyEntry, ApiKeysConfig, VerifiedUpstreamConfig } from './types.js';

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const KEY_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** Field names under which a plaintext key could be written by mistake. */
const PLAINTEXT_FIELDS = ['key', 'value', 'secret', 'plaintext', 'api_key', 'token'];
const HEADERS_NEVER_KEYS = new Set(['authorization', 'cookie', 'host', ':authority', ':path', ':method']);

export type ReadFile = (value: unknown, path: string) => { file: string; text: string } | undefined;

function parseKey(r: Reader, raw: unknown, path: string, origin: string): ApiKeyEntry | undefined {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const plain = PLAINTEXT_FIELDS.filter((k) => k in (raw as object));
    if (plain.length) {
      for (const k of plain) r.fail(join(path, k), 'plaintext keys are not accepted; store the key\'s SHA-256 in "sha256" (meshward authz hash-key <key> prints it)');
      const rest = { ...(raw as Record<string, unknown>) };
      for (const k of plain) delete rest[k];
      raw = rest;
    }
  }
  const m = r.mapping(raw, path, ['id', 'sha256', 'principal', 'labels'], true);
  if (!m) return undefined;
  const id = r.string(m['id'], join(path, 'id'), { required: true });
  if (id !== undefined && !KEY_ID.test(id)) r.fail(join(path, 'id'), 'expected 1-128 characters of letters, digits and . _ : @ -');
  let sha256: Buffer | undefined;
  if (m['sha256'] === undefined) r.fail(join(path, 'sha256'), 'required field missing');
  // Never echo the value: it might be a key pasted in the wrong place.
  else if (typeof m['sha256'] !== 'string' || !SHA256_HEX.test(m['sha256'])) r.fail(join(path, 'sha256'), 'expected 64 hexadecimal digits: the SHA-256 of the key, not the key itself');
  else sha256 = Buffer.from(m['sha256'], 'hex');
  const principal = r.string(m['principal'], join(path, 'principal'));
  if (principal === '') r.fail(join(path, 'principal'), 'must not be empty');
  const labels: Record<string, string> = {};
  const lm = r.mapping(m['labels'], join(path, 'labels'), Object.keys((m['labels'] as object) ?? {}));
  for (const [k, v] of Object.entries(lm ?? {})) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') labels[k] = String(v);
    else r.fail(join(join(path, 'labels'), k), 'expected a string');
  }
  if (id === undefined || sha256 === undefined || (id !== undefined && !KEY_ID.test(id))) return undefined;
  return { id, sha256, principal: principal || `api-key/${id}`, labels, origin };
}

function parseKeyList(r: Reader, raw: unknown, path: string, origin: string): ApiKeyEntry[] {
  return (r.list(raw, path) ?? []).map((k, i) => parseKey(r, k, join(path, i), origin)).filter((k): k is ApiKeyEntry => k !== undefined);
}

/** `identity.api_keys`: `{ header, keys: [...], file }`; the file holds `keys: [...]` (YAML or JSON). */
export function parseApiKeys(r: Reader, raw: unknown, path: string, readFile: ReadFile): ApiKeysConfig | undefined {
  const m = r.mapping(raw, path, ['header', 'keys', 'file']);
  if (!m) return undefined;
  const header = r.string(m['header'], join(path, 'header')) ?? 'x-api-key';
  if (!HEADER_NAME.test(header)) r.fail(join(path, 'header'), `"${header}" is not a lowercase HTTP header name`);
  else if (HEADERS_NEVER_KEYS.has(header)) r.fail(join(path, 'header'), `"${header}" cannot carry API keys`);
  const keys = parseKeyList(r, m['keys'], join(path, 'keys'), 'inline');
  if (m['file'] !== undefined) {
    const read = readFile(m['file'], join(path, 'file'));
    if (read) {
      let doc: unknown;
      try {
        doc = parseYaml(read.text);
      } catch (e) {
        r.fail(join(path, 'file'), `${read.file} is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
      }
      const where = `${join(path, 'file')} (${read.file})`;
      const list = Array.isArray(doc) ? doc : r.mapping(doc ?? {}, where, ['keys'])?.['keys'];
      keys.push(...parseKeyList(r, list ?? [], `${where} keys`, read.file));
    }
  }
  if (m['keys'] === undefined && m['file'] === undefined) r.fail(path, 'set keys and/or file');
  const ids = new Map<string, string>();
  const hashes = new Map<string, string>();
  for (const k of keys) {
    if (ids.has(k.id)) r.fail(path, `key id "${k.id}" is defined twice (${ids.get(k.id)} and ${k.origin})`);
    ids.set(k.id, k.origin);
    const h = k.sha256.toString('hex');
    if (hashes.has(h)) r.fail(path, `keys "${hashes.get(h)}" and "${k.id}" have the same sha256`);
    hashes.set(h, k.id);
  }
  return { header, keys };
}

/** `identity.verified_upstream`: trust a payload a filter in front of ext_authz verified. */
export function parseVerifiedUpstream(r: Reader, raw: unknown, path: string): VerifiedUpstreamConfig | undefined {
  const m = r.mapping(raw, path, ['jwt_authn_metadata_key', 'jwt_authn_namespace', 'payload_header', 'jwt_filter_before_ext_authz', 'issuers']);
  if (!m) return undefined;
  const key = r.string(m['jwt_authn_metadata_key'], join(path, 'jwt_authn_metadata_key'), { required: false });
  if (key === '') r.fail(join(path, 'jwt_authn_metadata_key'), 'must not be empty');
  const namespace = r.string(m['jwt_authn_namespace'], join(path, 'jwt_authn_namespace')) ?? 'envoy.filters.http.jwt_authn';
  if (m['jwt_authn_namespace'] !== undefined && m['jwt_authn_metadata_key'] === undefined) r.fail(join(path, 'jwt_authn_namespace'), 'only applies with jwt_authn_metadata_key');
  const header = r.string(m['payload_header'], join(path, 'payload_header'));
  if (header !== undefined && !HEADER_NAME.test(header)) r.fail(join(path, 'payload_header'), `"${header}" is not a lowercase HTTP header name`);
  const promised = r.boolean(m['jwt_filter_before_ext_authz'], join(path, 'jwt_filter_before_ext_authz'), false);
  // A header is only as trustworthy as the filter that overwrites client-sent copies of it.
  if (header !== undefined && !promised) {
    r.fail(
      join(path, 'jwt_filter_before_ext_authz'),
      'payload_header is trusted only when Meshward\'s JWT filter (forward_payload_header) runs before ext_authz on every route and removes client-sent copies; set this to true to say so',
    );
  }
  if (m['jwt_filter_before_ext_authz'] !== undefined && header === undefined) r.fail(join(path, 'jwt_filter_before_ext_authz'), 'only applies with payload_header');
  if (!key && header === undefined) r.fail(path, 'set jwt_authn_metadata_key and/or payload_header');
  const issuers = r.strings(m['issuers'], join(path, 'issuers'), (s) => (s === '' ? 'empty issuer' : undefined), { nonEmpty: true });
  if (m['issuers'] === undefined) r.fail(join(path, 'issuers'), 'required field missing: the `iss` values to accept from the verifying filter');
  return { ...(key ? { jwtAuthnMetadataKey: key } : {}), jwtAuthnNamespace: namespace, ...(header !== undefined ? { payloadHeader: header } : {}), issuers };
}

/**
 * Identity a filter in front of ext_authz already verified: Envoy's `jwt_authn`
 * (`payload_in_metadata`, forwarded with `metadata_context_namespaces`) or Meshward's JWT filter
 * (`forward_payload_header`: the payload as base64url JSON, client-sent copies removed by the
 * filter). Only the configured sources and issuers are believed; the signature is not checked
 * again, but `exp` and `nbf` are (with the clock skew), so a replayed header cannot outlive its token.
 */
import type { JWTPayload } from 'jose';
import { header, type CheckAttributes } from '../attributes.js';
import type { VerifiedUpstreamConfig } from '../config/types.js';
import { metadataValue } from '../signals/helpers.js';
import type { JwtIdentity } from './types.js';

export type UpstreamOutcome = { ok: true; jwt: JwtIdentity } | { ok: false; reason: string };

/** Payload headers longer than this are refused (our JWT filter caps tokens well below it). */
const MAX_PAYLOAD_HEADER = 16 * 1024;

function audiences(payload: JWTPayload): string[] {
  const aud = payload.aud;
  if (aud === undefined) return [];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : typeof aud === 'string' ? [aud] : [];
}

/** A JwtIdentity from a payload someone else verified, if its issuer is trusted and it is current. */
export function jwtFromPayload(payload: unknown, from: 'jwt_authn' | 'payload_header', config: VerifiedUpstreamConfig, nowMs: number, skewSeconds: number): UpstreamOutcome {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { ok: false, reason: `${from} payload is not a JSON object` };
  const p = payload as JWTPayload;
  const iss = p.iss;
  if (typeof iss !== 'string' || iss === '') return { ok: false, reason: `${from} payload has no "iss"` };
  if (!config.issuers.includes(iss)) return { ok: false, reason: `${from} payload issuer not trusted (${iss.slice(0, 100)})` };
  const now = nowMs / 1000;
  if (p.exp !== undefined && (typeof p.exp !== 'number' || p.exp + skewSeconds <= now)) return { ok: false, reason: `${from} payload expired` };
  if (p.nbf !== undefined && (typeof p.nbf !== 'number' || p.nbf - skewSeconds > now)) return { ok: false, reason: `${from} payload not yet valid` };
  const subject = typeof p.sub === 'string' && p.sub !== '' ? p.sub : undefined;
  const jwt: JwtIdentity = { issuer: iss, principal: `${iss}/${subject ?? ''}`, audiences: audiences(p), claims: p, from };
  if (subject) jwt.subject = subject;
  if (typeof p['azp'] === 'string') jwt.presenter = p['azp'];
  return { ok: true, jwt };
}

/** The upstream-verified JWT of this request: undefined when no configured source carries one. */
export function verifiedUpstreamJwt(attrs: CheckAttributes, config: VerifiedUpstreamConfig, nowMs: number, skewSeconds: number): UpstreamOutcome | undefined {
  if (config.jwtAuthnMetadataKey) {
    const payload = metadataValue(attrs.metadata_context, config.jwtAuthnNamespace, config.jwtAuthnMetadataKey);
    if (payload !== undefined) return jwtFromPayload(payload, 'jwt_authn', config, nowMs, skewSeconds);
  }
  if (config.payloadHeader) {
    const value = header(attrs, config.payloadHeader);
    if (value === undefined) return undefined;
    if (value.length > MAX_PAYLOAD_HEADER || !/^[A-Za-z0-9_-]+={0,2}$/.test(value)) return { ok: false, reason: 'payload header is not base64url' };
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'payload header is not base64url JSON' };
    }
    return jwtFromPayload(payload, 'payload_header', config, nowMs, skewSeconds);
  }
  return undefined;
}

/**
 * The decision log line written for every Check: which fields it has, and their JSON text.
 *
 * The members are written as JSON text directly rather than as a fields object handed to
 * JSON.stringify: on Node 20 that stringify was the largest single cost of the Check pipeline
 * after the transport (about 3.5 µs of the ~15 µs a full-pipeline Check takes in process).
 * Strings that need no escaping (nearly all: ids, methods, paths, principals) are quoted as they
 * are; the others go through JSON.stringify. Undefined fields are left out, as JSON.stringify
 * leaves them out.
 */
import { header, pathOnly, sourceIp, type CheckAttributes } from './attributes.js';
import { principalOf } from './identity/types.js';
import { jsonNumber, jsonString } from './json-text.js';
import type { Decision } from './response.js';

/** The protocols a Check arrives by. */
export type Protocol = 'grpc' | 'http';

/** `us` (a whole number of microseconds) as milliseconds, the JSON text of `us / 1000`. */
export function millisecondsText(us: number): string {
  if (!Number.isSafeInteger(us) || us < 0) return Number.isFinite(us) ? String(us / 1000) : 'null';
  const ms = Math.floor(us / 1000);
  const frac = us - ms * 1000;
  if (frac === 0) return String(ms);
  // Three decimals without the trailing zeros (as the shortest text of the number has them).
  const digits = frac < 10 ? `00${frac}` : frac < 100 ? `0${frac}` : String(frac);
  return `${ms}.${frac % 100 === 0 ? digits.slice(0, 1) : frac % 10 === 0 ? digits.slice(0, 2) : digits}`;
}

/** Reasons and policy names seen before, as JSON text (a few dozen distinct ones; bounded anyway). */
const knownTexts = new Map<string, string>();
const KNOWN_TEXTS_KEPT = 1024;

/** jsonString for text that repeats (a policy's reason quotes its name: escaped once, not per Check). */
function repeatedJsonString(s: string): string {
  let text = knownTexts.get(s);
  if (text === undefined) {
    if (knownTexts.size >= KNOWN_TEXTS_KEPT) knownTexts.clear();
    text = jsonString(s);
    knownTexts.set(s, text);
  }
  return text;
}

/** `,"name":"value"` for a string that is there, '' for one that is not. */
function member(name: string, value: string | undefined): string {
  return value === undefined ? '' : `,"${name}":${jsonString(value)}`;
}

/**
 * The decision line's members (for Logger.logJson): decision id, request id, protocol, method,
 * host, path (never the query string: it may carry credentials), source address, identity kind,
 * principal, workload, result, status, reason, policy, risk score and reasons, latency in ms.
 */
export function decisionLogMembers(decision: Decision, attrs: CheckAttributes, protocol: Protocol, latencyUs: number): string {
  const http = attrs.request.http;
  const identity = decision.identity;
  const risk = decision.risk;
  let reasons = '';
  if (risk) {
    reasons = ',"risk_reasons":[';
    for (let i = 0; i < risk.reasons.length; i++) reasons += (i ? ',' : '') + jsonString(risk.reasons[i]!);
    reasons += ']';
  }
  // The decision id (a UUID made by the authorizer), the protocol, the result and the identity
  // kind are this server's own words: written as they are.
  return (
    `"decision_id":"${decision.id}"` +
    // Envoy's x-request-id when forwarded (http.id is Envoy's internal stream id).
    member('request_id', header(attrs, 'x-request-id') ?? http.id) +
    `,"protocol":"${protocol}"` +
    member('method', http.method) +
    member('host', http.host) +
    `,"path":${jsonString(pathOnly(http.path))}` +
    member('source_ip', sourceIp(attrs)) +
    `,"identity":"${identity.kind}"` +
    member('principal', principalOf(identity)) +
    member('workload', identity.workload?.id) +
    `,"decision":"${decision.result}","status":${jsonNumber(decision.status)}` +
    `,"reason":${repeatedJsonString(decision.reason)}` +
    (decision.policy === undefined ? '' : `,"policy":${repeatedJsonString(decision.policy)}`) +
    (risk ? `,"risk_score":${jsonNumber(risk.score)}${reasons}` : '') +
    `,"latency_ms":${millisecondsText(latencyUs)}`
  );
}

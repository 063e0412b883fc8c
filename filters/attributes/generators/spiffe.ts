// SPIFFE IDs (spiffe://<trust domain>/<path>), as peers present them in a certificate's URI SAN.
// Istio's workload form is spiffe://<td>/ns/<namespace>/sa/<service account>.

export class SpiffeId {
  trustDomain: string = "";
  path: string = "";
  /** Empty unless the path is Istio's /ns/<ns>/sa/<sa>. */
  namespace: string = "";
  serviceAccount: string = "";
}

function isTrustDomainChar(c: i32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x2d || c == 0x5f;
}

function isPathChar(c: i32): bool {
  // SPIFFE path segments: letters, digits, '.', '-', '_'.
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x2d || c == 0x5f;
}

/** Parses a SPIFFE ID; null when `uri` is not a valid one (spec: lowercase trust domain, no query). */
export function parseSpiffeId(uri: string): SpiffeId | null {
  if (!uri.startsWith("spiffe://") || uri.length > 2048) return null;
  const rest = uri.substring(9);
  const slash = rest.indexOf("/");
  const td = slash < 0 ? rest : rest.substring(0, slash);
  if (td.length == 0 || td.length > 255) return null;
  for (let i = 0; i < td.length; i++) if (!isTrustDomainChar(td.charCodeAt(i))) return null;
  const id = new SpiffeId();
  id.trustDomain = td;
  if (slash < 0) return id;
  const path = rest.substring(slash);
  const segs = path.substring(1).split("/");
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s.length == 0 || s == "." || s == "..") return null;
    for (let k = 0; k < s.length; k++) if (!isPathChar(s.charCodeAt(k))) return null;
  }
  id.path = path;
  if (segs.length == 4 && segs[0] == "ns" && segs[2] == "sa") {
    id.namespace = segs[1];
    id.serviceAccount = segs[3];
  }
  return id;
}

/** One part of an ID by name ("id", "trust_domain", "namespace", "service_account", "path"); null when empty. */
export function spiffePart(id: SpiffeId, uri: string, part: string): string | null {
  let v = "";
  if (part == "id") v = uri;
  else if (part == "trust_domain") v = id.trustDomain;
  else if (part == "namespace") v = id.namespace;
  else if (part == "service_account") v = id.serviceAccount;
  else if (part == "path") v = id.path;
  return v.length > 0 ? v : null;
}

export const SPIFFE_PARTS: Array<string> = ["id", "trust_domain", "namespace", "service_account", "path"];

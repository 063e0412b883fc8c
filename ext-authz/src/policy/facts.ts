import { pathOnly, sourceIp, type CheckAttributes } from '../attributes.js';
import type { Identity } from '../identity/types.js';

import type { Facts } from '@meshward/sdk/authz';

// The shape is the SDK's (`@meshward/sdk/authz`): signal plug-ins read the same facts.
export type { Facts } from '@meshward/sdk/authz';

export function factsOf(attrs: CheckAttributes, identity: Identity): Facts {
  const http = attrs.request.http;
  const destPort = attrs.destination?.address?.socket_address?.port_value;
  const facts: Facts = {
    audiences: identity.jwt?.audiences ?? [],
    headers: http.headers,
  };
  const set = <K extends keyof Facts>(k: K, v: Facts[K] | undefined | '') => {
    if (v !== undefined && v !== '') facts[k] = v as Facts[K];
  };
  set('sourceIp', sourceIp(attrs));
  set('sourcePrincipal', identity.workload?.principal);
  set('sourceNamespace', identity.workload?.namespace);
  // A JWT names the end user; an API key the client application: either is the request principal.
  set('requestPrincipal', identity.jwt?.principal ?? identity.apiKey?.principal);
  set('apiKeyId', identity.apiKey?.id);
  if (identity.apiKey) facts.apiKeyLabels = identity.apiKey.labels;
  if (attrs.context_extensions && Object.keys(attrs.context_extensions).length) facts.contextExtensions = attrs.context_extensions;
  set('presenter', identity.jwt?.presenter);
  if (identity.jwt) facts.claims = identity.jwt.claims as Record<string, unknown>;
  set('destinationIp', attrs.destination?.address?.socket_address?.address);
  set('destinationPort', destPort ? String(destPort) : undefined);
  set('host', http.host ?? http.headers[':authority'] ?? http.headers['host']);
  set('method', http.method);
  set('path', http.path === undefined ? undefined : pathOnly(http.path));
  set('sni', attrs.tls_session?.sni);
  return facts;
}

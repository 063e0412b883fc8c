// The attributes benchmarks' workload, shared by attributes-envoy.mjs (real Envoy) and
// attributes-hostcalls.mjs (Node host): the configs and the request.

/** 10 typical attributes: operation, client_class, api_version, spiffe, header and claim rules,
 * ip_in_cidr, a regex, `in`, and a rule over earlier attributes; 10 to filter state, 5 to request headers. */
export const typical = {
  log_level: 'warn',
  attributes: [
    {
      name: 'op',
      operation: {
        'GET /api/{version}/users/{id}': 'GetUser', 'PUT /api/{version}/users/{id}': 'UpdateUser', 'DELETE /api/{version}/users/{id}': 'DeleteUser',
        'GET /api/{version}/users': 'ListUsers', 'POST /api/{version}/orders': 'CreateOrder', 'GET /static/**': 'Static',
      },
      default: "'Unknown'",
      outputs: { header: 'x-attr-op' },
    },
    { name: 'client', client_class: {}, outputs: { header: 'x-attr-client' } },
    { name: 'version', api_version: { header: 'x-api-version' }, outputs: { header: 'x-attr-version' } },
    { name: 'peer_ns', spiffe: 'namespace' },
    {
      name: 'tier',
      rules: [
        { when: "request.headers['x-plan'] == 'gold'", value: "'premium'" },
        { when: "request.headers['x-plan'] in ['silver', 'bronze']", value: "'standard'" },
      ],
      default: "'free'",
      outputs: { header: 'x-attr-tier' },
    },
    { name: 'tenant', rules: [{ when: 'has(jwt.claims.org.tenant)', value: 'jwt.claims.org.tenant' }], default: "'none'" },
    { name: 'internal', rules: [{ value: "ip_in_cidr(source.address, ['10.0.0.0/8', '127.0.0.0/8'])" }] },
    { name: 'numeric_id', rules: [{ value: "request.url_path.matches('/users/[0-9]+$')" }] },
    { name: 'write', rules: [{ value: "request.method in ['POST', 'PUT', 'PATCH', 'DELETE']" }] },
    {
      name: 'risk',
      rules: [
        { when: "attr.client == 'bot'", value: "'high'" },
        { when: "attr.write && !attr.internal", value: "'medium'" },
      ],
      default: "'low'",
      outputs: { header: 'x-attr-risk' },
    },
  ],
};
export const constant = { log_level: 'warn', attributes: [{ name: 'x', rules: [{ value: "'x'" }] }] };

/** The request every variant gets (path `/api/v2/users/<i % 1000>`, method PUT). */
export const requestHeaders = {
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'accept-language': 'en', accept: 'application/json',
    'x-plan': 'silver', 'x-api-version': '2',
};
export const requestMethod = 'PUT';
export const requestPath = (i) => `/api/v2/users/${i % 1000}`;

/** The typical config with each attribute's outputs replaced by `outputs(attribute)`. */
export const withOutputs = (outputs) => ({ ...typical, attributes: typical.attributes.map((a) => ({ ...a, outputs: outputs(a) })) });
/** No outputs at all: evaluation and reads only. */
export const noOutputs = withOutputs(() => ({ filter_state: false }));
/** The 5 request headers, no filter state. */
export const headersOnly = withOutputs((a) => ({ ...(a.outputs ?? {}), filter_state: false }));

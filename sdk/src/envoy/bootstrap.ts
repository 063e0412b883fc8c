/**
 * Builders for the Envoy bootstrap pieces that tests and the demo need again and again. They
 * return plain objects in Envoy's v3 API shape, so a caller can tweak any field before use.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface WasmFilterOptions {
  /** Plugin name; shows in Envoy's log lines (`wasm log <name> <root_id>: ...`). */
  name: string;
  /** Absolute path of the `.wasm` file. */
  wasmPath: string;
  /** Plugin configuration: a string is passed as is, anything else as JSON. */
  config?: unknown;
  rootId?: string;
  vmId?: string;
  /** Envoy's wasm runtime; v8 is the one the official builds ship. */
  runtime?: string;
  /** `FAIL_CLOSED` (Envoy's default), `FAIL_OPEN` or `FAIL_RELOAD`. */
  failurePolicy?: 'FAIL_CLOSED' | 'FAIL_OPEN' | 'FAIL_RELOAD';
}

/** An `envoy.filters.http.wasm` entry for `http_filters`. */
export function wasmHttpFilter(o: WasmFilterOptions): Json {
  const configuration = o.config === undefined ? '' : typeof o.config === 'string' ? o.config : JSON.stringify(o.config);
  const pluginConfig: { [key: string]: Json } = {
    name: o.name,
    root_id: o.rootId ?? o.name,
    configuration: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: configuration },
    vm_config: {
      vm_id: o.vmId ?? o.name,
      runtime: o.runtime ?? 'envoy.wasm.runtime.v8',
      code: { local: { filename: o.wasmPath } },
    },
  };
  if (o.failurePolicy) pluginConfig['failure_policy'] = o.failurePolicy;
  return {
    name: 'envoy.filters.http.wasm',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
      config: pluginConfig,
    },
  };
}

export const ROUTER_FILTER: Json = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

/** A STATIC cluster on loopback (or any literal address). */
export function staticCluster(name: string, port: number, options: { address?: string; http2?: boolean; connectTimeout?: string } = {}): Json {
  const cluster: { [key: string]: Json } = {
    name,
    type: 'STATIC',
    connect_timeout: options.connectTimeout ?? '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: options.address ?? '127.0.0.1', port_value: port } } } }] }],
    },
  };
  if (options.http2) {
    cluster['typed_extension_protocol_options'] = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}

export interface HttpProxyOptions {
  listenerPort: number;
  adminPort: number;
  /** The upstream every route goes to (cluster `upstream`). */
  upstreamPort: number;
  /** Filters before the router, in order. */
  httpFilters?: Json[];
  /** More clusters (key servers, ext_authz, ...). */
  clusters?: Json[];
  /** An access log format string; lines go to stdout, which the harness captures. */
  accessLogFormat?: string;
  /** Extra fields for the virtual host's single route. */
  route?: { [key: string]: Json };
  listenerAddress?: string;
  /** Envoy's global downstream connection limit (default 10000). */
  maxDownstreamConnections?: number;
}

/** A complete bootstrap: one HTTP listener, every path routed to one upstream cluster. */
export function httpProxyBootstrap(o: HttpProxyOptions): { [key: string]: Json } {
  const hcm: { [key: string]: Json } = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'ingress_http',
    codec_type: 'AUTO',
    route_config: {
      name: 'local_route',
      virtual_hosts: [
        {
          name: 'all',
          domains: ['*'],
          routes: [{ match: { prefix: '/' }, route: { cluster: 'upstream', timeout: '15s' }, ...(o.route ?? {}) }],
        },
      ],
    },
    http_filters: [...(o.httpFilters ?? []), ROUTER_FILTER],
  };
  if (o.accessLogFormat) {
    hcm['access_log'] = [
      {
        name: 'envoy.access_loggers.stdout',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
          log_format: { text_format_source: { inline_string: o.accessLogFormat.endsWith('\n') ? o.accessLogFormat : `${o.accessLogFormat}\n` } },
        },
      },
    ];
  }
  return {
    // An explicit connection limit (Envoy warns at start-up when there is none).
    overload_manager: {
      resource_monitors: [
        {
          name: 'envoy.resource_monitors.global_downstream_max_connections',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
            max_active_downstream_connections: o.maxDownstreamConnections ?? 10000,
          },
        },
      ],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: o.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'ingress',
          address: { socket_address: { address: o.listenerAddress ?? '127.0.0.1', port_value: o.listenerPort } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
        },
      ],
      clusters: [staticCluster('upstream', o.upstreamPort), ...(o.clusters ?? [])],
    },
  };
}

/**
 * Envoy configuration for pointing `envoy.filters.http.ext_authz` at this server, as plain v3
 * API objects (the shape of Envoy's YAML/JSON bootstrap).
 */
import type { Json } from '@meshward/sdk/envoy';

export interface ExtAuthzFilterOptions {
  /** `grpc` (envoy.service.auth.v3.Authorization) or `http` (http_service). */
  mode: 'grpc' | 'http';
  /** The cluster pointing at the server (HTTP/2 for grpc). */
  cluster: string;
  /**
   * grpc mode: call through Envoy's `google_grpc` client (the gRPC C++ library) at this target,
   * e.g. `127.0.0.1:9191`, instead of `envoy_grpc` to `cluster` (Envoy's own HTTP/2 client).
   */
  googleGrpcTarget?: string;
  /** http mode: the server's URI (its host is what Envoy sends as :authority), e.g. http://127.0.0.1:9192. */
  uri?: string;
  /** How long Envoy waits for a decision (default 1s for http; 200ms is Envoy's own grpc default). */
  timeout?: string;
  /** false (default): a failed or timed-out check is refused with `statusOnError`. */
  failureModeAllow?: boolean;
  /** The status Envoy returns when the check fails (Envoy's default: 403). */
  statusOnError?: number;
  /** http mode: a prefix Envoy puts before the original path (set server.http.path_prefix to the same). */
  pathPrefix?: string;
  /** http mode: request headers Envoy forwards besides its defaults (Host, Method, Path, Content-Length, Authorization). */
  forwardHeaders?: string[];
  /** http mode: response headers copied onto the upstream request on allow (default: the x-meshward- prefix). */
  upstreamHeaderPrefix?: string;
}

/** An `envoy.filters.http.ext_authz` entry for `http_filters`. */
export function extAuthzHttpFilter(o: ExtAuthzFilterOptions): Json {
  const config: { [key: string]: Json } = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
    transport_api_version: 'V3',
    failure_mode_allow: o.failureModeAllow ?? false,
  };
  // Tell the upstream when a request was let through only because the check failed.
  if (o.failureModeAllow) config['failure_mode_allow_header_add'] = true;
  if (o.statusOnError !== undefined) config['status_on_error'] = { code: o.statusOnError };
  if (o.mode === 'grpc') {
    const client: Json = o.googleGrpcTarget ? { google_grpc: { target_uri: o.googleGrpcTarget, stat_prefix: 'meshward_authz' } } : { envoy_grpc: { cluster_name: o.cluster } };
    config['grpc_service'] = { ...(client as { [key: string]: Json }), timeout: o.timeout ?? '0.2s' };
  } else {
    if (!o.uri) throw new Error('extAuthzHttpFilter: http mode needs the server uri');
    const service: { [key: string]: Json } = {
      server_uri: { uri: o.uri, cluster: o.cluster, timeout: o.timeout ?? '1s' },
      authorization_response: {
        allowed_upstream_headers: { patterns: [{ prefix: o.upstreamHeaderPrefix ?? 'x-meshward-', ignore_case: true }] },
      },
    };
    if (o.pathPrefix) service['path_prefix'] = o.pathPrefix;
    config['http_service'] = service;
    const forward = o.forwardHeaders ?? ['x-forwarded-for', 'x-forwarded-client-cert', 'x-request-id'];
    if (forward.length) config['allowed_headers'] = { patterns: forward.map((h) => ({ exact: h, ignore_case: true }) as Json) };
  }
  return { name: 'envoy.filters.http.ext_authz', typed_config: config };
}

/** `typed_per_filter_config` for a route or virtual host that skips ext_authz. */
export function extAuthzDisabledPerRoute(): { [key: string]: Json } {
  return {
    'envoy.filters.http.ext_authz': {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
      disabled: true,
    },
  };
}

/** gRPC: `envoy.service.auth.v3.Authorization/Check` and `grpc.health.v1.Health`. */
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { attributesFromCheckRequest } from '../attributes.js';
import type { Authorizer } from '../authorizer.js';
import { principalOf } from '../identity/types.js';
import type { Decision } from '../response.js';
import { AUTHORIZATION_SERVICE, serviceDefinitions } from './proto.js';

// protobufjs's built-in google.protobuf.Struct uses camelCase field names even with keepCase.
type StructValue = { stringValue: string } | { numberValue: number };

function struct(fields: Record<string, string | number | undefined>): { fields: Record<string, StructValue> } {
  const out: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'number') out[k] = { numberValue: v };
    else if (v !== undefined) out[k] = { stringValue: v };
  }
  return { fields: out };
}

const headerOptions = (headers: Record<string, string>) =>
  Object.entries(headers).map(([key, value]) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }));

/** google.rpc.Code values Envoy looks at: 0 allows, anything else denies. */
const RPC_OK = 0;
const RPC_PERMISSION_DENIED = 7;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_UNAUTHENTICATED = 16;

/** A Decision as a CheckResponse (proto3 JSON field names, as proto-loader takes them). */
export function toCheckResponse(d: Decision): Record<string, unknown> {
  // Envoy puts this under the filter's namespace (envoy.filters.http.ext_authz), so access logs
  // can print %DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision_id)%.
  const dynamic_metadata = struct({
    decision_id: d.id,
    decision: d.result,
    principal: principalOf(d.identity),
    risk_score: d.risk?.score,
    risk_reasons: d.risk && d.risk.reasons.length ? d.risk.reasons.join(',') : undefined,
  });
  if (d.result === 'allow') {
    return {
      status: { code: RPC_OK },
      ok_response: { headers: headerOptions(d.upstreamHeaders), headers_to_remove: d.removeHeaders },
      dynamic_metadata,
    };
  }
  return {
    status: { code: d.status === 401 ? RPC_UNAUTHENTICATED : d.status === 429 ? RPC_RESOURCE_EXHAUSTED : RPC_PERMISSION_DENIED },
    denied_response: { status: { code: d.status }, headers: headerOptions(d.responseHeaders), body: d.body ?? '' },
    dynamic_metadata,
  };
}

export interface GrpcHandle {
  port: number;
  setServing(serving: boolean): void;
  close(graceMs?: number): Promise<void>;
}

export async function startGrpc(authorizer: Authorizer, host: string, port: number): Promise<GrpcHandle> {
  const defs = serviceDefinitions();
  const server = new Server({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
  let serving = true;
  const watchers = new Set<ServerWritableStream<{ service?: string }, unknown>>();
  const healthOf = (service: string | undefined) => {
    if (service && service !== AUTHORIZATION_SERVICE) return undefined;
    return serving ? 'SERVING' : 'NOT_SERVING';
  };

  server.addService(defs.authorization, {
    Check: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      let attrs;
      try {
        attrs = attributesFromCheckRequest(call.request);
      } catch (e) {
        authorizer.metrics.recordError('grpc');
        authorizer.logger.error('check failed', { protocol: 'grpc', error: (e as Error).message });
        callback({ code: status.INVALID_ARGUMENT, details: 'malformed CheckRequest' });
        return;
      }
      authorizer.check(attrs, 'grpc').then(
        (d) => callback(null, toCheckResponse(d)),
        (e: unknown) => {
          authorizer.metrics.recordError('grpc');
          authorizer.logger.error('check failed', { protocol: 'grpc', error: e instanceof Error ? e.message : String(e) });
          // An error, not a decision: Envoy applies its own failure mode (status_on_error / failure_mode_allow).
          callback({ code: status.INTERNAL, details: 'authorization server error' });
        },
      );
    },
  });
  server.addService(defs.health, {
    Check: (call: ServerUnaryCall<{ service?: string }, unknown>, callback: sendUnaryData<unknown>) => {
      const s = healthOf(call.request.service);
      if (!s) callback({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      else callback(null, { status: s });
    },
    Watch: (call: ServerWritableStream<{ service?: string }, unknown>) => {
      call.write({ status: healthOf(call.request.service) ?? 'SERVICE_UNKNOWN' });
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
    },
  });

  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: bound,
    setServing(next: boolean) {
      serving = next;
      for (const w of watchers) w.write({ status: healthOf(w.request.service) ?? 'SERVICE_UNKNOWN' });
    },
    close(graceMs = 5_000) {
      for (const w of watchers) w.end();
      watchers.clear();
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

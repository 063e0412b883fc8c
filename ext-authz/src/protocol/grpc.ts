/** gRPC: `envoy.service.auth.v3.Authorization/Check` and `grpc.health.v1.Health`. */
import { Server, ServerCredentials, status, type MethodDefinition, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type ServiceDefinition } from '@grpc/grpc-js';
import type { CheckAttributes } from '../attributes.js';
import type { Authorizer } from '../authorizer.js';
import type { Decision } from '../response.js';
import { decodeCheckRequest, dynamicMetadataOf, encodeCheckResponse, rpcCodeOf } from './check-codec.js';
import { AUTHORIZATION_SERVICE, serviceDefinitions } from './proto.js';

// protobufjs's built-in google.protobuf.Struct uses camelCase field names even with keepCase.
type StructValue = { stringValue: string } | { numberValue: number };

const headerOptions = (headers: Record<string, string>) =>
  Object.entries(headers).map(([key, value]) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }));

/**
 * A Decision as a CheckResponse object (proto3 JSON field names, as proto-loader takes them).
 * The server itself writes the same message with `encodeCheckResponse`; this form is for callers
 * holding a Decision (tests, embedders using their own gRPC server).
 */
export function toCheckResponse(d: Decision): Record<string, unknown> {
  // Envoy puts this under the filter's namespace (envoy.filters.http.ext_authz), so access logs
  // can print %DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision_id)%.
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of dynamicMetadataOf(d)) {
    if (typeof v === 'number') fields[k] = { numberValue: v };
    else if (v !== undefined) fields[k] = { stringValue: v };
  }
  const dynamic_metadata = { fields };
  if (d.result === 'allow') {
    return {
      status: { code: rpcCodeOf(d) },
      ok_response: { headers: headerOptions(d.upstreamHeaders), headers_to_remove: d.removeHeaders },
      dynamic_metadata,
    };
  }
  return {
    status: { code: rpcCodeOf(d) },
    denied_response: { status: { code: d.status }, headers: headerOptions(d.responseHeaders), body: d.body ?? '' },
    dynamic_metadata,
  };
}

/**
 * The Authorization service as served: Check takes the raw request bytes (decoded by the lean
 * codec in the handler, so a malformed request gets INVALID_ARGUMENT and a log line) and answers
 * with bytes already encoded. Clients keep using `serviceDefinitions().authorization`.
 */
function servedAuthorization(defs: ServiceDefinition): ServiceDefinition {
  const check = defs['Check'];
  if (!check) throw new Error('the loaded Authorization service has no Check method');
  return {
    Check: {
      ...check,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (bytes: Buffer) => bytes,
    } as MethodDefinition<Buffer, Buffer>,
  };
}

export interface GrpcHandle {
  port: number;
  setServing(serving: boolean): void;
  close(graceMs?: number): Promise<void>;
}

export async function startGrpc(authorizer: Authorizer, host: string, port: number): Promise<GrpcHandle> {
  const defs = serviceDefinitions();
  const server = new Server({
    'grpc.max_receive_message_length': 8 * 1024 * 1024,
    // Per-call channelz bookkeeping costs a few µs a Check; nothing here reads it.
    'grpc.enable_channelz': 0,
  });
  let serving = true;
  const watchers = new Set<ServerWritableStream<{ service?: string }, unknown>>();
  const healthOf = (service: string | undefined) => {
    if (service && service !== AUTHORIZATION_SERVICE) return undefined;
    return serving ? 'SERVING' : 'NOT_SERVING';
  };

  const failed = (callback: sendUnaryData<Buffer>, e: unknown) => {
    authorizer.checkFailed('grpc', e);
    // An error, not a decision: Envoy applies its own failure mode (status_on_error / failure_mode_allow).
    callback({ code: status.INTERNAL, details: 'authorization server error' });
  };
  const answer = (callback: sendUnaryData<Buffer>, d: Decision) => {
    let encoded: Buffer;
    try {
      encoded = encodeCheckResponse(d);
    } catch (e) {
      failed(callback, e);
      return;
    }
    callback(null, encoded);
  };
  server.addService(servedAuthorization(defs.authorization), {
    Check: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      let attrs: CheckAttributes;
      try {
        attrs = decodeCheckRequest(call.request);
      } catch (e) {
        authorizer.checkFailed('grpc', e);
        callback({ code: status.INVALID_ARGUMENT, details: 'malformed CheckRequest' });
        return;
      }
      authorizer.checkAndAnswer(attrs, 'grpc', callback, answer, failed);
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

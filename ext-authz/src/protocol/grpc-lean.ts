/**
 * gRPC over the lean HTTP/2 layer (./h2): `envoy.service.auth.v3.Authorization/Check` and
 * `grpc.health.v1.Health` (Check and Watch), answering as the grpc-js transport in ./grpc.ts does.
 * Why a second transport: see ./h2/connection.ts. The gRPC wire protocol followed is
 * https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md.
 */
import { createServer, type Socket } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { CheckAttributes } from '../attributes.js';
import type { Authorizer } from '../authorizer.js';
import type { Decision } from '../response.js';
import { decodeCheckRequest, encodeCheckResponse } from './check-codec.js';
import type { GrpcHandle } from './grpc.js';
import { DEFAULT_H2_OPTIONS, H2ServerConnection, type H2Application, type H2ServerOptions, type H2Stream, type RequestHead } from './h2/connection.js';
import { asciiBytes, bytesEqual, indexedField, literalField, literalWithStaticName, STATIC_CONTENT_TYPE, STATIC_STATUS_200 } from './h2/hpack.js';
import { AUTHORIZATION_SERVICE, serviceDefinitions } from './proto.js';

/** gRPC status codes used here. */
const OK = 0;
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;

const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

const enum Method {
  Unknown,
  Check,
  HealthCheck,
  HealthWatch,
}

const PATH_CHECK = asciiBytes(`/${AUTHORIZATION_SERVICE}/Check`);
const PATH_HEALTH_CHECK = asciiBytes('/grpc.health.v1.Health/Check');
const PATH_HEALTH_WATCH = asciiBytes('/grpc.health.v1.Health/Watch');
const NAME_PATH = asciiBytes(':path');
const NAME_METHOD = asciiBytes(':method');
const NAME_CONTENT_TYPE = asciiBytes('content-type');
const NAME_GRPC_ENCODING = asciiBytes('grpc-encoding');
const VALUE_POST = asciiBytes('POST');
const VALUE_APPLICATION_GRPC = asciiBytes('application/grpc');

const latin1 = (b: Uint8Array, max = 256) => Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, max)).toString('latin1');

/** The request headers a gRPC call needs, read as they are decoded; the rest are only counted. */
class GrpcHead implements RequestHead {
  listSize = 0;
  method = Method.Unknown;
  /** For an unknown method's error message. */
  path = '';
  post = false;
  grpcContentType = false;
  encoding = 'identity';

  field(name: Uint8Array, value: Uint8Array): void {
    this.listSize += name.length + value.length + 32;
    const length = name.length;
    if (length === 5 && bytesEqual(name, NAME_PATH)) {
      if (bytesEqual(value, PATH_CHECK)) this.method = Method.Check;
      else if (bytesEqual(value, PATH_HEALTH_CHECK)) this.method = Method.HealthCheck;
      else if (bytesEqual(value, PATH_HEALTH_WATCH)) this.method = Method.HealthWatch;
      else this.path = latin1(value);
    } else if (length === 7 && bytesEqual(name, NAME_METHOD)) {
      this.post = bytesEqual(value, VALUE_POST);
    } else if (length === 12 && bytesEqual(name, NAME_CONTENT_TYPE)) {
      // application/grpc, optionally +proto / +json or with parameters.
      const base = VALUE_APPLICATION_GRPC.length;
      this.grpcContentType = value.length >= base && bytesEqual(value.subarray(0, base), VALUE_APPLICATION_GRPC) && (value.length === base || value[base] === 0x2b || value[base] === 0x3b);
    } else if (length === 13 && bytesEqual(name, NAME_GRPC_ENCODING)) {
      this.encoding = latin1(value, 64);
    }
  }
}

// Header blocks, encoded once.
const RESPONSE_HEADERS = Buffer.concat([indexedField(STATIC_STATUS_200), literalWithStaticName(STATIC_CONTENT_TYPE, 'application/grpc')]);
const TRAILERS_OK = literalField('grpc-status', '0');
const httpStatusOnly = (status: number) => literalWithStaticName(STATIC_STATUS_200, String(status));
const HTTP_405 = httpStatusOnly(405);
const HTTP_415 = httpStatusOnly(415);
const ACCEPT_ENCODING = literalField('grpc-accept-encoding', 'identity,deflate,gzip');

/** grpc-message is percent-encoded UTF-8 (PROTOCOL-HTTP2.md, "Responses"). */
function percentEncoded(message: string): Uint8Array {
  const bytes = Buffer.from(message.slice(0, 512), 'utf8');
  const out: number[] = [];
  for (const b of bytes) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x25) out.push(b);
    else out.push(0x25, ...asciiBytes(b.toString(16).toUpperCase().padStart(2, '0')));
  }
  return Uint8Array.from(out);
}

/** A trailers-only answer: the status in the only HEADERS frame (PROTOCOL-HTTP2.md). */
function trailersOnly(code: number, message: string, extra?: Uint8Array): Uint8Array {
  return Buffer.concat([RESPONSE_HEADERS, literalField('grpc-status', String(code)), literalField('grpc-message', percentEncoded(message)), ...(extra ? [extra] : [])]);
}

/** A message with its gRPC length prefix (uncompressed). */
function framed(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

class CallError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly extraHeaders?: Uint8Array,
  ) {
    super(message);
  }
}

/** The single request message of a unary or server-streaming call. */
function requestMessage(body: Buffer, encoding: string): Buffer {
  if (body.length < 5) throw new CallError(INTERNAL, body.length === 0 ? 'no request message' : 'truncated gRPC message prefix');
  const compressed = body[0]!;
  const length = body.readUInt32BE(1);
  if (compressed > 1) throw new CallError(INTERNAL, `invalid gRPC message flag ${compressed}`);
  if (body.length - 5 < length) throw new CallError(INTERNAL, 'truncated gRPC message');
  if (body.length - 5 > length) throw new CallError(UNIMPLEMENTED, 'more than one request message for a unary call');
  const message = body.subarray(5);
  if (!compressed) return message;
  try {
    if (encoding === 'gzip') return gunzipSync(message, { maxOutputLength: MAX_MESSAGE_BYTES });
    if (encoding === 'deflate') return inflateSync(message, { maxOutputLength: MAX_MESSAGE_BYTES });
  } catch (e) {
    const tooBig = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new CallError(tooBig ? RESOURCE_EXHAUSTED : INTERNAL, tooBig ? `decompressed message over ${MAX_MESSAGE_BYTES} bytes` : `could not decompress the ${encoding} message`);
  }
  if (encoding === 'identity') throw new CallError(INTERNAL, 'compressed flag set on a message with grpc-encoding identity');
  throw new CallError(UNIMPLEMENTED, `message compression ${encoding} is not supported`, ACCEPT_ENCODING);
}

const SERVING_STATUS = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
type ServingStatus = keyof typeof SERVING_STATUS;
/** HealthCheckResponse { status = 1 (enum) }, framed. */
const healthAnswer = (s: ServingStatus) => framed(Uint8Array.from([0x08, SERVING_STATUS[s]]));

export async function startLeanGrpc(authorizer: Authorizer, host: string, port: number, h2Options: Partial<H2ServerOptions> = {}): Promise<GrpcHandle> {
  const options: H2ServerOptions = { ...DEFAULT_H2_OPTIONS, ...h2Options };
  const healthRequest = serviceDefinitions().health['Check']!.requestDeserialize as (b: Buffer) => { service?: string };
  let serving = true;
  const watchers = new Map<H2Stream<GrpcHead>, string>();
  const connections = new Set<H2ServerConnection<GrpcHead>>();
  const healthOf = (service: string): ServingStatus | undefined => {
    if (service && service !== AUTHORIZATION_SERVICE) return undefined;
    return serving ? 'SERVING' : 'NOT_SERVING';
  };

  const fail = (stream: H2Stream<GrpcHead>, e: unknown) => {
    authorizer.checkFailed('grpc', e);
    // An error, not a decision: Envoy applies its own failure mode (status_on_error / failure_mode_allow).
    stream.respond(trailersOnly(INTERNAL, 'authorization server error'), undefined, undefined);
  };
  const answer = (stream: H2Stream<GrpcHead>, d: Decision) => {
    let message: Buffer;
    try {
      message = encodeCheckResponse(d);
    } catch (e) {
      fail(stream, e);
      return;
    }
    stream.respond(RESPONSE_HEADERS, framed(message), TRAILERS_OK);
  };

  const check = (stream: H2Stream<GrpcHead>, message: Buffer) => {
    let attrs: CheckAttributes;
    try {
      attrs = decodeCheckRequest(message);
    } catch (e) {
      authorizer.checkFailed('grpc', e);
      stream.respond(trailersOnly(INVALID_ARGUMENT, 'malformed CheckRequest'), undefined, undefined);
      return;
    }
    authorizer.checkAndAnswer(attrs, 'grpc', stream, answer, fail);
  };

  const health = (stream: H2Stream<GrpcHead>, message: Buffer, watch: boolean) => {
    let service: string;
    try {
      service = healthRequest(message).service ?? '';
    } catch {
      stream.respond(trailersOnly(INVALID_ARGUMENT, 'malformed HealthCheckRequest'), undefined, undefined);
      return;
    }
    const s = healthOf(service);
    if (!watch) {
      if (!s) stream.respond(trailersOnly(NOT_FOUND, `unknown service ${service}`), undefined, undefined);
      else stream.respond(RESPONSE_HEADERS, healthAnswer(s), TRAILERS_OK);
      return;
    }
    stream.respond(RESPONSE_HEADERS, healthAnswer(s ?? 'SERVICE_UNKNOWN'), undefined);
    watchers.set(stream, service);
    stream.onCancel = () => watchers.delete(stream);
  };

  const app: H2Application<GrpcHead> = {
    newHead: () => new GrpcHead(),
    onRequest(stream, body) {
      const head = stream.head;
      if (!head.post) return stream.respond(HTTP_405, undefined, undefined);
      if (!head.grpcContentType) return stream.respond(HTTP_415, undefined, undefined);
      if (head.method === Method.Unknown) return stream.respond(trailersOnly(UNIMPLEMENTED, `unknown method ${head.path}`), undefined, undefined);
      let message: Buffer;
      try {
        message = requestMessage(body, head.encoding);
      } catch (e) {
        const err = e instanceof CallError ? e : new CallError(INTERNAL, String(e));
        if (head.method === Method.Check) authorizer.checkFailed('grpc', err);
        return stream.respond(trailersOnly(err.code, err.message, err.extraHeaders), undefined, undefined);
      }
      if (head.method === Method.Check) check(stream, message);
      else health(stream, message, head.method === Method.HealthWatch);
    },
    onTooLarge(stream) {
      const message = `request message over ${MAX_MESSAGE_BYTES} bytes`;
      authorizer.checkFailed('grpc', message);
      stream.respond(trailersOnly(RESOURCE_EXHAUSTED, message), undefined, undefined);
    },
    onHeadersTooLarge(stream) {
      const message = `request headers over ${options.maxHeaderListSize} bytes`;
      authorizer.checkFailed('grpc', message);
      stream.respond(trailersOnly(RESOURCE_EXHAUSTED, message), undefined, undefined);
    },
    onConnectionError(message) {
      authorizer.logger.warn('grpc connection error', { error: message });
    },
  };

  // Set by close(): called once the last connection is gone.
  let allClosed: (() => void) | undefined;
  let closing: Promise<void> | undefined;
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    connections.add(
      new H2ServerConnection(socket, app, options, (c) => {
        connections.delete(c);
        if (connections.size === 0) allClosed?.();
      }),
    );
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
  server.on('error', (e) => authorizer.logger.error('grpc listener error', { error: e.message }));

  return {
    port: bound,
    setServing(next: boolean) {
      serving = next;
      for (const [w, service] of watchers) w.respond(undefined, healthAnswer(healthOf(service) ?? 'SERVICE_UNKNOWN'), undefined);
    },
    close(graceMs = 5_000) {
      if (closing) return closing;
      for (const w of watchers.keys()) w.respond(undefined, undefined, TRAILERS_OK);
      watchers.clear();
      closing = new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          for (const c of connections) c.destroy();
          resolve();
        }, graceMs);
        force.unref();
        allClosed = () => {
          clearTimeout(force);
          resolve();
        };
        // Stop accepting; each connection gets GOAWAY and ends once its open calls are answered.
        server.close();
        for (const c of connections) c.shutdown();
        if (connections.size === 0) allClosed();
      });
      return closing;
    },
  };
}

/**
 * gRPC service definitions. Envoy's API protos are read at run time from the copies that
 * `@grpc/grpc-js-xds` ships (never vendored here); the tiny standard health service is described
 * in code.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fromJSON, loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import type { GrpcObject, ServiceDefinition } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';

const LOADER_OPTIONS: Options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true };

/** The folders holding Envoy's protos and their imports, inside `@grpc/grpc-js-xds`. */
export function envoyProtoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => join(deps, d));
}

let cached: { authorization: ServiceDefinition; health: ServiceDefinition; grpc: GrpcObject } | undefined;
let authPackage: PackageDefinition | undefined;

/** Envoy's auth protos as proto-loader read them (loaded once). */
function authPackageDefinition(): PackageDefinition {
  authPackage ??= loadSync('envoy/service/auth/v3/external_auth.proto', { ...LOADER_OPTIONS, includeDirs: envoyProtoIncludeDirs() });
  return authPackage;
}

interface DescriptorField {
  name: string;
  number: number;
}
interface DescriptorMessage {
  name: string;
  field: DescriptorField[];
  nestedType: DescriptorMessage[];
  enumType: Array<{ name: string; value: Array<{ name: string; number: number }> }>;
}

/** A message of the loaded protos by full name (nested ones too, e.g. `...AttributeContext.HttpRequest`). */
function messageDescriptor(fullName: string): DescriptorMessage {
  const pkg = authPackageDefinition();
  const parts = fullName.split('.');
  for (let i = parts.length; i > 0; i--) {
    const top = pkg[parts.slice(0, i).join('.')] as { type?: DescriptorMessage } | undefined;
    if (!top?.type || !('field' in top.type)) continue;
    let m: DescriptorMessage | undefined = top.type;
    for (const nested of parts.slice(i)) m = m?.nestedType.find((n) => n.name === nested);
    if (m) return m;
  }
  throw new Error(`${fullName} is not a message in the loaded protos`);
}

/**
 * Field numbers of a message, by field name, read from the loaded protos (so the hand-written
 * Check codec never carries numbers of its own). Throws when a name is missing.
 */
export function fieldNumbers<const N extends string>(fullName: string, names: readonly N[]): Record<N, number> {
  const m = messageDescriptor(fullName);
  const out = {} as Record<N, number>;
  for (const name of names) {
    const f = m.field.find((x) => x.name === name);
    if (!f) throw new Error(`${fullName} has no field ${name} in the loaded protos`);
    out[name] = f.number;
  }
  return out;
}

/** The number of an enum value declared inside a message (e.g. HeaderValueOption.HeaderAppendAction). */
export function nestedEnumValue(message: string, enumName: string, value: string): number {
  const e = messageDescriptor(message).enumType.find((x) => x.name === enumName);
  const v = e?.value.find((x) => x.name === value);
  if (!v) throw new Error(`${message}.${enumName}.${value} is not in the loaded protos`);
  return v.number;
}

function lookup(obj: GrpcObject, path: string): { service: ServiceDefinition } {
  let cur: unknown = obj;
  for (const part of path.split('.')) cur = (cur as Record<string, unknown>)[part];
  if (!cur || typeof cur !== 'function' || !('service' in cur)) throw new Error(`${path} is not a service in the loaded protos`);
  return cur as unknown as { service: ServiceDefinition };
}

/** grpc.health.v1 (https://github.com/grpc/grpc/blob/master/doc/health-checking.md), written out as a protobufjs descriptor. */
const HEALTH_DESCRIPTOR = {
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
                Health: {
                  methods: {
                    Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' },
                    Watch: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', responseStream: true },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

export function serviceDefinitions(): { authorization: ServiceDefinition; health: ServiceDefinition; grpc: GrpcObject } {
  if (cached) return cached;
  const auth = loadPackageDefinition(authPackageDefinition());
  const health = loadPackageDefinition(fromJSON(HEALTH_DESCRIPTOR as Parameters<typeof fromJSON>[0], LOADER_OPTIONS));
  cached = {
    authorization: lookup(auth, 'envoy.service.auth.v3.Authorization').service,
    health: lookup(health, 'grpc.health.v1.Health').service,
    grpc: { ...auth, ...health },
  };
  return cached;
}

export const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

import { describe, expect, it } from 'vitest';
import { loadFilter, type GrpcCallRequest } from '../../../sdk/src/host/index.js';
import { fixture } from './wat.js';

const reverse = (args: Uint8Array): Uint8Array => Uint8Array.from(args).reverse();

describe('gRPC calls, foreign functions, log level', () => {
  it('delivers a unary gRPC answer to proxy_on_grpc_receive', async () => {
    const calls: GrpcCallRequest[] = [];
    const f = await loadFilter(await fixture('grpc-foreign.wat'), {
      logLevel: 'debug',
      foreignFunctions: { reverse },
      grpcCallResponder: (call) => {
        calls.push(call);
        return { message: `pong:${Buffer.from(call.message).toString()}` };
      },
    });
    const res = await f.http();
    expect(calls[0]).toMatchObject({ service: 'grpc-cluster', serviceName: 'pkg.Svc', method: 'Get', timeoutMs: 1000 });
    const h = res.upstreamRequest!.headers;
    expect(h['x-grpc-reply']).toBe('pong:req');
    expect(h['x-foreign']).toBe('cba');
    expect(h['x-foreign-missing']).toBe('1'); // NOT_FOUND
    expect(h['x-log-level']).toBe('1'); // debug
    f.close();
  });

  it('delivers a failed gRPC call to proxy_on_grpc_close, with the message through proxy_get_status', async () => {
    const f = await loadFilter(await fixture('grpc-foreign.wat'), {
      foreignFunctions: { reverse },
      grpcCallResponder: () => ({ status: 7, statusMessage: 'not allowed' }),
    });
    const h = (await f.http()).upstreamRequest!.headers;
    expect(h['x-grpc-status']).toBe('7');
    expect(h['x-grpc-message']).toBe('not allowed');
    expect(h['x-log-level']).toBe('2'); // info (the default)
    f.close();
  });
});

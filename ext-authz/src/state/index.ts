import { MemoryState } from './memory.js';
import { RedisState } from './redis.js';
import type { RiskState } from './types.js';

export * from './types.js';
export { MemoryState } from './memory.js';
export { RedisState } from './redis.js';
export { RespClient, RespError, encodeCommand, parseReply, type RespValue } from './resp.js';

export type StateConfig =
  | { kind: 'memory'; maxKeys: number }
  | { kind: 'redis'; url: string; keyPrefix: string; timeoutMs: number; maxKeys: number };

/** Opens the configured store. `onState` hears about Redis connecting and going away. */
export async function openState(config: StateConfig, onState?: (up: boolean, reason?: string) => void): Promise<RiskState> {
  if (config.kind === 'memory') return new MemoryState(config.maxKeys);
  return RedisState.open({ url: config.url, keyPrefix: config.keyPrefix, timeoutMs: config.timeoutMs, maxLocalKeys: config.maxKeys, ...(onState ? { onState } : {}) });
}

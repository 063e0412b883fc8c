/**
 * Times are the decision's time (`nowMs`), so expiry follows the same clock as the signals.
 *
 * Risk history: what signals remember between requests (velocity windows, a principal's last
 * location, known devices, failed authentications). One interface, two backends: in memory
 * (one replica) and Redis (shared by every replica, with the memory store as fallback).
 */

export interface WindowCount {
  /** Events in the window (including the one just added, for `hit`). */
  count: number;
  /** Time (ms) of the oldest event still in the window; undefined when empty. */
  oldestMs?: number;
}

export interface MemberCheck {
  /** The member is in the set. */
  known: boolean;
  /** How many members the set has. */
  size: number;
}

export interface RiskState {
  /** `memory` or `redis`: where answers come from right now (redis falls back to memory). */
  readonly backend: string;
  /** Adds an event at `nowMs` to the sliding window `key` and counts the window. */
  hit(key: string, windowMs: number, nowMs: number): Promise<WindowCount>;
  /** Counts the sliding window `key` without adding to it. */
  count(key: string, windowMs: number, nowMs: number): Promise<WindowCount>;
  get(key: string, nowMs: number): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number, nowMs: number): Promise<void>;
  /** Whether `member` is in the set `key`, and the set's size. */
  isMember(key: string, member: string, nowMs: number): Promise<MemberCheck>;
  /** Adds `member` to the set `key` (which expires `ttlMs` after its last change). */
  addMember(key: string, member: string, ttlMs: number, nowMs: number): Promise<void>;
  close(): Promise<void>;
}

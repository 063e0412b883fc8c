/**
 * Times are the decision's time (`nowMs`), so expiry follows the same clock as the signals.
 *
 * Risk history: what signals remember between requests (velocity windows, a principal's last
 * location, known devices, failed authentications). One interface, two backends: in memory
 * (one replica) and Redis (shared by every replica, with the memory store as fallback).
 */

// The interface is the SDK's (`@meshward/sdk/authz`): signal plug-ins use the same state.
export type { WindowCount, MemberCheck, RiskState, SyncRiskState } from '@meshward/sdk/authz';

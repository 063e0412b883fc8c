import { describe, expect, it } from 'vitest';
import { decisionId } from '../../../ext-authz/src/decision-id.js';

describe('decision ids', () => {
  it('are version 4 UUIDs, distinct across many pool refills, with every variant nibble and random bits', () => {
    const ids = Array.from({ length: 20_000 }, () => decisionId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id[19])).size).toBe(4);
    // Each hex digit outside the fixed ones is about uniform (1/16 each, over 20,000 ids).
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id[0]!, (counts.get(id[0]!) ?? 0) + 1);
    expect(counts.size).toBe(16);
    for (const n of counts.values()) expect(n).toBeGreaterThan(20_000 / 16 / 2);
  });
});

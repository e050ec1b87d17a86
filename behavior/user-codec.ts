import type { UserState } from './user-state.ts';

/**
 * UserState as stored: JSON, with the two vectors as base64 of their float64 bytes. That is
 * a third of the size of JSON numbers, and exact, so a replay rebuilds bit-identical state.
 */
export function encodeUser(u: UserState): string {
  return JSON.stringify({ ...u, short: pack(u.short), long: pack(u.long) });
}

export function decodeUser(s: string): UserState {
  const raw = JSON.parse(s) as Omit<UserState, 'short' | 'long'> & { short: string | null; long: string | null };
  return { ...raw, short: unpack(raw.short), long: unpack(raw.long) };
}

function pack(v: number[] | null): string | null {
  return v ? Buffer.from(Float64Array.from(v).buffer).toString('base64') : null;
}

function unpack(s: string | null): number[] | null {
  if (s === null) return null;
  const b = Buffer.from(s, 'base64');
  return Array.from(new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8));
}

// Asserting that a value is there (not null or undefined), and narrowing its type to match.
import assert from 'node:assert/strict';

export function present<T>(value: T | null | undefined, what = 'a value'): T {
  assert.ok(value !== null && value !== undefined, `expected ${what}, got ${value}`);
  return value;
}

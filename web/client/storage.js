// The little the page keeps across reloads: non-secret UI state only (the last channel).
// Passwords and session tokens never come here; storage may also be disabled, which costs
// nothing but the convenience.

export const LAST_CHANNEL_KEY = 'originchats.lastChannel';

export function readLocal(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writeLocal(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage may be disabled; the last channel is only a convenience.
  }
}

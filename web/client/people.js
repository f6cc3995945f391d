// Names as the page shows them (nickname, else the account name without its `USR:local_`
// prefix), role colours, and whether a message or a mention is about the reader.

import { state } from './state.js';

export function shortName(username) {
  const u = String(username ?? '');
  return u.startsWith('USR:local_') ? u.slice('USR:local_'.length) : u;
}

export function nameOf(username) {
  const user = state.users.get(username);
  if (user && typeof user.nickname === 'string' && user.nickname.trim()) return user.nickname;
  if (state.me && username === state.me.username && state.me.nickname) return state.me.nickname;
  return shortName(username);
}

export function colorOf(username) {
  return state.users.get(username)?.color ?? null;
}

/** Whether a mention token names the reader. */
export function isMe(token) {
  if (!state.me) return false;
  const t = String(token).toLowerCase();
  const me = state.me;
  return t === shortName(me.username).toLowerCase() || t === String(me.username).toLowerCase()
    || (typeof me.nickname === 'string' && t === me.nickname.toLowerCase());
}

export function mentionsMe(msg) {
  if (!state.me || msg.user === state.me.username) return false;
  const pings = msg.pings;
  if (pings && Array.isArray(pings.replies) && pings.replies.includes(state.me.username)) return true;
  if (pings && Array.isArray(pings.users) && pings.users.some(isMe)) return true;
  if (msg.reply_to && msg.reply_to.user === state.me.username && msg.ping !== false) return true;
  for (const m of String(msg.content ?? '').matchAll(/(?<![A-Za-z0-9_])@([A-Za-z0-9_]+)/g)) {
    if (isMe(m[1])) return true;
  }
  return false;
}

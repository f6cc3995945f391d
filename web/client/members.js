// The member list: everyone the server knows, online first, with status and role colour,
// kept up to date by presence, nickname and role packets.

import { $, h, replace } from './dom.js';
import { conn, state } from './state.js';
import { nameOf } from './people.js';
import { memberItem } from './render.js';
import { renderMessages } from './log.js';
import { renderMe } from './profile.js';

export function onUsersList(users) {
  if (!Array.isArray(users)) return;
  state.users = new Map(users.filter((u) => u && u.username).map((u) => [u.username, u]));
  state.online = new Set(users.filter((u) => u.status && u.status.status !== 'offline').map((u) => u.username));
  renderMembers();
  renderMe();
  renderMessages('keep');
}

export function onUsersOnline(users) {
  if (!Array.isArray(users)) return;
  state.online = new Set(users.map((u) => u.username));
  for (const u of users) {
    const known = state.users.get(u.username);
    state.users.set(u.username, { ...known, ...u });
  }
  renderMembers();
}

/** `user_join` (a new account) or `user_connect` (`online`: someone came online). */
export function onUserConnect(user, online) {
  if (!user || !user.username) return;
  state.users.set(user.username, { status: { status: 'online', text: '' }, ...state.users.get(user.username), ...user });
  if (online) state.online.add(user.username);
  renderMembers();
}

export function onUserDisconnect(username) {
  state.online.delete(username);
  renderMembers();
}

/** An account was deleted. */
export function onUserLeave(username) {
  state.users.delete(username);
  state.online.delete(username);
  renderMembers();
}

export function onStatus(username, status) {
  if (!username || !status || typeof status !== 'object') return;
  const user = state.users.get(username);
  if (user) user.status = status;
  if (state.me && username === state.me.username) {
    state.me.status = status;
    renderMe();
  }
  if (status.status === 'invisible' || status.status === 'offline') state.online.delete(username);
  else state.online.add(username);
  renderMembers();
}

export function onNickname(username, nickname) {
  const user = state.users.get(username);
  if (user) user.nickname = nickname;
  if (state.me && username === state.me.username) {
    state.me.nickname = nickname;
    renderMe();
  }
  renderMembers();
  renderMessages('keep');
}

export function onRoles(username, roles, color) {
  const user = state.users.get(username);
  if (user) {
    user.roles = roles;
    user.color = color;
  }
  if (state.me && username === state.me.username && Array.isArray(roles)) {
    state.me.roles = roles;
    // What may be done may have changed.
    conn.send({ cmd: 'channels_get' });
  }
  renderMembers();
}

function statusOf(username) {
  if (!state.online.has(username)) return 'offline';
  const s = state.users.get(username)?.status?.status;
  return s === 'idle' || s === 'dnd' ? s : 'online';
}

function renderMembers() {
  const users = [...state.users.values()];
  const byName = (a, b) => nameOf(a.username).localeCompare(nameOf(b.username));
  const online = users.filter((u) => statusOf(u.username) !== 'offline').sort(byName);
  const offline = users.filter((u) => statusOf(u.username) === 'offline').sort(byName);
  const ctx = { nameOf };
  const group = (title, list) => (list.length ? [
    h('h3', { class: 'member-group' }, `${title} — ${list.length}`),
    h('ul', { class: 'member-items' }, list.map((u) => memberItem(u, statusOf(u.username), ctx))),
  ] : []);
  replace($('member-list'), group('Online', online), group('Offline', offline));
}

// What the page knows, in one object every module reads and changes, and the page's one
// connection to its server. Secrets never touch storage: a password lives only in the login
// form (or, on a server without session tokens, in `memoryLogin`) until the server answers.

import { Connection } from './socket.js';
import { LAST_CHANNEL_KEY, readLocal } from './storage.js';

export const state = {
  caps: new Set(),
  authMode: 'cracked',
  server: {},
  limits: {},
  // The handshake's `attachments` settings (enabled, max_size, allowed_types).
  attachments: {},
  // This connection's credential for HTTP uploads, from `ready`: memory only, gone with
  // the connection.
  uploadToken: null,
  // Role definitions (`roles_list`), for the server permissions of the reader's roles.
  roles: {},
  // Custom emojis: id → { name, fileName }.
  emojis: new Map(),
  me: null,
  authed: false,
  everAuthed: false,
  pendingAuth: null, // 'password' | 'token' | 'memory'
  // The credentials of a password login until the server answers it.
  typedLogin: null,
  // Only when the server has no session tokens: the credentials of this page's login, in
  // memory (never stored), so that a reconnect can log in again.
  memoryLogin: null,
  channels: [],
  current: readLocal(LAST_CHANNEL_KEY),
  history: new Map(),
  users: new Map(),
  online: new Set(),
  unread: new Map(),
  mentions: new Map(),
  typing: new Map(),
  lastTypingSent: 0,
  replyTo: null,
  editing: null,
  // The last message given to the server, until it is stored: restored to the composer
  // when the server refuses it (rate limit, error), so no typed text is lost.
  unconfirmed: null,
  // After "Log out", the page does not log in with the session cookie again by itself.
  loggedOut: false,
};

export const conn = new Connection();

export function channelByName(name) {
  return state.channels.find((c) => c.name === name) ?? null;
}

// The built-in web client: state, the protocol (PROTOCOL.md), and the page's behaviour.
// Secrets never touch storage: a password lives only in the login form until the server
// answers; staying logged in is an HttpOnly session cookie made from a one-time token
// (POST /session), which the browser sends with the WebSocket upgrade. Only non-secret UI
// state (the last channel) is kept in localStorage.

import { $, h, replace } from './dom.js';
import { Connection } from './socket.js';
import { allowed } from './permissions.js';
import { EMOJI, channelItem, dayDivider, memberItem, messageElement, snippet } from './render.js';

const PAGE = 50;
const TYPING_SEND_EVERY_MS = 4000;
const TYPING_SHOW_MS = 6000;
const LAST_CHANNEL_KEY = 'originchats.lastChannel';

const state = {
  caps: new Set(),
  authMode: 'cracked',
  server: {},
  limits: {},
  me: null,
  authed: false,
  everAuthed: false,
  pendingAuth: null, // 'password' | 'token' | 'memory'
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
  pickerFor: null,
};

function readLocal(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function writeLocal(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage may be disabled; the last channel is only a convenience.
  }
}

const conn = new Connection({
  packet: onPacket,
  closed: onClosed,
});

// ---------------------------------------------------------------- names and permissions

function shortName(username) {
  const u = String(username ?? '');
  return u.startsWith('USR:local_') ? u.slice('USR:local_'.length) : u;
}

function nameOf(username) {
  const user = state.users.get(username);
  if (user && typeof user.nickname === 'string' && user.nickname.trim()) return user.nickname;
  if (state.me && username === state.me.username && state.me.nickname) return state.me.nickname;
  return shortName(username);
}

function colorOf(username) {
  return state.users.get(username)?.color ?? null;
}

/** Whether a mention token names the reader. */
function isMe(token) {
  if (!state.me) return false;
  const t = String(token).toLowerCase();
  const me = state.me;
  return t === shortName(me.username).toLowerCase() || t === String(me.username).toLowerCase()
    || (typeof me.nickname === 'string' && t === me.nickname.toLowerCase());
}

function mentionsMe(msg) {
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

function channelByName(name) {
  return state.channels.find((c) => c.name === name) ?? null;
}

/** `allowed` for the reader. */
function mayIn(channel, action) {
  return allowed(channel, action, state.me?.roles);
}

function can(action, msg) {
  const channel = channelByName(state.current);
  const mine = msg && state.me && msg.user === state.me.username;
  switch (action) {
    case 'send': return mayIn(channel, 'send');
    case 'react': return mayIn(channel, 'react') && state.caps.has('message_react_add');
    case 'edit': return mine && mayIn(channel, 'edit_own') && state.caps.has('message_edit');
    case 'delete': return (mine ? mayIn(channel, 'delete_own') : mayIn(channel, 'delete'))
      && state.caps.has('message_delete');
    case 'pin': return mayIn(channel, 'pin') && state.caps.has('message_pin');
    default: return false;
  }
}

// ---------------------------------------------------------------- notices

let toastTimer = null;
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 5000);
}

function banner(text) {
  const el = $('status-banner');
  el.textContent = text ?? '';
  el.hidden = !text;
}

// ---------------------------------------------------------------- connection and auth

function onClosed(willRetry, delay) {
  const wasAuthed = state.authed;
  state.authed = false;
  state.pendingAuth = null;
  state.passwordLogin = null;
  if (!$('auth-view').hidden) setAuthBusy(false);
  updateComposer();
  if (willRetry) {
    banner(`${wasAuthed || state.everAuthed ? 'Connection lost' : 'Cannot reach the server'}. Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
  }
}

function applyServer(server) {
  state.server = server && typeof server === 'object' ? server : {};
  const name = typeof state.server.name === 'string' && state.server.name.trim()
    ? state.server.name : 'OriginChats';
  document.title = name;
  $('server-name').textContent = name;
  $('auth-title').textContent = name;
  // The page's policy allows images from this origin and data: URLs only, so an icon
  // elsewhere (it would not load on a LAN without internet anyway) keeps the default.
  let icon = '/client/icon.svg';
  if (typeof state.server.icon === 'string' && state.server.icon) {
    try {
      const url = new URL(state.server.icon, location.href);
      if (url.origin === location.origin || url.protocol === 'data:') icon = url.href;
    } catch {
      // Not a URL: keep the default icon.
    }
  }
  $('favicon').href = icon;
  $('server-icon').src = icon;
  $('auth-icon').src = icon;
}

function onHandshake(val) {
  conn.healthy();
  state.caps = new Set(Array.isArray(val.capabilities) ? val.capabilities : []);
  state.authMode = typeof val.auth_mode === 'string' ? val.auth_mode : 'rotur';
  state.limits = val.limits ?? {};
  applyServer(val.server);
  if (state.memoryLogin) {
    state.pendingAuth = 'memory';
    conn.send({ cmd: 'login', ...state.memoryLogin });
  } else if (state.caps.has('token_login') && !state.loggedOut) {
    state.pendingAuth = 'token';
    conn.send({ cmd: 'token_login' });
  } else {
    showAuth();
  }
}

function showAuth(error = '') {
  banner(null);
  state.authed = false;
  $('chat-view').hidden = true;
  $('auth-view').hidden = false;
  const local = state.caps.has('login');
  const note = $('auth-note');
  if (!local) {
    note.textContent = 'This server only accepts Rotur accounts, which this page cannot log in with. '
      + 'Use the official OriginChats client with your Rotur account to chat here.';
    note.hidden = false;
    $('auth-fields').hidden = true;
    return;
  }
  note.hidden = state.authMode !== 'cracked';
  note.textContent = 'Log in with an account of this server. Rotur accounts can use the official OriginChats client.';
  $('auth-fields').hidden = false;
  $('register-button').hidden = !state.caps.has('register');
  $('auth-error').textContent = error;
  setAuthBusy(false);
  const user = $('auth-username');
  if (!user.value) user.focus();
  else $('auth-password').focus();
}

function setAuthBusy(busy) {
  $('login-button').disabled = busy;
  $('register-button').disabled = busy;
}

function submitAuth(cmd) {
  const username = $('auth-username').value.trim();
  const password = $('auth-password').value;
  if (!username || !password) {
    $('auth-error').textContent = 'Enter a username and a password.';
    return;
  }
  if (!conn.isOpen()) {
    $('auth-error').textContent = 'Not connected to the server yet; trying again…';
    return;
  }
  $('auth-error').textContent = '';
  setAuthBusy(true);
  state.pendingAuth = 'password';
  state.loggedOut = false;
  state.passwordLogin = { username, password };
  conn.send({ cmd, username, password });
}

function onAuthError(val) {
  const mode = state.pendingAuth;
  state.pendingAuth = null;
  state.passwordLogin = null;
  if (mode === 'token') {
    showAuth();
  } else if (mode === 'memory') {
    state.memoryLogin = null;
    showAuth(String(val ?? 'Please log in again.'));
  } else {
    showAuth(String(val ?? 'Login failed'));
  }
}

/** The answer to `session_token_create`: the token is exchanged at once for an HttpOnly
 * cookie and never kept by the page. */
async function onSessionToken(token) {
  if (typeof token !== 'string' || !token) return;
  try {
    const res = await fetch('/session', { method: 'POST', body: token, credentials: 'same-origin' });
    if (!res.ok) toast('Could not keep you logged in on this device.');
  } catch {
    toast('Could not keep you logged in on this device.');
  }
}

function onReady(p) {
  state.me = p.user && typeof p.user === 'object' ? p.user : { username: '' };
  const mode = state.pendingAuth;
  const typed = state.passwordLogin;
  state.pendingAuth = null;
  state.passwordLogin = null;
  $('auth-password').value = '';
  if (mode === 'password') {
    if (state.caps.has('session_token_create')) {
      state.memoryLogin = null;
      conn.send({ cmd: 'session_token_create' });
    } else if (typed) {
      state.memoryLogin = { username: typed.username, password: typed.password };
    }
  }
  state.authed = true;
  const reconnect = state.everAuthed;
  state.everAuthed = true;
  banner(null);
  for (const hist of state.history.values()) hist.stale = true;
  showChat();
  renderMe();
  conn.send({ cmd: 'channels_get' });
  conn.send({ cmd: 'users_list' });
  conn.send({ cmd: 'users_online' });
  if (state.caps.has('unreads_get')) conn.send({ cmd: 'unreads_get' });
  if (reconnect) toast('Reconnected.');
}

function showChat() {
  $('auth-view').hidden = true;
  $('chat-view').hidden = false;
  updateComposer();
}

async function logout() {
  try {
    await fetch('/session', { method: 'DELETE', credentials: 'same-origin' });
  } catch {
    // Offline: the cookie stays until it expires, but this page forgets the login.
  }
  state.memoryLogin = null;
  state.loggedOut = true;
  state.me = null;
  state.everAuthed = false;
  state.history.clear();
  conn.restart();
  showAuth();
}

// ---------------------------------------------------------------- packets

function onPacket(p) {
  const cmd = p.cmd ?? p.type;
  switch (cmd) {
    case 'handshake': return onHandshake(p.val ?? {});
    case 'auth_error': return onAuthError(p.val);
    case 'auth_success': return undefined;
    case 'ready': return onReady(p);
    case 'session_token_create': return onSessionToken(p.token);
    case 'ping': case 'pong': return undefined;
    case 'channels_get': return onChannels(p.val);
    case 'users_list': return onUsersList(p.users);
    case 'users_online': return onUsersOnline(p.users);
    case 'user_join': case 'user_connect': return onUserConnect(p.user, cmd === 'user_connect');
    case 'user_disconnect': state.online.delete(p.username); return renderMembers();
    case 'user_leave': state.users.delete(p.username); state.online.delete(p.username); return renderMembers();
    case 'status_get': case 'status': return onStatus(p.username, p.status);
    case 'status_set': return onStatus(state.me?.username, p.status);
    case 'nickname_update': case 'nickname_remove': case 'user_updated':
      return onNickname(p.username, cmd === 'nickname_remove' ? null : p.nickname);
    case 'user_roles_get': return onRoles(p.user, p.roles, p.color);
    case 'unreads_get': return onUnreads(p.unreads);
    case 'unreads_update': return onRead(p.channel);
    case 'messages_get': return onHistory(p);
    case 'message_new': return onMessageNew(p);
    case 'message_edit': return onMessageEdit(p);
    case 'message_delete': return onMessageDelete(p);
    case 'message_react_add': case 'message_react_remove':
      return onReaction(p, cmd === 'message_react_add');
    case 'message_pin': case 'message_unpin': return onPin(p);
    case 'messages_pinned': return showPanel('Pinned messages', p.messages, 'No pinned messages.');
    case 'messages_search':
      return showPanel(`Search: ${p.query}`, p.results, 'No messages found.');
    case 'typing': return onTyping(p.channel, p.user);
    case 'voice_user_joined': return onVoice(p.channel, p.user, 'joined');
    case 'voice_user_left': return onVoice(p.channel, { username: p.username }, 'left');
    case 'voice_user_updated': return onVoice(p.channel, p.user, 'updated');
    case 'server_update': return applyServer({ ...state.server, name: p.name ?? state.server.name, icon: p.icon ?? state.server.icon });
    case 'rate_limit':
      restoreUnconfirmed();
      return toast(`Slow down: try again in ${Math.ceil(Number(p.length || 1000) / 1000)} s.`);
    case 'disconnect': return toast(String(p.reason ?? 'Disconnected by the server'));
    case 'error': return onError(p);
    default: return undefined;
  }
}

function onError(p) {
  const text = String(p.val ?? 'Something went wrong');
  if (p.src === 'session_token_create' || p.src === 'token_login') return;
  if (p.src === 'message_new') restoreUnconfirmed();
  if (p.src === 'nickname_update') {
    $('nick-input').setAttribute('aria-invalid', 'true');
  }
  toast(text);
}

// ---------------------------------------------------------------- channels

function onChannels(list) {
  if (!Array.isArray(list)) return;
  state.channels = list.filter((c) => c && typeof c === 'object');
  const texts = state.channels.filter((c) => c.type === 'text' || c.type === undefined);
  const previous = state.current;
  if (!texts.some((c) => c.name === state.current)) state.current = texts[0]?.name ?? null;
  const hist = state.current ? history(state.current) : null;
  if (state.current !== previous || !hist || !hist.loaded || hist.stale) {
    openChannel(state.current, true);
  } else {
    // A pushed list (a channel was added, renamed or its permissions changed).
    renderChannels();
    updateComposer();
    renderMessages('keep');
  }
}

function renderChannels() {
  const ctx = {
    current: state.current,
    nameOf, colorOf,
    unread: (n) => state.unread.get(n) ?? 0,
    mentions: (n) => state.mentions.get(n) ?? 0,
    open: (n) => { openChannel(n); closeDrawers(); },
  };
  replace($('channel-list'), state.channels.map((c) => channelItem(c, ctx)).filter(Boolean));
  const total = [...state.mentions.values()].reduce((a, b) => a + b, 0);
  const name = $('server-name').textContent;
  document.title = total ? `(${total}) ${name}` : name;
}

function history(channel) {
  let hist = state.history.get(channel);
  if (!hist) {
    hist = { list: [], loaded: false, complete: false, loading: false, stale: false };
    state.history.set(channel, hist);
  }
  return hist;
}

function openChannel(name, refresh = false) {
  if (!name) {
    $('channel-title').textContent = 'No channels';
    replace($('messages'));
    updateComposer();
    return;
  }
  const changed = name !== state.current || refresh;
  if (name !== state.current) {
    cancelReply();
    state.editing = null;
  }
  state.current = name;
  writeLocal(LAST_CHANNEL_KEY, name);
  const channel = channelByName(name);
  $('channel-title').textContent = '# ' + (channel?.display_name || name);
  $('channel-desc').textContent = typeof channel?.description === 'string' ? channel.description : '';
  const hist = history(name);
  if (!hist.loaded || hist.stale) {
    hist.loading = true;
    conn.send({ cmd: 'messages_get', channel: name, start: 0, limit: PAGE });
  } else {
    // Opening a channel reads it.
    if (state.caps.has('unreads_ack') && (state.unread.get(name) || state.mentions.get(name))) {
      conn.send({ cmd: 'unreads_ack', channel: name });
    }
    onRead(name);
  }
  if (changed) renderMessages('bottom');
  renderChannels();
  renderTyping();
  updateComposer();
}

function onUnreads(unreads) {
  if (!unreads || typeof unreads !== 'object') return;
  for (const [name, info] of Object.entries(unreads)) {
    const n = Number(info?.unread_count) || 0;
    if (name === state.current && !document.hidden) continue;
    if (n) state.unread.set(name, n);
    else state.unread.delete(name);
  }
  renderChannels();
}

function onRead(channel) {
  state.unread.delete(channel);
  state.mentions.delete(channel);
  renderChannels();
}

function onVoice(channelName, user, change) {
  const channel = channelByName(channelName);
  if (!channel || !user) return;
  const people = Array.isArray(channel.voice_state) ? channel.voice_state : [];
  const rest = people.filter((p) => p.username !== user.username);
  channel.voice_state = change === 'left' ? rest
    : [...rest, { username: user.username, muted: Boolean(user.muted) }];
  renderChannels();
}

// ---------------------------------------------------------------- members

function onUsersList(users) {
  if (!Array.isArray(users)) return;
  state.users = new Map(users.filter((u) => u && u.username).map((u) => [u.username, u]));
  state.online = new Set(users.filter((u) => u.status && u.status.status !== 'offline').map((u) => u.username));
  renderMembers();
  renderMe();
  renderMessages('keep');
}

function onUsersOnline(users) {
  if (!Array.isArray(users)) return;
  state.online = new Set(users.map((u) => u.username));
  for (const u of users) {
    const known = state.users.get(u.username);
    state.users.set(u.username, { ...known, ...u });
  }
  renderMembers();
}

function onUserConnect(user, online) {
  if (!user || !user.username) return;
  state.users.set(user.username, { status: { status: 'online', text: '' }, ...state.users.get(user.username), ...user });
  if (online) state.online.add(user.username);
  renderMembers();
}

function onStatus(username, status) {
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

function onNickname(username, nickname) {
  const user = state.users.get(username);
  if (user) user.nickname = nickname;
  if (state.me && username === state.me.username) {
    state.me.nickname = nickname;
    renderMe();
  }
  renderMembers();
  renderMessages('keep');
}

function onRoles(username, roles, color) {
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

function renderMe() {
  if (!state.me) return;
  $('me-name').textContent = nameOf(state.me.username);
  const status = state.me.status?.status ?? 'online';
  $('me-dot').className = `dot ${status === 'invisible' ? 'offline' : status}`;
  if (document.activeElement !== $('status-select')) $('status-select').value = status === 'offline' ? 'invisible' : status;
  if (document.activeElement !== $('status-text')) $('status-text').value = state.me.status?.text ?? '';
  if (document.activeElement !== $('nick-input')) $('nick-input').value = state.me.nickname ?? '';
  $('nick-form').hidden = !state.caps.has('nickname_update') && !state.caps.has('slash_call');
  $('status-form').hidden = !state.caps.has('status_set');
}

// ---------------------------------------------------------------- messages

function currentList() {
  return state.current ? history(state.current).list : [];
}

const messageCtx = {
  get me() { return state.me?.username; },
  nameOf,
  colorOf,
  mentionsMe,
  can,
  find: (id) => currentList().find((m) => m.id === id) ?? null,
  act: (action, msg, arg) => act(action, msg, arg),
  markdown: { isMe },
};

function dayOf(msg) {
  return new Date(Number(msg.timestamp) * 1000).toDateString();
}

/** Re-renders the current channel; `anchor`: 'bottom', 'keep' or 'older' (prepended). */
function renderMessages(anchor) {
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
  const fromBottom = log.scrollHeight - log.scrollTop;
  const hist = state.current ? history(state.current) : null;
  const list = hist ? hist.list : [];
  const nodes = [];
  let day = null;
  for (const msg of list) {
    if (dayOf(msg) !== day) {
      day = dayOf(msg);
      nodes.push(dayDivider(msg.timestamp));
    }
    nodes.push(messageElement(msg, messageCtx));
  }
  replace($('messages'), nodes);
  updateLogStart();
  if (state.editing) {
    const el = messageNode(state.editing);
    const msg = list.find((m) => m.id === state.editing);
    if (el && msg) startEdit(msg, false);
  }
  if (anchor === 'bottom' || (anchor === 'keep' && atBottom)) log.scrollTop = log.scrollHeight;
  else if (anchor === 'older') log.scrollTop = log.scrollHeight - fromBottom;
}

/** The line above the oldest message, once the whole history is loaded. */
function updateLogStart() {
  const hist = state.current ? history(state.current) : null;
  const start = $('log-start');
  start.hidden = !hist || !hist.loaded || !hist.complete;
  start.textContent = hist?.list.length ? `This is the start of #${state.current}.` : `No messages in #${state.current} yet.`;
}

function messageNode(id) {
  return [...$('messages').querySelectorAll('.msg')].find((el) => el.dataset.id === id) ?? null;
}

function replaceMessageNode(msg) {
  const old = messageNode(msg.id);
  if (!old) return;
  const focused = old.contains(document.activeElement);
  const fresh = messageElement(msg, messageCtx);
  if (old.classList.contains('selected')) fresh.classList.add('selected');
  old.replaceWith(fresh);
  if (focused) fresh.focus();
}

function onHistory(p) {
  if (typeof p.channel !== 'string' || !Array.isArray(p.messages)) return;
  const hist = history(p.channel);
  const page = p.messages.filter((m) => m && typeof m.id === 'string');
  const older = typeof p.range?.start === 'string';
  hist.loading = false;
  if (older) {
    const known = new Set(hist.list.map((m) => m.id));
    hist.list = page.filter((m) => !known.has(m.id)).concat(hist.list);
    if (page.length < PAGE) hist.complete = true;
  } else {
    // The newest page: after a reconnect it replaces what it overlaps (edits and deletes
    // missed while away), keeping older pages when they join up.
    const at = page.length && hist.loaded ? hist.list.findIndex((m) => m.id === page[0].id) : -1;
    if (at >= 0) {
      hist.list = hist.list.slice(0, at).concat(page);
    } else {
      hist.list = page;
      hist.complete = page.length < PAGE;
    }
    hist.loaded = true;
    hist.stale = false;
  }
  if (p.channel === state.current) {
    renderMessages(older ? 'older' : (hist.list.length === page.length ? 'bottom' : 'keep'));
    onRead(p.channel);
    if (!older) maybeLoadOlder();
  }
}

function maybeLoadOlder() {
  const log = $('log');
  const hist = state.current ? history(state.current) : null;
  if (!hist || !hist.loaded || hist.complete || hist.loading || !state.authed) return;
  if (log.scrollTop > 150 && log.scrollHeight > log.clientHeight) return;
  const oldest = hist.list[0];
  if (!oldest) return;
  hist.loading = true;
  conn.send({ cmd: 'messages_get', channel: state.current, start: oldest.id, limit: PAGE });
}

function onMessageNew(p) {
  const msg = p.message;
  const channel = p.channel;
  if (!msg || typeof msg.id !== 'string' || typeof channel !== 'string' || p.thread_id) return;
  const hist = history(channel);
  if (hist.loaded && !hist.list.some((m) => m.id === msg.id)) hist.list.push(msg);
  const channelObj = channelByName(channel);
  if (channelObj) channelObj.last_message_id = msg.id;
  const mine = state.me && msg.user === state.me.username;
  if (mine && state.unconfirmed && state.unconfirmed.content === msg.content) state.unconfirmed = null;
  // A refusal of something else (a typing packet) may have restored this text: it went through.
  if (mine && $('message-input').value === msg.content) {
    $('message-input').value = '';
    autosize();
  }
  if (channel === state.current && hist.loaded) {
    const log = $('log');
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
    const last = hist.list[hist.list.length - 2];
    if (!last || dayOf(last) !== dayOf(msg)) $('messages').append(dayDivider(msg.timestamp));
    $('messages').append(messageElement(msg, messageCtx));
    updateLogStart();
    if (atBottom || mine) log.scrollTop = log.scrollHeight;
    clearTyping(channel, msg.user);
  }
  if (!mine && (channel !== state.current || document.hidden)) {
    state.unread.set(channel, (state.unread.get(channel) ?? 0) + 1);
    if (mentionsMe(msg)) state.mentions.set(channel, (state.mentions.get(channel) ?? 0) + 1);
    renderChannels();
  } else if (!mine && state.caps.has('unreads_ack')) {
    conn.send({ cmd: 'unreads_ack', channel, message_id: msg.id });
  }
}

function findMessage(channel, id) {
  const hist = state.history.get(channel);
  return hist ? hist.list.find((m) => m.id === id) ?? null : null;
}

function onMessageEdit(p) {
  const msg = findMessage(p.channel, p.id);
  if (!msg) return;
  if (p.message && typeof p.message === 'object') Object.assign(msg, p.message);
  else msg.content = p.content;
  msg.edited = true;
  if (p.channel === state.current && state.editing !== msg.id) replaceMessageNode(msg);
}

function onMessageDelete(p) {
  const hist = state.history.get(p.channel);
  if (!hist) return;
  hist.list = hist.list.filter((m) => m.id !== p.id);
  if (state.replyTo?.id === p.id) cancelReply();
  if (p.channel === state.current) {
    messageNode(p.id)?.remove();
    updateLogStart();
  }
}

function onReaction(p, added) {
  const msg = findMessage(p.channel, p.id);
  if (!msg || typeof p.emoji !== 'string') return;
  const reactions = msg.reactions && typeof msg.reactions === 'object' ? msg.reactions : {};
  const users = new Set(reactions[p.emoji] ?? []);
  if (added) users.add(p.from);
  else users.delete(p.from);
  if (users.size) reactions[p.emoji] = [...users];
  else delete reactions[p.emoji];
  msg.reactions = reactions;
  if (p.channel === state.current) replaceMessageNode(msg);
}

function onPin(p) {
  const msg = findMessage(p.channel, p.id);
  if (!msg) return;
  msg.pinned = p.cmd === 'message_unpin' ? false : Boolean(p.pinned);
  if (p.channel === state.current) replaceMessageNode(msg);
}

// ---------------------------------------------------------------- message actions

function act(action, msg, arg) {
  switch (action) {
    case 'jump': return jumpTo(msg.id);
    case 'reply': return startReply(msg);
    case 'picker': return openPicker(msg, arg?.currentTarget);
    case 'react': return conn.send({ cmd: 'message_react_add', id: msg.id, channel: state.current, emoji: arg });
    case 'unreact': return conn.send({ cmd: 'message_react_remove', id: msg.id, channel: state.current, emoji: arg });
    case 'edit': return startEdit(msg, true);
    case 'delete': return confirmDelete(msg, arg?.currentTarget);
    case 'pin': return conn.send({ cmd: 'message_pin', id: msg.id, channel: state.current });
    case 'unpin': return conn.send({ cmd: state.caps.has('message_unpin') ? 'message_unpin' : 'message_pin', id: msg.id, channel: state.current, pinned: false });
    default: return undefined;
  }
}

function jumpTo(id) {
  const el = messageNode(id);
  if (!el) {
    toast('That message is further back in the history.');
    return;
  }
  el.scrollIntoView({ block: 'center' });
  el.classList.add('flash');
  setTimeout(() => el.classList.remove('flash'), 1500);
  el.focus({ preventScroll: true });
}

function startReply(msg) {
  state.replyTo = { id: msg.id, user: msg.user };
  replace($('reply-text'), 'Replying to ', h('strong', {}, nameOf(msg.user)), ': ', snippet(msg.content, 60));
  $('reply-bar').hidden = false;
  $('message-input').focus();
}

function cancelReply() {
  state.replyTo = null;
  $('reply-bar').hidden = true;
}

function confirmDelete(msg, button) {
  if (!button) return;
  if (button.dataset.armed === 'yes') {
    conn.send({ cmd: 'message_delete', id: msg.id, channel: state.current });
    return;
  }
  button.dataset.armed = 'yes';
  button.textContent = 'Confirm delete';
  button.classList.add('danger');
  setTimeout(() => {
    if (!button.isConnected) return;
    button.dataset.armed = '';
    button.textContent = 'Delete';
    button.classList.remove('danger');
  }, 4000);
}

function startEdit(msg, focus) {
  const el = messageNode(msg.id);
  if (!el) return;
  state.editing = msg.id;
  const input = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: '2' });
  input.value = msg.content ?? '';
  const done = () => {
    state.editing = null;
    replaceMessageNode(findMessage(state.current, msg.id) ?? msg);
  };
  const save = () => {
    const content = input.value.trim();
    if (!content) return;
    if (content !== msg.content) conn.send({ cmd: 'message_edit', id: msg.id, channel: state.current, content });
    msg.content = content;
    done();
    $('message-input').focus();
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      save();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      done();
      $('message-input').focus();
    }
  });
  const form = h('div', { class: 'edit-box' }, input,
    h('div', { class: 'edit-buttons' },
      h('button', { type: 'button', class: 'primary', onclick: save }, 'Save'),
      h('button', { type: 'button', onclick: done }, 'Cancel')));
  el.querySelector('.content').replaceWith(form);
  el.querySelector('.msg-tools')?.remove();
  if (focus) {
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }
}

function openPicker(msg, anchor) {
  const picker = $('emoji-picker');
  state.pickerFor = msg.id;
  replace(picker, EMOJI.map(([emoji, name]) => h('button', {
    type: 'button',
    class: 'emoji',
    'aria-label': `${emoji} ${name}`,
    title: name,
    onclick: () => {
      const mine = (msg.reactions?.[emoji] ?? []).includes(state.me?.username);
      act(mine ? 'unreact' : 'react', msg, emoji);
      closePicker(true);
    },
  }, emoji)));
  picker.hidden = false;
  picker.returnFocus = anchor ?? null;
  const rect = anchor ? anchor.getBoundingClientRect() : { left: 20, bottom: 100, top: 100 };
  const width = picker.offsetWidth;
  const height = picker.offsetHeight;
  const left = Math.max(8, Math.min(window.innerWidth - width - 8, rect.left));
  const below = rect.bottom + 4;
  const top = below + height > window.innerHeight - 8 ? Math.max(8, rect.top - height - 4) : below;
  picker.style.left = `${left}px`;
  picker.style.top = `${top}px`;
  picker.querySelector('button')?.focus();
}

function closePicker(restoreFocus) {
  const picker = $('emoji-picker');
  if (picker.hidden) return;
  picker.hidden = true;
  state.pickerFor = null;
  if (restoreFocus && picker.returnFocus?.isConnected) picker.returnFocus.focus();
}

// ---------------------------------------------------------------- composer and typing

function updateComposer() {
  const channel = channelByName(state.current);
  const ok = state.authed && channel && mayIn(channel, 'send');
  const input = $('message-input');
  input.disabled = !ok;
  $('send-button').disabled = !ok;
  input.placeholder = !state.authed ? 'Reconnecting…'
    : ok ? `Message #${channel.display_name || channel.name}` : 'You cannot send messages in this channel';
  $('pins-button').hidden = !state.caps.has('messages_pinned');
  $('search-form').hidden = !state.caps.has('messages_search');
}

function send() {
  const input = $('message-input');
  const content = input.value.trim();
  if (!content || !state.current) return;
  const max = Number(state.limits.post_content) || 2000;
  if ([...content].length > max) {
    toast(`Messages can be at most ${max} characters.`);
    return;
  }
  const packet = { cmd: 'message_new', channel: state.current, content };
  if (state.replyTo) packet.reply_to = state.replyTo.id;
  if (!conn.send(packet)) {
    toast('Not connected: the message was not sent.');
    return;
  }
  state.unconfirmed = { content, replyTo: state.replyTo };
  input.value = '';
  autosize();
  cancelReply();
  state.lastTypingSent = 0;
}

function restoreUnconfirmed() {
  const lost = state.unconfirmed;
  state.unconfirmed = null;
  const input = $('message-input');
  if (!lost || input.value) return;
  input.value = lost.content;
  autosize();
  if (lost.replyTo) {
    const msg = findMessage(state.current, lost.replyTo.id);
    if (msg) startReply(msg);
  }
}

function autosize() {
  const input = $('message-input');
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

function onInput() {
  autosize();
  const now = Date.now();
  if ($('message-input').value.trim() && now - state.lastTypingSent > TYPING_SEND_EVERY_MS
      && state.caps.has('typing') && state.current) {
    state.lastTypingSent = now;
    conn.send({ cmd: 'typing', channel: state.current });
  }
}

function onTyping(channel, user) {
  if (!channel || !user || user === state.me?.username) return;
  let people = state.typing.get(channel);
  if (!people) {
    people = new Map();
    state.typing.set(channel, people);
  }
  clearTimeout(people.get(user));
  people.set(user, setTimeout(() => clearTyping(channel, user), TYPING_SHOW_MS));
  if (channel === state.current) renderTyping();
}

function clearTyping(channel, user) {
  const people = state.typing.get(channel);
  if (!people || !people.has(user)) return;
  clearTimeout(people.get(user));
  people.delete(user);
  if (channel === state.current) renderTyping();
}

function renderTyping() {
  const names = [...(state.typing.get(state.current)?.keys() ?? [])].map(nameOf);
  const el = $('typing');
  if (!names.length) el.textContent = '';
  else if (names.length === 1) el.textContent = `${names[0]} is typing…`;
  else if (names.length <= 3) el.textContent = `${names.join(', ')} are typing…`;
  else el.textContent = 'Several people are typing…';
}

// ---------------------------------------------------------------- panels: pins, search

function showPanel(title, messages, empty) {
  const panel = $('panel');
  $('panel-title').textContent = title;
  const list = Array.isArray(messages) ? messages : [];
  const ctx = { ...messageCtx, can: () => false };
  replace($('panel-body'), list.length ? list.map((m) => {
    const el = messageElement(m, ctx);
    el.classList.add('result');
    el.addEventListener('click', () => jumpTo(m.id));
    el.addEventListener('keydown', (e) => { if (e.key === 'Enter') jumpTo(m.id); });
    return el;
  }) : h('p', { class: 'note' }, empty));
  panel.hidden = false;
  $('panel-close').focus();
}

// ---------------------------------------------------------------- layout

function closeDrawers() {
  document.body.classList.remove('show-channels', 'show-members');
  $('toggle-channels').setAttribute('aria-expanded', 'false');
  $('toggle-members').setAttribute('aria-expanded', String(document.body.classList.contains('members-open')));
}

function toggleDrawer(which) {
  const phone = window.matchMedia('(max-width: 799px)').matches;
  if (which === 'members' && !phone) {
    const open = !document.body.classList.toggle('members-closed');
    $('toggle-members').setAttribute('aria-expanded', String(open));
    return;
  }
  const cls = `show-${which}`;
  const open = !document.body.classList.contains(cls);
  closeDrawers();
  document.body.classList.toggle(cls, open);
  $(`toggle-${which}`).setAttribute('aria-expanded', String(open));
}

// ---------------------------------------------------------------- wiring

function wire() {
  $('auth-form').addEventListener('submit', (e) => {
    e.preventDefault();
    submitAuth('login');
  });
  $('register-button').addEventListener('click', () => submitAuth('register'));
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  const input = $('message-input');
  input.addEventListener('input', onInput);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && state.replyTo) {
      cancelReply();
    } else if (e.key === 'ArrowUp' && !input.value) {
      const mine = [...currentList()].reverse().find((m) => m.user === state.me?.username && can('edit', m));
      if (mine) {
        e.preventDefault();
        startEdit(mine, true);
      }
    }
  });
  $('reply-cancel').addEventListener('click', () => {
    cancelReply();
    input.focus();
  });
  $('log').addEventListener('scroll', maybeLoadOlder, { passive: true });
  // A tap or click on a message shows its actions (phones have no hover).
  $('messages').addEventListener('click', (e) => {
    const msg = e.target.closest('.msg');
    if (!msg || e.target.closest('button, a, textarea')) return;
    for (const el of $('messages').querySelectorAll('.msg.selected')) if (el !== msg) el.classList.remove('selected');
    msg.classList.toggle('selected');
  });
  $('pins-button').addEventListener('click', () => {
    if (state.current) conn.send({ cmd: 'messages_pinned', channel: state.current });
  });
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const query = $('search-input').value.trim();
    if (query && state.current) conn.send({ cmd: 'messages_search', channel: state.current, query });
  });
  $('panel-close').addEventListener('click', () => {
    $('panel').hidden = true;
    input.focus();
  });
  $('toggle-channels').addEventListener('click', () => toggleDrawer('channels'));
  document.querySelector('.main').addEventListener('click', (e) => {
    const open = document.body.classList.contains('show-channels') || document.body.classList.contains('show-members');
    if (open && !e.target.closest('#toggle-channels, #toggle-members')) closeDrawers();
  });
  $('toggle-members').addEventListener('click', () => toggleDrawer('members'));
  $('status-form').addEventListener('submit', (e) => {
    e.preventDefault();
    conn.send({ cmd: 'status_set', status: $('status-select').value, text: $('status-text').value.trim() });
  });
  $('nick-form').addEventListener('submit', (e) => {
    e.preventDefault();
    $('nick-input').removeAttribute('aria-invalid');
    const nickname = $('nick-input').value.trim();
    if (state.caps.has('nickname_update')) {
      conn.send(nickname ? { cmd: 'nickname_update', nickname } : { cmd: 'nickname_remove' });
    } else if (state.current) {
      conn.send({ cmd: 'slash_call', channel: state.current, command: 'nick', args: nickname ? { nickname } : {} });
    }
  });
  $('logout-button').addEventListener('click', logout);
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (!$('emoji-picker').hidden) closePicker(true);
    else if (!$('panel').hidden) $('panel').hidden = true;
    else closeDrawers();
  });
  document.addEventListener('click', (e) => {
    const picker = $('emoji-picker');
    if (!picker.hidden && !picker.contains(e.target) && !e.target.closest('[aria-haspopup]')) closePicker(false);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.current && (state.unread.get(state.current) || state.mentions.get(state.current))) {
      if (state.caps.has('unreads_ack')) conn.send({ cmd: 'unreads_ack', channel: state.current });
      onRead(state.current);
    }
  });
}

wire();
banner('Connecting…');
conn.start();

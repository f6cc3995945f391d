// Logging in, and staying logged in. On every (re)connection the handshake says what the
// server offers; the page then logs in again by itself (with the HttpOnly session cookie,
// or on a server without session tokens with the credentials kept in memory) or shows the
// login form. A session token is exchanged at once for that cookie (POST /session), which
// the browser sends with the WebSocket upgrade: the page never keeps the token or a
// password.

import { $, replace } from './dom.js';
import { conn, state } from './state.js';
import { banner, toast } from './notices.js';
import { applyServer } from './identity.js';
import { markAllStale } from './kept.js';
import { clearComposer, updateComposer } from './composer.js';
import { renderMe } from './profile.js';
import { renderChannels } from './channels.js';
import { clearAllTyping } from './typing.js';
import { closePanel } from './panels.js';
import { closePicker } from './reactions.js';
import { requestEmojis } from './emojis.js';

export function onClosed(willRetry, delay) {
  const wasAuthed = state.authed;
  state.authed = false;
  state.pendingAuth = null;
  state.typedLogin = null;
  // The upload token belonged to that connection.
  state.uploadToken = null;
  if (!$('auth-view').hidden) setAuthBusy(false);
  updateComposer();
  if (willRetry) {
    banner(`${wasAuthed || state.everAuthed ? 'Connection lost' : 'Cannot reach the server'}. Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
  }
}

export function onHandshake(val) {
  conn.healthy();
  state.caps = new Set(Array.isArray(val.capabilities) ? val.capabilities : []);
  state.authMode = typeof val.auth_mode === 'string' ? val.auth_mode : 'rotur';
  state.limits = val.limits ?? {};
  state.attachments = val.attachments && typeof val.attachments === 'object' ? val.attachments : {};
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

/** Sends the form's credentials with `cmd` ('login' or 'register'). */
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
  state.typedLogin = { username, password };
  conn.send({ cmd, username, password });
}

export function onAuthError(val) {
  const mode = state.pendingAuth;
  state.pendingAuth = null;
  state.typedLogin = null;
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
export async function onSessionToken(token) {
  if (typeof token !== 'string' || !token) return;
  try {
    const res = await fetch('/session', { method: 'POST', body: token, credentials: 'same-origin' });
    if (!res.ok) toast('Could not keep you logged in on this device.');
  } catch {
    toast('Could not keep you logged in on this device.');
  }
}

export function onReady(p) {
  state.me = p.user && typeof p.user === 'object' ? p.user : { username: '' };
  state.uploadToken = typeof p.upload_token === 'string' && p.upload_token ? p.upload_token : null;
  const mode = state.pendingAuth;
  const typed = state.typedLogin;
  state.pendingAuth = null;
  state.typedLogin = null;
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
  markAllStale();
  showChat();
  renderMe();
  conn.send({ cmd: 'channels_get' });
  conn.send({ cmd: 'users_list' });
  conn.send({ cmd: 'users_online' });
  if (state.caps.has('unreads_get')) conn.send({ cmd: 'unreads_get' });
  if (state.caps.has('roles_list')) conn.send({ cmd: 'roles_list' });
  requestEmojis();
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
  forgetAccount();
  conn.restart();
  showAuth();
}

/** After "Log out": nothing of that account stays on the page (its messages, badges,
 * draft, or who was typing), so the next person to log in here starts clean. */
function forgetAccount() {
  state.me = null;
  state.uploadToken = null;
  state.everAuthed = false;
  state.history.clear();
  state.channels = [];
  state.users.clear();
  state.online.clear();
  state.unread.clear();
  state.mentions.clear();
  state.editing = null;
  clearAllTyping();
  clearComposer();
  closePicker(false);
  closePanel();
  renderChannels();
  replace($('messages'));
  replace($('member-list'));
}

export function wireAuth() {
  $('auth-form').addEventListener('submit', (e) => {
    e.preventDefault();
    submitAuth('login');
  });
  $('register-button').addEventListener('click', () => submitAuth('register'));
  $('logout-button').addEventListener('click', logout);
}

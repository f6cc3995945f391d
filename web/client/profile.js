// The reader's own corner of the sidebar: their name and status, and the forms that set
// status, status text and nickname.

import { $ } from './dom.js';
import { conn, state } from './state.js';
import { nameOf } from './people.js';

const STATUS_WORDS = { online: 'online', idle: 'idle', dnd: 'do not disturb', invisible: 'invisible', offline: 'invisible' };

/** Shows the reader's name and status, without overwriting a field being edited. */
export function renderMe() {
  if (!state.me) return;
  $('me-name').textContent = nameOf(state.me.username);
  const status = state.me.status?.status ?? 'online';
  $('me-dot').className = `dot ${status === 'invisible' ? 'offline' : status}`;
  // The dot is colour only: its meaning is also said in words.
  $('me-status').textContent = `, ${STATUS_WORDS[status] ?? status}`;
  if (document.activeElement !== $('status-select')) $('status-select').value = status === 'offline' ? 'invisible' : status;
  if (document.activeElement !== $('status-text')) $('status-text').value = state.me.status?.text ?? '';
  if (document.activeElement !== $('nick-input')) $('nick-input').value = state.me.nickname ?? '';
  $('nick-form').hidden = !state.caps.has('nickname_update') && !state.caps.has('slash_call');
  $('status-form').hidden = !state.caps.has('status_set');
}

/** The server refused the nickname. */
export function markNicknameInvalid() {
  $('nick-input').setAttribute('aria-invalid', 'true');
}

export function wireProfile() {
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
      // Servers without the command take the `/nick` slash command.
      conn.send({ cmd: 'slash_call', channel: state.current, command: 'nick', args: nickname ? { nickname } : {} });
    }
  });
}

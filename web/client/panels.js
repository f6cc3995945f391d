// The side panel: message lists outside the log (the channel's pins, search results), or
// a tool such as the custom emoji manager. Choosing a result (click or Enter) jumps to it
// in the log; closing the panel gives the keyboard focus back to where it was when the
// panel opened.

import { $, h, replace } from './dom.js';
import { conn, state } from './state.js';
import { messageElement } from './render.js';
import { jumpTo, messageCtx } from './log.js';

/** What had the focus when the panel opened (the Pins button, the search box). */
let opener = null;

/** What the panel shows now ('messages', 'emojis'), while it is open. */
export let panelKind = null;

export function showPanel(title, messages, empty) {
  const list = Array.isArray(messages) ? messages : [];
  // Results are to read and jump to: no actions on them.
  const ctx = { ...messageCtx, can: () => false };
  openPanel('messages', title, list.length ? list.map((m) => {
    const el = messageElement(m, ctx);
    el.classList.add('result');
    el.addEventListener('click', () => jumpTo(m.id));
    el.addEventListener('keydown', (e) => { if (e.key === 'Enter') jumpTo(m.id); });
    return el;
  }) : h('p', { class: 'note' }, empty));
}

/** Shows `body` in the panel under `title`; `kind` says what it is. */
export function openPanel(kind, title, body) {
  const panel = $('panel');
  if (panel.hidden) opener = document.activeElement;
  panelKind = kind;
  $('panel-title').textContent = title;
  replace($('panel-body'), body);
  panel.hidden = false;
  $('panel-close').focus();
}

export function isPanelOpen() {
  return !$('panel').hidden;
}

/** Closes the panel; `restoreFocus`: back to what opened it, else the composer. */
export function closePanel(restoreFocus = false) {
  const panel = $('panel');
  if (panel.hidden) return;
  const hadFocus = panel.contains(document.activeElement);
  panel.hidden = true;
  panelKind = null;
  if (restoreFocus || hadFocus) {
    const back = opener?.isConnected && !opener.disabled && opener !== document.body ? opener : $('message-input');
    back.focus();
  }
  opener = null;
}

export function wirePanels() {
  $('pins-button').addEventListener('click', () => {
    if (state.current) conn.send({ cmd: 'messages_pinned', channel: state.current });
  });
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const query = $('search-input').value.trim();
    if (query && state.current) conn.send({ cmd: 'messages_search', channel: state.current, query });
  });
  $('panel-close').addEventListener('click', () => closePanel(true));
}

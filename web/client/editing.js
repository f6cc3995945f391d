// Editing a message in place: the message's content becomes a text box; Enter (or Save)
// sends the edit, Escape (or Cancel) puts the message back.

import { $, h } from './dom.js';
import { conn, state } from './state.js';
import { findMessage } from './kept.js';
import { messageNode, replaceMessageNode } from './log.js';

/** Opens the edit box on `msg`; `focus`: move the keyboard focus into it. */
export function startEdit(msg, focus) {
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

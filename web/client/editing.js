// Editing a message in place: the message's content becomes a text box; Enter (or Save)
// sends the edit, Escape (or Cancel) puts the message back. What is typed is kept apart
// from the box, so that when the message is drawn again while being edited (a reaction or
// a nickname change arrives, the log is re-rendered) the box comes back as it was.

import { $, h } from './dom.js';
import { conn, state } from './state.js';
import { findMessage } from './kept.js';
import { messageNode, replaceMessageNode } from './log.js';
import { decodeEmojis, encodeEmojis } from './emojis.js';

/** The open edit box's text and caret, while `state.editing` names its message. */
let draft = { text: '', start: 0, end: 0 };

/** Opens the edit box on `msg` with its content; `focus`: move the keyboard focus into it. */
export function startEdit(msg, focus) {
  const other = state.editing && state.editing !== msg.id ? findMessage(state.current, state.editing) : null;
  state.editing = null;
  // One edit box at a time: the one open elsewhere closes unsaved.
  if (other) replaceMessageNode(other);
  // Custom emojis are edited as `:name:`, as they were typed.
  const text = decodeEmojis(msg.content);
  draft = { text, start: text.length, end: text.length };
  showEditBox(msg, focus);
}

/** How the open edit box is now, to be given to `restoreEdit` after its message is redrawn. */
export function editBoxState() {
  const input = document.querySelector('#messages .edit-input');
  if (input) draft = { text: input.value, start: input.selectionStart, end: input.selectionEnd };
  return { focused: Boolean(input) && document.activeElement === input };
}

/** Puts the edit box back on `msg` (just redrawn) as `editBoxState` saw it. */
export function restoreEdit(msg, saved) {
  if (state.editing === msg.id) showEditBox(msg, saved.focused);
}

/** Closes the edit box, if any, without saving (its message was deleted, say). */
export function forgetEdit() {
  state.editing = null;
}

function showEditBox(msg, focus) {
  const el = messageNode(msg.id);
  if (!el) return;
  state.editing = msg.id;
  const input = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: '2' });
  input.value = draft.text;
  input.addEventListener('input', () => { draft.text = input.value; });
  const done = () => {
    state.editing = null;
    replaceMessageNode(findMessage(state.current, msg.id) ?? msg);
  };
  const save = () => {
    const content = encodeEmojis(input.value.trim());
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
    input.setSelectionRange(draft.start, draft.end);
  }
}

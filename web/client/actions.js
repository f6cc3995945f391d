// What the buttons on a message do: jump to the replied message, reply, react (the picker,
// or a reaction chip), edit, delete (two presses), pin and unpin.

import { conn, state } from './state.js';
import { jumpTo } from './log.js';
import { startReply } from './composer.js';
import { openPicker } from './reactions.js';
import { startEdit } from './editing.js';

/** How long a pressed Delete waits for the confirming second press. */
const CONFIRM_DELETE_MS = 4000;

/** Does `action` to `msg`; `arg` is the click event, or the emoji of a reaction. */
export function act(action, msg, arg) {
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

/** The first press arms the button; a second one within a few seconds deletes. */
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
  }, CONFIRM_DELETE_MS);
}

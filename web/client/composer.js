// Writing messages: the composer (Enter sends, Shift+Enter a new line, Up in an empty box
// edits the last own message), replying, the typing signal, and keeping text the server
// refused so that nothing typed is lost. A message with files waits for their uploads;
// `:name:` of a custom emoji goes out as its token.

import { $, h, replace } from './dom.js';
import { channelByName, conn, state } from './state.js';
import { nameOf } from './people.js';
import { can, mayIn } from './abilities.js';
import { currentList, findMessage } from './kept.js';
import { snippet } from './render.js';
import { toast } from './notices.js';
import { startEdit } from './editing.js';
import { encodeEmojis } from './emojis.js';
import { closeCompletion, completionKey, updateCompletion } from './emoji-complete.js';
import {
  clearUploads, pendingUploads, restoreUploads, takeUploads, uploadsOffered,
} from './uploads.js';

const TYPING_SEND_EVERY_MS = 4000;
const DEFAULT_MAX_CHARS = 2000;
const MAX_HEIGHT_PX = 200;

/** Enables the composer where the reader may send, and shows what the server offers. */
export function updateComposer() {
  const channel = channelByName(state.current);
  const ok = state.authed && channel && mayIn(channel, 'send');
  const input = $('message-input');
  input.disabled = !ok;
  $('send-button').disabled = !ok;
  $('attach-input').disabled = !ok;
  $('attach').hidden = !uploadsOffered();
  $('emojis-button').hidden = !can('emojis');
  input.placeholder = !state.authed ? 'Reconnecting…'
    : ok ? `Message #${channel.display_name || channel.name}` : 'You cannot send messages in this channel';
  $('pins-button').hidden = !state.caps.has('messages_pinned');
  $('search-form').hidden = !state.caps.has('messages_search');
}

/** Whether a send is waiting for its files' uploads. */
let waiting = false;

async function send() {
  const input = $('message-input');
  const channel = state.current;
  const typed = input.value.trim();
  const files = pendingUploads();
  if ((!typed && !files.length) || !channel || waiting) return;
  const content = encodeEmojis(typed);
  const max = Number(state.limits.post_content) || DEFAULT_MAX_CHARS;
  if ([...content].length > max) {
    toast(`Messages can be at most ${max} characters.`);
    return;
  }
  if (files.some((f) => f.status === 'failed')) {
    toast('A file could not be uploaded: remove it to send.');
    return;
  }
  if (files.some((f) => f.status === 'uploading')) {
    waiting = true;
    $('send-button').textContent = 'Sending when uploaded…';
    await Promise.all(files.map((f) => f.done));
    waiting = false;
    $('send-button').textContent = 'Send';
    // What is typed by now goes too; a channel changed meanwhile cancels.
    if (state.current === channel) send();
    return;
  }
  const packet = { cmd: 'message_new', channel, content };
  if (files.length) packet.attachments = files.map((f) => ({ id: f.info.id }));
  if (state.replyTo) packet.reply_to = state.replyTo.id;
  if (!conn.send(packet)) {
    toast('Not connected: the message was not sent.');
    return;
  }
  state.unconfirmed = { content, typed, replyTo: state.replyTo, files };
  closeCompletion();
  takeUploads(files);
  input.value = '';
  autosize();
  cancelReply();
  state.lastTypingSent = 0;
}

/** An own message with `content` was stored: it is no longer at risk. */
export function confirmSent(content) {
  const sent = state.unconfirmed;
  if (sent && sent.content === content) state.unconfirmed = null;
  // A refusal of something else (a typing packet) may have restored this text: it went through.
  const input = $('message-input');
  if (input.value && (input.value === content || (sent && sent.content === content && input.value === sent.typed))) {
    input.value = '';
    autosize();
  }
}

/** The server refused the last message: its text (and reply) go back into the composer,
 * unless something new has been typed there since, and its files unless `withFiles` is
 * false (the server refused them). */
export function restoreUnconfirmed(withFiles = true) {
  const lost = state.unconfirmed;
  state.unconfirmed = null;
  const input = $('message-input');
  if (!lost) return;
  if (withFiles) restoreUploads(lost.files);
  if (input.value) return;
  input.value = lost.typed;
  autosize();
  if (lost.replyTo) {
    const msg = findMessage(state.current, lost.replyTo.id);
    if (msg) startReply(msg);
  }
}

/** Grows the box with its text, up to a limit. */
export function autosize() {
  const input = $('message-input');
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, MAX_HEIGHT_PX)}px`;
}

function onInput() {
  autosize();
  updateCompletion();
  const now = Date.now();
  if ($('message-input').value.trim() && now - state.lastTypingSent > TYPING_SEND_EVERY_MS
      && state.caps.has('typing') && state.current) {
    state.lastTypingSent = now;
    conn.send({ cmd: 'typing', channel: state.current });
  }
}

export function startReply(msg) {
  state.replyTo = { id: msg.id, user: msg.user };
  replace($('reply-text'), 'Replying to ', h('strong', {}, nameOf(msg.user)), ': ', snippet(msg.content, 60));
  $('reply-bar').hidden = false;
  $('message-input').focus();
}

/** Empties the composer and forgets the message at risk (the reader logged out). */
export function clearComposer() {
  cancelReply();
  state.unconfirmed = null;
  $('message-input').value = '';
  clearUploads();
  autosize();
}

export function cancelReply() {
  state.replyTo = null;
  $('reply-bar').hidden = true;
}

export function wireComposer() {
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  const input = $('message-input');
  input.addEventListener('input', onInput);
  input.addEventListener('blur', closeCompletion);
  input.addEventListener('keydown', (e) => {
    if (completionKey(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'Escape' && state.replyTo) {
      // Handled here: the page's Escape must not also close a panel or drawer.
      e.preventDefault();
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
}

// Messages as they happen: new, edited, deleted, reacted to and pinned, in the kept history
// and, for the open channel, in the log. New messages elsewhere (or while the page is in
// the background) count as unread, and as mentions when they name the reader.

import { channelByName, conn, state } from './state.js';
import { mentionsMe } from './people.js';
import { findMessage, history, trimAfterLive } from './kept.js';
import {
  appendMessage, isAtBottom, messageNode, renderMessages, replaceMessageNode, updateLogStart,
} from './log.js';
import { renderChannels } from './channels.js';
import { cancelReply, confirmSent } from './composer.js';
import { clearTyping } from './typing.js';
import { forgetEdit } from './editing.js';

export function onMessageNew(p) {
  const msg = p.message;
  const channel = p.channel;
  if (!msg || typeof msg.id !== 'string' || typeof channel !== 'string' || p.thread_id) return;
  const hist = history(channel);
  // Kept only where it joins what is kept: not before the newest page, nor when scrolled
  // back beyond it.
  const added = hist.loaded && !hist.detached && !hist.list.some((m) => m.id === msg.id);
  if (added) hist.list.push(msg);
  const channelObj = channelByName(channel);
  if (channelObj) channelObj.last_message_id = msg.id;
  const mine = state.me && msg.user === state.me.username;
  if (mine) confirmSent(msg.content);
  if (channel === state.current) {
    if (added) showNew(hist, msg, mine);
    clearTyping(channel, msg.user);
  } else if (added) {
    trimAfterLive(hist, false);
  }
  if (!mine && (channel !== state.current || document.hidden)) {
    state.unread.set(channel, (state.unread.get(channel) ?? 0) + 1);
    if (mentionsMe(msg)) state.mentions.set(channel, (state.mentions.get(channel) ?? 0) + 1);
    renderChannels();
  } else if (!mine && state.caps.has('unreads_ack')) {
    conn.send({ cmd: 'unreads_ack', channel, message_id: msg.id });
  }
}

/** A new message in the open channel: at the bottom of the log, which follows it when the
 * reader is there (or sent it). */
function showNew(hist, msg, mine) {
  const follow = mine || isAtBottom();
  if (trimAfterLive(hist, !follow)) renderMessages(follow ? 'bottom' : 'keep');
  else appendMessage(msg, hist.list[hist.list.length - 2], mine);
}

export function onMessageEdit(p) {
  const msg = findMessage(p.channel, p.id);
  if (!msg) return;
  if (p.message && typeof p.message === 'object') Object.assign(msg, p.message);
  else msg.content = p.content;
  msg.edited = true;
  if (p.channel === state.current && state.editing !== msg.id) replaceMessageNode(msg);
}

export function onMessageDelete(p) {
  const hist = state.history.get(p.channel);
  if (!hist) return;
  hist.list = hist.list.filter((m) => m.id !== p.id);
  if (state.replyTo?.id === p.id) cancelReply();
  if (state.editing === p.id) forgetEdit();
  if (p.channel === state.current) {
    messageNode(p.id)?.remove();
    updateLogStart();
  }
}

export function onReaction(p, added) {
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

export function onPin(p) {
  const msg = findMessage(p.channel, p.id);
  if (!msg) return;
  msg.pinned = p.cmd === 'message_unpin' ? false : Boolean(p.pinned);
  if (p.channel === state.current) replaceMessageNode(msg);
}

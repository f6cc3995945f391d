// The message log of the open channel: messages with day dividers, kept at the bottom while
// the reader is there, and in place when older pages arrive above.

import { $, replace } from './dom.js';
import { state } from './state.js';
import { colorOf, isMe, mentionsMe, nameOf } from './people.js';
import { can } from './abilities.js';
import { currentList, history } from './kept.js';
import { dayDivider, messageElement } from './render.js';
import { act } from './actions.js';
import { editBoxState, restoreEdit } from './editing.js';
import { maybeLoadNewer, maybeLoadOlder, requestNewest } from './paging.js';
import { toast } from './notices.js';
import { emojiToken, reactionFace } from './emojis.js';

/** How close to the bottom (in pixels) still counts as reading the newest messages. */
const AT_BOTTOM_PX = 60;
const FLASH_MS = 1500;

/** What `messageElement` needs to know about the reader and the page. */
export const messageCtx = {
  get me() { return state.me?.username; },
  nameOf,
  colorOf,
  mentionsMe,
  can,
  find: (id) => currentList().find((m) => m.id === id) ?? null,
  act: (action, msg, arg) => act(action, msg, arg),
  markdown: { isMe, emoji: emojiToken },
  reactionFace,
  sized: () => keepPinned(),
};

/** Whether the reader was at the bottom of the log when it last scrolled: an image that
 * loads later grows the log without a scroll event, and must not leave them above it. */
let pinned = true;

/** Back to the bottom after the log grew, if the reader was there. */
export function keepPinned() {
  const log = $('log');
  if (pinned) log.scrollTop = log.scrollHeight;
}

export function dayOf(msg) {
  return new Date(Number(msg.timestamp) * 1000).toDateString();
}

export function isAtBottom() {
  const log = $('log');
  return log.scrollHeight - log.scrollTop - log.clientHeight < AT_BOTTOM_PX;
}

/** The topmost message in view and where it is, to keep it there across a redraw. */
function visibleAnchor() {
  const top = $('log').getBoundingClientRect().top;
  for (const el of $('messages').querySelectorAll('.msg')) {
    const rect = el.getBoundingClientRect();
    if (rect.bottom > top) return { id: el.dataset.id, top: rect.top };
  }
  return null;
}

/** Re-renders the current channel; `anchor`: 'bottom' (scroll there), 'keep' (stay at the
 * bottom if there, else keep the messages in view where they are) or 'older' (the same,
 * after older messages came in above). */
export function renderMessages(anchor) {
  const log = $('log');
  const atBottom = isAtBottom();
  const fromBottom = log.scrollHeight - log.scrollTop;
  const inView = visibleAnchor();
  const hist = state.current ? history(state.current) : null;
  const list = hist ? hist.list : [];
  const edit = editBoxState();
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
  const editing = state.editing && list.find((m) => m.id === state.editing);
  if (editing) restoreEdit(editing, edit);
  $('log-newer').hidden = !hist?.detached;
  const stayed = inView && messageNode(inView.id);
  if (anchor === 'bottom' || (anchor === 'keep' && atBottom)) log.scrollTop = log.scrollHeight;
  else if (stayed) log.scrollTop += stayed.getBoundingClientRect().top - inView.top;
  else if (anchor === 'older') log.scrollTop = log.scrollHeight - fromBottom;
}

/** Adds a live message at the bottom; `follow`: scroll to it even when reading further up. */
export function appendMessage(msg, previous, follow) {
  const log = $('log');
  const atBottom = isAtBottom();
  if (!previous || dayOf(previous) !== dayOf(msg)) $('messages').append(dayDivider(msg.timestamp));
  $('messages').append(messageElement(msg, messageCtx));
  updateLogStart();
  if (atBottom || follow) log.scrollTop = log.scrollHeight;
}

/** The line above the oldest message, once the whole history is loaded. */
export function updateLogStart() {
  const hist = state.current ? history(state.current) : null;
  const start = $('log-start');
  start.hidden = !hist || !hist.loaded || !hist.complete;
  start.textContent = hist?.list.length ? `This is the start of #${state.current}.` : `No messages in #${state.current} yet.`;
}

export function messageNode(id) {
  return [...$('messages').querySelectorAll('.msg')].find((el) => el.dataset.id === id) ?? null;
}

/** Shows the changed `msg` in place, keeping its focus, its selection and an open edit box. */
export function replaceMessageNode(msg) {
  const old = messageNode(msg.id);
  if (!old) return;
  const focused = old.contains(document.activeElement);
  const edit = editBoxState();
  const fresh = messageElement(msg, messageCtx);
  if (old.classList.contains('selected')) fresh.classList.add('selected');
  old.replaceWith(fresh);
  restoreEdit(msg, edit);
  if (focused && !edit.focused) fresh.focus();
}

/** Scrolls to a kept message and points it out. */
export function jumpTo(id) {
  const el = messageNode(id);
  if (!el) {
    toast('That message is further back in the history.');
    return;
  }
  el.scrollIntoView({ block: 'center' });
  el.classList.add('flash');
  setTimeout(() => el.classList.remove('flash'), FLASH_MS);
  el.focus({ preventScroll: true });
}

export function wireLog() {
  $('log').addEventListener('scroll', () => {
    pinned = isAtBottom();
    maybeLoadOlder();
    maybeLoadNewer();
  }, { passive: true });
  $('log-newer').addEventListener('click', () => {
    if (state.current) requestNewest(state.current);
  });
  // A tap or click on a message shows its actions (phones have no hover).
  $('messages').addEventListener('click', (e) => {
    const msg = e.target.closest('.msg');
    if (!msg || e.target.closest('button, a, textarea')) return;
    for (const el of $('messages').querySelectorAll('.msg.selected')) if (el !== msg) el.classList.remove('selected');
    msg.classList.toggle('selected');
  });
}

// The channel sidebar and which channel is open: text channels with unread and mention
// badges, voice channels with who is in them; opening a channel shows its history (fetched
// when not kept or stale) and reads it.

import { $, replace } from './dom.js';
import { channelByName, conn, state } from './state.js';
import { LAST_CHANNEL_KEY, writeLocal } from './storage.js';
import { colorOf, nameOf } from './people.js';
import { channelItem } from './render.js';
import { history, settle } from './kept.js';
import { requestNewest } from './paging.js';
import { renderMessages } from './log.js';
import { cancelReply, updateComposer } from './composer.js';
import { renderTyping } from './typing.js';
import { closeDrawers } from './layout.js';
import { clearUploads } from './uploads.js';

export function onChannels(list) {
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

export function renderChannels() {
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

/** Shows channel `name`; `refresh`: render its log even when it is already open. */
export function openChannel(name, refresh = false) {
  if (!name) {
    $('channel-title').textContent = 'No channels';
    replace($('messages'));
    updateComposer();
    return;
  }
  const changed = name !== state.current || refresh;
  if (name !== state.current) {
    cancelReply();
    clearUploads();
    state.editing = null;
    if (state.current) settle(state.current);
  }
  state.current = name;
  writeLocal(LAST_CHANNEL_KEY, name);
  const channel = channelByName(name);
  $('channel-title').textContent = '# ' + (channel?.display_name || name);
  $('channel-desc').textContent = typeof channel?.description === 'string' ? channel.description : '';
  const hist = history(name);
  if (!hist.loaded || hist.stale) {
    requestNewest(name);
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

export function onUnreads(unreads) {
  if (!unreads || typeof unreads !== 'object') return;
  for (const [name, info] of Object.entries(unreads)) {
    const n = Number(info?.unread_count) || 0;
    if (name === state.current && !document.hidden) continue;
    if (n) state.unread.set(name, n);
    else state.unread.delete(name);
  }
  renderChannels();
}

/** `channel` has been read (here or on another of the reader's devices). */
export function onRead(channel) {
  state.unread.delete(channel);
  state.mentions.delete(channel);
  renderChannels();
}

export function onVoice(channelName, user, change) {
  const channel = channelByName(channelName);
  if (!channel || !user) return;
  const people = Array.isArray(channel.voice_state) ? channel.voice_state : [];
  const rest = people.filter((p) => p.username !== user.username);
  channel.voice_state = change === 'left' ? rest
    : [...rest, { username: user.username, muted: Boolean(user.muted) }];
  renderChannels();
}

export function wireChannels() {
  // Coming back to the page reads the open channel.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.current && (state.unread.get(state.current) || state.mentions.get(state.current))) {
      if (state.caps.has('unreads_ack')) conn.send({ cmd: 'unreads_ack', channel: state.current });
      onRead(state.current);
    }
  });
}

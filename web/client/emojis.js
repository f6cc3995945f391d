// The server's custom emojis: the set from `emoji_get_all`, kept current by the broadcasts,
// drawn as images in messages and reaction chips, and what `:name:` in the composer becomes.
// The wire form is the official client's, so that its users see the same emoji:
// `originChats:<emoji>//<host>/<id>` in content, `originChats://<host>/emojis/<id>` as a
// reaction.

import { h } from './dom.js';
import { conn, state } from './state.js';

const REACTION = /^originChats:\/\/([^/\s]+)\/emojis\/(\S+)$/;
const TYPED = /:([A-Za-z0-9_][A-Za-z0-9_-]*):(\s*)/g;
const TOKEN = /originChats:<emoji>\/\/[^/\s]+\/(\S+)/g;

/** Asks for the set, where the server has custom emojis. */
export function requestEmojis() {
  if (state.caps.has('emoji_get_all')) conn.send({ cmd: 'emoji_get_all' });
}

function keep(id, emoji) {
  if (typeof emoji?.name === 'string') {
    state.emojis.set(String(id), { name: emoji.name, fileName: typeof emoji.fileName === 'string' ? emoji.fileName : null });
  }
}

/** `emoji_get_all` and the add / update / delete broadcasts; whether the set changed. */
export function onEmojiPacket(p) {
  const id = String(p.id ?? '');
  switch (p.cmd) {
    case 'emoji_get_all':
      if (!p.emojis || typeof p.emojis !== 'object') return false;
      state.emojis.clear();
      for (const [key, emoji] of Object.entries(p.emojis)) keep(key, emoji);
      return true;
    case 'emoji_add':
      keep(id, p);
      return true;
    case 'emoji_update': {
      const old = state.emojis.get(id);
      if (old) keep(id, { name: p.name ?? old.name, fileName: p.fileName ?? old.fileName });
      return Boolean(old);
    }
    case 'emoji_delete':
      return state.emojis.delete(id);
    default:
      return false;
  }
}

/** The image of emoji `id`, or null when it is not known. */
export function emojiImage(id) {
  const emoji = state.emojis.get(String(id));
  if (!emoji) return null;
  const label = `:${emoji.name}:`;
  return h('img', { class: 'emoji', src: `/emojis/${encodeURIComponent(emoji.fileName ?? id)}`, alt: label, title: label });
}

/** What a content token shows: the image of one of this server's emojis, `:name:` for a
 * known id named with another host, else the token as it is. */
export function emojiToken(host, id, token) {
  const emoji = state.emojis.get(id);
  if (!emoji) return token;
  return host === location.host ? emojiImage(id) : `:${emoji.name}:`;
}

/** A reaction chip's face: `{ node, label }`. */
export function reactionFace(key) {
  const m = REACTION.exec(key);
  const emoji = m && state.emojis.get(m[2]);
  if (!emoji) return { node: key, label: key };
  return { node: m[1] === location.host ? emojiImage(m[2]) : `:${emoji.name}:`, label: `:${emoji.name}:` };
}

/** The reaction key of emoji `id` on this server. */
export function reactionKey(id) {
  return `originChats://${location.host}/emojis/${id}`;
}

/** `content` with the tokens of known emojis as `:name:`, for plain-text previews and for
 * editing (where `encodeEmojis` turns them back). */
export function decodeEmojis(content) {
  return String(content ?? '').replace(TOKEN, (token, id) => {
    const emoji = state.emojis.get(id);
    return emoji ? `:${emoji.name}:` : token;
  });
}

/** `text` with every `:name:` of a known emoji turned into its token. A token runs to the
 * next whitespace, so one that text follows directly gets a space after it. */
export function encodeEmojis(text) {
  const byName = new Map([...state.emojis].map(([id, e]) => [e.name, id]));
  return text.replace(TYPED, (typed, name, space, at, all) => {
    const id = byName.get(name);
    if (id === undefined) return typed;
    const end = at + typed.length;
    return `originChats:<emoji>//${location.host}/${id}${space || (end < all.length ? ' ' : '')}`;
  });
}

// The custom emoji manager, in the side panel, for those who may manage the server: add an
// emoji (a name and an image, sent as a data: URL), rename or delete one. The server's
// refusals arrive as error packets and are shown like any other.

import { $, h, replace } from './dom.js';
import { conn, state } from './state.js';
import { toast } from './notices.js';
import { emojiImage } from './emojis.js';
import { openPanel, panelKind } from './panels.js';

const MAX_IMAGE_BYTES = 1024 * 1024;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const IMAGE_TYPES = 'image/gif,image/jpeg,image/png,image/webp,image/svg+xml';

function validName(name) {
  if (NAME.test(name)) return true;
  toast('An emoji name is letters, digits, _ and - (not starting with -).');
  return false;
}

function row(id, emoji) {
  const input = h('input', { value: emoji.name, maxlength: '32', 'aria-label': `New name for :${emoji.name}:` });
  const rename = () => {
    const name = input.value.trim();
    if (name !== emoji.name && validName(name)) conn.send({ cmd: 'emoji_update', emoji_id: Number(id), name });
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') rename();
  });
  return h('li', { class: 'emoji-row', 'data-emoji': id }, emojiImage(id), input,
    h('button', { type: 'button', onclick: rename }, 'Rename'),
    h('button', {
      type: 'button', class: 'danger', 'aria-label': `Delete :${emoji.name}:`,
      onclick: () => conn.send({ cmd: 'emoji_delete', emoji_id: Number(id) }),
    }, 'Delete'));
}

function add(e) {
  e.preventDefault();
  const name = $('emoji-name').value.trim();
  const file = $('emoji-file').files[0];
  if (!validName(name)) return;
  if (!file) {
    toast('Choose an image for the emoji.');
    return;
  }
  if (file.size > MAX_IMAGE_BYTES) {
    toast('An emoji image can be at most 1 MB.');
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    if (conn.send({ cmd: 'emoji_add', name, image: reader.result })) {
      $('emoji-name').value = '';
      $('emoji-file').value = '';
    }
  };
  reader.onerror = () => toast('Could not read that image.');
  reader.readAsDataURL(file);
}

function list() {
  return state.emojis.size ? [...state.emojis].map(([id, emoji]) => row(id, emoji))
    : h('li', { class: 'note' }, 'No custom emojis yet.');
}

export function openEmojiPanel() {
  openPanel('emojis', 'Emojis', [
    h('ul', { id: 'emoji-list', class: 'emoji-list' }, list()),
    h('form', { class: 'stack emoji-add', onsubmit: add },
      h('label', { for: 'emoji-name' }, 'Emoji name'),
      h('input', { id: 'emoji-name', maxlength: '32', autocomplete: 'off', required: true }),
      h('label', { for: 'emoji-file' }, 'Emoji image'),
      h('input', { id: 'emoji-file', type: 'file', accept: IMAGE_TYPES, required: true }),
      h('button', { type: 'submit', class: 'primary' }, 'Add emoji')),
  ]);
}

/** The set changed: the open manager shows it (the add form keeps what is typed). */
export function refreshEmojiPanel() {
  if (panelKind === 'emojis') replace($('emoji-list'), list());
}

export function wireEmojiAdmin() {
  $('emojis-button').addEventListener('click', openEmojiPanel);
}

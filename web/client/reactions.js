// The reaction picker: a small dialog of common emoji and the server's custom ones next to
// the message's React button. Picking one the reader already used takes it back.

import { $, h, replace } from './dom.js';
import { state } from './state.js';
import { EMOJI } from './render.js';
import { act } from './actions.js';
import { emojiImage, reactionKey } from './emojis.js';

/** The gap (in pixels) kept between the picker and the window's edges or its button. */
const MARGIN_PX = 8;
const GAP_PX = 4;

export function openPicker(msg, anchor) {
  const picker = $('emoji-picker');
  const pick = (emoji) => {
    const mine = (msg.reactions?.[emoji] ?? []).includes(state.me?.username);
    act(mine ? 'unreact' : 'react', msg, emoji);
    closePicker(true);
  };
  const button = (emoji, label, face) => h('button', {
    type: 'button', class: 'emoji', 'aria-label': label, title: label, onclick: () => pick(emoji),
  }, face);
  replace(picker,
    EMOJI.map(([emoji, name]) => button(emoji, `${emoji} ${name}`, emoji)),
    [...state.emojis].map(([id, e]) => button(reactionKey(id), `:${e.name}:`, emojiImage(id))));
  picker.hidden = false;
  picker.returnFocus = anchor ?? null;
  const rect = anchor ? anchor.getBoundingClientRect() : { left: 20, bottom: 100, top: 100 };
  const width = picker.offsetWidth;
  const height = picker.offsetHeight;
  const left = Math.max(MARGIN_PX, Math.min(window.innerWidth - width - MARGIN_PX, rect.left));
  const below = rect.bottom + GAP_PX;
  const top = below + height > window.innerHeight - MARGIN_PX
    ? Math.max(MARGIN_PX, rect.top - height - GAP_PX) : below;
  picker.style.left = `${left}px`;
  picker.style.top = `${top}px`;
  picker.querySelector('button')?.focus();
}

/** Closes the picker; `restoreFocus`: back to the button that opened it. */
export function closePicker(restoreFocus) {
  const picker = $('emoji-picker');
  if (picker.hidden) return;
  picker.hidden = true;
  if (restoreFocus && picker.returnFocus?.isConnected) picker.returnFocus.focus();
}

export function isPickerOpen() {
  return !$('emoji-picker').hidden;
}

export function wirePicker() {
  // Tabbing out of the picker closes it: it is a popup, not a place to leave open. (Focus
  // going nowhere, as a click does in some browsers, is left to the click handler below.)
  $('emoji-picker').addEventListener('focusout', (e) => {
    if (e.relatedTarget && !$('emoji-picker').contains(e.relatedTarget)) closePicker(false);
  });
  // A click anywhere else closes it (but not the click on a React button that opens one).
  document.addEventListener('click', (e) => {
    const picker = $('emoji-picker');
    if (!picker.hidden && !picker.contains(e.target) && !e.target.closest('[aria-haspopup]')) closePicker(false);
  });
}

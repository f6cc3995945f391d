// The two ways the page tells the reader something outside the chat: a toast that goes by
// itself, and the connection banner at the top that stays until the state changes.

import { $ } from './dom.js';

const TOAST_MS = 5000;

let toastTimer = null;

export function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, TOAST_MS);
}

/** Shows `text` in the banner, or hides it when `text` is empty. */
export function banner(text) {
  const el = $('status-banner');
  el.textContent = text ?? '';
  el.hidden = !text;
}

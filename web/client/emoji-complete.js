// Completing custom emoji names in the message box: `:` and the start of a name list the
// matching emojis above the box; Tab or Enter takes the highlighted one (as `:name: `, which
// goes out as the emoji), Up and Down move, Escape closes the list. The box keeps the focus
// and names the highlighted option (aria-activedescendant).

import { $, h, replace } from './dom.js';
import { state } from './state.js';
import { emojiImage } from './emojis.js';

const MAX_SHOWN = 8;
const TYPING_NAME = /(?:^|\s):([A-Za-z0-9_][A-Za-z0-9_-]*)$/;

let matches = [];
let active = 0;
/** Where the `:` of the name being typed is. */
let start = -1;

/** Looks at what is typed before the caret and lists the emojis it may be starting. */
export function updateCompletion() {
  const input = $('message-input');
  const m = state.emojis.size ? TYPING_NAME.exec(input.value.slice(0, input.selectionStart)) : null;
  matches = m ? [...state.emojis].filter(([, e]) => e.name.startsWith(m[1])).slice(0, MAX_SHOWN) : [];
  start = m ? input.selectionStart - m[1].length - 1 : -1;
  active = 0;
  render();
}

export function closeCompletion() {
  matches = [];
  render();
}

function render() {
  const list = $('emoji-complete');
  const input = $('message-input');
  list.hidden = !matches.length;
  replace(list, matches.map(([id, e], i) => h('li', {
    id: `emoji-option-${i}`, role: 'option', 'aria-selected': i === active ? 'true' : 'false',
    // On mousedown, so that the box does not lose the focus first.
    onmousedown: (ev) => {
      ev.preventDefault();
      take(i);
    },
  }, emojiImage(id), ` :${e.name}:`)));
  if (matches.length) input.setAttribute('aria-activedescendant', `emoji-option-${active}`);
  else input.removeAttribute('aria-activedescendant');
}

function take(i) {
  const input = $('message-input');
  const text = `:${matches[i][1].name}: `;
  const end = input.selectionStart;
  input.value = input.value.slice(0, start) + text + input.value.slice(end);
  const caret = start + text.length;
  input.setSelectionRange(caret, caret);
  closeCompletion();
}

/** The list's keys, while it is open; whether `e` was one of them. */
export function completionKey(e) {
  if (!matches.length || e.isComposing) return false;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    active = (active + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
    render();
  } else if (e.key === 'Enter' || e.key === 'Tab') {
    take(active);
  } else if (e.key === 'Escape') {
    closeCompletion();
  } else {
    return false;
  }
  e.preventDefault();
  return true;
}

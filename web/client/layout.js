// The page's layout: on a phone the channel list and the member list are drawers over the
// chat; on a desktop the member list is a column that can be hidden. An opened drawer takes
// the keyboard focus, and gives it back to its button when it closes.

import { $ } from './dom.js';

const PHONE = window.matchMedia('(max-width: 799px)');

/** The drawer element of each toggle button. */
const DRAWERS = { channels: 'sidebar', members: 'members' };

export function closeDrawers() {
  const body = document.body;
  for (const which of Object.keys(DRAWERS)) {
    if (!body.classList.contains(`show-${which}`)) continue;
    const hadFocus = $(DRAWERS[which]).contains(document.activeElement);
    body.classList.remove(`show-${which}`);
    // The closed drawer is invisible: focus left in it would be lost.
    if (hadFocus) $(`toggle-${which}`).focus();
  }
  syncExpanded();
}

/** Whether the member list is on screen: a drawer on a phone, a column on a desktop. */
function membersShown() {
  const body = document.body.classList;
  return PHONE.matches ? body.contains('show-members') : !body.contains('members-closed');
}

/** The toggle buttons tell assistive technology whether what they control is shown. */
function syncExpanded() {
  const channels = PHONE.matches && document.body.classList.contains('show-channels');
  $('toggle-channels').setAttribute('aria-expanded', String(channels));
  $('toggle-members').setAttribute('aria-expanded', String(membersShown()));
}

/** Opens or closes the drawer (phone) or column (desktop) `which`: 'channels' or 'members'. */
function toggleDrawer(which) {
  if (which === 'members' && !PHONE.matches) {
    document.body.classList.toggle('members-closed');
    syncExpanded();
    return;
  }
  const cls = `show-${which}`;
  const open = !document.body.classList.contains(cls);
  closeDrawers();
  document.body.classList.toggle(cls, open);
  syncExpanded();
  if (open) {
    const drawer = $(DRAWERS[which]);
    // The open channel, else the first control, else the drawer itself (the member list).
    const first = drawer.querySelector('[aria-current="page"]') ?? drawer.querySelector('button, summary, input') ?? drawer;
    first.focus({ preventScroll: true });
  }
}

export function wireLayout() {
  syncExpanded();
  PHONE.addEventListener('change', syncExpanded);
  $('toggle-channels').addEventListener('click', () => toggleDrawer('channels'));
  $('toggle-members').addEventListener('click', () => toggleDrawer('members'));
  // A tap on the chat beside an open drawer closes it.
  document.querySelector('.main').addEventListener('click', (e) => {
    const open = document.body.classList.contains('show-channels') || document.body.classList.contains('show-members');
    if (open && !e.target.closest('#toggle-channels, #toggle-members')) closeDrawers();
  });
}

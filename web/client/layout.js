// The page's layout: on a phone the channel list and the member list are drawers over the
// chat; on a desktop the member list is a column that can be hidden.

import { $ } from './dom.js';

const PHONE = window.matchMedia('(max-width: 799px)');

export function closeDrawers() {
  document.body.classList.remove('show-channels', 'show-members');
  $('toggle-channels').setAttribute('aria-expanded', 'false');
  $('toggle-members').setAttribute('aria-expanded', String(document.body.classList.contains('members-open')));
}

/** Opens or closes the drawer (phone) or column (desktop) `which`: 'channels' or 'members'. */
function toggleDrawer(which) {
  if (which === 'members' && !PHONE.matches) {
    const open = !document.body.classList.toggle('members-closed');
    $('toggle-members').setAttribute('aria-expanded', String(open));
    return;
  }
  const cls = `show-${which}`;
  const open = !document.body.classList.contains(cls);
  closeDrawers();
  document.body.classList.toggle(cls, open);
  $(`toggle-${which}`).setAttribute('aria-expanded', String(open));
}

export function wireLayout() {
  $('toggle-channels').addEventListener('click', () => toggleDrawer('channels'));
  $('toggle-members').addEventListener('click', () => toggleDrawer('members'));
  // A tap on the chat beside an open drawer closes it.
  document.querySelector('.main').addEventListener('click', (e) => {
    const open = document.body.classList.contains('show-channels') || document.body.classList.contains('show-members');
    if (open && !e.target.closest('#toggle-channels, #toggle-members')) closeDrawers();
  });
}

// The server's name and icon (from the handshake and `server_update`) as the page's title,
// headings and icons.

import { $ } from './dom.js';
import { state } from './state.js';

const DEFAULT_NAME = 'OriginChats';
const DEFAULT_ICON = '/client/icon.svg';

export function applyServer(server) {
  state.server = server && typeof server === 'object' ? server : {};
  const name = typeof state.server.name === 'string' && state.server.name.trim()
    ? state.server.name : DEFAULT_NAME;
  document.title = name;
  $('server-name').textContent = name;
  $('auth-title').textContent = name;
  // The page's policy allows images from this origin and data: URLs only, so an icon
  // elsewhere (it would not load on a LAN without internet anyway) keeps the default.
  let icon = DEFAULT_ICON;
  if (typeof state.server.icon === 'string' && state.server.icon) {
    try {
      const url = new URL(state.server.icon, location.href);
      if (url.origin === location.origin || url.protocol === 'data:') icon = url.href;
    } catch {
      // Not a URL: keep the default icon.
    }
  }
  $('favicon').href = icon;
  $('server-icon').src = icon;
  $('auth-icon').src = icon;
}

/** A `server_update` push: what it names changes, the rest stays. */
export function onServerUpdate(p) {
  applyServer({ ...state.server, name: p.name ?? state.server.name, icon: p.icon ?? state.server.icon });
}

// The built-in web client's entry point: wires the page's controls to the modules that own
// them and connects to the server this page came from.
//
// Each module owns one part of the page (see its header). They call each other only from
// event and packet handlers, never while they load, so the import cycles between the parts
// of the chat (the log and the editor of a message in it, say) are harmless.

import { conn } from './state.js';
import { banner } from './notices.js';
import { onPacket } from './packets.js';
import { onClosed, wireAuth } from './auth.js';
import { wireChannels } from './channels.js';
import { wireLog } from './log.js';
import { wireComposer } from './composer.js';
import { closePicker, isPickerOpen, wirePicker } from './reactions.js';
import { closePanel, isPanelOpen, wirePanels } from './panels.js';
import { wireProfile } from './profile.js';
import { closeDrawers, wireLayout } from './layout.js';
import { wireUploads } from './uploads.js';
import { wireEmojiAdmin } from './emoji-admin.js';

/** Escape closes the innermost thing open: the picker, else the panel, else a drawer
 * (unless a text box already used it, to cancel an edit or a reply). */
function onEscape(e) {
  if (e.key !== 'Escape' || e.defaultPrevented) return;
  if (isPickerOpen()) closePicker(true);
  else if (isPanelOpen()) closePanel();
  else closeDrawers();
}

wireAuth();
wireComposer();
wireLog();
wirePanels();
wireLayout();
wireProfile();
wireChannels();
wirePicker();
wireUploads();
wireEmojiAdmin();
document.addEventListener('keydown', onEscape);
banner('Connecting…');
conn.start({ packet: onPacket, closed: onClosed });

//! The texts of error packets (`{"cmd":"error","val":…}`, `auth_error`) that more than one
//! place sends, named once. Clients match some of them literally, so they are kept word for
//! word as the original server sends them; see `docs/protocol.md` for each command's errors.

/// Any command of a connection that is not authenticated yet.
pub const AUTH_REQUIRED: &str = "Authentication required";
/// Login of a banned account.
pub const BANNED: &str = "Access denied: You are banned from this server";
/// `auth` when the server only has local accounts.
pub const ROTUR_DISABLED: &str =
    "Rotur authentication is disabled. Use login or register commands.";
pub const INVALID_PASSWORD: &str = "Invalid password";
pub const USERNAME_TAKEN: &str = "Username already taken";

/// A large message (an image) arrived while others filled the server's budget for them
/// (`connections.large_messages_budget_bytes`); it was skipped, the connection goes on.
pub const LARGE_MESSAGES_BUSY: &str =
    "The server is busy receiving other large messages: try again in a moment";

/// A message above `connections.max_message_bytes` for a command that takes no image.
pub fn message_too_large(cmd: &str, max_message_bytes: usize) -> String {
    format!("Message too large for {cmd}: at most {max_message_bytes} bytes")
}

/// A frame that is not JSON.
pub const INVALID_JSON: &str = "Invalid JSON";

pub const USER_NOT_FOUND: &str = "User not found";
pub const USER_PARAMETER_REQUIRED: &str = "User parameter is required";
pub const USER_ROLES_NOT_FOUND: &str = "User roles not found";

pub const CHANNEL_NOT_FOUND: &str = "Channel not found";
pub const CHANNEL_NAME_REQUIRED: &str = "Channel name is required";
pub const CHANNEL_NAME_NOT_PROVIDED: &str = "Channel name not provided";
pub const CHANNEL_OR_THREAD_REQUIRED: &str = "Channel or thread_id is required";
/// Neither `channel` nor `thread_id` in a message command (worded without "is").
pub const CHANNEL_OR_THREAD_ID_REQUIRED: &str = "Channel or thread_id required";
/// Threads live only in forum channels, which this server does not serve.
pub const THREAD_NOT_FOUND: &str = "Thread not found";
pub const CHANNEL_ACCESS_DENIED: &str = "Access denied to this channel";

pub const MESSAGE_NOT_FOUND: &str = "Message not found";
pub const MESSAGE_ID_REQUIRED: &str = "Message ID is required";
pub const CHANNEL_AND_MESSAGE_ID_REQUIRED: &str = "Channel/thread and message ID are required";
pub const EMPTY_MESSAGE: &str = "Message content or attachments cannot be empty";
pub const INVALID_EDIT: &str = "Invalid message edit format";
pub const INVALID_DELETE: &str = "Invalid message delete format";

pub const ROLE_NOT_FOUND: &str = "Role not found";
pub const ROLE_ALREADY_EXISTS: &str = "Role already exists";
pub const ROLE_NAME_REQUIRED: &str = "Role name is required";
pub const ROLE_ID_OR_NAME_REQUIRED: &str = "Role id or name is required";

pub const NICKNAME_TOO_LONG: &str = "Nickname too long (max 20 characters)";

/// Commands for the literal `owner` role.
pub const OWNER_REQUIRED: &str = "Access denied: 'owner' role required";

/// Commands that need a server permission (docs/protocol.md#73-permissions A).
pub fn permission_required(permission: &str) -> String {
    format!("Access denied: '{permission}' permission required")
}

/// A field of the wrong type; `what` says what was wrong.
pub fn invalid_field(field: &str, what: &str) -> String {
    format!("Invalid field '{field}': {what}")
}

/// A store read or write failed; the details are logged, not sent.
pub const STORAGE_ERROR: &str = "The server could not read or save this (storage error); try again";
/// A write refused because the disk under the data directory is full (nothing of it was
/// kept; writes work again once space is freed, without a restart).
pub const DISK_FULL: &str = "The server could not save it: the disk is full";
/// A write refused because the data directory is no longer writable (an SD card the
/// kernel turned read-only after errors, a wrong mount or permission).
pub const DATA_READ_ONLY: &str = "The server could not save it: the data directory is read-only";

/// A `cmd` this server does not answer (after authentication).
pub fn unknown_command(cmd: &str) -> String {
    format!("Unknown command: {cmd}")
}

/// A frame that is JSON but not an object; `kind` is Python's name of its type.
pub fn not_a_dictionary(kind: &str) -> String {
    format!("Invalid message format: expected a dictionary, got {kind}")
}

//! `attachment_get`, `attachment_delete`, and `attachment_upload`, which is an HTTP route
//! (docs/protocol.md#10-http-routes): over WebSocket it only says where to upload.

use serde::Deserialize;
use serde_json::json;

use super::{Ctx, Outcome, Reply, given};
use crate::protocol::Text;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    attachment_id: Option<Text<'a>>,
}

fn attachment_id(ctx: &Ctx<'_>, cmd: &str) -> Result<String, super::CmdError> {
    let req: Request = ctx.fields()?;
    match given(&req.attachment_id).map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err(format!("Invalid {cmd} command: Attachment ID is required").into()),
    }
}

/// `attachment_get` → `attachment_info`, for users who can view the attachment's channel.
pub async fn attachment_get(ctx: &Ctx<'_>) -> Outcome {
    let id = attachment_id(ctx, "attachment_get")?;
    match ctx.app.live_attachment(&id).await? {
        Some(a) if ctx.can(&a.channel, crate::model::Action::View) => Ok(Reply::to_sender(
            &json!({"cmd": "attachment_info", "attachment": a.info()}),
        )),
        _ => Err("Attachment not found or expired".into()),
    }
}

/// `attachment_delete`: the uploader's own, or anyone's with `manage_messages`. The
/// viewers of its channel get `attachment_deleted`; the sender gets it as the reply.
pub async fn attachment_delete(ctx: &Ctx<'_>) -> Outcome {
    let id = attachment_id(ctx, "attachment_delete")?;
    // Someone else's file in a channel the sender cannot view does not exist for them
    // (as for `attachment_get` and the download).
    let attachment = match ctx.app.live_attachment(&id).await? {
        Some(a)
            if a.uploader_id == ctx.user_id || ctx.can(&a.channel, crate::model::Action::View) =>
        {
            a
        }
        _ => return Err("Attachment not found".into()),
    };
    let moderator = ctx.require_permission("manage_messages").is_ok();
    if attachment.uploader_id != ctx.user_id && !moderator {
        return Err("You can only delete your own attachments".into());
    }
    let packet = ctx.app.delete_attachment(&attachment).await?;
    log::info!("attachment {id} deleted by {}", ctx.username());
    Ok(Reply::global(&packet, Some(&attachment.channel)))
}

/// `attachment_upload` over WebSocket: uploads are HTTP requests.
pub fn attachment_upload(_ctx: &Ctx<'_>) -> Outcome {
    Err("Upload files with POST /attachments/upload (see the server's protocol document)".into())
}

//! A GitHub `push` event as a message embed, as the original server renders it
//! (docs/protocol.md#1013-post-webhooks): the branch and the number of commits as the title,
//! the pusher and repository as the author, one line per commit (short id as a link, first
//! line of its message). Bounded for the embed rules of `message_new`: at most
//! [`MAX_COMMIT_LINES`] commits are listed, then how many more there were.

use serde_json::{Map, Value, json};

/// Commit lines listed at most; a push of more says "… and N more".
pub const MAX_COMMIT_LINES: usize = 10;

/// The avatar the original shows for GitHub's posts.
pub const GITHUB_AVATAR: &str =
    "https://github.githubassets.com/images/modules/logos_page/GitHub-Mark.png";

/// GitHub's dark grey, as the original.
const COLOR: u32 = 0x24292e;

const MAX_TITLE: usize = 256;
/// An embed's description holds at most 4096 characters (`message_new`'s rule).
const MAX_DESCRIPTION: usize = 4096;
const MAX_LINE: usize = 300;
const MAX_NAME: usize = 200;
const MAX_URL: usize = 2048;

/// Whether a post is a GitHub event the original renders: it names an event and its body
/// has `repository` and `ref`.
pub fn is_push_like(fields: &Map<String, Value>) -> bool {
    fields.contains_key("repository") && fields.contains_key("ref")
}

/// The embed of a push event `payload`, stamped `now_unix` (seconds, UTC).
pub fn embed(payload: &Map<String, Value>, now_unix: i64) -> Value {
    let text = |v: Option<&Value>, max: usize| {
        v.and_then(Value::as_str)
            .map(|s| cut(s, max))
            .unwrap_or_default()
    };
    let flag = |k: &str| payload.get(k).and_then(Value::as_bool).unwrap_or(false);
    let reference = text(payload.get("ref"), MAX_TITLE);
    let branch = reference
        .strip_prefix("refs/heads/")
        .unwrap_or(&reference)
        .to_string();
    let repo = payload.get("repository");
    let repo_name = text(repo.and_then(|r| r.get("full_name")), MAX_NAME);
    let repo_name = if repo_name.is_empty() {
        "unknown".to_string()
    } else {
        repo_name
    };
    let repo_url = text(repo.and_then(|r| r.get("html_url")), MAX_URL);
    let sender = payload.get("sender");
    let pusher = text(sender.and_then(|s| s.get("login")), MAX_NAME);
    let pusher = if pusher.is_empty() {
        "unknown".to_string()
    } else {
        pusher
    };
    let commits: &[Value] = payload
        .get("commits")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let title = if flag("deleted") {
        format!("{branch} deleted")
    } else if flag("created") {
        format!("{branch} created")
    } else if flag("forced") {
        format!("{branch} force-pushed")
    } else {
        let n = commits.len();
        format!("{branch}: {n} commit{}", if n == 1 { "" } else { "s" })
    };
    let compare = text(payload.get("compare"), MAX_URL);
    let mut embed = json!({
        "title": cut(&title, MAX_TITLE),
        "url": if compare.is_empty() { repo_url.clone() } else { compare },
        "color": COLOR,
        "author": {
            "name": format!("{pusher} - {repo_name}"),
            "url": repo_url,
            "icon_url": text(sender.and_then(|s| s.get("avatar_url")), MAX_URL),
        },
        "timestamp": iso8601(now_unix),
    });
    if !commits.is_empty() {
        let mut description = String::new();
        let mut listed = 0;
        for c in commits.iter().take(MAX_COMMIT_LINES) {
            let id: String = text(c.get("id"), 64).chars().take(7).collect();
            let message = text(c.get("message"), MAX_LINE * 4);
            let first_line = cut(message.lines().next().unwrap_or(""), MAX_LINE);
            let line = format!("[`{id}`]({}) {first_line}", text(c.get("url"), MAX_URL));
            // Room for the line and for the "… and N more" after it.
            if description.chars().count() + line.chars().count() + 40 > MAX_DESCRIPTION {
                break;
            }
            if listed > 0 {
                description.push('\n');
            }
            description.push_str(&line);
            listed += 1;
        }
        if commits.len() > listed {
            if listed > 0 {
                description.push('\n');
            }
            description.push_str(&format!("… and {} more", commits.len() - listed));
        }
        embed["description"] = json!(description);
    }
    embed
}

/// At most `max` characters of `s`.
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `2026-12-02T01:02:03Z`.
fn iso8601(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_push_becomes_the_originals_embed() {
        let p = payload(json!({
            "ref": "refs/heads/main",
            "compare": "https://github.com/o/r/compare/a...b",
            "repository": {"full_name": "o/r", "html_url": "https://github.com/o/r"},
            "sender": {"login": "octo", "avatar_url": "https://avatars/u/1"},
            "commits": [
                {"id": "0123456789abcdef", "message": "Fix it\n\nlong text", "url": "https://c/1"},
                {"id": "fedcba9876543210", "message": "Add it", "url": "https://c/2"}
            ]
        }));
        assert_eq!(
            embed(&p, 1_796_000_000),
            json!({
                "title": "main: 2 commits",
                "url": "https://github.com/o/r/compare/a...b",
                "color": 0x24292e,
                "author": {"name": "octo - o/r", "url": "https://github.com/o/r",
                           "icon_url": "https://avatars/u/1"},
                "timestamp": "2026-11-30T00:53:20Z",
                "description": "[`0123456`](https://c/1) Fix it\n[`fedcba9`](https://c/2) Add it"
            })
        );
    }

    #[test]
    fn created_deleted_forced_and_long_pushes() {
        let base = json!({"ref": "refs/tags/v1", "repository": {}});
        let mut p = payload(base.clone());
        p.insert("deleted".into(), json!(true));
        assert_eq!(embed(&p, 0)["title"], "refs/tags/v1 deleted");
        let mut p = payload(base.clone());
        p.insert("created".into(), json!(true));
        assert_eq!(embed(&p, 0)["title"], "refs/tags/v1 created");
        let mut p = payload(base);
        p.insert("forced".into(), json!(true));
        assert_eq!(embed(&p, 0)["title"], "refs/tags/v1 force-pushed");
        let commits: Vec<Value> = (0..25)
            .map(|i| json!({"id": format!("{i:040}"), "message": "x".repeat(5000)}))
            .collect();
        let p = payload(json!({"ref": "refs/heads/dev", "repository": {}, "commits": commits}));
        let e = embed(&p, 0);
        assert_eq!(e["title"], "dev: 25 commits");
        assert_eq!(e["author"]["name"], "unknown - unknown");
        let description = e["description"].as_str().unwrap();
        assert_eq!(description.lines().count(), MAX_COMMIT_LINES + 1);
        assert!(description.ends_with("… and 15 more"));
        assert!(description.chars().count() <= 4096);
        // Long URLs: fewer lines, still within the bound.
        let commits: Vec<Value> = (0..10)
            .map(|i| json!({"id": format!("{i:040}"), "message": "m", "url": "u".repeat(3000)}))
            .collect();
        let p = payload(json!({"ref": "refs/heads/dev", "repository": {}, "commits": commits}));
        let description = embed(&p, 0)["description"].as_str().unwrap().to_string();
        assert!(description.chars().count() <= 4096);
        assert!(description.ends_with("more"), "{description}");
    }
}

//! The command line: `originchats-server [--config PATH] [--data-dir DIR] [COMMAND …]`.

use std::path::PathBuf;

pub const HELP: &str = "\
originchats-server — an OriginChats chat server for small boards

USAGE:
    originchats-server [--config PATH] [--data-dir DIR]            run the server
    originchats-server [--config PATH] [--data-dir DIR] admin ...  manage accounts, show the TLS
                      certificate's fingerprint (see `admin --help`)
    originchats-server [--config PATH] [--data-dir DIR] import PATH
                      bring over the data of the original (Python) server (see IMPORT)

OPTIONS:
    --config PATH     configuration file (default: config.json; if it does not exist the
                      built-in defaults are used)
    --data-dir DIR    where the database lives (default: data)
    -h, --help        this help
    -V, --version     the version

IMPORT:
    `import PATH` copies accounts (passwords included), roles, channels, message history,
    read markers, attachments, custom emojis and the server icon and banner from the
    original server's data folder PATH (its `db` folder, or the folder holding `db`) into
    DIR, and prints what it did. PATH is only read. What DIR already has (same account id,
    role or channel name, message id, read marker, attachment or emoji) is kept, so running
    it again changes nothing; our untouched default roles and `general` channel take the
    original server's versions. Webhooks and polls come too; threads are not imported.
    A running server picks the imported data up by itself (an imported icon or banner
    after a restart), but cannot save anything while an import runs: for a big history,
    stop it first.

ENVIRONMENT:
    RUST_LOG          log level: error, warn, info (default), debug, trace
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run,
    Help,
    Version,
    Admin(Vec<String>),
    /// `import PATH`: the original server's data folder (see [`crate::import`]).
    Import(PathBuf),
}

/// Parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub command: Command,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut config = PathBuf::from("config.json");
    let mut data_dir = PathBuf::from("data");
    let mut args = args.into_iter();
    let mut command = Command::Run;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = args.next().ok_or("--config needs a path")?.into(),
            "--data-dir" => data_dir = args.next().ok_or("--data-dir needs a directory")?.into(),
            "-h" | "--help" => command = Command::Help,
            "-V" | "--version" => command = Command::Version,
            "run" => command = Command::Run,
            "admin" => {
                command = Command::Admin(args.by_ref().collect());
            }
            "import" => match args.next() {
                Some(path) if !path.starts_with('-') => command = Command::Import(path.into()),
                _ => {
                    return Err(
                        "import needs the PATH of the original server's `db` folder \
                                (see --help)"
                            .into(),
                    );
                }
            },
            other => {
                if let Some(p) = other.strip_prefix("--config=") {
                    config = p.into();
                } else if let Some(d) = other.strip_prefix("--data-dir=") {
                    data_dir = d.into();
                } else {
                    return Err(format!("unknown argument `{other}` (see --help)"));
                }
            }
        }
    }
    Ok(Args {
        config,
        data_dir,
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_options() {
        let a = p(&[]).unwrap();
        assert_eq!(
            (a.config, a.data_dir, a.command),
            ("config.json".into(), "data".into(), Command::Run)
        );
        let a = p(&[
            "--config",
            "c.json",
            "--data-dir=/var/lib/x",
            "admin",
            "grant-role",
            "a",
            "owner",
        ])
        .unwrap();
        assert_eq!(a.config, PathBuf::from("c.json"));
        assert_eq!(a.data_dir, PathBuf::from("/var/lib/x"));
        assert_eq!(
            a.command,
            Command::Admin(vec!["grant-role".into(), "a".into(), "owner".into()])
        );
        assert!(p(&["--bogus"]).unwrap_err().contains("--bogus"));
        assert!(p(&["--config"]).is_err());
    }

    #[test]
    fn import_takes_a_path() {
        let a = p(&["import", "old/db", "--data-dir", "d"]).unwrap();
        assert_eq!(a.command, Command::Import("old/db".into()));
        assert_eq!(a.data_dir, PathBuf::from("d"));
        assert!(p(&["import"]).unwrap_err().contains("PATH"));
        assert!(p(&["import", "--data-dir", "d"]).is_err());
    }
}

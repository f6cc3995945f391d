//! The `originchats-server` binary: parses the command line, loads the configuration and
//! runs the server, the admin command line or an import.

use std::process::ExitCode;

use originchats_server::{admin, cli, config, import, logger, server};

fn main() -> ExitCode {
    originchats_server::memory::limit_arenas();
    logger::init();
    let code = run();
    // The log's writer thread may still hold the last lines.
    logger::flush();
    code
}

fn run() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("originchats-server: {e}");
            return ExitCode::from(2);
        }
    };
    match args.command {
        cli::Command::Help => {
            print!("{}", cli::HELP);
            return ExitCode::SUCCESS;
        }
        cli::Command::Version => {
            println!("originchats-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let (config, source, unused) = match config::load(&args.config) {
        Ok(loaded) => loaded,
        Err(e) => {
            log::error!("{e}");
            log::error!(
                "nothing was started; fix the file (or remove it to use the built-in defaults)"
            );
            return ExitCode::from(2);
        }
    };
    match args.command {
        cli::Command::Admin(words) => match admin::run(&args.data_dir, &config, &words) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("originchats-server admin: {e}");
                ExitCode::FAILURE
            }
        },
        cli::Command::Import(path) => {
            match import::run(&path, &args.data_dir, config.storage.sync) {
                Ok(report) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("originchats-server import: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            match &source {
                config::Source::File(p) => log::info!("configuration: {}", p.display()),
                config::Source::Defaults(p) => {
                    log::info!(
                        "no config file at {}: using the built-in defaults",
                        p.display()
                    )
                }
            }
            if !unused.is_empty() {
                log::info!(
                    "config keys this server does not use (ignored): {}",
                    unused.join(", ")
                );
            }
            log::info!("data directory: {}", args.data_dir.display());
            match server::run(config, &args.data_dir, |_| {}) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    log::error!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

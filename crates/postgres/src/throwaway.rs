//! A throwaway PostgreSQL server: a new cluster in a temporary directory, listening on a Unix
//! socket only, stopped and removed when dropped. The tests start theirs with it, and a user
//! without a database starts one with `service-lifecycle postgres-server`.
//!
//! The server binaries (`initdb`, `pg_ctl`) are looked for on `PATH`, then under
//! `/usr/lib/postgresql/*/bin` (Debian's layout). PostgreSQL refuses to run as root, so when
//! this process is root the binaries run as the `postgres` user (through `runuser`), and the
//! directory is handed to that user.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that turns missing server binaries into a failure of
/// [`ThrowawayServer::start_unless_missing`].
pub const REQUIRE_POSTGRES: &str = "SERVICE_LIFECYCLE_REQUIRE_POSTGRES";

/// Why a throwaway server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThrowawayError {
    /// No PostgreSQL server binaries were found.
    #[error("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin; install the distribution's postgresql package")]
    NoBinaries,
    /// A step of starting the server failed.
    #[error("starting a throwaway PostgreSQL server failed at {step}: {detail}")]
    Failed {
        /// What was being done.
        step: &'static str,
        /// What it said.
        detail: String,
    },
}

/// A PostgreSQL server of its own, for tests and trials: stopped (immediately) and removed when
/// dropped, and also when the process that started it ends without dropping it.
#[derive(Debug)]
pub struct ThrowawayServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
}

impl ThrowawayServer {
    /// Creates and starts the server; returns once it accepts connections.
    pub fn start() -> Result<Self, ThrowawayError> {
        let bin = server_binaries().ok_or(ThrowawayError::NoBinaries)?;
        let as_postgres = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("service-lifecycle-pg-")
            .tempdir()
            .map_err(|error| failed("making its directory", error.to_string()))?;
        let server = Self {
            dir,
            bin,
            as_postgres,
        };
        if as_postgres {
            server.hand_to_postgres_user()?;
        }
        let data = server.data_dir();
        server.run(
            "initdb",
            &[
                "initdb",
                "-D",
                &data.display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=on -c max_connections=200 -c shared_buffers=64MB",
            server.socket_dir().display()
        );
        server.run(
            "pg_ctl start",
            &[
                "pg_ctl",
                "-D",
                &data.display().to_string(),
                "-o",
                &options,
                "-l",
                &server.dir.path().join("server.log").display().to_string(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        server.stop_when_this_process_ends();
        server.wait_until_ready()?;
        Ok(server)
    }

    /// [`start`](Self::start), for test suites that may run where PostgreSQL is not installed:
    /// `Ok(None)` (said on standard error) when there are no server binaries, unless the
    /// environment variable [`REQUIRE_POSTGRES`] is set (as the project's CI sets it), which
    /// makes that [`ThrowawayError::NoBinaries`], so that a suite cannot pass by skipping.
    pub fn start_unless_missing() -> Result<Option<Self>, ThrowawayError> {
        match Self::start() {
            Ok(server) => Ok(Some(server)),
            Err(ThrowawayError::NoBinaries) if std::env::var_os(REQUIRE_POSTGRES).is_none() => {
                eprintln!(
                    "PostgreSQL tests skipped: no server binaries here (set \
                     {REQUIRE_POSTGRES}=1 to make this a failure)"
                );
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// The URL of the server's `postgres` database (a Unix socket, user `postgres`, no password).
    pub fn url(&self) -> String {
        format!(
            "postgresql://postgres@{}/postgres",
            percent_encode(&self.socket_dir().display().to_string())
        )
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    pub fn crash(&self) -> Result<(), ThrowawayError> {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"])
    }

    /// Starts the server again after [`crash`](Self::crash) or a stop.
    pub fn restart(&self) -> Result<(), ThrowawayError> {
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c max_connections=200",
            self.socket_dir().display()
        );
        self.pg_ctl(&[
            "-o",
            &options,
            "-l",
            &self.dir.path().join("server.log").display().to_string(),
            "-w",
            "-t",
            "60",
            "start",
        ])?;
        self.wait_until_ready()
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), ThrowawayError> {
        let data = self.data_dir().display().to_string();
        let mut all = vec!["pg_ctl", "-D", &data];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, step: &'static str, args: &[&str]) -> Result<(), ThrowawayError> {
        let output = self
            .command(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| failed(step, error.to_string()))?;
        if output.status.success() {
            Ok(())
        } else {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            Err(failed(
                step,
                format!(
                    "{}{}{log}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            ))
        }
    }

    fn hand_to_postgres_user(&self) -> Result<(), ThrowawayError> {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(self.dir.path())
            .status()
            .map_err(|error| {
                failed(
                    "handing its directory to the postgres user",
                    error.to_string(),
                )
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(failed(
                "handing its directory to the postgres user",
                format!("chown ended with {status}"),
            ))
        }
    }

    /// A watchdog that stops the server and removes its directory once this process is gone,
    /// so that a test binary that ends without dropping a shared server leaves nothing running.
    fn stop_when_this_process_ends(&self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = if self.as_postgres {
            format!("runuser -u postgres -- {}", pg_ctl.display())
        } else {
            pg_ctl.display().to_string()
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            data = self.data_dir().display(),
            dir = self.dir.path().display(),
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    fn wait_until_ready(&self) -> Result<(), ThrowawayError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match postgres::Client::connect(&self.url(), postgres::NoTls) {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() > deadline => {
                    return Err(failed("connecting", error.to_string()))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for ThrowawayServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }
}

fn failed(step: &'static str, detail: String) -> ThrowawayError {
    ThrowawayError::Failed { step, detail }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The directory holding `initdb` and `pg_ctl`.
fn server_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    // The newest version first.
    debian.sort();
    debian.reverse();
    on_path
        .into_iter()
        .chain(debian)
        .find(|dir| is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl")))
        .map(|dir| {
            std::fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or(dir)
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// Percent-encodes a socket directory for the host part of a URL.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

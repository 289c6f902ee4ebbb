//! The tool on a PostgreSQL store, on a throwaway server the test starts: every subcommand takes
//! a PostgreSQL URL (or the `SERVICE_LIFECYCLE_STORE` variable), an export moved through
//! PostgreSQL comes back byte for byte, and a second process reports and verifies while a
//! simulation is writing to the same database.

mod common;

use std::process::{Command, Output, Stdio};

use common::{path, text, tool, TOOL};

use service_lifecycle_postgres::ThrowawayServer;

fn server() -> Option<ThrowawayServer> {
    ThrowawayServer::start_unless_missing().unwrap_or_else(|error| panic!("{error}"))
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: exit {:?}\n{}{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn every_subcommand_works_on_postgres_and_an_export_comes_back_byte_for_byte() {
    let Some(server) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sled = dir.path().join("sled");
    assert_success(
        &tool(&["simulate", "--store", path(&sled), "--customers", "20"]),
        "simulate into sled",
    );
    let from_sled = dir.path().join("from-sled.jsonl");
    assert_success(
        &tool(&[
            "export",
            "--store",
            path(&sled),
            "--output",
            path(&from_sled),
        ]),
        "export from sled",
    );
    let store = format!("{}?schema=copied", server.url());
    assert_success(
        &tool(&["import", "--store", &store, "--input", path(&from_sled)]),
        "import into postgres",
    );
    let from_postgres = dir.path().join("from-postgres.jsonl");
    assert_success(
        &tool(&[
            "export",
            "--store",
            &store,
            "--output",
            path(&from_postgres),
        ]),
        "export from postgres",
    );
    assert!(
        std::fs::read(&from_sled).unwrap() == std::fs::read(&from_postgres).unwrap(),
        "sled -> JSON -> PostgreSQL -> JSON is byte-identical"
    );
    // The store named by the variable instead of --store.
    let verified = Command::new(TOOL)
        .args(["verify"])
        .env("SERVICE_LIFECYCLE_STORE", &store)
        .output()
        .unwrap();
    // The personal data came along beside the export: every customer has their record.
    let said = text(&verified.stdout);
    assert!(!said.contains("no personal record"), "{said}");
    assert!(
        said.starts_with(&format!(
            "{} events in",
            said.split_whitespace().next().unwrap()
        )) && said.lines().next().unwrap().ends_with(": clean"),
        "{said}"
    );
    for args in [
        vec!["stats", "--store", &store],
        vec!["report", "sla", "--store", &store],
        vec!["report", "backlog", "--store", &store, "--json"],
    ] {
        assert_success(&tool(&args), &args.join(" "));
    }
    // A reading command never creates a store.
    let missing = format!("{}?schema=nothing_here", server.url());
    let output = tool(&["verify", "--store", &missing]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("there is no store"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_second_process_reports_while_a_simulation_writes_to_the_same_database() {
    let Some(server) = server() else { return };
    let store = format!("{}?schema=shared", server.url());
    let mut writer = Command::new(TOOL)
        .args([
            "simulate",
            "--store",
            &store,
            "--customers",
            "40",
            "--years",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first events, then read while the writer goes on.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = 0;
    let mut readings = 0;
    while writer.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        let stats = tool(&["stats", "--store", &store]);
        if stats.status.success() {
            let events: u64 = text(&stats.stdout)
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert!(
                events >= seen,
                "the log never shrinks: {events} after {seen}"
            );
            seen = events;
            if events > 0 {
                assert_success(
                    &tool(&["report", "sla", "--store", &store]),
                    "report while writing",
                );
                let verified = tool(&["verify", "--store", &store]);
                assert_eq!(
                    verified.status.code(),
                    Some(0),
                    "verify while writing: {}{}",
                    text(&verified.stdout),
                    text(&verified.stderr)
                );
                readings += 1;
                if readings >= 3 {
                    break;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = writer.kill();
    let _ = writer.wait();
    assert!(
        readings >= 1,
        "read the store while it was written ({seen} events seen)"
    );
}

#[test]
fn load_exec_and_the_data_subject_commands_work_on_postgres() {
    let Some(server) = server() else { return };
    let store = format!("{}?schema=loaded", server.url());
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data");
    let loaded = tool(&["load", "--store", &store, "--from", path(&sample)]);
    assert_success(&loaded, "load into postgres");
    assert!(
        text(&loaded.stdout).contains("3 models"),
        "{}",
        text(&loaded.stdout)
    );
    let again = tool(&["load", "--store", &store, "--from", path(&sample)]);
    assert!(
        text(&again.stdout).contains("loaded nothing new"),
        "{}",
        text(&again.stdout)
    );
    let board = tool(&["report", "pre-sale", "--store", &store]);
    assert_success(&board, "report");
    assert!(text(&board.stdout).contains("WM-7 washing machine"));
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands.jsonl");
    std::fs::write(
        &commands,
        "{\"id\":\"0190a5b4-0000-7000-8000-0000000000a1\",\"aggregate\":\"technician\",\"command\":{\"Hire\":{\"technician\":\"0190a5b4-0000-7000-8000-000000000777\",\"at\":\"2026-12-01T09:00:00Z\"}}}\n",
    )
    .unwrap();
    for expected in ["\"recorded\"", "\"replayed\""] {
        let ran = tool(&["exec", "--store", &store, "--input", path(&commands)]);
        assert_success(&ran, "exec");
        assert!(
            text(&ran.stdout).contains(expected),
            "{}",
            text(&ran.stdout)
        );
    }
    let export = dir.path().join("backup.jsonl");
    assert_success(
        &tool(&["export", "--store", &store, "--output", path(&export)]),
        "export",
    );
    let personal = std::fs::read_to_string(dir.path().join("backup.personal-data.jsonl")).unwrap();
    assert!(personal.contains("Anna Petrova"), "{personal}");
    assert_success(&tool(&["verify", "--store", &store]), "verify");
}

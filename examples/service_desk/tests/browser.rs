//! The dashboard in a real browser: headless Chromium (the distribution's `chromium` package;
//! `.ci/run` installs it when missing) loads the dashboard of a seeded store, the test asserts on
//! the page as rendered (every report, names rather than ids, a past day asked for) and on the
//! browser's console (no message at all), and keeps screenshots at a laptop's and a phone's
//! width in `target/test-artifacts/`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Running;
use service_lifecycle::sled::SledStore;
use service_lifecycle::{ServiceEvent, ServiceLifecycle};
use service_lifecycle_cli::simulation::{simulate, SimulationConfig};

/// The browser: `SERVICE_DESK_CHROMIUM`, or the first of the usual names on the path.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SERVICE_DESK_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|candidate| candidate.is_file())
}

/// Runs the browser headless on `url` with `arguments`; its standard output and error.
fn browse(browser: &PathBuf, arguments: &[&str], url: &str) -> (String, String) {
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(arguments)
        .arg(url)
        .output()
        .expect("the browser runs");
    assert!(
        output.status.success(),
        "the browser failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_dashboard_of_a_seeded_store_renders_every_report_with_names_in_a_real_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("SERVICE_DESK_REQUIRE_BROWSER").is_none(),
            "no Chromium found: install the distribution's chromium package (or set \
             SERVICE_DESK_CHROMIUM)"
        );
        eprintln!("skipped: no Chromium on this machine (install the chromium package)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::<ServiceEvent>::open(dir.path().join("store")).unwrap();
    let service = ServiceLifecycle::builder(store.clone())
        .personal_data(store.clone())
        .open()
        .unwrap();
    let config = SimulationConfig {
        customers: 60,
        years: 1,
        seed: 7,
    };
    simulate(service, config, |_, _| true).unwrap();
    let desk = Running::on(store);
    let url = format!("http://{}/?as_of=2026-06-30", desk.address);

    let (dom, log) = browse(&browser, &["--dump-dom"], &url);
    for title in [
        "1. Pre-sale board (as of 2026-06-30)",
        "2. Delivery and installation backlog",
        "3. Service due list",
        "4. SLA compliance",
        "5. Warranty",
        "6. Parts horizon",
        "7. Outreach",
    ] {
        assert!(dom.contains(title), "{title} is missing from the page");
    }
    // Names, not ids: the simulated catalogue's models, and customers by the names in the vault
    // (the simulation names a customer "Given Family (number)", a technician without the number).
    assert!(
        dom.contains("<td>WM-1</td>"),
        "a model by its catalogue name"
    );
    use service_lifecycle_cli::simulation::{FAMILY_NAMES, GIVEN_NAMES};
    let customer_named = GIVEN_NAMES.iter().any(|given| {
        FAMILY_NAMES
            .iter()
            .any(|family| dom.contains(&format!("<td>{given} {family} (")))
    });
    assert!(customer_named, "a customer by the name in the vault");
    assert!(!dom.contains("<td>customer "), "no customer shown by id");
    assert!(
        dom.contains("value=\"2026-06-30\""),
        "the date picker shows the day"
    );
    let console: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .collect();
    assert!(
        console.is_empty(),
        "the page wrote to the console: {console:#?}"
    );

    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    for (name, size) in [("laptop", "1366,2400"), ("phone", "390,2400")] {
        let shot = artifacts.join(format!("service-desk-dashboard-{name}.png"));
        let _ = std::fs::remove_file(&shot);
        let screenshot = format!("--screenshot={}", shot.display());
        let window = format!("--window-size={size}");
        browse(&browser, &[&screenshot, &window, "--hide-scrollbars"], &url);
        let bytes = std::fs::read(&shot).expect("the screenshot is written");
        assert!(bytes.starts_with(b"\x89PNG"), "{} is a PNG", shot.display());
    }
}

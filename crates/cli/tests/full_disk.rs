//! A full disk, as the tool meets it: each command says in words that the disk is full, what it
//! left behind and what to do; no Rust `Debug` text; and the store is whole once there is space.
//!
//! The small disk is a tmpfs mounted for the test, which needs root (as in CI). Where mounting is
//! not allowed the tmpfs cases say so and pass; the `/dev/full` case runs everywhere on Linux.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{path, text, tool, TOOL};

/// The tool failed with exit 1 and said, in words, that the disk is full and `left_behind`.
fn assert_full_disk_said(output: &Output, left_behind: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the disk is full"), "{stderr}");
    assert!(stderr.contains(left_behind), "{stderr}");
    assert!(stderr.contains("free space"), "{stderr}");
    for debug in ["Os {", "kind:", "StorageFull", "panicked"] {
        assert!(!stderr.contains(debug), "{debug:?} in: {stderr}");
    }
}

/// A tmpfs of `size` mounted at a new directory, unmounted when dropped.
struct SmallDisk {
    _dir: tempfile::TempDir,
    mount: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let mount = dir.path().join("disk");
        std::fs::create_dir(&mount).ok()?;
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                path(&mount),
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            eprintln!("cannot mount a tmpfs here (not root?): the small-disk cases are skipped");
            return None;
        }
        Some(Self { _dir: dir, mount })
    }

    fn grow(&self, size: &str) {
        let grown = Command::new("mount")
            .args(["-o", &format!("remount,size={size}"), path(&self.mount)])
            .status()
            .expect("mount runs");
        assert!(grown.success(), "the tmpfs grows");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

/// A simulated store (on the ordinary disk) and its export.
fn source() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let simulated = tool(&["simulate", "--store", path(&store), "--customers", "40"]);
    assert!(simulated.status.success(), "{}", text(&simulated.stderr));
    let file = dir.path().join("export.jsonl");
    let exported = tool(&["export", "--store", path(&store), "--output", path(&file)]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    (dir, store, file)
}

#[test]
fn an_export_to_a_full_device_says_so_in_words() {
    let (_dir, store, _) = source();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let output = Command::new(TOOL)
        .args(["export", "--store", path(&store), "--without-personal-data"])
        .stdout(full)
        .output()
        .unwrap();
    assert_full_disk_said(&output, "no export file is left behind");
}

#[test]
fn a_full_disk_during_simulate_export_and_import_is_said_in_words_and_the_store_stays_whole() {
    let (_dir, store, file) = source();
    let Some(disk) = SmallDisk::mount("600k") else {
        return;
    };
    // simulate fills the disk; the store keeps what came before, whole.
    let simulated_store = disk.mount.join("simulated");
    let output = tool(&[
        "simulate",
        "--store",
        path(&simulated_store),
        "--customers",
        "400",
    ]);
    assert_full_disk_said(&output, "the store holds the days simulated before");
    disk.grow("64m");
    let verified = tool(&["verify", "--store", path(&simulated_store)]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "after the disk filled up, once there is space: {}{}",
        text(&verified.stdout),
        text(&verified.stderr)
    );
    std::fs::remove_dir_all(&simulated_store).unwrap();
    disk.grow("600k");
    // export leaves no file, complete or partial.
    let exported_file = disk.mount.join("export.jsonl");
    let output = tool(&[
        "export",
        "--store",
        path(&store),
        "--output",
        path(&exported_file),
    ]);
    assert_full_disk_said(&output, "no export file is left behind");
    let left: Vec<_> = std::fs::read_dir(&disk.mount).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // import writes nothing of the file.
    let imported_store = disk.mount.join("imported");
    let output = tool(&[
        "import",
        "--store",
        path(&imported_store),
        "--input",
        path(&file),
    ]);
    // The disk may fill while the import writes, and its undo (which writes too) may then fail:
    // the message says so, and opening the store once there is space rolls the import back.
    let said_rolled_back_on_open = text(&output.stderr).contains("opening it rolls back");
    if said_rolled_back_on_open {
        assert_full_disk_said(&output, "holds all of the import or none of it");
    } else {
        assert_full_disk_said(&output, "nothing of the file was written");
    }
    disk.grow("64m");
    if imported_store.join("db").exists() {
        let verified = tool(&["verify", "--store", path(&imported_store)]);
        let stdout = text(&verified.stdout);
        assert!(
            stdout.starts_with("0 events in 0 streams") && stdout.contains(": clean"),
            "the import left nothing once the store was opened again: {stdout}{}",
            text(&verified.stderr)
        );
    }
}

//! The service-lifecycle command-line tool's library: the seeded simulation
//! ([`simulation::simulate`]) that the `simulate` command, the benchmarks and load tests share;
//! the reports as tables, CSV or JSON with names ([`tables::write_report`]) that the `report`
//! command and the dealership example print; the CSV loader of master data ([`load::load`]) and
//! the runner of JSON Lines commands ([`exec::exec`]).
//! The tool itself is the `service-lifecycle` binary of this package (`src/main.rs`).

pub mod exec;
pub mod interrupt;
pub mod load;
pub mod location;
pub mod simulation;
pub mod table;
pub mod tables;

/// The I/O error kinds in `error` and the errors it was caused by (inside `serde_json` errors too).
fn io_kinds<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> impl Iterator<Item = std::io::ErrorKind> + 'e {
    std::iter::successors(Some(error), |error| error.source()).filter_map(|error| {
        error
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                error
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
    })
}

/// Whether `error`, or an error it was caused by, says that the disk is full.
pub fn is_disk_full(error: &(dyn std::error::Error + 'static)) -> bool {
    io_kinds(error).any(|kind| kind == std::io::ErrorKind::StorageFull)
        || std::iter::successors(Some(error), |error| error.source()).any(|error| {
            error
                .downcast_ref::<service_lifecycle_sled::StorageError>()
                .is_some_and(service_lifecycle_sled::StorageError::is_disk_full)
                || error
                    .to_string()
                    .to_ascii_lowercase()
                    .contains("no space left on device")
        })
}

/// Whether `error`, or an error it was caused by, is a write to a pipe whose reader went away
/// (`service-lifecycle report sla ... | head`): the output is no longer wanted, not an error to
/// report.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    io_kinds(error).any(|kind| kind == std::io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::{is_broken_pipe, is_disk_full};

    /// A writer whose reader is gone.
    struct ClosedPipe;

    impl std::io::Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_recognised_directly_inside_serde_json_and_behind_a_cause() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(&io));
        let json = serde_json::to_writer(ClosedPipe, &[1, 2, 3]).unwrap_err();
        assert!(is_broken_pipe(&json));
        let wrapped = service_lifecycle_json::ExportError::Write(io);
        assert!(is_broken_pipe(&wrapped));
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!is_broken_pipe(&other));
    }

    #[test]
    fn a_full_disk_is_recognised_in_io_errors_in_the_stores_errors_and_behind_a_cause() {
        let full = std::io::Error::from_raw_os_error(28);
        assert!(is_disk_full(&full));
        let wrapped = service_lifecycle_json::ExportError::Write(full);
        assert!(is_disk_full(&wrapped));
        // sled hands on its writer's error as its Debug text.
        let debug_text =
            std::io::Error::other(format!("{:?}", std::io::Error::from_raw_os_error(28)));
        let storage = service_lifecycle_sled::StorageError::from(debug_text);
        assert!(storage.is_disk_full(), "{storage}");
        assert!(is_disk_full(&storage));
        assert!(!storage.to_string().contains("Os {"), "{storage}");
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!is_disk_full(&other));
    }
}

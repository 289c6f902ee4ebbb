//! The service-lifecycle command-line tool's library: the seeded simulation
//! ([`simulation::simulate`]) that the `simulate` command, the benchmarks and load tests share,
//! and the reports as text tables ([`tables::write_table`]) that the `report` command and the
//! dealership example print.
//! The tool itself is the `service-lifecycle` binary of this package (`src/main.rs`).

pub mod interrupt;
pub mod simulation;
pub mod tables;

/// Whether `error`, or an error it was caused by, is a write to a pipe whose reader went away
/// (`service-lifecycle report sla ... | head`): the output is no longer wanted, not an error to
/// report.
pub fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        let kind = error
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                error
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        if kind == Some(std::io::ErrorKind::BrokenPipe) {
            return true;
        }
        current = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::is_broken_pipe;

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
}

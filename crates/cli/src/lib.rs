//! The service-lifecycle command-line tool's library: the seeded simulation
//! ([`simulation::simulate`]) that the `simulate` command, the benchmarks and load tests share,
//! and the reports as text tables ([`tables::write_table`]) that the `report` command and the
//! dealership example print.
//! The tool itself is the `service-lifecycle` binary of this package (`src/main.rs`).

pub mod interrupt;
pub mod simulation;
pub mod tables;

//! The seven reports (and the policy refusals) as text tables, for people ([`write_table`]: the CLI's `report` and the
//! dealership example print them), and as JSON documents, for programs ([`write_json`]: the
//! CLI's `report --json`). Both answer for the same day in the same way.

use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, Utc};
use service_lifecycle_core::reports::{Reports, UnitRow};
use service_lifecycle_core::ModelId;

/// One of the seven reports, or the policy refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportName {
    /// Units per model and status, damage, units ready for sale.
    PreSale,
    /// Units waiting for delivery or installation.
    Backlog,
    /// Preventive visits due and missed.
    ServiceDue,
    /// Response, arrival and resolution times, breaches, calls at risk.
    Sla,
    /// Units under warranty, expiring, the seller's cost.
    Warranty,
    /// Parts: obligation, stock, consumption, cover.
    Parts,
    /// Obligations per level, customers per level and group.
    Outreach,
    /// The policy commands the rules refused, and why.
    PolicyRefusals,
}

impl ReportName {
    /// The seven of §9 of docs/domain.md, in its order, then the policy refusals of §7.
    pub const ALL: [Self; 8] = [
        Self::PreSale,
        Self::Backlog,
        Self::ServiceDue,
        Self::Sla,
        Self::Warranty,
        Self::Parts,
        Self::Outreach,
        Self::PolicyRefusals,
    ];

    /// The report's name on the command line and in its JSON document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreSale => "pre-sale",
            Self::Backlog => "backlog",
            Self::ServiceDue => "service-due",
            Self::Sla => "sla",
            Self::Warranty => "warranty",
            Self::Parts => "parts",
            Self::Outreach => "outreach",
            Self::PolicyRefusals => "policy-refusals",
        }
    }
}

/// The instant a report of `day` answers for where it needs one (the SLA report: the calls
/// opened by then, those at risk then): the close of that business day, 18:00 UTC.
pub fn close_of_business(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(18, 0, 0).unwrap_or_default().and_utc()
}

/// Writes report `name` as of `today` as one JSON document (`service_lifecycle_core::reports::write_report`):
/// the report [`write_table`] prints, with every row; `within_days` is the warranty report's
/// horizon.
pub fn write_json(
    out: &mut dyn Write,
    reports: &Reports,
    name: ReportName,
    today: NaiveDate,
    within_days: u32,
) -> io::Result<()> {
    use service_lifecycle_core::reports::write_report;
    let (report, day) = (name.as_str(), Some(today));
    match name {
        ReportName::PreSale => write_report(report, None, &reports.pre_sale_board(), out),
        ReportName::Backlog => write_report(report, day, &reports.backlog(today), out),
        ReportName::ServiceDue => write_report(report, day, &reports.service_due(today), out),
        ReportName::Sla => {
            let sla = reports.sla(close_of_business(today));
            write_report(report, day, &sla, out)
        }
        ReportName::Warranty => {
            let warranty = reports.warranty(today, within_days);
            write_report(report, day, &warranty, out)
        }
        ReportName::Parts => write_report(report, day, &reports.parts_horizon(today), out),
        ReportName::Outreach => write_report(report, day, &reports.outreach(today), out),
        ReportName::PolicyRefusals => write_report(report, None, &reports.policy_refusals(), out),
    }
}

/// Writes report `name` as of `today` as a text table; `model_name` names a model (a short id
/// when the caller has no names), `within_days` is the warranty report's horizon.
pub fn write_table(
    out: &mut dyn Write,
    reports: &Reports,
    name: ReportName,
    today: NaiveDate,
    within_days: u32,
    model_name: &dyn Fn(Option<ModelId>) -> String,
) -> io::Result<()> {
    let serial_of = |row: &UnitRow| {
        row.serial
            .as_ref()
            .map_or_else(|| "?".to_owned(), |serial| serial.to_string())
    };
    // The id's last eight hex digits: the part that differs between ids made from counters.
    let short = |id: uuid::Uuid| {
        let text = id.simple().to_string();
        text[text.len() - 8..].to_owned()
    };
    match name {
        ReportName::PreSale => {
            let board = reports.pre_sale_board();
            writeln!(out, "1. Pre-sale board (as of {today})")?;
            writeln!(out, "   {:<8} {:<16} {:>5}", "model", "status", "units")?;
            for row in &board.units_by_model_and_status {
                writeln!(
                    out,
                    "   {:<8} {:<16} {:>5}",
                    model_name(row.model),
                    row.status,
                    row.units
                )?;
            }
            writeln!(
                out,
                "   ready for sale: {}; open transport damage: {}",
                board.ready_for_sale.len(),
                board.open_transport_damage.len()
            )?;
        }
        ReportName::Backlog => {
            let backlog = reports.backlog(today);
            writeln!(out, "2. Delivery and installation backlog")?;
            writeln!(out, "   {:<14} {:<22} {:>8}", "unit", "waiting for", "days")?;
            for (what, rows) in [
                ("delivery", &backlog.awaiting_delivery),
                ("installation", &backlog.awaiting_installation),
            ] {
                for row in rows.iter() {
                    writeln!(
                        out,
                        "   {:<14} {:<22} {:>8}",
                        serial_of(&row.unit),
                        what,
                        row.age_days
                    )?;
                }
            }
            if backlog.awaiting_delivery.is_empty() && backlog.awaiting_installation.is_empty() {
                writeln!(out, "   (nothing waiting)")?;
            }
        }
        ReportName::ServiceDue => {
            let due = reports.service_due(today);
            writeln!(out, "3. Service due list")?;
            writeln!(
                out,
                "   {:<10} {:>5} {:<12} {:<12} status",
                "contract", "visit", "due", "window end"
            )?;
            for (status, rows) in [("due", &due.due), ("MISSED", &due.missed)] {
                for row in rows.iter().rev().take(8) {
                    writeln!(
                        out,
                        "   {:<10} {:>5} {:<12} {:<12} {status}",
                        short(row.contract.as_uuid()),
                        row.visit,
                        row.due,
                        row.window_end
                    )?;
                }
            }
            writeln!(
                out,
                "   ({} due, {} missed in all)",
                due.due.len(),
                due.missed.len()
            )?;
        }
        ReportName::Sla => {
            let sla = reports.sla(close_of_business(today));
            writeln!(out, "4. SLA compliance")?;
            writeln!(
                out,
                "   {:<16} {:>6} {:>9} {:>8} {:>14} {:>14} {:>16}",
                "", "calls", "breached", "rate", "response p50", "arrival p50", "resolution p90"
            )?;
            let mut rows = vec![("all".to_owned(), sla.overall.clone())];
            rows.extend(
                sla.by_target_group
                    .iter()
                    .map(|group| (group.target_group.clone(), group.stats.clone())),
            );
            rows.extend(sla.by_technician.iter().map(|row| {
                (
                    format!("tech {}", short(row.technician.as_uuid())),
                    row.stats.clone(),
                )
            }));
            let minutes =
                |value: Option<i64>| value.map_or_else(|| "-".to_owned(), |m| format!("{m} min"));
            for (name, stats) in rows {
                writeln!(
                    out,
                    "   {:<16} {:>6} {:>9} {:>7.0}% {:>14} {:>14} {:>16}",
                    name,
                    stats.calls,
                    stats.breached,
                    stats.breach_rate * 100.0,
                    minutes(stats.response_minutes.median),
                    minutes(stats.arrival_minutes.median),
                    minutes(stats.resolution_minutes.p90)
                )?;
            }
            writeln!(out, "   calls at risk now: {}", sla.at_risk.len())?;
        }
        ReportName::Warranty => {
            let warranty = reports.warranty(today, within_days);
            writeln!(out, "5. Warranty")?;
            writeln!(
                out,
                "   units under warranty: {}; expiring within {within_days} days: {}",
                warranty.units_under_warranty,
                warranty.expiring.len()
            )?;
            writeln!(
                out,
                "   {:<8} {:<8} {:>14}",
                "model", "month", "seller's cost"
            )?;
            for row in &warranty.seller_cost {
                writeln!(
                    out,
                    "   {:<8} {:<8} {:>10}.{:02} {}",
                    model_name(Some(row.model)),
                    row.month,
                    row.minor_units / 100,
                    row.minor_units % 100,
                    row.currency
                )?;
            }
        }
        ReportName::Parts => {
            writeln!(out, "6. Parts horizon")?;
            writeln!(
                out,
                "   {:<14} {:<12} {:>7} {:>8} {:>10} {:>9} {:>9}  runs out first",
                "part", "obligation", "on hand", "reserved", "backorder", "per month", "cover"
            )?;
            for row in reports.parts_horizon(today).parts {
                writeln!(
                    out,
                    "   {:<14} {:<12} {:>7} {:>8} {:>10} {:>9.1} {:>9}  {}",
                    row.part.to_string(),
                    row.obligation_until
                        .map_or_else(|| "in production".to_owned(), |until| until.to_string()),
                    row.on_hand,
                    row.reserved,
                    row.backordered,
                    row.monthly_consumption,
                    row.months_of_cover
                        .map_or_else(|| "-".to_owned(), |months| format!("{months:.1} mo")),
                    if row.runs_out_before_obligation_end {
                        "YES"
                    } else {
                        "no"
                    }
                )?;
            }
        }
        ReportName::Outreach => {
            let outreach = reports.outreach(today);
            writeln!(out, "7. Outreach")?;
            writeln!(
                out,
                "   {:<12} {:>5} {:>5} {:>7} {:>10}",
                "level", "open", "done", "missed", "withdrawn"
            )?;
            for row in &outreach.obligations_by_level {
                writeln!(
                    out,
                    "   {:<12} {:>5} {:>5} {:>7} {:>10}",
                    format!("{:?}", row.level).to_lowercase(),
                    row.open,
                    row.done,
                    row.missed,
                    row.withdrawn
                )?;
            }
            writeln!(
                out,
                "   {:<12} {:<16} {:>9}",
                "level", "target group", "customers"
            )?;
            for row in &outreach.customers_by_level_and_group {
                writeln!(
                    out,
                    "   {:<12} {:<16} {:>9}",
                    format!("{:?}", row.level).to_lowercase(),
                    row.target_group,
                    row.customers
                )?;
            }
        }
        ReportName::PolicyRefusals => {
            let refused = reports.policy_refusals().refusals;
            writeln!(out, "8. Policy commands refused: {}", refused.len())?;
            for refusal in &refused {
                writeln!(
                    out,
                    "   {} {}: {}",
                    refusal.at.date_naive(),
                    refusal.policy,
                    refusal.error
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ReportName;
    use clap::ValueEnum;

    #[test]
    fn a_report_is_named_alike_on_the_command_line_and_in_its_document() {
        for name in ReportName::ALL {
            let argument = name
                .to_possible_value()
                .expect("every report can be asked for");
            assert_eq!(argument.get_name(), name.as_str());
        }
        assert_eq!(ReportName::value_variants(), ReportName::ALL);
    }
}

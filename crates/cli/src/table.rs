//! A table of text cells, written for people (columns aligned by the width a terminal shows,
//! so names in any script line up) or as CSV, for spreadsheets.

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text: flush left.
    Left,
    /// Numbers: flush right.
    Right,
}

/// A titled table: a header, rows of cells, and notes (totals, remarks) under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// What the table shows, in words.
    pub title: String,
    /// Each column's name and alignment.
    pub columns: Vec<(&'static str, Align)>,
    /// The rows, one cell per column.
    pub rows: Vec<Vec<String>>,
    /// Lines under the table.
    pub notes: Vec<String>,
}

impl Table {
    /// An empty table titled `title` with `columns`.
    pub fn new(title: impl Into<String>, columns: &[(&'static str, Align)]) -> Self {
        Self {
            title: title.into(),
            columns: columns.to_vec(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Adds a note under the table.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Writes the table for a person: its title, then the header and at most `max_rows` rows
    /// with each column as wide as its widest cell (by display width), then the notes.
    pub fn write_text(&self, out: &mut dyn Write, max_rows: usize) -> io::Result<()> {
        writeln!(out, "{}", self.title)?;
        let shown = &self.rows[..self.rows.len().min(max_rows)];
        let mut widths: Vec<usize> = self.columns.iter().map(|(name, _)| name.width()).collect();
        for row in shown {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.width());
            }
        }
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        self.write_line(out, &header, &widths)?;
        if shown.is_empty() {
            writeln!(out, "   (none)")?;
        }
        for row in shown {
            self.write_line(out, row, &widths)?;
        }
        if shown.len() < self.rows.len() {
            writeln!(
                out,
                "   ... and {} more (--format csv or json lists every row)",
                self.rows.len() - shown.len()
            )?;
        }
        for note in &self.notes {
            writeln!(out, "   {note}")?;
        }
        Ok(())
    }

    fn write_line(
        &self,
        out: &mut dyn Write,
        cells: &[String],
        widths: &[usize],
    ) -> io::Result<()> {
        let mut line = String::from("  ");
        for ((cell, width), (_, align)) in cells.iter().zip(widths).zip(&self.columns) {
            let padding = " ".repeat(width.saturating_sub(cell.width()));
            line.push(' ');
            match align {
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&padding);
                }
                Align::Right => {
                    line.push_str(&padding);
                    line.push_str(cell);
                }
            }
        }
        writeln!(out, "{}", line.trim_end())
    }

    /// Writes the table as CSV (RFC 4180): a header row, then every row; the title and notes
    /// are not part of it. A cell a spreadsheet would take for a formula (a name beginning with
    /// `=`, say) is written with a leading `'`, so opening the file runs nothing.
    pub fn write_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(self.columns.iter().map(|(name, _)| *name))?;
        for row in &self.rows {
            writer.write_record(row.iter().map(|cell| spreadsheet_safe(cell).into_owned()))?;
        }
        writer.flush()
    }
}

/// `cell`, with a `'` before it when a spreadsheet would read it as a formula: it begins with
/// `=`, `+`, `@`, a tab or a carriage return, or with `-` and is not a number.
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula = match cell.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => cell.parse::<f64>().is_err() && cell != "-",
        _ => false,
    };
    if formula {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut table = Table::new("Models", &[("model", Align::Left), ("units", Align::Right)]);
        table.row(vec!["Стиральная машина".into(), "3".into()]);
        table.row(vec!["WM-7, \"eco\"".into(), "12".into()]);
        table.note("2 models");
        table
    }

    #[test]
    fn columns_line_up_by_display_width_not_bytes() {
        let mut out = Vec::new();
        table().write_text(&mut out, 10).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Models");
        // Every row ends at the same display column, although Cyrillic takes two bytes a letter.
        let widths: Vec<usize> = lines[1..4].iter().map(|line| line.width()).collect();
        assert_eq!(widths, vec![widths[0]; 3], "{text}");
        assert_eq!(lines[2], "   Стиральная машина     3");
        assert_eq!(lines[4], "   2 models");
    }

    #[test]
    fn a_long_table_says_how_many_rows_it_leaves_out() {
        let mut out = Vec::new();
        table().write_text(&mut out, 1).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("... and 1 more"), "{text}");
        let mut empty = Vec::new();
        Table::new("Nothing", &[("a", Align::Left)])
            .write_text(&mut empty, 5)
            .unwrap();
        assert!(String::from_utf8(empty).unwrap().contains("(none)"));
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_as_formulas_are_defused() {
        let mut table = Table::new("t", &[("a", Align::Left)]);
        for cell in [
            "=HYPERLINK(\"x\")",
            "+1",
            "@SUM(A1)",
            "-2.5",
            "-",
            "-x",
            "plain",
        ] {
            table.row(vec![cell.to_owned()]);
        }
        let mut out = Vec::new();
        table.write_csv(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\n\"'=HYPERLINK(\"\"x\"\")\"\n'+1\n'@SUM(A1)\n-2.5\n-\n'-x\nplain\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut out = Vec::new();
        table().write_csv(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "model,units\nСтиральная машина,3\n\"WM-7, \"\"eco\"\"\",12\n"
        );
    }
}

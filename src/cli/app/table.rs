//! Aligned text (pure): tables with upper-case headers as kubectl prints them, and
//! `Label:  value` blocks. Cells may carry a colour, which never counts toward the width.

use super::colour::Style;

/// One cell: its text and, maybe, a colour.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cell {
    pub text: String,
    pub style: Option<Style>,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            style: None,
        }
    }

    /// A status word (Synced, Healthy, Failed …) in its colour.
    pub fn status(text: impl Into<String>) -> Self {
        let text = text.into();
        let style = Style::of_status(&text);
        Self { text, style }
    }

    fn render(&self, colour: bool) -> String {
        match self.style {
            Some(style) if colour && !self.text.is_empty() => style.paint(&self.text),
            _ => self.text.clone(),
        }
    }

    fn width(&self) -> usize {
        self.text.chars().count()
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::plain(text)
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::plain(text)
    }
}

/// Columns separated by three spaces; the last one is not padded.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

const GAP: &str = "   ";

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| h.to_uppercase()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines (each ending in a newline).
    pub fn render(&self, colour: bool) -> String {
        let columns = self
            .headers
            .len()
            .max(self.rows.iter().map(Vec::len).max().unwrap_or(0));
        let mut widths = vec![0; columns];
        for (i, header) in self.headers.iter().enumerate() {
            widths[i] = header.chars().count();
        }
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let header_cells: Vec<Cell> = self
            .headers
            .iter()
            .map(|h| Cell::plain(h.as_str()))
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&header_cells).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let empty = Cell::default();
                let cell = row.get(i).unwrap_or(&empty);
                if i > 0 {
                    line.push_str(GAP);
                }
                line.push_str(&cell.render(colour));
                if i + 1 < columns {
                    line.push_str(&" ".repeat(width - cell.width()));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `Label:` and value lines, the values aligned (what `app get` shows first).
#[derive(Debug, Clone, Default)]
pub struct Fields {
    lines: Vec<(String, Cell)>,
}

impl Fields {
    pub fn add(&mut self, label: &str, value: impl Into<Cell>) {
        self.lines.push((label.to_string(), value.into()));
    }

    pub fn render(&self, colour: bool) -> String {
        let width = self
            .lines
            .iter()
            .map(|(l, _)| l.chars().count() + 1)
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (label, value) in &self.lines {
            let label = format!("{label}:");
            let line = format!("{label:<width$}  {}", value.render(colour));
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn columns_align_on_the_widest_cell_and_colour_takes_no_width() {
        let mut table = Table::new(&["name", "sync", "health"]);
        table.row(vec![
            "web".into(),
            Cell::status("OutOfSync"),
            Cell::status("Healthy"),
        ]);
        table.row(vec![
            "a-longer-name".into(),
            Cell::status("Synced"),
            Cell::plain(""),
        ]);
        assert_eq!(
            table.render(false),
            "NAME            SYNC        HEALTH\nweb             OutOfSync   Healthy\na-longer-name   Synced\n"
        );
        let coloured = table.render(true);
        assert!(
            coloured.contains("\u{1b}[33mOutOfSync\u{1b}[0m   \u{1b}[32mHealthy"),
            "{coloured:?}"
        );
    }

    #[test]
    fn fields_align_their_values() {
        let mut fields = Fields::default();
        fields.add("Name", "web");
        fields.add("Sync Status", Cell::status("Synced"));
        assert_eq!(
            fields.render(false),
            "Name:         web\nSync Status:  Synced\n"
        );
    }
}
